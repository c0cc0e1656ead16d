"""Sentiment of a post: VADER's compound score in [-1, 1].

VADER is a lexicon and rule model built for social media text (emoji, caps, "!!!"),
fast enough (~6k texts/s here) to run on every post. Trend classification uses it to
tell a complaint burst from a praise burst.

>>> s = SentimentScorer()
>>> s.score_batch(["best update ever, thank you devs!", "servers down again, refund me"])[0] > 0.5
True
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["SentimentScorer"]


class SentimentScorer:
    version = "vader-3.3"

    def __init__(self) -> None:
        self._analyzer = None

    def load(self) -> "SentimentScorer":
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        return self

    def score_batch(self, texts: Sequence[str]) -> list[float]:
        self.load()
        return [float(self._analyzer.polarity_scores(t)["compound"]) for t in texts]
