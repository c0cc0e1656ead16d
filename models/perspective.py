"""Perspective API's v1alpha1 request and response shapes, for ``vigil serve``.

Pure: a request body (parsed JSON) becomes an :class:`AnalyzeRequest` or an
:class:`ApiError` in Google's error shape; Vigil's scores for the comment (and, with
``spanAnnotations``, for each sentence) become Perspective's ``attributeScores``.

How Vigil's scores answer Perspective's attributes (all probabilities in [0, 1]):

- ``TOXICITY``: the community's toxicity score (``communityId``: its learnt model).
- ``SEVERE_TOXICITY``: the larger of the severe rule categories (threat, self-harm,
  personal data, identity attack) and the toxicity with its logit lowered by
  ``SEVERE_SHIFT`` (2.0): strongly toxic text only, not mild swearing.
- ``PROFANITY``: the lexical prior (profanity-check's probability).
- ``INSULT``, ``THREAT``, ``IDENTITY_ATTACK``, ``SEXUALLY_EXPLICIT``, and Vigil's own
  ``SPAM``, ``PERSONAL_DATA``, ``SELF_HARM``: the rule category's score
  (:mod:`models.rules`); ``IDENTITY_ATTACK``, ``THREAT`` and ``INSULT`` also what the
  post's meaning says (:mod:`models.prototypes`: identity attack, dehumanising and
  exclusion language; threats; harassment), the larger of the two.

Span offsets are UTF-16 code units, as Perspective (a Java service) counts them: an
emoji outside the BMP is 2, a combining mark 1.

>>> utf16_offsets("a😂 b", [0, 1, 2, 3])
[0, 1, 3, 4]
>>> parse_analyze({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}).attributes
{'TOXICITY': (None, None)}
>>> try:
...     parse_analyze({"comment": {"text": " "}, "requestedAttributes": {"TOXICITY": {}}})
... except ApiError as e:
...     print(e.body())
{'error': {'code': 400, 'message': 'Comment must be non-empty.', 'status': 'INVALID_ARGUMENT'}}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Mapping, Optional

__all__ = ["ApiError", "AnalyzeRequest", "SuggestRequest", "ATTRIBUTES", "parse_analyze",
           "parse_suggest", "attribute_scores", "analyze_response", "sentences",
           "utf16_offsets", "SUPPORTED_LANGUAGES", "MAX_TEXT_CHARS"]

ATTRIBUTES = ("TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT",
              "SEXUALLY_EXPLICIT", "SPAM", "PERSONAL_DATA", "SELF_HARM")
_RULE_OF = {"INSULT": "insult", "THREAT": "threat", "IDENTITY_ATTACK": "identity_attack",
            "SEXUALLY_EXPLICIT": "sexual", "SPAM": "spam", "PERSONAL_DATA": "personal_data",
            "SELF_HARM": "self_harm"}
_SEVERE_RULES = ("threat", "self_harm", "personal_data", "identity_attack")
#: the prototype kinds whose meaning also answers an attribute (models/prototypes.py)
_MEANING_OF = {"IDENTITY_ATTACK": ("identity_attack", "dehumanising", "exclusion"),
               "THREAT": ("threat",), "INSULT": ("harassment",)}
SEVERE_SHIFT = 2.0
#: the rules, the sentiment lexicon and the lexical prior read English only
SUPPORTED_LANGUAGES = ("en",)
MAX_TEXT_CHARS = 20_480  # Perspective's own limit is 20 KB of text
_HTTP = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
         "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429, "UNIMPLEMENTED": 501, "INTERNAL": 500,
         "UNAVAILABLE": 503}


class ApiError(Exception):
    """An error as Google APIs answer it: ``{"error": {"code", "message", "status"}}``."""

    def __init__(self, status: str, message: str, retry_after_s: Optional[float] = None):
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.retry_after_s = status, message, retry_after_s
        self.code = _HTTP[status]

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


@dataclass(frozen=True)
class AnalyzeRequest:
    text: str
    attributes: dict  # name -> (score_type or None, score_threshold or None)
    languages: tuple = ()
    span_annotations: bool = False
    do_not_store: bool = False
    client_token: Optional[str] = None
    community: Optional[str] = None
    session_id: Optional[str] = None


@dataclass(frozen=True)
class SuggestRequest:
    text: str
    scores: dict = field(default_factory=dict)  # attribute -> the value the client says
    community: Optional[str] = None
    client_token: Optional[str] = None
    languages: tuple = ()


def _bad(message: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message)


def _comment(body: Any) -> str:
    if not isinstance(body, Mapping):
        raise _bad("Request body must be a JSON object.")
    comment = body.get("comment")
    if not isinstance(comment, Mapping) or not isinstance(comment.get("text"), str):
        raise _bad("comment.text is required and must be a string.")
    kind = comment.get("type", "PLAIN_TEXT")
    if kind not in ("PLAIN_TEXT", "HTML"):
        raise _bad(f"comment.type must be PLAIN_TEXT or HTML, not {str(kind)[:40]!r}.")
    text = _html_text(comment["text"]) if kind == "HTML" else comment["text"]
    if not text.strip():
        raise _bad("Comment must be non-empty.")
    if len(text) > MAX_TEXT_CHARS:
        raise _bad(f"Comment text too long: at most {MAX_TEXT_CHARS} characters.")
    return text


def _languages(body: Mapping) -> tuple:
    langs = body.get("languages", [])
    if not isinstance(langs, list) or not all(isinstance(x, str) for x in langs):
        raise _bad("languages must be a list of language codes.")
    return tuple(x.lower() for x in langs)


def _optional_str(body: Mapping, name: str) -> Optional[str]:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _bad(f"{name} must be a string.")
    return value


def parse_analyze(body: Any) -> AnalyzeRequest:
    text = _comment(body)
    requested = body.get("requestedAttributes")
    if not isinstance(requested, Mapping) or not requested:
        raise _bad("requestedAttributes must name at least one attribute.")
    attributes = {}
    for name, opts in requested.items():
        if name not in ATTRIBUTES:
            raise _bad(f"Unknown attribute: {str(name)[:60]}. Known: {', '.join(ATTRIBUTES)}.")
        opts = opts or {}
        if not isinstance(opts, Mapping):
            raise _bad(f"requestedAttributes.{name} must be an object.")
        kind, threshold = opts.get("scoreType"), opts.get("scoreThreshold")
        if kind not in (None, "PROBABILITY"):
            raise _bad(f"requestedAttributes.{name}.scoreType: only PROBABILITY is supported.")
        if threshold is not None and (isinstance(threshold, bool)
                                      or not isinstance(threshold, (int, float))
                                      or not 0.0 <= threshold <= 1.0):
            raise _bad(f"requestedAttributes.{name}.scoreThreshold must be a number in [0, 1].")
        attributes[name] = (kind, threshold)
    for flag in ("spanAnnotations", "doNotStore"):
        if not isinstance(body.get(flag, False), bool):
            raise _bad(f"{flag} must be true or false.")
    return AnalyzeRequest(
        text=text, attributes=attributes, languages=_languages(body),
        span_annotations=body.get("spanAnnotations", False),
        do_not_store=body.get("doNotStore", False),
        client_token=_optional_str(body, "clientToken"),
        community=_optional_str(body, "communityId"),
        session_id=_optional_str(body, "sessionId"))


def parse_suggest(body: Any) -> SuggestRequest:
    text = _comment(body)
    scores = body.get("attributeScores")
    if not isinstance(scores, Mapping) or not scores:
        raise _bad("attributeScores must give at least one attribute's summaryScore.")
    values = {}
    for name, entry in scores.items():
        if name not in ATTRIBUTES:
            raise _bad(f"Unknown attribute: {str(name)[:60]}.")
        value = ((entry or {}).get("summaryScore") or {}).get("value") if isinstance(entry, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise _bad(f"attributeScores.{name}.summaryScore.value must be a number in [0, 1].")
        values[name] = float(value)
    return SuggestRequest(text=text, scores=values, community=_optional_str(body, "communityId"),
                          client_token=_optional_str(body, "clientToken"),
                          languages=_languages(body))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def attribute_scores(toxicity: float, categories: Mapping[str, float],
                     meaning: Optional[Mapping[str, float]] = None) -> dict[str, float]:
    """Every attribute's probability from one scored text (see the module docstring).

    ``meaning``: per prototype kind, the probability the post's meaning gives it
    (:meth:`models.toxicity_model.ToxicityModel.meaning`; empty without embeddings).

    >>> s = attribute_scores(0.9, {"profanity": 0.8, "threat": 0.95})
    >>> s["TOXICITY"], s["THREAT"], s["SEVERE_TOXICITY"], s["PROFANITY"]
    (0.9, 0.95, 0.95, 0.8)
    >>> s = attribute_scores(0.85, {"profanity": 0.05}, {"dehumanising": 0.85, "threat": 0.1})
    >>> s["IDENTITY_ATTACK"], s["THREAT"], s["INSULT"]
    (0.85, 0.1, 0.0)
    """
    rules = {attr: float(categories.get(cat, 0.0)) for attr, cat in _RULE_OF.items()}
    for attr, kinds in _MEANING_OF.items():
        rules[attr] = max([rules[attr]] + [float((meaning or {}).get(k, 0.0)) for k in kinds])
    severe = max([1 / (1 + math.exp(-(_logit(toxicity) - SEVERE_SHIFT)))]
                 + [float(categories.get(c, 0.0)) for c in _SEVERE_RULES])
    out = {"TOXICITY": toxicity, "SEVERE_TOXICITY": severe,
           "PROFANITY": float(categories.get("profanity", 0.0)), **rules}
    return {k: round(min(1.0, max(0.0, v)), 4) for k, v in out.items()}


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*|[.!?\n]+")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the text's sentences, whitespace trimmed.

    >>> sentences("Hi there. You idiot!\\nBye")
    [(0, 9), (10, 20), (21, 24)]
    """
    out = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and any(ch.isalnum() for ch in text[start:end]):
            out.append((start, end))
    return out or [(0, len(text))]


