"""Prequential ROC-AUC over the most recent labels: is the learner getting better?

Exact, not binned: the Mann-Whitney statistic over the last ``window`` (score, label)
pairs, a tie between a toxic and a non-toxic score counting half, which is what
``vigil eval`` and ``sklearn.metrics.roc_auc_score`` compute. A binned estimate (river's
``ROCAUC`` with its 10 thresholds) cannot tell apart scores that fall in one bin:

>>> auc = RollingAUC(window=100)
>>> auc.update(0.51, False), auc.update(0.55, True)
(None, 1.0)
>>> auc.update(0.2, False), auc.update(0.9, True)
(1.0, 1.0)

(river's 10-threshold Rolling ROCAUC reads 0.875 on those four.) Ties count half, and
only the last ``window`` labels count:

>>> auc = RollingAUC(window=3)
>>> auc.update(0.5, True), auc.update(0.5, False), auc.update(0.1, False)
(None, 0.5, 0.75)
>>> auc.update(0.9, False)  # the first label (the only toxic one) left the window
"""

from __future__ import annotations

from collections import deque
from typing import Optional

__all__ = ["RollingAUC"]


class RollingAUC:
    def __init__(self, window: int = 500):
        if window < 2:
            raise ValueError("window must hold at least 2 labels")
        self.window = window
        self._seen: deque[tuple[float, bool]] = deque(maxlen=window)

    def update(self, score: float, toxic: bool) -> Optional[float]:
        """Add one (score before learning, label); the AUC over the window, or None
        while the window lacks either class (the AUC is undefined then)."""
        self._seen.append((float(score), bool(toxic)))
        return self.value()

    def value(self) -> Optional[float]:
        pairs = sorted(self._seen)
        positives = sum(label for _, label in pairs)
        negatives = len(pairs) - positives
        if not positives or not negatives:
            return None
        # rank sum of the positives, a run of equal scores sharing its average rank
        rank_sum, i = 0.0, 0
        while i < len(pairs):
            j = i
            while j < len(pairs) and pairs[j][0] == pairs[i][0]:
                j += 1
            tied_positives = sum(label for _, label in pairs[i:j])
            rank_sum += tied_positives * (i + 1 + j) / 2  # ranks i+1 .. j
            i = j
        return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
