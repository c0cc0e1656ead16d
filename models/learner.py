"""The community learner: an exact logistic regression per community, refitted as labels arrive.

Each community's model is fitted on its own labelled posts (weight 1) and the newest
labels of every other community (weight ``other_weight``), so a new community starts
from what everyone taught and its own labels soon dominate; one community's tolerance
for banter cannot leak into another at full strength. The model's logit is the shipped
score's logit (the offset) plus a penalised correction, see :mod:`models.logistic_fit`.

Why this is as good as a batch fit: it *is* the batch fit. After a label the model is
updated at once by one Newton step (O(d²), ~1 ms), and refitted to convergence on the
whole buffer every ``refit_fraction`` of the community's labels (at least every
``min_refit``) or whenever a label corrects an earlier one. The buffer is bounded
(:class:`~models.label_buffer.LabelBuffer`), so neither step grows with the labels seen.

A community without labels of its own is scored by the shared model (all communities'
labels) only once ``shared_min_communities`` communities have taught it; until then by
the shipped score alone.

>>> import numpy as np
>>> learner = CommunityLearner(penalty=0.1)
>>> rude, kind = np.eye(4)[0], np.eye(4)[1]
>>> learner.logit("r/x", rude, 0.0) is None
True
>>> for i in range(10):
...     learner.learn("r/x", f"r{i}", rude, 0.0, 1, time=0.0)
...     learner.learn("r/x", f"k{i}", kind, 0.0, 0, time=0.0)
>>> learner.logit("r/x", rude, 0.0) > 1 > -1 > learner.logit("r/x", kind, 0.0)
True
>>> learner.logit("r/other", rude, 0.0) is None  # one community's labels: not shared yet
True
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from models.label_buffer import LabelBuffer
from models.logistic_fit import LogisticFit, fit_logistic

__all__ = ["CommunityLearner"]

SHARED = "\x00shared"


class CommunityLearner:
    def __init__(self, penalty: float = 1.0, bias_penalty: float = 1.0,
                 other_weight: float = 0.25, others_limit: int = 1000,
                 refit_fraction: float = 0.04, min_refit: int = 8,
                 per_community: int = 4000, total: int = 40_000, half_life_days: float = 90.0,
                 shared_min_communities: int = 3, shared_limit: int = 4000):
        self.penalty = penalty
        self.bias_penalty = bias_penalty
        self.other_weight = other_weight
        self.others_limit = others_limit
        self.refit_fraction = refit_fraction
        self.min_refit = min_refit
        self.shared_min_communities = shared_min_communities
        self.shared_limit = shared_limit
        self.buffer = LabelBuffer(per_community, total, half_life_days)
        self.fits: dict[str, LogisticFit] = {}
        self._pending: dict[str, int] = {}  # labels folded in since the last exact refit
        self.n_learned = 0
        self.refits = 0

    # -- scoring -------------------------------------------------------------------
    def model_for(self, community: str) -> Optional[LogisticFit]:
        fit = self.fits.get(community)
        if fit is None and len(self.buffer.communities()) >= self.shared_min_communities:
            fit = self.fits.get(SHARED)
        return fit

    def logit(self, community: str, features: np.ndarray, offset: float) -> Optional[float]:
        """The learnt logit for one post, or None where nothing was learnt for it."""
        fit = self.model_for(community)
        if fit is None or fit.weights.shape != np.shape(features):
            return None
        return float(fit.predict_logit(features, offset))

    # -- learning ------------------------------------------------------------------
    def learn(self, community: str, key: str, features: np.ndarray, offset: float,
              label: int, time: float) -> None:
        replaced = self.buffer.add(community, key, features, offset, label, time)
        self.n_learned += replaced is None
        fit = self.fits.get(community)
        pending = self._pending.get(community, 0) + 1
        due = max(self.min_refit, int(self.refit_fraction * self.buffer.count(community)))
        if (fit is None or fit.inv_hessian is None or replaced is not None or pending >= due
                or fit.weights.shape != np.shape(features)):
            self.refit(community)
        else:
            self.fits[community] = fit.add_one(features, offset, float(label))
            self._pending[community] = pending
        if len(self.buffer.communities()) >= self.shared_min_communities:
            shared_pending = self._pending.get(SHARED, 0) + 1
            shared_due = max(self.min_refit * 4, int(self.refit_fraction * len(self.buffer)))
            if SHARED not in self.fits or shared_pending >= shared_due:
                self.refit(SHARED)
            else:
                self._pending[SHARED] = shared_pending

    def _training_set(self, community: str):
        """(x, y, offset, weight, n_own): own labels first, then other communities'."""
        if community == SHARED:
            own, others = self.buffer.others(SHARED, self.shared_limit), []
        else:
            own = self.buffer.examples(community)
            others = self.buffer.others(community, self.others_limit) if self.other_weight else []
        examples = own + others
        if not examples:
            return None
        weights = self.buffer.weights(examples)
        weights[len(own):] *= self.other_weight
        dim = own[-1].features.shape[0]  # a restart with embeddings switched: newest shape
        keep = np.array([e.features.shape[0] == dim for e in examples])
        x = np.stack([e.features for e, k in zip(examples, keep) if k]).astype(np.float64)
        y = np.array([e.label for e, k in zip(examples, keep) if k], np.float64)
        off = np.array([e.offset for e, k in zip(examples, keep) if k])
        return x, y, off, weights[keep], int(keep[:len(own)].sum())

    def _fit(self, x, y, off, w, warm=None) -> LogisticFit:
        return fit_logistic(x, y, penalty=np.full(x.shape[1], self.penalty),
                            bias_penalty=self.bias_penalty, offset=off, sample_weight=w,
                            warm=warm)

    def refit(self, community: str) -> None:
        data = self._training_set(community)
        if data is None:
            return
        x, y, off, w, _ = data
        self.fits[community] = self._fit(x, y, off, w, self.fits.get(community))
        self._pending[community] = 0
        self.refits += 1

    def cross_validated(self, community: str, folds: int = 0, limit: int = 1000):
        """Out-of-sample logits for the community's newest ``limit`` labels:
        (shipped logits, learnt logits, labels), each fold predicted by a model fitted
        on the other folds (and on the other communities' labels, as in :meth:`refit`)."""
        data = self._training_set(community)
        if data is None:
            return np.empty(0), np.empty(0), np.empty(0)
        x, y, off, w, n_own = data
        # 10 folds while labels are few (each fold's model close to the full one), 5 after
        folds = folds or 5
        lo = max(0, n_own - limit)
        own_idx = np.arange(lo, n_own)
        fold_of = own_idx % folds
        z = np.empty(len(own_idx))
        warm = self.fits.get(community)
        for f in range(min(folds, len(own_idx))):
            test = own_idx[fold_of == f]
            # trained on the newest ``limit`` own labels and the others' (not all 4,000
            # own): five such fits cost about one full refit, so the guard stays cheap
            train = np.ones(len(y), bool)
            train[:lo] = False
            train[test] = False
            fit = self._fit(x[train], y[train], off[train], w[train], warm)
            z[fold_of == f] = fit.predict_logit(x[test], off[test])
        return off[own_idx], z, y[own_idx]

    def __setstate__(self, state: dict) -> None:
        # Restored fits have no inverse Hessian: the next label refits exactly.
        self.__dict__.update(state)
