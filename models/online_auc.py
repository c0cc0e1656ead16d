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

import numpy as np

__all__ = ["RollingAUC", "roc_auc"]


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
        if not self._seen:
            return None
        scores, labels = zip(*self._seen)
        return roc_auc(labels, scores)


def roc_auc(labels, scores) -> Optional[float]:
    """The same statistic for whole arrays at once (numpy), None without both classes.

    >>> roc_auc([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1])
    0.875
    """
    y = np.asarray(labels, bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    _, inverse, counts = np.unique(np.asarray(scores, np.float64), return_inverse=True,
                                   return_counts=True)
    # average rank of each distinct score: the ranks its run of ties spans
    average = np.cumsum(counts) - (counts - 1) / 2.0
    rank_sum = float(average[inverse][y].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