def utf16_offsets(text: str, indices: list[int]) -> list[int]:
    """Python string indices as UTF-16 code unit offsets."""
    out, units, pos = [], 0, 0
    for i in sorted(set(indices)):
        units += sum(2 if ord(ch) > 0xFFFF else 1 for ch in text[pos:i])
        pos = i
        out.append((i, units))
    table = dict(out)
    return [table[i] for i in indices]


def analyze_response(req: AnalyzeRequest, summary: dict[str, float],
                     spans: list[tuple[int, int, dict[str, float]]],
                     detected: list[str]) -> dict:
    """Perspective's AnalyzeCommentResponse. ``spans``: (start, end, scores) per sentence.
    An attribute below its ``scoreThreshold`` is left out, as Perspective does."""
    bounds = utf16_offsets(req.text, [i for s, e, _ in spans for i in (s, e)])
    out: dict[str, Any] = {}
    for name, (_, threshold) in req.attributes.items():
        value = summary[name]
        if threshold is not None and value < threshold:
            continue
        entry: dict[str, Any] = {"summaryScore": {"value": value, "type": "PROBABILITY"}}
        if req.span_annotations:
            entry["spanScores"] = [
                {"begin": bounds[2 * k], "end": bounds[2 * k + 1],
                 "score": {"value": scores[name], "type": "PROBABILITY"}}
                for k, (_, _, scores) in enumerate(spans)
                if threshold is None or scores[name] >= threshold]
        out[name] = entry
    body: dict[str, Any] = {"attributeScores": out,
                            "languages": list(req.languages) or detected[:1] or ["en"],
                            "detectedLanguages": detected}
    if req.client_token is not None:
        body["clientToken"] = req.client_token
    return body


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")


def _html_text(html: str) -> str:
    """``type: HTML``: the text a reader sees (tags dropped, entities decoded)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()
