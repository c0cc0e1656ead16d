"""Prequential ROC-AUC over the most recent labels: is the learner getting better?

>>> auc = RollingAUC(window=100)
>>> auc.update(0.9, True), auc.update(0.2, False), auc.update(0.7, True)
(None, 1.0, 1.0)
"""

from __future__ import annotations

from typing import Optional

__all__ = ["RollingAUC"]


class RollingAUC:
    def __init__(self, window: int = 500):
        from river import metrics, utils

        self.window = window
        self._metric = utils.Rolling(metrics.ROCAUC, window_size=window)
        self._pos = self._neg = 0

    def update(self, score: float, toxic: bool) -> Optional[float]:
        """Add one (score before learning, label); the AUC once both classes were seen."""
        self._metric.update(bool(toxic), float(score))
        self._pos += bool(toxic)
        self._neg += not toxic
        return float(self._metric.get()) if self._pos and self._neg else None
