"""Threat or opportunity: what a trend means for the brand, with a category and reasons.

Cue terms per category come from ``config/trend_cues.toml`` (:func:`load_cues`). A
category's score is the share of the trend's posts that contain any of its cues (single
words through :func:`models.bursts.terms_of`, phrases as substrings on word boundaries,
both case- and accent-insensitive) plus ``top_term_weight`` per burst top term that is a
cue. Categories scoring at least ``min_share`` compete; each score is tilted by how well
the mean sentiment agrees with the category's kind (×(1 + sentiment/2) for opportunities,
×(1 − sentiment/2) for threats), and the best one decides, except that an opportunity is
overridden by a toxic trend (``harassment_campaign``) or a negative one
(``negative_sentiment``). With no category: toxic → threat/``harassment_campaign``,
negative → threat/``negative_sentiment``, positive → opportunity/``praise``, otherwise
neutral/``chatter``.

Confidence before any feedback is a heuristic prior:
``0.25 + 0.45·min(1, share/0.5) + 0.3·min(1, agreement/0.5)``, clipped to [0.05, 0.95],
where ``share`` is the deciding score (the toxic share for harassment; 0 for
sentiment-only classes) and ``agreement`` the sentiment in the kind's direction (0 when
it points the other way). Neutral chatter gets ``0.4 + 0.4·calm·(1 − best/min_share)``
with ``calm = 1 − |sentiment|/positive_sentiment`` and ``best`` the top category score.
On-call feedback (:meth:`TrendClassifier.learn_one`) trains a river logistic regression
on :meth:`TrendClassifier.features` plus a ``category=<name>`` indicator (no intercept:
a trend unlike every labelled one keeps its prior); from
``MIN_LABELS`` labels on, its log-odds that such a trend is real are added to the
prior's, weighted by ``min(1, labels/20)``: false alarms pull similar trends down, real
ones push them up.

>>> c = TrendClassifier()
>>> t = c.classify(texts=["servers down, can't log in", "crash on login again", "lol"] * 10,
...                top_terms=["servers", "login", "crash"], sentiment=-0.3,
...                toxicity_share=0.05, growth_rate=9.7)
>>> t.kind, t.category, t.confidence, t.reasons[0]
('threat', 'outage', 0.88, "cue terms: crash, login, servers, can't log in, down (outage)")
>>> c.classify(texts=["what time is the tournament?"] * 20, top_terms=["tournament"],
...            sentiment=0.0, toxicity_share=0.0, growth_rate=3.0).category
'chatter'
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from models.bursts import STOPWORDS, terms_of

__all__ = ["TrendClass", "TrendClassifier", "CuesError", "load_cues", "parse_cues",
           "SHIPPED_PATH", "KINDS", "MIN_LABELS"]

SHIPPED_PATH = Path(__file__).resolve().parents[1] / "config" / "trend_cues.toml"
KINDS = ("threat", "opportunity")
MIN_LABELS = 5  # feedback labels before the learnt model is blended in
DEFAULT_SETTINGS = {"min_share": 0.15, "top_term_weight": 0.1, "toxicity_share": 0.3,
                    "negative_sentiment": -0.15, "positive_sentiment": 0.15}
_RANGES = {"min_share": (0.0, 1.0), "top_term_weight": (0.0, 1.0), "toxicity_share": (0.0, 1.0),
           "negative_sentiment": (-1.0, 0.0), "positive_sentiment": (0.0, 1.0)}
_TOP_KEYS = ("settings", "categories")
_CATEGORY_KEYS = ("kind", "terms", "requires_sentiment", "description")
_SENTIMENTS = ("positive", "negative")
_WORD = re.compile(r"[a-z][a-z0-9'\-]{2,}")


class CuesError(ValueError):
    """The trend cues file cannot be used; the message names the file, category and key."""


def fold(text: str) -> str:
    """Lower-case, accents and curly apostrophes folded: ``"Caídos’"`` → ``"caidos'"``."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def load_cues(path: Path | str | None = None) -> dict:
    """Read and validate a cues file (``None``: the shipped ``config/trend_cues.toml``)."""
    path = SHIPPED_PATH if path is None else Path(path)
    source = path.name if path == SHIPPED_PATH else str(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (FileNotFoundError, IsADirectoryError):
        raise CuesError(f"{source}: trend cues file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CuesError(f"{source}: not valid TOML: {exc}") from None
    return parse_cues(data, source=source)


def parse_cues(data: Mapping[str, Any], *, source: str = "trend_cues.toml") -> dict:
    """Validate parsed cues; the result has the same shape, so it parses again unchanged.

    >>> parse_cues({"categories": {"outage": {"kind": "thret", "terms": ["down"]}}})
    Traceback (most recent call last):
    ...
    models.trend_classifier.CuesError: trend_cues.toml: categories.outage.kind: 'thret' is not ...
    """
    def error(key: str, why: str) -> CuesError:
        return CuesError(f"{source}: {key}: {why}")

    def check_keys(table: Any, known: Sequence[str], where: str) -> None:
        if not isinstance(table, Mapping):
            raise error(where or "(top level)", f"expected a table, got {type(table).__name__}")
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = (f"did you mean {close[0]!r}?" if close
                        else f"expected one of {', '.join(known)}")
                raise error(f"{where}.{key}" if where else str(key), f"unknown key; {hint}")

    check_keys(data, _TOP_KEYS, "")
    raw_settings = data.get("settings", {})
    check_keys(raw_settings, tuple(DEFAULT_SETTINGS), "settings")
    settings = dict(DEFAULT_SETTINGS)
    for key, value in raw_settings.items():
        lo, hi = _RANGES[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not (lo <= value < hi if lo < 0 else lo < value <= hi):
            bounds = f"[{lo:g}, {hi:g})" if lo < 0 else f"({lo:g}, {hi:g}]"
            raise error(f"settings.{key}", f"{value!r} must be a number in {bounds}")
        settings[key] = float(value)
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, Mapping) or not raw_categories:
        raise error("categories", "expected a non-empty table of categories like "
                                  '[categories.outage] kind = "threat", terms = ["down"]')
    categories = {}
    for name, raw in raw_categories.items():
        where = f"categories.{name}"
        if not str(name).strip():
            raise error(where, "a category name must not be empty")
        check_keys(raw, _CATEGORY_KEYS, where)
        kind = raw.get("kind")
        if kind not in KINDS:
            raise error(f"{where}.kind", f"{kind!r} is not one of {', '.join(KINDS)}"
                        if kind is not None else f"missing; one of {', '.join(KINDS)}")
        terms = raw.get("terms")
        if not isinstance(terms, (list, tuple)) or not terms:
            raise error(f"{where}.terms", "expected a non-empty list of cue words or phrases")
        for i, term in enumerate(terms):
            if not isinstance(term, str) or not fold(term).strip():
                raise error(f"{where}.terms[{i}]", f"{term!r} must be a non-empty string")
        category = {"kind": kind, "terms": tuple(t.strip() for t in terms)}
        if "requires_sentiment" in raw:
            if raw["requires_sentiment"] not in _SENTIMENTS:
                raise error(f"{where}.requires_sentiment",
                            f"{raw['requires_sentiment']!r} is not one of {', '.join(_SENTIMENTS)}")
            category["requires_sentiment"] = raw["requires_sentiment"]
        if "description" in raw:
            if not isinstance(raw["description"], str):
                raise error(f"{where}.description", "must be a string")
            category["description"] = raw["description"]
        categories[str(name)] = category
    return {"settings": settings, "categories": categories}


@dataclass(frozen=True)
class TrendClass:
    kind: str  # "threat" | "opportunity" | "neutral"
    category: str
    confidence: float  # [0, 1]
    reasons: tuple[str, ...]


class _Cues:
    """One category's cues, split into whole words (a set lookup) and phrase patterns."""

    def __init__(self, terms: Sequence[str]):
        self.words: dict[str, str] = {}  # folded word -> the term as written
        self.phrases: list[tuple[str, re.Pattern]] = []
        for term in terms:
            f = fold(term).strip()
            if _WORD.fullmatch(f) and f not in STOPWORDS:
                self.words[f] = term
            else:
                self.phrases.append((term, re.compile(rf"(?<![a-z0-9]){re.escape(f)}(?![a-z0-9])")))

    def hits(self, folded: str, words: set[str]) -> list[str]:
        found = [term for w, term in self.words.items() if w in words]
        return found + [term for term, rx in self.phrases if rx.search(folded)]


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(hi, max(lo, x))


def _logit(p: float) -> float:
    p = _clip(p, 1e-4, 1 - 1e-4)
    return math.log(p / (1 - p))


class TrendClassifier:
    def __init__(self, cues: Optional[dict] = None, learning_rate: float = 0.2):
        from river import linear_model, optim

        cues = parse_cues(cues) if cues is not None else load_cues()
        self.settings = cues["settings"]
        self.categories = cues["categories"]
        self._cues = {name: _Cues(c["terms"]) for name, c in self.categories.items()}
        self.model = linear_model.LogisticRegression(
            optimizer=optim.SGD(learning_rate), l2=1e-3, intercept_lr=0.0)
        self.n_labels = 0

    # -- evidence ---------------------------------------------------------------------
    def _scan(self, texts: Sequence[str], top_terms: Sequence[str]):
        """Per category: score (post share + top-term bonus), post share, cue terms hit."""
        posts, terms = Counter(), {name: Counter() for name in self._cues}
        for text in texts:
            folded = fold(text)
            words = terms_of(folded)
            for name, cues in self._cues.items():
                found = cues.hits(folded, words)
                if found:
                    posts[name] += 1
                    terms[name].update(found)
        n = max(len(texts), 1)
        share = {name: posts[name] / n for name in self._cues}
        score = dict(share)
        for term in top_terms:
            folded = fold(term)
            for name, cues in self._cues.items():
                found = cues.hits(folded, terms_of(folded))
                if found:
                    score[name] += self.settings["top_term_weight"]
                    terms[name].update(found)
        return score, share, terms

    def features(self, *, texts: Sequence[str], top_terms: Sequence[str], sentiment: float,
                 toxicity_share: float, growth_rate: float) -> dict:
        """The numeric features :meth:`classify` uses and :meth:`learn_one` learns from."""
        return self._features(self._scan(texts, top_terms)[0], sentiment, toxicity_share,
                              growth_rate)

    def _features(self, score: dict, sentiment: float, toxicity_share: float,
                  growth_rate: float) -> dict:
        x = {f"cue_{name}": round(min(s, 1.0), 4) for name, s in score.items()}
        x.update(sentiment=float(sentiment), toxicity_share=float(toxicity_share),
                 log_growth=math.log10(1 + max(float(growth_rate), 0.0)))
        return x

    # -- decision ---------------------------------------------------------------------
    def classify(self, *, texts: Sequence[str], top_terms: Sequence[str], sentiment: float,
                 toxicity_share: float, growth_rate: float) -> TrendClass:
        st = self.settings
        score, share, terms = self._scan(texts, top_terms)
        neg, pos = sentiment <= st["negative_sentiment"], sentiment >= st["positive_sentiment"]
        toxic = toxicity_share >= st["toxicity_share"]

        def agreement(kind: str) -> float:
            return _clip(-sentiment if kind == "threat" else sentiment, -1.0, 1.0)

        def eligible(name: str) -> bool:
            need = self.categories[name].get("requires_sentiment")
            return score[name] >= st["min_share"] and (
                need is None or (pos if need == "positive" else neg))

        ranked = sorted((n for n in score if eligible(n)), key=lambda n: -score[n] * (
            1 + agreement(self.categories[n]["kind"]) / 2))
        reasons: list[str] = []
        if ranked:
            best = ranked[0]
            top = ", ".join(sorted(terms[best], key=lambda t: (-terms[best][t], t))[:5])
            reasons += [f"cue terms: {top} ({best})",
                        f"cue share {share[best]:.2f} of {len(texts)} posts"]
            if len(ranked) > 1:
                others = ", ".join(f"{n} {score[n]:.2f}" for n in ranked[1:4])
                reasons.append(f"also cued: {others}")
            kind, category, strength = self.categories[best]["kind"], best, min(score[best], 1.0)
            if kind == "opportunity" and (toxic or neg):
                kind, category = "threat", "harassment_campaign" if toxic else "negative_sentiment"
                strength = toxicity_share if toxic else 0.0
                reasons.append(f"{'toxicity' if toxic else 'negative sentiment'} overrides "
                               f"opportunity cues ({best})")
        else:
            reasons.append(f"no cue category reached share {st['min_share']:.2f}")
            kind, category, strength = (
                ("threat", "harassment_campaign", toxicity_share) if toxic else
                ("threat", "negative_sentiment", 0.0) if neg else
                ("opportunity", "praise", 0.0) if pos else ("neutral", "chatter", 0.0))
        reasons.append(f"sentiment {sentiment:.2f}")
        if toxicity_share >= st["toxicity_share"] / 2:
            reasons.append(f"toxicity share {toxicity_share:.2f}")
        reasons.append(f"growth x{growth_rate:.1f}")

        if kind == "neutral":
            calm = 1 - min(abs(sentiment) / st["positive_sentiment"], 1.0)
            cued = min(max(score.values(), default=0.0) / st["min_share"], 1.0)
            prior = 0.4 + 0.4 * calm * (1 - cued)
        else:
            prior = (0.25 + 0.45 * min(1.0, strength / 0.5)
                     + 0.3 * min(1.0, max(0.0, agreement(kind)) / 0.5))
        prior = _clip(prior, 0.05, 0.95)
        x = self._features(score, sentiment, toxicity_share, growth_rate)
        confidence, note = self._blend(prior, category, x)
        if note:
            reasons.append(note)
        return TrendClass(kind, category, round(confidence, 4), tuple(reasons))

    # -- feedback ---------------------------------------------------------------------
    def _blend(self, prior: float, category: str, features: dict) -> tuple[float, str]:
        if self.n_labels < MIN_LABELS:
            return prior, ""
        p_real = self.model.predict_proba_one({**features, f"category={category}": 1.0})[True]
        weight = min(1.0, self.n_labels / 20)
        z = _logit(prior) + weight * _logit(p_real)
        return (1 / (1 + math.exp(-z)),
                f"feedback: {self.n_labels} labels, learnt p(real) {p_real:.2f}, prior {prior:.2f}")

    def learn_one(self, trend: TrendClass, features: dict, real: bool) -> None:
        """One on-call verdict on a classified trend: ``real`` or a false alarm."""
        self.model.learn_one({**features, f"category={trend.category}": 1.0}, bool(real))
        self.n_labels += 1
