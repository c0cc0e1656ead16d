"""The combiner: one calibrated toxicity score from the prior, the rules and the learner.

A logistic regression over a handful of evidence features, updated online from
moderator labels (Platt scaling that never stops learning), with a shared part and a
per-community part:

    z = Σ_k (w_k + δ[c]_k)·x_k + bias + offset[c]
    x = logit(prior), logit(learner), rule_<category> …

The shared weights ``w`` start from hand-set values that reproduce the shipped
behaviour (the lexical prior as is, each rule category worth +3 logits, the untrained
learner ignored) and move slowly: one community's labels must not switch off
profanity detection everywhere else. Each community's deltas ``δ[c]`` and ``offset[c]``
move fast at first (the step shrinks as 1/√(1 + labels/50), so the first dozen labels
change decisions and the ten-thousandth adds no noise) and are pulled back towards zero
(L2), so a community's own norms, such as a metal forum where "fucking brutal" is
praise, live in that community alone.

>>> c = ScoreCombiner()
>>> round(c.score_one({"prior": 0.9}), 3)
0.9
>>> for _ in range(30):
...     c.learn_one({"prior": 0.99}, False, community="r/metal")
>>> c.score_one({"prior": 0.99}, community="r/metal") < 0.5 < c.score_one({"prior": 0.99}, community="r/chess")
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["ScoreCombiner", "logit"]

_CLIP = 6.0


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return max(-_CLIP, min(_CLIP, math.log(p / (1 - p))))


@dataclass
class ScoreCombiner:
    shared_learning_rate: float = 0.002
    community_learning_rate: float = 0.05
    l2: float = 1e-3  # pulls community deltas back to the shared model
    rule_weight: float = 3.0
    weights: dict = field(default_factory=lambda: {"prior": 1.0, "learner": 0.0})
    bias: float = 0.0
    deltas: dict = field(default_factory=dict)  # community -> {feature: delta}
    offsets: dict = field(default_factory=dict)  # community -> logit offset
    labels: dict = field(default_factory=dict)  # community -> labels learnt
    warmup_labels: float = 50.0  # the community step size halves by ~150 labels

    def _inputs(self, evidence: dict) -> dict:
        """``evidence``: prior and learner as probabilities, rule_<category> in [0, 1]."""
        x = {"prior": logit(evidence.get("prior", 0.5))}
        if "learner" in evidence:
            x["learner"] = logit(evidence["learner"])
        for k, v in evidence.items():
            if k.startswith("rule_") and v:
                x[k] = float(v)
        return x

    def _w(self, k: str) -> float:
        return self.weights.get(k, self.rule_weight if k.startswith("rule_") else 0.0)

    def _z(self, x: dict, community: str | None) -> float:
        delta = self.deltas.get(community, {})
        z = self.bias + self.offsets.get(community, 0.0)
        for k, v in x.items():
            z += (self._w(k) + delta.get(k, 0.0)) * v
        return z

    def score_one(self, evidence: dict, community: str | None = None) -> float:
        z = self._z(self._inputs(evidence), community)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def learn_one(self, evidence: dict, toxic: bool, community: str | None = None) -> None:
        x = self._inputs(evidence)
        err = self.score_one(evidence, community) - (1.0 if toxic else 0.0)
        g = self.shared_learning_rate
        n = self.labels.get(community, 0)
        # Big steps while a community has few labels, small once it has many: the first
        # dozen labels must change decisions, the ten-thousandth must not add noise.
        c = self.community_learning_rate / math.sqrt(1.0 + n / self.warmup_labels)
        for k, v in x.items():
            self.weights[k] = self._w(k) - g * err * v
        self.bias -= g * err
        if community is not None:
            delta = self.deltas.setdefault(community, {})
            for k, v in x.items():
                d = delta.get(k, 0.0)
                delta[k] = d - c * (err * v + self.l2 * d)
            o = self.offsets.get(community, 0.0)
            self.offsets[community] = o - c * (err + self.l2 * o)
            self.labels[community] = n + 1
