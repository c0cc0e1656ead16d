"""Event-time helpers: parse the timestamps platforms send, format Vigil's own.

Vigil computes every window and rate from event time (when a post was written), so
these two functions sit on the hot path of normalisation; they stay small and strict.

>>> parse_event_time("2026-11-02T08:00:00Z")
1793606400.0
>>> parse_event_time(1793606400), parse_event_time("1793606400000")
(1793606400.0, 1793606400.0)
>>> parse_event_time("2026-11-02T09:00:00+01:00") == parse_event_time("2026-11-02T08:00:00Z")
True
>>> to_iso(1793606400.25)
'2026-11-02T08:00:00.250Z'
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["parse_event_time", "to_iso", "EventTimeError"]

# Posts dated before this are almost certainly a unit mistake (ms vs s) or garbage.
_EARLIEST = 946684800.0  # 2000-01-01
_MS_THRESHOLD = 1e11  # epoch seconds pass this only in the year 5138


_NUMERIC = re.compile(r"\d+(\.\d+)?")


class EventTimeError(ValueError):
    pass


def parse_event_time(value: object) -> float:
    """Epoch seconds (UTC) from an ISO-8601 string or an epoch number (s or ms)."""
    if isinstance(value, bool):
        raise EventTimeError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        ts = float(value)
        if ts > _MS_THRESHOLD:
            ts /= 1000.0
    elif isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        return parse_event_time(float(value))  # CSV cells: epoch seconds or ms as text
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise EventTimeError(f"not an ISO-8601 timestamp: {value!r}") from None
        if dt.tzinfo is None:
            # A naive time from a platform is UTC by every API Vigil speaks to.
            dt = dt.replace(tzinfo=timezone.utc)
        ts = dt.timestamp()
    else:
        raise EventTimeError(f"not a timestamp: {type(value).__name__}")
    if ts != ts or ts < _EARLIEST:  # NaN or implausibly old
        raise EventTimeError(f"timestamp out of range: {value!r}")
    return ts


def to_iso(ts: float) -> str:
    """ISO-8601 UTC with millisecond precision and a ``Z`` suffix."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
