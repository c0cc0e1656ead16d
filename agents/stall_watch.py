"""When is a consumer stuck? Input waits on the broker, yet the position it is to be
read from has not moved for ``stall_s`` seconds of an idle worker.

Why a position that does not move, and not merely "nothing delivered for a while": a
quiet community's idle clock (:mod:`agents.idle_clocks`) raises a partition's
high-water mark minutes after the last delivery, and for the few hundred milliseconds
before the consumer fetches that record the partition lags while the last delivery is
old. Only a lag that stays, at the same position, for ``stall_s`` is a stall.

>>> watch = StallWatch(stall_s=10)
>>> watch.observe({"p0": 7}, now=100.0)          # first seen lagging at offset 7
{}
>>> watch.observe({"p0": 8}, now=105.0)          # it moved: not stuck, clock restarts
{}
>>> watch.observe({"p0": 8}, now=114.0)
{}
>>> watch.observe({"p0": 8}, now=115.0)          # 10 s at offset 8
{'p0': 8}
>>> watch.observe({}, now=116.0)                 # caught up: forgotten
{}
"""

from __future__ import annotations

from typing import Hashable


class StallWatch:
    """Per partition, the position it was first seen lagging at and since when."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._since: dict[Hashable, tuple[int, float]] = {}

    def observe(self, lagging: dict[Hashable, int], now: float) -> dict[Hashable, int]:
        """``lagging``: partition → position, for every partition with input waiting
        beyond its position now. Returns those that waited ``stall_s`` at that same
        position (their clocks restart: one alarm per ``stall_s``)."""
        since = {}
        stalled = {}
        for tp, position in lagging.items():
            seen = self._since.get(tp)
            first = seen[1] if seen is not None and seen[0] == position else now
            if now - first >= self.stall_s:
                stalled[tp] = position
                first = now
            since[tp] = (position, first)
        self._since = since
        return stalled

    def forget(self) -> None:
        """The worker was busy: a position that did not move then says nothing."""
        self._since.clear()
