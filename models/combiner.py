"""The combiner: the as-shipped score, and how far to trust what was learnt over it.

**As shipped** (no labels) the score's logit is the lexical prior's, plus a fixed amount
per rule category that fired, plus the prototype evidence (identity attacks,
dehumanising and exclusion language, by meaning; :mod:`models.prototypes`) that the
prior cannot see. The weights are Vigil's, set by hand and checked on public benchmarks;
nothing is trained here.

**After labels** the community's learnt logit (on the shipped scale, see
:mod:`models.learner`) is blended in, ``z = z_ship + β·(z_learnt − z_ship)``, with ``β``
the smaller of two limits:

- **Stacking on out-of-sample evidence.** ``β`` in {0, 0.05, …, 1} minimises the
  log-loss of the blend on the learner's *approximate leave-one-out* logits for the
  community's labelled posts (:meth:`~models.learner.CommunityLearner.leave_one_out`:
  what a model fitted without each label would have said of it, one pass over the fit's
  inverse Hessian) against the shipped logits of the same posts; ties stay shipped.
  It is a stacked regression with one coefficient, bounded to [0, 1]: fitted on 50
  labels it is still one number, not noise. Bad labels (flipped at random) make the
  leave-one-out logits worse than the shipped ones and ``β`` falls back towards 0.
- **Shrinkage:** ``n / (n + shrinkage)`` (25) for a community with ``n`` labels, so that
  the first few dozen posts, judged by models fitted on a few dozen labels, score close
  to the shipped score whatever the evidence says.

Why these (measured with ``vigil eval toxicity`` on two public hate-speech sets, three
seeds, with and without 10 % of labels flipped): 5-fold cross-validation fitted each
fold on a fifth fewer labels and kept ``β`` at 0 long after the learner ranked better
(up to 0.04 AUC lost at 25–100 labels); an argmax of ROC-AUC over five blends flipped
between 0 and 1 on differences of 0.001, and every flip moved the level of the
community's scores; log-loss uses the scores, not only their order, and moves ``β``
smoothly. The prequential record is not used as evidence: it mixes the scores of
fifty successive models, the earliest fitted on a handful of labels. A community whose
moderators only ever say "fine here" is handled by the same rule: log-loss needs no
second class.

>>> guard = PriorGuard(min_labels=4, shrinkage=4)
>>> guard.beta("r/x")
0.0
>>> guard.update("r/x", [0.1, 0.5, 0.2, 0.4], [2.0, -2.0, 1.5, -1.0], [1, 0, 1, 0])
1.0
>>> guard.beta("r/x")  # the learnt score ranked those labels better; 4 labels: half way
0.5
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

__all__ = ["shipped_logit", "logit", "PriorGuard", "RULE_WEIGHTS", "PROTOTYPE_WEIGHT"]

_CLIP = 6.0

#: Logits a rule category adds at full strength (score 1.0); scaled by the rule's score.
RULE_WEIGHTS: dict[str, float] = {"insult": 3.0, "threat": 3.0, "identity_attack": 2.0,
                                  "sexual": 2.0, "spam": 3.0, "personal_data": 3.0,
                                  "self_harm": 3.0}
#: Logits per unit of prototype margin (max over kinds, counted only when positive).
PROTOTYPE_WEIGHT = 3.0


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return max(-_CLIP, min(_CLIP, math.log(p / (1 - p))))


def shipped_logit(prior: float, rules: Mapping[str, float], prototype_margin: float = 0.0) -> float:
    """The as-shipped evidence, as a logit.

    >>> round(shipped_logit(0.5, {"insult": 0.8}), 2)
    2.4
    """
    z = logit(prior)
    for category, score in rules.items():
        if score:
            z += RULE_WEIGHTS.get(category, 3.0) * float(score)
    return z + PROTOTYPE_WEIGHT * max(0.0, float(prototype_margin))


def _log_loss(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


class PriorGuard:
    """Per community: how far the learnt score has earned trust over the shipped one."""

    GRID = tuple(round(float(b), 2) for b in np.linspace(0.0, 1.0, 21))

    def __init__(self, min_labels: int = 10, shrinkage: float = 25.0):
        self.min_labels = min_labels
        self.shrinkage = shrinkage
        self._beta: dict[str, float] = {}
        self._labels: dict[str, int] = {}

    def selected(self, community: str) -> float:
        """The blend the leave-one-out evidence chose, before shrinkage."""
        return self._beta.get(community, 0.0)

    def beta(self, community: str) -> float:
        n = self._labels.get(community, 0)
        return min(self.selected(community), n / (n + self.shrinkage) if n else 0.0)

    def blend(self, community: str, z_ship: float, z_learnt) -> float:
        if z_learnt is None:
            return z_ship
        return z_ship + self.beta(community) * (z_learnt - z_ship)

    def update(self, community: str, z_ship, z_learnt, labels) -> float:
        """Out-of-sample logits of the community's labelled posts -> its new β."""
        arr = np.column_stack([np.asarray(z_ship, float), np.asarray(z_learnt, float),
                               np.asarray(labels, float)])
        self._beta[community] = beta = self._choose(arr)
        self._labels[community] = max(self._labels.get(community, 0), len(arr))
        return beta

    def _choose(self, arr: np.ndarray) -> float:
        if len(arr) < self.min_labels:
            return 0.0
        z_ship, z_learnt, y = arr[:, 0], arr[:, 1], arr[:, 2]
        losses = [_log_loss(z_ship + b * (z_learnt - z_ship), y) for b in self.GRID]
        best = int(np.argmin(losses))
        # ties, and gains too small to tell from rounding, stay with the shipped score
        return float(self.GRID[best]) if losses[best] < losses[0] - 1e-9 else 0.0

    def __setstate__(self, state: dict) -> None:
        # A checkpoint from the AUC-grid guard has no label counts: β is 0 (the shipped
        # score) until the community's next label re-evaluates it.
        state.setdefault("shrinkage", 25.0)
        state.setdefault("_labels", {})
        self.__dict__.update(state)
