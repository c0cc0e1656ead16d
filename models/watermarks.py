"""Event time per partition, and the incidents waiting for it to pass their quiet deadline.

Whether an incident went quiet is decided by its own partition's event time, never by
wall time or another partition's clock: a lagging or restarted partition cannot resolve
its incidents before their next event has had the chance to arrive. The clock is the
latest event time seen on the partition (a post's ``created_at``, or an idle-clock
record the worker wrote into the partition, see :mod:`streams.stages.escalate`), so it
only moves forward and is the same in every runner that reads the same partition.

>>> clock = PartitionClock()
>>> clock.advance(100.0), clock.advance(90.0), clock.event_time  # late events: no going back
(True, False, 100.0)
>>> due = QuietDeadlines()
>>> due.add(160.0, "a"); due.add(130.0, "b"); due.add(170.0, "a")
>>> due.pop_due(150.0)
['b']
>>> due.pop_due(200.0)  # "a" once, though its deadline moved
['a']
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["PartitionClock", "QuietDeadlines"]


@dataclass
class PartitionClock:
    """The event-time watermark of one input partition (seconds since the epoch)."""

    event_time: float = 0.0

    def advance(self, t: float) -> bool:
        """Move to ``t`` if it is later; True if the clock moved."""
        if t > self.event_time:
            self.event_time = t
            return True
        return False

    def to_dict(self) -> dict:
        return {"event_time": self.event_time}

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> Optional["PartitionClock"]:
        return cls(float(d["event_time"])) if d else None


@dataclass
class QuietDeadlines:
    """A min-heap of (deadline, key): which incidents may have gone quiet by a time.

    An incident's deadline moves each time it recurs; old entries stay in the heap and
    are dropped when popped (the caller re-checks the incident's state), so adding is
    O(log n) and nothing is ever searched for.
    """

    _heap: list = field(default_factory=list)

    def add(self, deadline: float, key: str) -> None:
        heapq.heappush(self._heap, (deadline, key))

    def pop_due(self, now: float) -> list[str]:
        """Keys with a deadline at or before ``now``, each once, in deadline order."""
        keys: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            if key not in keys:
                keys.append(key)
        return keys

    def __len__(self) -> int:
        return len(self._heap)
