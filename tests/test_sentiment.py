"""LinearVader must score exactly as vaderSentiment does, only faster on long posts."""

import random

import pytest
from vaderSentiment import vaderSentiment as vs

from models.sentiment import LinearVader, SentimentScorer

TRICKY = [
    "The movie was not good at all", "I never so much enjoyed a patch", "without doubt the best",
    "this is kind of bad but the servers are great", "NOT GOOD AT ALL!!!", "the bomb :) 😂",
    "no love for the devs, no way", "at least it works", "least helpful support ever",
    "it isn't awful, it is sort of fine", "yeah right, cut the mustard", "bad ass raid boss",
    "nor good or bad", "never this broken before", "the shit", "", "!!!", "no",
]


def _soup(rng: random.Random, lexicon: list[str]) -> str:
    # sentiment words mixed with every modifier VADER checks, at post lengths up to 150 words
    pool = lexicon + list(vs.NEGATE) + list(vs.BOOSTER_DICT) + [
        "but", "so", "this", "never", "without", "doubt", "least", "at", "very", "kind", "of",
        "no", "or", "nor", "the", "bomb", "shit", "bus", "stop", "patch", "servers", "😂", ":)"]
    words = [rng.choice(pool) for _ in range(rng.randint(1, 150))]
    return " ".join(w.upper() if rng.random() < 0.1 else w for w in words) + rng.choice(["", "!", "?!", "!!!"])


def test_linear_vader_scores_exactly_as_vader():
    upstream, linear = vs.SentimentIntensityAnalyzer(), LinearVader()
    rng = random.Random(11)
    lexicon = sorted(upstream.lexicon)
    texts = TRICKY + [_soup(rng, rng.sample(lexicon, 300)) for _ in range(1500)]
    differing = [t for t in texts if upstream.polarity_scores(t) != linear.polarity_scores(t)]
    assert differing == []


def test_linear_vader_caches_per_post_not_across_posts():
    linear = LinearVader()
    # the same words in another list: the cached lower-cased copy must not leak across posts
    assert linear.polarity_scores("not good")["compound"] < 0
    assert linear.polarity_scores("very good")["compound"] > 0.4


@pytest.mark.parametrize("text", ["I love this update", "I hate this update"])
def test_scorer_uses_the_linear_analyzer(text):
    s = SentimentScorer().load()
    assert type(s._analyzer).__mro__[1] is vs.SentimentIntensityAnalyzer
    assert s.score_batch([text]) == [vs.SentimentIntensityAnalyzer().polarity_scores(text)["compound"]]
