"""Sentiment of a post: VADER's compound score in [-1, 1].

VADER is a lexicon and rule model built for social media text (emoji, caps, "!!!").
Trend classification uses it to tell a complaint burst from a praise burst.

vaderSentiment 3.3 lower-cases the whole post again for every sentiment word it checks
for negations and idioms, so its cost grows with the square of the post's length: on
the bench corpus (3-120 words) it held a quarter of a non-ML worker's CPU.
:class:`LinearVader` gives the same scores (tests compare them exactly) in linear time by
lower-casing each post once and testing negation words against a set.

>>> s = SentimentScorer()
>>> s.score_batch(["best update ever, thank you devs!", "servers down again, refund me"])[0] > 0.5
True
"""

from __future__ import annotations

import threading
from typing import Sequence

__all__ = ["SentimentScorer", "LinearVader"]


class SentimentScorer:
    version = "vader-3.3"

    def __init__(self) -> None:
        self._analyzer = None

    def load(self) -> "SentimentScorer":
        if self._analyzer is None:
            self._analyzer = LinearVader()
        return self

    def score_batch(self, texts: Sequence[str]) -> list[float]:
        self.load()
        return [float(self._analyzer.polarity_scores(t)["compound"]) for t in texts]


def LinearVader():  # noqa: N802 - a class built on first use: vaderSentiment loads lazily
    """A ``SentimentIntensityAnalyzer`` whose negation and idiom checks reuse one
    lower-cased copy of the post instead of making one per sentiment word."""
    global _LinearVader
    if _LinearVader is None:
        _LinearVader = _build()
    return _LinearVader()


_LinearVader = None


def _build():
    from vaderSentiment import vaderSentiment as vs

    negate = frozenset(vs.NEGATE)
    special, booster, n_scalar = vs.SPECIAL_CASES, vs.BOOSTER_DICT, vs.N_SCALAR

    def negated(word: str) -> bool:  # vs.negated([word]) for one lower-cased word
        return word in negate or "n't" in word

    class _Linear(vs.SentimentIntensityAnalyzer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # (the post's word list, its lower-cased copy); per thread, as replays
            # score on the caller's thread and workers on the inference thread
            self._lowered = threading.local()

        def _lower(self, words: list) -> list:
            cached = self._lowered.__dict__.get("pair")
            if cached is not None and cached[0] is words:
                return cached[1]
            lower = [str(w).lower() for w in words]
            self._lowered.pair = (words, lower)  # holding ``words`` keeps its id unique
            return lower

        def _negation_check(self, valence, words_and_emoticons, start_i, i):
            w = self._lower(words_and_emoticons)
            if start_i == 0:
                if negated(w[i - 1]):
                    valence = valence * n_scalar
            if start_i == 1:
                if w[i - 2] == "never" and (w[i - 1] == "so" or w[i - 1] == "this"):
                    valence = valence * 1.25
                elif w[i - 2] == "without" and w[i - 1] == "doubt":
                    pass
                elif negated(w[i - 2]):
                    valence = valence * n_scalar
            if start_i == 2:
                # the upstream operator precedence, kept: (never and (so|this)) or (so|this)
                if (w[i - 3] == "never" and (w[i - 2] == "so" or w[i - 2] == "this")
                        or (w[i - 1] == "so" or w[i - 1] == "this")):
                    valence = valence * 1.25
                elif w[i - 3] == "without" and (w[i - 2] == "doubt" or w[i - 1] == "doubt"):
                    pass
                elif negated(w[i - 3]):
                    valence = valence * n_scalar
            return valence

        def _special_idioms_check(self, valence, words_and_emoticons, i):
            w = self._lower(words_and_emoticons)
            onezero = f"{w[i - 1]} {w[i]}"
            twoonezero = f"{w[i - 2]} {w[i - 1]} {w[i]}"
            twoone = f"{w[i - 2]} {w[i - 1]}"
            threetwoone = f"{w[i - 3]} {w[i - 2]} {w[i - 1]}"
            threetwo = f"{w[i - 3]} {w[i - 2]}"
            for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
                if seq in special:
                    valence = special[seq]
                    break
            if len(w) - 1 > i:
                zeroone = f"{w[i]} {w[i + 1]}"
                if zeroone in special:
                    valence = special[zeroone]
            if len(w) - 1 > i + 1:
                zeroonetwo = f"{w[i]} {w[i + 1]} {w[i + 2]}"
                if zeroonetwo in special:
                    valence = special[zeroonetwo]
            for n_gram in (threetwoone, threetwo, twoone):
                if n_gram in booster:
                    valence = valence + booster[n_gram]
            return valence

    return _Linear
