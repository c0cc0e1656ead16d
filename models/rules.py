"""Rule and lexicon categories for toxicity (what Perspective API's attributes used to give).

A :class:`RuleScorer` runs hand-written patterns and word lists over a post and returns,
for every category in :data:`CATEGORIES`, a score in [0, 1] plus the spans that fired, so
a moderator sees *which words* and *which rule* flagged the post. The lists live in
:mod:`models.lexicons`; slurs are stored only as sha256 digests.

Score scale (per category; documented here because thresholds elsewhere rely on it):

* ``0.0``        nothing fired.
* ``0.3-0.45``   a mention or a weak signal: an insult word with no target, "suicide" as a
  topic, "sex" alone, a PUBG "airdrop". Weak hits never add up to 0.5 on their own.
* ``0.55-0.7``   a clear but ambiguous pattern: a scam phrase, a link shortener, an
  insult about a third person, "gonna stab" with no one named.
* ``0.75-0.9``   a strong pattern: a second-person insult, an explicit threat, a
  Luhn-valid card number, first-person suicidal intent, a slur, a community deny term.
* each further, non-overlapping hit in the same category closes half its weight of
  the remaining gap to 1 (two 0.85 threats give 0.96); the score is capped at 0.99.

:data:`SEVERE` categories at 0.5 or more are what :attr:`RuleResult.severe` reports.

Known limits: the rules are English (links, e-mails, phone and card numbers work in any
language); zero-width characters and spaced-out letters ("k i l l") defeat them; threats
and insults in quoted speech or song lyrics fire like the real thing. ``t.co`` links are
not counted as shortened (Twitter/X wraps every link), and a bare "airdrop" is a
battle-royale crate (0.35) unless crypto words are near it.

>>> scorer = RuleScorer()
>>> text = "I will find you. I know where you live."
>>> result = scorer.score(text)
>>> result.explanation(text)
['threat: "I will find you" (rule threat:find-you)', 'threat: "I know where you live" (rule threat:know-where)']
>>> result.scores["threat"], result.severe
(0.938, ('threat',))
>>> scorer.score("I killed the boss, this game is killing me, kill streak!").scores["threat"]
0.0
>>> scorer.score("suicide prevention hotline: call 988").scores["self_harm"] < 0.5
True
>>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
(True, False)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from models import lexicons as lx
# Re-exported: callers and tests import these from models.rules, which stays the one
# public entry point however the detectors are split into modules.
from models.community_terms import (COMMUNITY_WEIGHT, MAX_COMMUNITY_REGEX_LEN,
                                    MAX_COMMUNITY_TERMS, _Terms)
from models.personal_data import _EMAIL, _ROLE_MAILBOX, luhn_valid, number_hits
from models.rule_patterns import CATEGORIES, _RULES, _expand
from models.spam_links import _DOMAINISH, LinkChecker

__all__ = ["CATEGORIES", "SEVERE", "Span", "RuleResult", "RuleScorer", "luhn_valid",
           "term_digest", "MAX_COMMUNITY_TERMS"]

SEVERE = ("threat", "self_harm", "personal_data")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    category: str
    rule: str  # short id, "threat:kill-you"
    # How strongly this span alone argues for its category; not part of identity so
    # that tests and callers can compare spans by position and rule only.
    weight: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class RuleResult:
    scores: dict[str, float]  # every category in CATEGORIES, in [0, 1]
    spans: tuple[Span, ...] = ()  # what fired, in text order

    def explanation(self, text: str) -> list[str]:
        """One line per span, quoting the text that fired (``text`` is the scored post)."""
        out = []
        for s in self.spans:
            snippet = " ".join(text[s.start:s.end].split())
            if len(snippet) > 80:
                snippet = snippet[:77] + "..."
            out.append(f'{s.category}: "{snippet}" (rule {s.rule})')
        return out

    @property
    def severe(self) -> tuple[str, ...]:
        return tuple(c for c in SEVERE if self.scores.get(c, 0.0) >= 0.5)


def term_digest(term: str) -> str:
    """The digest a slur is stored under: sha256 hex of its lowercase form."""
    return hashlib.sha256(term.strip().lower().encode("utf-8")).hexdigest()


# --- tokens, quotes and slur spellings ------------------------------------------

_TOKEN = re.compile(r"[a-z0-9@$]+")  # ASCII tokens: rule triggers and slur candidates
_HAS_DIGIT = re.compile(r"[0-9]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
                         "\uff07": "'"})
_SENTENCE_END = re.compile(r"[.!?\n]")
_FANCY_QUOTES = re.compile("[\u2018\u2019\u02bc\u2032\uff07]")

_LEET_I = str.maketrans("1304@$57|", "ieoaasstl")
_LEET_L = str.maketrans("1304@$57|", "leoaasstl")
_RUNS = re.compile(r"(.)\1+")
_RUNS3 = re.compile(r"(.)\1{2,}")
# Slur-shaped words inside idioms ("a ... in the armour").
_SLUR_IDIOM = re.compile(r"\s+in\s+(?:the|his|her|their|its|my|your|our)\s+arm(?:ou|o)r")
_CACHE_LIMIT = 100_000


def _slur_forms(token: str) -> set[str]:
    """Spellings a token may hide a slur under: leetspeak, stretched letters, plurals."""
    forms = {token}
    for table in (_LEET_I, _LEET_L):
        t = token.translate(table)
        forms.update((t, _RUNS3.sub(r"\1\1", t), _RUNS.sub(r"\1", t)))
    for f in list(forms):
        if f.endswith("ies"):
            forms.add(f[:-3] + "y")
        if f.endswith("es"):
            forms.add(f[:-2])
        if f.endswith("s"):
            forms.add(f[:-1])
    return forms


def _combine(weights: Sequence[float]) -> float:
    ws = sorted(weights, reverse=True)
    score = ws[0]
    for w in ws[1:]:
        score += (1.0 - score) * w / 2
    if ws[0] < 0.5:  # mentions alone never reach the "act on it" half of the scale
        score = min(score, 0.45)
    return round(min(score, 0.99), 3)


# --- the scorer ----------------------------------------------------------------------

_Hit = tuple  # (start, end, category, rule_id, weight)


class RuleScorer:
    """Scores posts against the built-in rules plus a community's own terms.

    A term is a mapping ``{"kind": "word"|"phrase"|"regex", "value": str, "category": ...}``.
    Deny terms need a category from :data:`CATEGORIES` and add a hit of weight 0.9 with
    rule id ``community:<value[:32]>``. Allow terms drop every hit that overlaps one of
    their matches (only hits of their category, if they name one): a gaming community
    can allow "you're dead". Words match whole words, phrases any whitespace between
    their words, regexes case-insensitively. Terms are checked here, so a bad one fails
    at start-up with a ValueError naming it, not on the first post: at most
    :data:`MAX_COMMUNITY_TERMS` in all, regexes at most 200 characters, compiling, not
    matching the empty string and without nested quantifiers.

    ``trusted_domains`` (the community's own sites) never count as suspicious links;
    ``extra_slur_hashes`` adds :func:`term_digest` digests, e.g. for other languages.

    Everything is compiled here, never at import. ``score`` is pure apart from two
    bounded caches (slur checks per token, URL verdicts per host), so one instance can
    be shared by threads. Rules are gated by trigger words, so a post pays only for
    the rules whose vocabulary it contains.
    """

    version = "rules-1"

    def __init__(self, deny_terms: Iterable[Mapping[str, Any]] = (),
                 allow_terms: Iterable[Mapping[str, Any]] = (), *,
                 trusted_domains: Iterable[str] = (), extra_slur_hashes: Iterable[str] = ()):
        deny_terms, allow_terms = list(deny_terms), list(allow_terms)
        if len(deny_terms) + len(allow_terms) > MAX_COMMUNITY_TERMS:
            raise ValueError(f"too many community terms: {len(deny_terms) + len(allow_terms)}"
                             f" > {MAX_COMMUNITY_TERMS}")
        self._deny = _Terms(deny_terms, deny=True)
        self._allow = _Terms(allow_terms, deny=False)

        self._rules = []
        self._index: dict[str, list[int]] = {}
        for rule in _RULES:
            i = len(self._rules)
            veto = re.compile(rule.veto) if rule.veto else None
            self._rules.append((rule, re.compile(_expand(rule.template)), veto))
            for token in rule.triggers:
                self._index.setdefault(token, []).append(i)

        extra = {h.strip().lower() for h in extra_slur_hashes}
        bad = [h for h in extra if not re.fullmatch(r"[0-9a-f]{64}", h)]
        if bad:
            raise ValueError(f"extra_slur_hashes: not sha256 hex digests: {bad[:3]}")
        self._slur_hashes = frozenset(lx.SLUR_SHA256) | extra
        self._slur_cache: dict[str, bool] = {}

        self._links = LinkChecker(trusted_domains, _CACHE_LIMIT)

    # -- public API --

    def score(self, text: str) -> RuleResult:
        hits: list[_Hit] = []
        if text:
            norm = text.translate(_QUOTES) if _FANCY_QUOTES.search(text) else text
            low = norm.lower()
            if len(low) != len(norm):  # "İ" lowers to two code points; spans index text
                low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in norm)
            hits = self._hits(low, norm)
        return self._result(hits)

    def score_batch(self, texts: Iterable[str]) -> list[RuleResult]:
        return [self.score(t) for t in texts]

    # -- matching --

    def _hits(self, low: str, norm: str) -> list[_Hit]:
        tokens = set(_TOKEN.findall(low))
        if "@" in low:
            tokens.add("#at")
        has_digit = _HAS_DIGIT.search(low) is not None
        hits: list[_Hit] = []

        selected: set[int] = set()
        index = self._index
        for tok in tokens:
            ids = index.get(tok)
            if ids:
                selected.update(ids)
        for i in sorted(selected):
            rule, rx, veto = self._rules[i]
            if rule.also is not None and tokens.isdisjoint(rule.also):
                continue
            for m in rx.finditer(low):
                if veto is not None and veto.search(_sentence(low, m.start(), m.end())):
                    continue
                hits.append((m.start(), m.end(), rule.category, rule.id, rule.weight))

        if _DOMAINISH.search(low):
            self._links.find(low, hits)
        if "@" in low:
            for m in _EMAIL.finditer(low):
                local = m.group().split("@", 1)[0]
                w = 0.35 if _ROLE_MAILBOX.fullmatch(local) else 0.7
                hits.append((m.start(), m.end(), "personal_data", "pii:email", w))
        if has_digit:
            number_hits(low, norm, tokens, hits)
        self._slurs(low, tokens, hits)

        if not self._deny.empty:
            for start, end, category, rule in self._deny.find(low, norm):
                hits.append((start, end, category, rule, COMMUNITY_WEIGHT))
        if hits and not self._allow.empty:
            allowed = self._allow.find(low, norm)
            hits = [h for h in hits
                    if not any(a_start < h[1] and h[0] < a_end and (cat is None or cat == h[2])
                               for a_start, a_end, cat, _ in allowed)]
        return hits

    def _slurs(self, low: str, tokens: set[str], hits: list[_Hit]) -> None:
        cache, hashes = self._slur_cache, self._slur_hashes
        found = []
        for tok in tokens:
            hit = cache.get(tok)
            if hit is None:
                hit = (2 < len(tok) < 30 and not tok.isdigit()
                       and any(hashlib.sha256(f.encode()).hexdigest() in hashes
                               for f in _slur_forms(tok)))
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[tok] = hit
            if hit:
                found.append(tok)
        for tok in found:
            for m in re.finditer(r"(?<![a-z0-9@$])" + re.escape(tok) + r"(?![a-z0-9@$])", low):
                if not _SLUR_IDIOM.match(low, m.end()):
                    hits.append((m.start(), m.end(), "identity_attack", "identity:slur", 0.9))

    # -- scoring --

    @staticmethod
    def _result(hits: list[_Hit]) -> RuleResult:
        scores = dict.fromkeys(CATEGORIES, 0.0)
        if not hits:
            return RuleResult(scores, ())
        kept: list[_Hit] = []
        # Overlapping hits in one category are one piece of evidence: keep the strongest
        # ("you're a pathetic loser" is an insult once, not once per rule that saw it).
        for h in sorted(hits, key=lambda h: (-h[4], h[0], h[1] - h[0])):
            if not any(k[2] == h[2] and k[0] < h[1] and h[0] < k[1] for k in kept):
                kept.append(h)
        by_category: dict[str, list[float]] = {}
        for h in kept:
            by_category.setdefault(h[2], []).append(h[4])
        for category, weights in by_category.items():
            scores[category] = _combine(weights)
        spans = tuple(Span(s, e, c, r, w) for s, e, c, r, w in
                      sorted(kept, key=lambda h: (h[0], h[1], h[2], h[3])))
        return RuleResult(scores, spans)


def _sentence(low: str, start: int, end: int) -> str:
    left = max(low.rfind(c, 0, start) for c in ".!?\n") + 1
    m = _SENTENCE_END.search(low, end)
    return low[left:m.start() if m else len(low)]
