"""FastVader must score exactly as vaderSentiment does, only faster."""

import random

import pytest
from vaderSentiment import vaderSentiment as vs

from bench.corpus import make_corpus
from models.sentiment import FastVader, SentimentScorer

TRICKY = [
    "The movie was not good at all", "I never so much enjoyed a patch", "without doubt the best",
    "this is kind of bad but the servers are great", "NOT GOOD AT ALL!!!", "the bomb :) 😂",
    "no love for the devs, no way", "at least it works", "least helpful support ever",
    "it isn't awful, it is sort of fine", "yeah right, cut the mustard", "bad ass raid boss",
    "nor good or bad", "never this broken before", "the shit", "", "!!!", "no", "   ",
    "good but bad but good", "great great BUT awful awful", "😂😂😂", "love😍it",
    "👍 👎",
    "kind of", "kind", "Kind Of Great", "so ?? what ???? ok", "?!?!", "':)'", "...good...",
    "good, but", "BUT", "no no no good", "not not not bad", "GREAT", "GREAT game", "the BEST!",
]


def _soup(rng: random.Random, lexicon: list[str], emoji: list[str]) -> str:
    # sentiment words mixed with every modifier VADER checks, at post lengths up to 150
    # words, with emoji, capitals and punctuation stuck to words
    pool = lexicon + list(vs.NEGATE) + list(vs.BOOSTER_DICT) + emoji + [
        "but", "BUT", "so", "this", "never", "without", "doubt", "least", "at", "very", "kind",
        "of", "no", "or", "nor", "the", "bomb", "shit", "bus", "stop", "patch", "servers",
        ":)", ":-(", "<3", "n't", "isn't"]
    words = []
    for _ in range(rng.randint(1, 150)):
        w = rng.choice(pool)
        roll = rng.random()
        if roll < 0.1:
            w = w.upper()
        elif roll < 0.15:
            w = w + rng.choice([",", "!", "...", "?", "'"])
        elif roll < 0.18:
            w = "(" + w + ")"
        words.append(w)
    glue = rng.choice([" ", " ", "  ", "\n"])
    return glue.join(words) + rng.choice(["", "!", "?!", "!!!", "???", "!!!!!!"])


def test_fast_vader_scores_exactly_as_vader():
    upstream, fast = vs.SentimentIntensityAnalyzer(), FastVader()
    rng = random.Random(11)
    lexicon = sorted(upstream.lexicon)
    emoji = sorted(upstream.emojis)[:400]
    texts = TRICKY + [_soup(rng, rng.sample(lexicon, 300), rng.sample(emoji, 20))
                      for _ in range(2000)]
    texts += [v.decode() for v in make_corpus(300, seed=3)[0]]  # whole JSON payloads too
    differing = [(t, upstream.polarity_scores(t)["compound"], fast.compound(t))
                 for t in texts if upstream.polarity_scores(t)["compound"] != fast.compound(t)]
    assert differing == []
    assert sum(fast.compound(t) != 0 for t in texts) > 1500  # the comparison saw scores


@pytest.mark.parametrize("text", ["I love this update", "I hate this update", "meh"])
def test_scorer_scores_as_vader(text):
    s = SentimentScorer().load()
    library = vs.SentimentIntensityAnalyzer()
    assert s.score_batch([text]) == [library.polarity_scores(text)["compound"]]
