"""What a post's text says before anything is learnt: the lexical prior, the rules
(built-in and the community's own terms), sentiment and language.

``TextReader(rules_for).read(texts, given_langs, communities) -> [TextReading]``, one per
text, same order.

These readings depend on the text, the platform's language code and the community's
configured terms alone: no learnt state, no clock, no other post. That makes them the
part of scoring a runner may do elsewhere: the Faust worker reads in a child process
(:mod:`agents.text_process`), so this pure-Python work (about half of a non-ML worker's
CPU) runs beside the worker's Kafka I/O instead of sharing one interpreter lock with
it, and a reading there is the reading here (same code, same weights, the same
community rules, sent once). :meth:`TextReader.read_rows` and :func:`from_rows` are the
compact form that crosses the process boundary.

Weights load on first use, never at import.

>>> reader = TextReader()
>>> calm, rude = reader.read(["thanks, see you at the meetup", "shut up you fucking idiot"],
...                          [None, None], ["r/x", "r/x"])
>>> calm.prior.toxicity < 0.5 < rude.prior.toxicity, calm.sentiment > 0 > rude.sentiment
(True, True)
>>> calm.lang, rude.lang, rude.rules.scores["insult"] > calm.rules.scores["insult"]
('en', 'en', True)
>>> from_rows(reader.read_rows(["hola amigos, ¿cómo estáis todos hoy?"], ["es"], ["r/x"]))[0].lang
'es'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from models.language import LanguageDetector
from models.rules import RuleResult, RuleScorer
from models.sentiment import SentimentScorer
from models.toxicity import LexicalToxicityScorer, ToxicityResult

__all__ = ["TextReading", "TextReader", "from_rows"]

# (prior probability, prior terms, VADER compound, language code, rules)
Row = tuple[float, tuple[str, ...], float, str, RuleResult]


@dataclass(frozen=True)
class TextReading:
    prior: ToxicityResult  # alt-profanity-check: probability and the terms that fired
    sentiment: float       # VADER compound in [-1, 1]
    lang: str              # the platform's code, else detected (models.language)
    rules: RuleResult      # the built-in rules and the community's own terms


class TextReader:
    """The learning-free readings of a batch of texts. ``rules_for(community)`` gives the
    community's :class:`RuleScorer` (default: the built-in rules for every community)."""

    def __init__(self, rules_for: Optional[Callable[[str], RuleScorer]] = None,
                 prior: Optional[LexicalToxicityScorer] = None) -> None:
        if rules_for is None:
            default = RuleScorer()
            rules_for = lambda community: default  # noqa: E731
        self.rules_for = rules_for
        self.prior = prior if prior is not None else LexicalToxicityScorer()
        self.sentiment = SentimentScorer()
        self.languages = LanguageDetector()

    def load(self) -> "TextReader":
        self.prior.load()
        self.sentiment.load()
        self.languages.load()
        return self

    def read(self, texts: Sequence[str], given_langs: Sequence[Optional[str]],
             communities: Sequence[str]) -> list[TextReading]:
        if not texts:
            return []
        priors = self.prior.score_batch(texts)
        sentiments = self.sentiment.score_batch(texts)
        langs = self.languages.languages(texts, given_langs)
        rules = [self.rules_for(c).score(t) for t, c in zip(texts, communities)]
        return [TextReading(*r) for r in zip(priors, sentiments, langs, rules)]

    def read_rows(self, texts: Sequence[str], given_langs: Sequence[Optional[str]],
                  communities: Sequence[str]) -> list[Row]:
        """:meth:`read` as plain tuples, for another process (:func:`from_rows`)."""
        return [(r.prior.toxicity, r.prior.terms, r.sentiment, r.lang, r.rules)
                for r in self.read(texts, given_langs, communities)]


def from_rows(rows: Sequence[Row]) -> list[TextReading]:
    """The readings :meth:`TextReader.read_rows` packed, equal to :meth:`TextReader.read`'s."""
    return [TextReading(ToxicityResult(p, tuple(terms), categories={"profanity": p}), s,
                        lang, rules) for p, terms, s, lang, rules in rows]
