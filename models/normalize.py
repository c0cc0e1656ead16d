"""Validation and normalisation of raw platform payloads into canonical posts.

A payload arrives as bytes with a format name (the ``vigil-format`` header, or the
``platform`` field for Vigil's own JSONL). Each format has a parser that maps the
platform's JSON to Vigil's canonical fields (``models.parsers``, registered in
``models.parsers.FORMATS``); everything else here (size limits, types, timestamps,
pseudonymisation) is shared, so every platform is held to the same rules.
Anything that fails raises :class:`MalformedPost` with a machine-readable ``reason``
that becomes the dead-letter record's reason and a metric label.

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
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from models.eventtime import EventTimeError, parse_event_time, to_iso
from models.parsers import FORMATS, FormatParser
from models.pseudonym import Pseudonymizer

__all__ = ["MalformedPost", "NotAPost", "NormalizeLimits", "Normalizer", "DLQ_REASONS",
           "PLATFORM_EVENTS"]

DLQ_REASONS = ("payload_too_large", "invalid_encoding", "invalid_json", "not_an_object",
               "unknown_format", "missing_field", "wrong_type", "empty_text", "text_too_long",
               "bad_timestamp", "future_timestamp", "internal_error")

_REQUIRED = ("platform", "community", "post_id", "text", "created_at")
_OPTIONAL_STR = ("thread_id", "parent_id", "lang", "url")


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
        if len(raw) > self.limits.max_payload_bytes:
            raise MalformedPost("payload_too_large",
                                f"{len(raw)} bytes > limit {self.limits.max_payload_bytes}")
        try:
            obj = json.loads(raw)
        except UnicodeDecodeError as exc:
            raise MalformedPost("invalid_encoding", str(exc)) from None
        except ValueError as exc:
            raise MalformedPost("invalid_json", str(exc)) from None
        if not isinstance(obj, dict):
            raise MalformedPost("not_an_object", f"top-level JSON is {type(obj).__name__}")
        fmt = fmt or "vigil"
        parser = self.formats.get(fmt)
        if parser is None:
            raise MalformedPost("unknown_format", f"no parser for format {fmt!r}")
        fields = parser(obj)
        if fields.get("community") is None and community:
            fields["community"] = community
        if fields.get("event"):
            raise NotAPost(fields["event"], fields)
        return self._canonical(fields, now)

    def _canonical(self, f: dict, now: float) -> tuple[dict, float]:
        for name in _REQUIRED:
            if f.get(name) is None:
                raise MalformedPost("missing_field", f"{name!r} is required")
        for name in ("platform", "community", "text"):
            if not isinstance(f[name], str):
                raise MalformedPost("wrong_type", f"{name!r} must be a string, "
                                                  f"got {type(f[name]).__name__}")
        post_id = f["post_id"]
        if isinstance(post_id, bool) or not isinstance(post_id, (str, int)):
            raise MalformedPost("wrong_type", "'id' must be a string or integer")
        for name in _OPTIONAL_STR:
            if f.get(name) is not None and not isinstance(f[name], (str, int)):
                raise MalformedPost("wrong_type", f"{name!r} must be a string")
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


def _opt_str(value: Any) -> Optional[str]:
    return None if value is None else str(value)
