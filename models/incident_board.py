"""The on-call console's view of incidents: the latest state of each ``dedup_key`` and its
history, built from the ``escalations`` records, filtered and ordered for a person.

Pure: :meth:`IncidentBoard.apply` takes one escalation (its JSON as a dict) and returns
the incident it changed; :meth:`IncidentBoard.list` answers the list page. Open incidents
come first, then by severity, then newest first. Each incident keeps its history (what
happened, when, by whom: the evidence's ``acknowledged_by``/``resolved_by``) and its
latest evidence. Bounded: past ``max_incidents`` the oldest resolved go first.

>>> board = IncidentBoard()
>>> _ = board.apply({"dedup_key": "k1", "status": "triggered", "severity": "high", "type": "moderation",
...     "community": "r/a", "platform": "reddit", "title": "t", "summary": "s",
...     "recommended_action": "r", "runbook_url": "u", "first_seen": "2026-11-02T09:00:00Z",
...     "last_seen": "2026-11-02T09:00:00Z", "occurrence_count": 1, "created_at": "2026-11-02T09:00:01Z",
...     "id": "e1", "evidence": {}})
>>> inc = board.apply({**board.get("k1").latest, "status": "acknowledged", "id": "e2",
...     "evidence": {"acknowledged_by": "sam"}})
>>> inc.status, inc.acknowledged_by, [h["status"] for h in inc.history]
('acknowledged', 'sam', ['triggered', 'acknowledged'])
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Optional

__all__ = ["Incident", "IncidentBoard", "SEVERITY_RANK", "Filters"]

SEVERITY_RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}
MAX_HISTORY = 200


@dataclass
class Incident:
    dedup_key: str
    latest: dict  # the last escalation record, as published
    history: list = field(default_factory=list)  # {"status", "at", "by", "summary", "id"}
    seq: int = 0  # order of the last change, for "newest first"

    @property
    def status(self) -> str:
        return self.latest["status"]

    @property
    def open(self) -> bool:
        return self.status != "resolved"

    @property
    def acknowledged_by(self) -> str:
        for h in reversed(self.history):
            if h["status"] == "acknowledged":
                return h["by"]
            if h["status"] == "triggered":
                break
        return ""

    def summary(self) -> dict:
        e = self.latest
        return {k: e.get(k) for k in (
            "dedup_key", "type", "severity", "status", "community", "platform", "title",
            "summary", "recommended_action", "runbook_url", "first_seen", "last_seen",
            "occurrence_count")} | {"acknowledged_by": self.acknowledged_by}


@dataclass(frozen=True)
class Filters:
    communities: Optional[frozenset] = None  # None: every community the viewer may see
    platform: str = ""
    type: str = ""
    severity: str = ""
    status: str = ""  # "open", "resolved", a status, or "" for all

    def match(self, inc: Incident) -> bool:
        e = inc.latest
        if self.communities is not None and e.get("community") not in self.communities:
            return False
        for name in ("platform", "type", "severity"):
            want = getattr(self, name)
            if want and e.get(name) != want:
                return False
        if self.status == "open":
            return inc.open
        return not self.status or self.status == inc.status


class IncidentBoard:
    def __init__(self, max_incidents: int = 100_000):
        self.max_incidents = max_incidents
        self._incidents: OrderedDict[str, Incident] = OrderedDict()
        self._seen_ids: set = set()
        self._seq = 0

    def __len__(self) -> int:
        return len(self._incidents)

    def get(self, dedup_key: str) -> Optional[Incident]:
        return self._incidents.get(dedup_key)

    def apply(self, esc: dict) -> Optional[Incident]:
        """Fold one escalation in; None if it is one already seen (a redelivery)."""
        ident = esc.get("id")
        if ident in self._seen_ids:
            return None
        self._seen_ids.add(ident)
        key = esc["dedup_key"]
        inc = self._incidents.get(key)
        if inc is None:
            inc = self._incidents[key] = Incident(key, esc)
        inc.latest = esc
        ev = esc.get("evidence") or {}
        by = ev.get("acknowledged_by") or ev.get("resolved_by") or ev.get("reassigned_by") or ""
        inc.history.append({"status": esc["status"], "at": esc.get("created_at"), "by": by,
                            "summary": esc.get("summary", ""), "id": ident,
                            "source": ev.get("action_source", "")})
        del inc.history[:-MAX_HISTORY]
        self._seq += 1
        inc.seq = self._seq
        self._incidents.move_to_end(key)
        self._evict()
        return inc

    def _evict(self) -> None:
        while len(self._incidents) > self.max_incidents:
            victim = next((k for k, i in self._incidents.items() if not i.open),
                          next(iter(self._incidents)))
            for h in self._incidents.pop(victim).history:
                self._seen_ids.discard(h["id"])

    def list(self, filters: Filters = Filters(), limit: int = 200) -> list[Incident]:
        """Open first, most severe first, newest change first."""
        hits: Iterable[Incident] = (i for i in self._incidents.values() if filters.match(i))
        return sorted(hits, key=lambda i: (not i.open, -SEVERITY_RANK.get(i.latest.get("severity"), 0),
                                           -i.seq))[:limit]

    def all(self):
        """Every incident, in no particular order (no sort: for lookups, not for display)."""
        return self._incidents.values()

    def communities(self) -> list[str]:
        return sorted({i.latest.get("community", "") for i in self._incidents.values()})
