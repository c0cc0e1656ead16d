"""A community's own allow and deny terms for :class:`models.rules.RuleScorer`.

Terms come from community configuration, not from us, so each is validated when the
scorer is built (a bad one fails at start-up naming itself, not on the first post),
including a guard against regexes that backtrack catastrophically.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from models.rule_patterns import CATEGORIES

MAX_COMMUNITY_TERMS = 500
MAX_COMMUNITY_REGEX_LEN = 200
COMMUNITY_WEIGHT = 0.9


def _nested_quantifier(pattern: str) -> bool:
    """True if a repeat that can run long (unbounded or > 10) contains another repeat.

    That shape, as in ``(a+)+`` or ``(.*)*``, is what makes backtracking exponential.
    Alternations like ``(a|a)*`` are not caught; the length cap bounds the damage.
    """
    try:
        from re import _constants as c
        from re import _parser as p
    except ImportError:  # private modules; fall back to a textual check
        return re.search(r"\([^()]*[+*}][^()]*\)\s*[+*{]", pattern) is not None
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}

    def walk(node: Any, inside_long: bool) -> bool:
        if isinstance(node, (p.SubPattern, list)):
            return any(walk(item, inside_long) for item in node)
        if isinstance(node, tuple) and len(node) == 2 and node[0] in repeats:
            lo, hi, sub = node[1]
            if hi > 1 and inside_long:
                return True
            return walk(sub, inside_long or hi == c.MAXREPEAT or hi > 10)
        if isinstance(node, tuple):
            return any(walk(x, inside_long) for x in node
                       if isinstance(x, (tuple, list, p.SubPattern)))
        return False

    return walk(p.parse(pattern), False)


class _Terms:
    """Community word/phrase/regex terms, compiled once.

    Words made only of word characters are looked up by token (fast for hundreds of
    terms); other words and phrases share one alternation; regexes run one by one.
    """

    _WORD = re.compile(r"\w+")

    def __init__(self, terms: Sequence[Mapping[str, Any]], deny: bool):
        self.words: dict[str, tuple[Optional[str], str]] = {}
        self.literals: dict[str, tuple[Optional[str], str]] = {}
        self.regexes: list[tuple[re.Pattern, Optional[str], str]] = []
        literal_patterns = []
        for term in terms:
            kind, value, category = _validate_term(term, deny)
            meta = (category, "community:" + value[:32])
            if kind == "regex":
                self.regexes.append((re.compile(value, re.IGNORECASE), *meta))
                continue
            words = value.lower().split()
            if kind == "word" and self._WORD.fullmatch(words[0]) and len(words) == 1:
                self.words[words[0]] = meta
                continue
            key = " ".join(words)
            self.literals[key] = meta
            body = r"\s+".join(re.escape(w) for w in words)
            if re.match(r"\w", key):
                # "not after a word character", checked after the first character: a
                # lookbehind in front of every alternative keeps the regex engine from
                # skipping to the positions where a term can begin (measured: 25 µs a
                # 360-character post for three phrases, against 4 µs)
                body = body[0] + r"(?<!\w.)" + body[1:]
            right = r"(?!\w)" if re.search(r"\w$", key) else ""
            literal_patterns.append(body + right)
        literal_patterns.sort(key=len, reverse=True)
        self.literal_re = re.compile("|".join(literal_patterns)) if literal_patterns else None
        self.empty = not (self.words or self.literals or self.regexes)

    def find(self, low: str, text: str) -> list[tuple[int, int, Optional[str], str]]:
        out = []
        # most posts hold none of the words: one C-level scan says so before a
        # match object is made per word
        if self.words and not self.words.keys().isdisjoint(self._WORD.findall(low)):
            for m in self._WORD.finditer(low):
                meta = self.words.get(m.group())
                if meta:
                    out.append((m.start(), m.end(), *meta))
        if self.literal_re is not None:
            for m in self.literal_re.finditer(low):
                meta = self.literals.get(" ".join(m.group().split()))
                if meta:
                    out.append((m.start(), m.end(), *meta))
        for rx, category, rule in self.regexes:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    out.append((m.start(), m.end(), category, rule))
        return out


def _validate_term(term: Any, deny: bool) -> tuple[str, str, Optional[str]]:
    if not isinstance(term, Mapping):
        raise ValueError(f"community term {term!r}: must be a mapping with kind and value")
    kind, value, category = term.get("kind"), term.get("value"), term.get("category")
    name = f"community term {value!r}"
    if kind not in ("word", "phrase", "regex"):
        raise ValueError(f"{name}: kind must be 'word', 'phrase' or 'regex', got {kind!r}")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: value must be a non-empty string")
    if deny and category not in CATEGORIES:
        raise ValueError(f"{name}: category must be one of {CATEGORIES}, got {category!r}")
    if not deny and category is not None and category not in CATEGORIES:
        raise ValueError(f"{name}: category must be one of {CATEGORIES} or absent")
    if len(value) > MAX_COMMUNITY_REGEX_LEN:
        raise ValueError(f"{name}: longer than {MAX_COMMUNITY_REGEX_LEN} characters")
    if kind == "regex":
        try:
            rx = re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{name}: invalid regex: {exc}") from None
        if _nested_quantifier(value):
            raise ValueError(f"{name}: nested quantifier (like (a+)+ or (.*)*) can "
                             f"backtrack catastrophically; rewrite without it")
        if rx.search("") is not None:
            raise ValueError(f"{name}: matches the empty string")
    if kind != "regex":
        value = " ".join(value.split())
    return kind, value.strip(), category
