"""The labelled posts a community's model is fitted on: bounded, keyed, fading.

* **Keyed.** A label is stored under the post it is about; a second label for the same
  post (a decision reversed on appeal, a re-approval after a removal) replaces the first
  instead of becoming a second example.
* **Bounded.** Each community keeps its newest ``per_community`` labels and the buffer
  its newest ``total``, so memory and the cost of a refit stop growing with labels.
* **Fading.** A label's weight halves every ``half_life_days`` of *label time* behind
  the newest label: a community's norms drift (a new rule, a word that changed meaning),
  and after a quarter of a year its older decisions should count half as much as
  today's. Label time, not wall time, so a replay fades exactly like the live run.

>>> buf = LabelBuffer(per_community=2)
>>> for key, y in [("a", 1), ("b", 0), ("a", 0), ("c", 1)]:
...     _ = buf.add("r/x", key, [float(len(key))], 0.0, y, time=0.0)
>>> [(e.key, e.label) for e in buf.examples("r/x")]
[('a', 0), ('c', 1)]
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["Example", "LabelBuffer"]

DAY = 86400.0


@dataclass(frozen=True)
class Example:
    key: str
    features: np.ndarray  # float32 (d,)
    offset: float  # the shipped score's logit when the post was scored
    label: int
    time: float  # epoch seconds of the label


class LabelBuffer:
    def __init__(self, per_community: int = 4000, total: int = 40_000,
                 half_life_days: float = 90.0):
        self.per_community = per_community
        self.total = total
        self.half_life_days = half_life_days
        self._by_community: dict[str, "OrderedDict[str, Example]"] = {}
        self._order: "OrderedDict[tuple[str, str], None]" = OrderedDict()  # global age
        self.newest_time = 0.0

    def __len__(self) -> int:
        return len(self._order)

    def add(self, community: str, key: str, features, offset: float, label: int,
            time: float) -> Optional[Example]:
        """Store a label; returns the example it replaced (a correction), if any."""
        ex = Example(key, np.asarray(features, np.float32), float(offset), int(label), float(time))
        entries = self._by_community.setdefault(community, OrderedDict())
        replaced = entries.pop(key, None)
        self._order.pop((community, key), None)
        entries[key] = ex
        self._order[(community, key)] = None
        self.newest_time = max(self.newest_time, ex.time)
        while len(entries) > self.per_community:
            old, _ = entries.popitem(last=False)
            self._order.pop((community, old), None)
        while len(self._order) > self.total:
            (c, k), _ = self._order.popitem(last=False)
            self._by_community[c].pop(k, None)
        return replaced

    def communities(self) -> list[str]:
        return [c for c, e in self._by_community.items() if e]

    def count(self, community: str) -> int:
        return len(self._by_community.get(community, ()))

    def examples(self, community: str) -> list[Example]:
        return list(self._by_community.get(community, {}).values())

    def others(self, community: str, limit: int) -> list[Example]:
        """The newest ``limit`` labels of every other community, newest last."""
        out: list[Example] = []
        for c, k in reversed(self._order):
            if len(out) >= limit:
                break
            if c != community:
                out.append(self._by_community[c][k])
        return out[::-1]

    def weights(self, examples: list[Example]) -> np.ndarray:
        if not examples or self.half_life_days <= 0:
            return np.ones(len(examples))
        age_days = (self.newest_time - np.array([e.time for e in examples])) / DAY
        return 0.5 ** (np.maximum(age_days, 0.0) / self.half_life_days)
