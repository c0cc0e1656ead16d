"""Feed health: notice when a community's feed turns into dead letters.

A platform that changes its payload format, a connector with a bug, or a webhook
sender that started posting garbage shows up first as posts going to ``posts.dlq``.
Prometheus sees the global dead-letter ratio; on-call for a community needs to know
*their* feed is broken, so a community whose raw posts are mostly dead-lettered raises
a ``pipeline`` incident, resolved once a window of its posts goes through cleanly.

Per community, in tumbling windows of wall (broker) time: the feed fails when, in the
open window, at least ``min_dead`` payloads were dead-lettered and they are at least
``fail_ratio`` of the window's payloads. A failing feed recovers at the close of a
window with at least ``min_ok`` good posts and a dead share at most ``recover_ratio``.

>>> m = FeedHealthMonitor(FeedHealthParams(window_s=60, min_dead=3, min_ok=2))
>>> s = FeedHealthState()
>>> [m.observe(s, 0.0 + i, ok=False, reason="invalid_json") for i in range(3)]
[None, None, 'failing']
>>> s.reasons
{'invalid_json': 3}
>>> m.observe(s, 30.0, ok=False, reason="invalid_json") is None  # reported once
True
>>> [m.observe(s, 61.0 + i, ok=True) for i in range(3)]  # a clean window...
[None, None, None]
>>> m.observe(s, 125.0, ok=True)  # ...recovers when it closes
'recovered'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

__all__ = ["FeedHealthParams", "FeedHealthState", "FeedHealthMonitor"]


@dataclass(frozen=True)
class FeedHealthParams:
    window_s: float = 300.0
    min_dead: int = 10
    fail_ratio: float = 0.5
    min_ok: int = 5
    recover_ratio: float = 0.1


@dataclass
class FeedHealthState:
    window_start: Optional[float] = None
    ok: int = 0
    dead: int = 0
    reasons: dict = field(default_factory=dict)  # reason -> count, open window
    failing: bool = False
    failing_since: float = 0.0
    platform: str = ""

    @property
    def dead_share(self) -> float:
        total = self.ok + self.dead
        return self.dead / total if total else 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "FeedHealthState":
        return cls(**d) if d else cls()


class FeedHealthMonitor:
    def __init__(self, params: FeedHealthParams = FeedHealthParams()):
        self.p = params

    def observe(self, s: FeedHealthState, ts: float, *, ok: bool,
                reason: str = "") -> Optional[str]:
        """Count one raw payload; "failing" or "recovered" when the feed changes."""
        change = None
        if s.window_start is None:
            s.window_start = ts
        elif ts >= s.window_start + self.p.window_s:
            change = self._close(s)
            # tumble to the window holding ts (skipping empty ones)
            skipped = (ts - s.window_start) // self.p.window_s
            s.window_start += skipped * self.p.window_s
            s.ok, s.dead, s.reasons = 0, 0, {}
        if ok:
            s.ok += 1
        else:
            s.dead += 1
            s.reasons[reason] = s.reasons.get(reason, 0) + 1
            if (not s.failing and s.dead >= self.p.min_dead
                    and s.dead_share >= self.p.fail_ratio):
                s.failing, s.failing_since = True, ts
                return "failing"
        return change

    def _close(self, s: FeedHealthState) -> Optional[str]:
        if (s.failing and s.ok >= self.p.min_ok
                and s.dead_share <= self.p.recover_ratio):
            s.failing = False
            return "recovered"
        return None
