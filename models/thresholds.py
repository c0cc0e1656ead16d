"""A community's decision threshold, chosen from its labelled scores by a stated policy.

Each label arrives with the score the post had before the label was learnt (an honest,
out-of-sample score). Over the community's recent labels the threshold is chosen so:

1. **Target precision, where reachable.** The lowest threshold at which at least
   ``target_precision`` of the flagged labelled posts were toxic, as far as the labels
   *show* it (the Wilson interval's lower end, ``precision_z`` standard errors: where
   moderators' labels are noisy, precision on them plateaus just under the target at
   every high threshold and touches it by chance, and such a cut bought nothing but lost
   recall: on Davidson with 10 % of labels flipped, F1 0.87 against a best of 0.98;
   with the bound the best F1 is chosen there and clean labels keep their target),
   provided it still
   catches ``min_recall`` of the toxic ones ("9 in 10 flags are right, and we see at
   least half of what is toxic") and keeps ``min_f1_share`` of the best F1 on the same
   labels: a target bought with a third of the recall is not worth it where labels are
   noisy or the community mostly toxic, and the moderators would miss what it drops.
2. **Otherwise the best F1.** When the target cannot be met with useful recall, chasing
   it would flag almost nothing; the threshold that balances precision and recall does.
3. **Review budget** (optional, flags per day): the threshold never goes below the score
   that would flag more than the budget, estimated from the community's recent posts.
4. **Never mute.** It never rises above the highest score a labelled toxic post had, so
   something is always flagged; until ``min_labels`` labels with ``min_per_class`` of each
   kind have arrived, the configured threshold stands.

>>> t = LabelledThreshold(0.8, target_precision=0.9)
>>> for i in range(20):
...     t.observe(f"toxic {i}", 0.95 - 0.01 * i, 1)
...     t.observe(f"fine {i}", 0.5 - 0.01 * i, 0)
>>> t.threshold, t.mode  # 20 of 20 flags right: 0.95 shown; 20 of 21 is 0.88 shown
(0.76, 'target_precision')
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

__all__ = ["LabelledThreshold"]

DAY = 86400.0


@dataclass
class LabelledThreshold:
    default: float  # the configured threshold: used until the labels say otherwise
    target_precision: Optional[float] = 0.9
    review_budget_per_day: Optional[float] = None
    min_recall: float = 0.5
    min_f1_share: float = 0.9
    precision_z: float = 1.0
    window: int = 1000
    min_labels: int = 30
    min_per_class: int = 5
    lower: float = 0.05
    threshold: float = field(init=False)
    mode: str = field(default="configured", init=False)
    _labels: "OrderedDict[str, tuple]" = field(default_factory=OrderedDict, init=False, repr=False)
    _recent: deque = field(default_factory=lambda: deque(maxlen=5000), init=False, repr=False)

    def __post_init__(self) -> None:
        self.threshold = self.default

    def observe(self, key: str, score: float, toxic: bool) -> None:
        """A label and the post's score before it was learnt; a second label replaces."""
        self._labels.pop(key, None)
        self._labels[key] = (float(score), int(bool(toxic)))
        while len(self._labels) > self.window:
            self._labels.popitem(last=False)
        self._choose()

    def observe_post(self, score: float, time: float) -> None:
        """Every scored post, for the review budget's flags-per-day estimate."""
        if self.review_budget_per_day:
            self._recent.append((float(time), float(score)))

    def _budget_floor(self) -> float:
        if not self.review_budget_per_day or len(self._recent) < 50:
            return 0.0
        times = np.array([t for t, _ in self._recent])
        days = max((times.max() - times.min()) / DAY, 1.0 / 24)
        allowed = int(self.review_budget_per_day * days)
        scores = np.sort(np.array([s for _, s in self._recent]))[::-1]
        return float(scores[allowed]) if allowed < len(scores) else 0.0

    def _choose(self) -> None:
        arr = np.array(list(self._labels.values()))
        s, y = arr[:, 0], arr[:, 1].astype(bool)
        pos = int(y.sum())
        if len(y) < self.min_labels or min(pos, len(y) - pos) < self.min_per_class:
            return
        order = np.argsort(-s, kind="mergesort")
        s, y = s[order], y[order]
        tp = np.cumsum(y)
        flagged = np.arange(1, len(y) + 1)
        last = np.r_[s[1:] != s[:-1], True]  # cut only between distinct scores
        precision, recall = tp / flagged, tp / pos
        shown = _wilson_lower(tp, flagged, self.precision_z)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        cuts = np.flatnonzero(last)
        choice, mode = None, "best_f1"
        if self.target_precision is not None:
            best = float(f1[cuts].max())
            ok = cuts[(shown[cuts] >= self.target_precision) & (recall[cuts] >= self.min_recall)
                      & (f1[cuts] >= self.min_f1_share * best)]
            if len(ok):
                choice, mode = ok[-1], "target_precision"  # lowest threshold that meets it
        if choice is None:
            choice = cuts[np.argmax(f1[cuts])]
        threshold = float(s[choice])
        floor = self._budget_floor()
        if floor > threshold:
            threshold, mode = floor, "review_budget"
        ceiling = float(s[y].max())  # never above every toxic post: something is flagged
        self.threshold = round(min(max(threshold, self.lower), ceiling), 6)
        self.mode = mode


def _wilson_lower(hits: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """The Wilson score interval's lower end for ``hits`` of ``n``: a precision the labels
    show, not one they touch by chance.

    >>> hits, flags = np.array([9, 90, 900]), np.array([10, 100, 1000])
    >>> [round(float(x), 3) for x in _wilson_lower(hits, flags, 1.0)]
    [0.766, 0.866, 0.89]
    """
    if z <= 0:
        return hits / n
    p, z2 = hits / n, z * z
    centre = p + z2 / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - spread) / (1 + z2 / n)
