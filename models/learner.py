"""The community learner: river logistic regression on post embeddings.

It starts knowing nothing (Vigil ships no model trained on data it did not write) and
learns from each moderator label as it arrives. A ``community=<name>`` indicator
feature gives every community its own offset on the shared model, so one community's
tolerance for banter does not leak into another's.

Embeddings are unit vectors whose components are ~±0.05; they are scaled by √384 so
that ordinary SGD step sizes work.

>>> import numpy as np
>>> learner = EmbeddingLearner()
>>> rude, kind = np.eye(384, dtype="float32")[0], np.eye(384, dtype="float32")[1]
>>> learner.predict_one(rude, "r/x")
0.5
>>> for _ in range(20):
...     learner.learn_one(rude, "r/x", True); learner.learn_one(kind, "r/x", False)
>>> learner.predict_one(rude, "r/x") > 0.8 > 0.2 > learner.predict_one(kind, "r/x")
True
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EmbeddingLearner"]

_SCALE = math.sqrt(384)


class EmbeddingLearner:
    def __init__(self, learning_rate: float = 0.05, l2: float = 1e-4):
        from river import linear_model, optim

        self.learning_rate = learning_rate
        self.l2 = l2
        self.model = linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate), l2=l2)
        self.n_learned = 0

    @staticmethod
    def features(vector: np.ndarray, community: str) -> dict:
        x = dict(enumerate((vector * _SCALE).tolist()))
        x[f"community={community}"] = 1.0
        return x

    def predict_one(self, vector: np.ndarray, community: str) -> float:
        if self.n_learned == 0:
            return 0.5
        return float(self.model.predict_proba_one(self.features(vector, community))[True])

    def learn_one(self, vector: np.ndarray, community: str, toxic: bool) -> None:
        self.model.learn_one(self.features(vector, community), bool(toxic))
        self.n_learned += 1
