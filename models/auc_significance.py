"""Is a ranking better than chance, or better than another on the same labels?

:func:`auc_chance_z`: how many standard errors an ROC-AUC sits above 0.5 under the
null (Mann-Whitney). :func:`auc_difference_z`: DeLong's paired test.

Two scores of the same posts are judged on the same labels, so their ROC-AUCs are
correlated and the standard error of their *difference* is far smaller than either
AUC's own (DeLong, DeLong & Clarke-Pearson 1988). Each toxic post's share of non-toxic
posts it outranks (and each non-toxic post's share of toxic posts that outrank it) is
its contribution to the AUC; the variance of the difference follows from the spread of
those contributions, per class::

    z = (AUC_a − AUC_b) / √(Var(v_a − v_b | toxic) / m + Var(w_a − w_b | fine) / n)

The guard (:class:`~models.combiner.PriorGuard`) asks it whether the learnt score ranks
a community's labels better than the shipped one *out of sample*; its evidence is at
most 1,000 labels, so the ``m × n`` comparisons below cost a few milliseconds.

>>> y = np.array([1, 1, 1, 0, 0, 0] * 10)
>>> better = np.array([3.0, 2.0, 1.0, 0.5, -1.0, -2.0] * 10)
>>> worse = np.array([3.0, -1.0, 1.0, 0.5, 2.0, -2.0] * 10)
>>> round(auc_difference_z(better, worse, y), 1)  # AUC 1.0 against 0.67
4.7
>>> auc_difference_z(better, better, y)  # the same score: no difference
0.0
>>> auc_difference_z(better, worse, np.ones(60))  # one class: nothing to tell
0.0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["auc_chance_z", "auc_difference_z"]


def auc_chance_z(auc: float, labels) -> float:
    """How many standard errors ``auc`` sits above 0.5, the null (Mann-Whitney) spread.

    >>> round(auc_chance_z(0.6, np.array([0, 1] * 50)), 2)
    1.72
    """
    positives = float(np.sum(labels))
    negatives = len(labels) - positives
    spread = math.sqrt((positives + negatives + 1) / (12 * positives * negatives))
    return (auc - 0.5) / spread


def _contributions(scores: np.ndarray, toxic: np.ndarray):
    """Per toxic post, the share of non-toxic posts it outranks; per non-toxic post, the
    share of toxic posts that outrank it (ties count half)."""
    pos, neg = scores[toxic], scores[~toxic]
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return wins.mean(axis=1), wins.mean(axis=0)


def auc_difference_z(a, b, labels) -> float:
    """How many standard errors score ``a``'s ROC-AUC on ``labels`` sits above score
    ``b``'s on the same labels (DeLong); 0.0 with fewer than two labels of either class."""
    toxic = np.asarray(labels, float) > 0.5
    if toxic.sum() < 2 or (~toxic).sum() < 2:
        return 0.0
    a_pos, a_neg = _contributions(np.asarray(a, float), toxic)
    b_pos, b_neg = _contributions(np.asarray(b, float), toxic)
    d_pos, d_neg = a_pos - b_pos, a_neg - b_neg
    difference = float(d_pos.mean())  # = AUC_a − AUC_b
    variance = d_pos.var(ddof=1) / len(d_pos) + d_neg.var(ddof=1) / len(d_neg)
    if variance <= 1e-12:
        # every label moves the AUC by the same amount: the gap has no spread to doubt
        return 0.0 if abs(difference) < 1e-12 else math.copysign(math.inf, difference)
    return difference / float(np.sqrt(variance))
