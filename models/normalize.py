"""Validation and normalisation of raw platform payloads into canonical posts.

A payload arrives as bytes with a format name (the ``vigil-format`` header, or the
``platform`` field for Vigil's own JSONL). Each format has a parser that maps the
platform's JSON to Vigil's canonical fields (``models.parsers``, registered in
``models.parsers.FORMATS``); everything else here (size limits, types, timestamps,
pseudonymisation) is shared, so every platform is held to the same rules.
Anything that fails raises :class:`MalformedPost` with a machine-readable ``reason``
that becomes the dead-letter record's reason and a metric label.

The checks run cheapest first, so a hostile payload costs little: its size
(``payload_too_large``), then its encoding (strict UTF-8, ``invalid_encoding``), then its
nesting depth by a byte scan (``too_deep``), and only then is it parsed as JSON; a
string holding a lone surrogate is ``invalid_encoding`` too. A payload nested too deep
to read is a ``too_deep`` dead letter, never a crash: ``internal_error`` (given by the
normalize stage when a parser raises) is kept for Vigil's own bugs.

>>> n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
>>> post, ts = n.normalize(b'{"platform": "reddit", "community": "r/x", "id": "1",'
...     b' "author": "bob", "text": " hi ", "created_at": "2026-11-02T08:00:00Z"}', now=1.9e9)
>>> post["text"], post["created_at"], post["author_id"] != "bob"
('hi', '2026-11-02T08:00:00Z', True)
>>> n.normalize(b'{"platform": "reddit"', now=1.9e9)
Traceback (most recent call last):
...
models.normalize.MalformedPost: invalid_json: ...
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from models.eventtime import EventTimeError, parse_event_time, to_iso
from models.parsers import FORMATS, FormatParser
from models.pseudonym import Pseudonymizer

__all__ = ["MalformedPost", "NotAPost", "NormalizeLimits", "Normalizer", "DLQ_REASONS",
           "PLATFORM_EVENTS", "json_depth"]

DLQ_REASONS = ("payload_too_large", "invalid_encoding", "too_deep", "invalid_json",
               "not_an_object", "unknown_format", "missing_field", "wrong_type", "empty_text",
               "text_too_long", "bad_timestamp", "future_timestamp", "internal_error")

_REQUIRED = ("platform", "community", "post_id", "text", "created_at")
#: canonical fields that must be a string
_REQUIRED_STR = ("platform", "community", "text")
#: canonical fields that must be a string or null (a parser stringifies a numeric id)
_OPTIONAL_STR = ("author", "lang", "url")
#: identifiers: a string or an integer (not a bool or a float), stored as a string
_OPTIONAL_ID = ("thread_id", "parent_id")

# a complete JSON string (escapes included; possessive: no backtracking, linear time);
# what is left between strings is structure
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)
# every byte but brackets and quotes, deleted by bytes.translate (in C: cheap)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# a \uD800-\uDFFF escape (or text that looks like one): the parsed strings need a look
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class MalformedPost(ValueError):
    """A payload Vigil cannot accept. ``reason`` is one of :data:`DLQ_REASONS`."""

    def __init__(self, reason: str, detail: str):
        assert reason in DLQ_REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


#: What a platform sends besides posts. A parser returns ``{"event": kind, ...}`` for
#: them: they are well-formed, so they are counted, not dead-lettered.
PLATFORM_EVENTS = ("deletion", "moderation_action", "non_post")


class NotAPost(Exception):
    """A valid platform event that is not a post: a deletion, a moderator's action (a
    Twitch CLEARCHAT, a Discord MESSAGE_DELETE), a join or a system notice.

    >>> deletions = {"doc-delete": lambda obj: {"event": "deletion", "post_id": obj["id"]}}
    >>> n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits(), formats=deletions)
    >>> try:
    ...     n.normalize(b'{"id": "42"}', fmt="doc-delete", now=0.0)
    ... except NotAPost as e:
    ...     print(e.kind, e.fields["post_id"])
    deletion 42
    """

    def __init__(self, kind: str, fields: dict):
        if kind not in PLATFORM_EVENTS:
            raise MalformedPost("wrong_type", f"unknown platform event {kind!r}")
        super().__init__(kind)
        self.kind, self.fields = kind, fields


@dataclass(frozen=True)
class NormalizeLimits:
    max_payload_bytes: int = 64 * 1024
    max_text_chars: int = 10_000
    max_clock_skew_s: float = 300.0
    #: arrays and objects inside each other, the top-level object counting as 1 (the
    #: platform payloads in the tests nest 4 deep at most); beyond it: too_deep
    max_depth: int = 64


def json_depth(raw: bytes, limit: int) -> int:
    r"""How deep a JSON text's arrays and objects nest, by a scan of its bytes outside
    strings (escapes respected), without parsing it; counted up to ``limit + 1``. Exact
    for valid JSON; for invalid JSON, at least as deep as a parser gets before it fails
    (nothing nests after an unterminated string: a parser stops at that string).

    >>> json_depth(b'{"a": [1, {"b": "[[[\\\"{{"}], "c": {}}', 64)
    3
    >>> json_depth(b'[' * 1000, 64)
    65
    """
    # UTF-8 never uses an ASCII byte inside a multi-byte character: bytes will do
    skeleton = _JSON_STRING.sub(b"", raw).translate(None, _NOT_STRUCTURE).partition(b'"')[0]
    depth = deepest = 0
    for byte in skeleton:  # only brackets are left: a short loop for a post
        depth += _DEPTH_STEP[byte]
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _lone_surrogate(obj: Any) -> Optional[str]:
    """The first string (key or value) in parsed JSON holding a lone surrogate, which
    JSON's ``\\ud800`` escapes can smuggle in and UTF-8 cannot encode. Iterative: the
    depth was bounded before parsing, but no nesting can make this recurse."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class Normalizer:
    """Payload bytes to a canonical post. ``formats`` maps a format name to its parser:
    every format Vigil reads (``models.parsers.FORMATS``) unless given."""

    def __init__(self, pseudonymize: Pseudonymizer, limits: NormalizeLimits,
                 formats: Mapping[str, FormatParser] = FORMATS):
        self.pseudonymize = pseudonymize
        self.limits = limits
        self.formats = formats

    def normalize(self, raw: bytes, *, fmt: Optional[str] = None, now: float,
                  community: Optional[str] = None) -> tuple[dict, float]:
        """Canonical post fields (as in ``streams.records.Post``) and the event time.

        ``community`` is the message key: the community a connector assigned the payload
        to, used when the platform's payload does not name one (a Discord message has a
        channel id, not the community name Vigil was configured with)."""
        try:
            return self._normalize(raw, fmt, now, community)
        except RecursionError:  # depth is bounded before parsing: a last line of defence
            raise MalformedPost("too_deep", "nested too deep to read (recursion limit)") from None

    def _normalize(self, raw: bytes, fmt: Optional[str], now: float,
                   community: Optional[str]) -> tuple[dict, float]:
        limits = self.limits
        if len(raw) > limits.max_payload_bytes:
            raise MalformedPost("payload_too_large",
                                f"{len(raw)} bytes > limit {limits.max_payload_bytes}")
        raw = bytes(raw)
        try:  # strictly: json.loads would also take UTF-16/32 and encoded surrogates
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedPost("invalid_encoding", str(exc)) from None
        # no more openers than the limit in all (a post's usual case): not too deep
        if (raw.count(b"[") + raw.count(b"{") > limits.max_depth
                and json_depth(raw, limits.max_depth) > limits.max_depth):
            raise MalformedPost("too_deep", f"arrays/objects nested deeper than "
                                            f"{limits.max_depth}")
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise MalformedPost("invalid_json", str(exc)) from None
        if _SURROGATE_ESCAPE.search(text) and (bad := _lone_surrogate(obj)) is not None:
            raise MalformedPost("invalid_encoding",
                                f"lone surrogate in a string: {ascii(bad[:40])}")
        if not isinstance(obj, dict):
            raise MalformedPost("not_an_object", f"top-level JSON is {type(obj).__name__}")
        fmt = fmt or "vigil"
        parser = self.formats.get(fmt)
        if parser is None:
            raise MalformedPost("unknown_format", f"no parser for format {fmt!r}")
        try:
            fields = parser(obj)
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
            # A platform parser reads the payload's documented shape; a field of
            # another type (a list where an id belongs, an int for a list) is the
            # payload's fault, said with the parser's words, not a Vigil bug.
            raise MalformedPost("wrong_type", f"{fmt} payload: unexpected shape "
                                              f"({type(exc).__name__}: {exc})"[:300]) from None
        if fields.get("community") is None and community:
            fields["community"] = community
        if fields.get("event"):
            raise NotAPost(fields["event"], fields)
        return self._canonical(fields, now)

    def _canonical(self, f: dict, now: float) -> tuple[dict, float]:
        for name in _REQUIRED:
            if f.get(name) is None:
                raise MalformedPost("missing_field", f"{name!r} is required")
        for name in _REQUIRED_STR:
            if not isinstance(f[name], str):
                raise MalformedPost("wrong_type", f"{name!r} must be a string, "
                                                  f"got {type(f[name]).__name__}")
        for name in _OPTIONAL_STR:
            if f.get(name) is not None and not isinstance(f[name], str):
                raise MalformedPost("wrong_type", f"{name!r} must be a string or null, "
                                                  f"got {type(f[name]).__name__}")
        post_id = f["post_id"]
        if not _is_id(post_id):
            raise MalformedPost("wrong_type", "'id' must be a string or integer, "
                                              f"got {type(post_id).__name__}")
        for name in _OPTIONAL_ID:
            if f.get(name) is not None and not _is_id(f[name]):
                raise MalformedPost("wrong_type", f"{name!r} must be a string, integer or "
                                                  f"null, got {type(f[name]).__name__}")
        meta = f.get("meta") or {}
        if not isinstance(meta, dict):
            raise MalformedPost("wrong_type", "'meta' must be an object")
        text = f["text"].strip()
        if not text:
            raise MalformedPost("empty_text", "text is empty")
        if len(text) > self.limits.max_text_chars:
            raise MalformedPost("text_too_long",
                                f"{len(text)} chars > limit {self.limits.max_text_chars}")
        try:
            ts = parse_event_time(f["created_at"])
        except EventTimeError as exc:
            raise MalformedPost("bad_timestamp", str(exc)) from None
        if ts > now + self.limits.max_clock_skew_s:
            raise MalformedPost("future_timestamp",
                                f"created_at is {ts - now:.0f}s in the future")
        platform = f["platform"].strip().lower()
        author = f.get("author")
        post = {
            "platform": platform,
            "community": f["community"].strip(),
            "post_id": str(post_id),
            "author_id": self.pseudonymize(platform, str(author)) if author else "unknown",
            "text": text,
            "created_at": to_iso(ts),
            "thread_id": _opt_str(f.get("thread_id")),
            "parent_id": _opt_str(f.get("parent_id")),
            "lang": _opt_str(f.get("lang")),
            "url": _opt_str(f.get("url")),
            "meta": meta,
        }
        return post, ts


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _opt_str(value: Any) -> Optional[str]:
    return None if value is None else str(value)
