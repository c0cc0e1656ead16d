"""Weighted L2 logistic regression: exact Newton fits and one-label updates.

Minimises, over weights ``w`` and bias ``b``,

    Σ_i s_i · logloss(y_i, x_i·w + b)  +  ½ Σ_j λ_j w_j²  +  ½ λ_b b²

with no fixed offset: the community learner gives the shipped logit a coefficient like
any feature (:mod:`models.learner`). :func:`fit_logistic` is the batch estimator
(Newton's method to convergence, warm-started). :meth:`LogisticFit.add_one` folds one
more label in with one Newton step and a Sherman–Morrison update of the inverse Hessian,
O(d²), which is what makes a label change the next score at once; the learner refits
exactly every so often, so the online model never drifts from the batch one.

>>> import numpy as np
>>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> y = np.array([0.0, 0.0, 1.0, 1.0])
>>> fit = fit_logistic(x, y, penalty=np.array([0.01]))
>>> bool(fit.predict_logit(x)[0] < 0 < fit.predict_logit(x)[3])
True
>>> fit_logistic(x, np.zeros(4), penalty=np.array([1.0]), bias_penalty=1.0).bias < 0
True
>>> online = fit_logistic(x[:3], y[:3], penalty=np.array([0.1])).add_one(x[3], 1.0)
>>> exact = fit_logistic(x, y, penalty=np.array([0.1]))
>>> bool(np.allclose(online.weights, exact.weights, atol=0.05))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

__all__ = ["LogisticFit", "fit_logistic", "sigmoid"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


@dataclass(frozen=True)
class LogisticFit:
    weights: np.ndarray  # (d,)
    bias: float
    iterations: int = 0
    # inverse Hessian of the objective over (w, b) at the fit: only for add_one, and not
    # worth keeping in a checkpoint (the learner refits after a restore)
    inv_hessian: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    def predict_logit(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64) @ self.weights + self.bias

    def add_one(self, x: np.ndarray, y: float, weight: float = 1.0) -> "LogisticFit":
        """One more label, folded in by one Newton step from this optimum."""
        if self.inv_hessian is None:
            raise ValueError("add_one needs the inverse Hessian of an exact fit")
        xt = np.append(np.asarray(x, np.float64), 1.0)
        theta = np.append(self.weights, self.bias)
        p = float(sigmoid(np.array(xt @ theta)))
        c = weight * p * (1.0 - p)
        u = self.inv_hessian @ xt
        inv = self.inv_hessian - np.outer(u, u) * (c / (1.0 + c * float(xt @ u)))
        theta = theta - inv @ (xt * (weight * (p - y)))
        return replace(self, weights=theta[:-1], bias=float(theta[-1]), inv_hessian=inv)

    def __getstate__(self):
        return {**self.__dict__, "inv_hessian": None}

    def __setstate__(self, state):
        self.__dict__.update(state)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, penalty: np.ndarray,
                 sample_weight: Optional[np.ndarray] = None,
                 bias_penalty: float = 1e-4, warm: Optional[LogisticFit] = None,
                 max_iter: int = 50, tol: float = 1e-6) -> LogisticFit:
    """``x`` (n, d), ``y`` in {0, 1}, ``penalty`` (d,) per-feature L2 strengths."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n, d = x.shape
    xt = np.hstack([x, np.ones((n, 1))])
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    lam = np.append(np.asarray(penalty, np.float64), bias_penalty)
    theta = np.zeros(d + 1)
    if warm is not None and warm.weights.shape == (d,):
        theta = np.append(warm.weights, warm.bias)

    def objective(th: np.ndarray) -> float:
        z = xt @ th
        return float(np.sum(s * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(lam * th * th))

    value, it = objective(theta), 0
    for it in range(1, max_iter + 1):
        p = sigmoid(xt @ theta)
        grad = xt.T @ (s * (p - y)) + lam * theta
        hess = (xt * (s * p * (1.0 - p))[:, None]).T @ xt
        hess[np.diag_indices_from(hess)] += lam
        step = np.linalg.solve(hess, grad)
        # Newton with step halving: separable labels (a new community's first few)
        # would otherwise overshoot.
        t = 1.0
        while t > 1e-4:
            new_value = objective(theta - t * step)
            if new_value <= value + 1e-12:
                break
            t *= 0.5
        theta, value = theta - t * step, new_value
        if np.max(np.abs(t * step)) < tol:
            break
    p = sigmoid(xt @ theta)
    hess = (xt * (s * p * (1.0 - p))[:, None]).T @ xt
    hess[np.diag_indices_from(hess)] += lam
    return LogisticFit(theta[:-1].copy(), float(theta[-1]), it, np.linalg.inv(hess))
