"""Incidents rebuilt from escalation messages, as a consumer of the topic sees them.

The escalations topic carries one message per lifecycle step (triggered, updated,
acknowledged, resolved) keyed by ``dedup_key``; a re-sent message has the same ``id``
(consumers upsert on it, so do we). A ``triggered`` message opens an incident of its
key; the following messages of the key belong to it until one resolves it. Messages
of one key are kept in the order they were written (a key lives on one partition).

>>> msgs = [
...   {"id": "a", "dedup_key": "moderation:reddit:r/x:au_1", "type": "moderation",
...    "status": "triggered", "community": "r/x", "first_seen": "2026-11-02T08:00:00Z",
...    "last_seen": "2026-11-02T08:00:00Z", "created_at": "2026-11-02T08:00:03Z",
...    "occurrence_count": 1, "severity": "medium",
...    "evidence": {"author_id": "au_1", "recommended": "warn"}},
...   {"id": "a", "dedup_key": "moderation:reddit:r/x:au_1", "status": "triggered"},
...   {"id": "b", "dedup_key": "moderation:reddit:r/x:au_1", "type": "moderation",
...    "status": "acknowledged", "community": "r/x", "first_seen": "2026-11-02T08:00:00Z",
...    "last_seen": "2026-11-02T08:00:00Z", "created_at": "2026-11-02T08:05:03Z",
...    "occurrence_count": 1, "severity": "medium", "evidence": {}}]
>>> [inc] = incidents_from_messages(msgs, live=True)
>>> inc.post_to_escalation_s, inc.escalation_to_ack_s, inc.resolved_at
(3.0, 300.0, None)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Optional

from models.eventtime import parse_event_time

__all__ = ["Incident", "event_ts", "incidents_from_messages"]


def event_ts(value: Any) -> Optional[float]:
    """A record's time in seconds, or None where it is missing or unreadable (a report
    skips such a record rather than failing on it).

    >>> event_ts("2026-11-02T08:00:00Z"), event_ts("soon"), event_ts(None)
    (1793606400.0, None, None)
    """
    return _parsed(value) if isinstance(value, (str, int, float)) and value else None


@lru_cache(maxsize=1 << 18)  # a post's time is read 3-4 times per report; parsing dominates
def _parsed(value: Any) -> Optional[float]:
    try:
        return parse_event_time(value)
    except Exception:
        return None


@dataclass
class Incident:
    dedup_key: str
    type: str
    severity: str
    community: str
    first_seen: Optional[float]  # event time of its first occurrence
    raised_at: Optional[float]  # wall clock of the triggering message (live only)
    raised_event: Optional[float]  # event time of the post that raised it
    live: bool
    acknowledged_at: Optional[float] = None
    resolved_at: Optional[float] = None  # wall clock (live) or event time (replay)
    occurrences: int = 1
    author_id: Optional[str] = None  # moderation incidents: the author's pseudonym
    trend_id: Optional[str] = None
    # (event time, recommended action) of every message that recommended one
    recommendations: list[tuple[float, str]] = field(default_factory=list)

    @property
    def post_to_escalation_s(self) -> Optional[float]:
        raised = self.raised_at if self.live else self.raised_event
        if raised is None or self.first_seen is None:
            return None
        return max(0.0, raised - self.first_seen)

    @property
    def escalation_to_ack_s(self) -> Optional[float]:
        if not self.live or self.acknowledged_at is None or self.raised_at is None:
            return None
        return max(0.0, self.acknowledged_at - self.raised_at)

    @property
    def ack_to_resolve_s(self) -> Optional[float]:
        if not self.live or self.acknowledged_at is None or self.resolved_at is None:
            return None
        return max(0.0, self.resolved_at - self.acknowledged_at)


def _trend_id(message: dict) -> Optional[str]:
    evidence = message.get("evidence") or {}
    if evidence.get("trend_id"):
        return evidence["trend_id"]
    key = message.get("dedup_key", "")
    return key.split(":", 1)[1] if message.get("type") == "trend" and ":" in key else None


def incidents_from_messages(messages: Iterable[dict], *, live: bool) -> list[Incident]:
    """Every incident the messages describe, in the order each was raised."""
    seen: set[str] = set()
    open_: dict[str, Incident] = {}
    out: list[Incident] = []
    for m in messages:
        if m.get("id") in seen:
            continue  # a re-sent message: the same step again
        seen.add(m.get("id"))
        key, status = m.get("dedup_key"), m.get("status")
        evidence = m.get("evidence") or {}
        inc = open_.get(key)
        if status == "triggered" or inc is None:
            inc = Incident(
                dedup_key=key, type=m.get("type", ""), severity=m.get("severity", ""),
                community=m.get("community", ""), first_seen=event_ts(m.get("first_seen")),
                raised_at=event_ts(m.get("created_at")),
                raised_event=event_ts(m.get("last_seen")),
                live=live, author_id=evidence.get("author_id"), trend_id=_trend_id(m))
            open_[key] = inc
            out.append(inc)
        inc.occurrences = max(inc.occurrences, int(m.get("occurrence_count") or 1))
        if evidence.get("recommended") and evidence["recommended"] != "none":
            inc.recommendations.append((event_ts(m.get("last_seen")), evidence["recommended"]))
        # when on-call acted: the wall clock live; a replay has only the event time
        at = event_ts(m.get("created_at") if live else m.get("last_seen"))
        if status == "acknowledged" and inc.acknowledged_at is None:
            inc.acknowledged_at = at
        elif status == "resolved":
            inc.resolved_at = at
            open_.pop(key, None)
    return out
