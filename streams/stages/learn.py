"""learn: a moderator's label -> the models learn from it.

Shapes::

    ModerationFeedback(label = toxic | not_toxic) -> the community's toxicity model
                                                     learns the post (keyed by post:
                                                     a reversed decision replaces the
                                                     first label)
    ModerationFeedback(label = real | false_alarm) -> the trend classifier learns
    -> Learned(outcome = learned | no_features | not_for_toxicity | duplicate, score before)

A label whose ``idempotency_key`` was seen already (a webhook delivered twice, a
retried click) is a ``duplicate`` and changes nothing; the last ``seen_limit`` keys are
remembered (soft state: a redelivery after a restart is still harmless for toxicity
labels, which the learner keys by post, so a repeat replaces rather than adds).

Every worker learns from every label (one model per community, whichever worker
scores its posts next), so the Faust runner feeds this stage from a consumer assigned
every partition of ``moderation.feedback``. Learning runs in the inference thread,
like scoring, which reads the same models. State: the learnt models (soft; the Faust
runner checkpoints :meth:`snapshot` to a file).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Optional

from models.eventtime import parse_event_time
from models.online_auc import RollingAUC
from streams.events import Learned
from streams.records import ModerationFeedback
from streams.stages.detect import DetectStage
from streams.stages.score import ScoreStage

__all__ = ["LearnStage"]


class LearnStage:
    def __init__(self, score: ScoreStage, detect: DetectStage, seen_limit: int = 100_000):
        self.score = score
        self.detect = detect
        self.seen: OrderedDict = OrderedDict()  # idempotency keys of labels applied
        self.seen_limit = seen_limit
        # the model's score before each label, against the label: how well it did
        self.online_auc = RollingAUC(500)

    def learn(self, fb: ModerationFeedback) -> Learned:
        key = fb.idempotency_key
        if key:
            if key in self.seen:
                return Learned(fb, "duplicate", None, None)
            self.seen[key] = None
            while len(self.seen) > self.seen_limit:
                self.seen.popitem(last=False)
        outcome, before = self._learn(fb)
        auc = None
        if before is not None and fb.label in ("toxic", "not_toxic"):
            auc = self.online_auc.update(before, fb.label == "toxic")
        return Learned(fb, outcome, before, auc)

    def _learn(self, fb: ModerationFeedback) -> tuple[str, Optional[float]]:
        if fb.label in ("real", "false_alarm"):
            entry = self.detect.trend_features.get(fb.trend_id or "")
            if entry is None:
                return "no_features", None
            trend_class, features = entry
            self.detect.classifier.learn_one(trend_class, features, real=fb.label == "real")
            return "learned", trend_class.confidence
        if fb.label not in ("toxic", "not_toxic"):
            return "not_for_toxicity", None
        evidence = self.score.evidence_for(fb.community, fb.post_id, fb.text)
        if evidence is None:
            return "no_features", None
        try:
            when = parse_event_time(fb.time)
        except (TypeError, ValueError):
            when = time.time()
        return "learned", self.score.toxicity.learn(evidence, fb.community, fb.label == "toxic",
                                                    key=fb.post_id, time=when)

    @property
    def labels_learned(self) -> int:
        return self.score.toxicity.labels_learned

    def snapshot(self) -> dict:
        """Everything learnt from feedback, for the checkpoint."""
        return {**self.score.toxicity.snapshot(), "trend_classifier": self.detect.classifier}

    def restore(self, snap: dict) -> None:
        self.score.toxicity.restore(snap)
        if snap.get("trend_classifier") is not None:
            self.detect.classifier = snap["trend_classifier"]
