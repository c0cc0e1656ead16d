"""Per-community decision thresholds that adapt toward a target precision.

Each flagged post that a moderator labels tells us whether the threshold was right.
An EWMA of those outcomes estimates the community's precision at its threshold; below
target the threshold rises, and when precision is comfortably above target and a
moderator reports a toxic post that was missed, it falls to catch more.

>>> t = AdaptiveThreshold(threshold=0.8, target_precision=0.9)
>>> for _ in range(20):
...     t.observe(score=0.85, toxic=False)   # flagged, but moderators disagree
>>> t.threshold > 0.85
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["AdaptiveThreshold"]


@dataclass
class AdaptiveThreshold:
    threshold: float
    target_precision: float
    step: float = 0.02
    alpha: float = 0.1
    lower: float = 0.5
    upper: float = 0.99
    precision: float = 1.0  # EWMA estimate; optimistic until labels say otherwise
    labelled_flags: int = 0

    def observe(self, score: float, toxic: bool) -> None:
        if score >= self.threshold:
            self.labelled_flags += 1
            self.precision += self.alpha * ((1.0 if toxic else 0.0) - self.precision)
            if self.precision < self.target_precision:
                self.threshold = min(self.upper, self.threshold + self.step)
        elif toxic and self.precision > self.target_precision + 0.05:
            self.threshold = max(self.lower, self.threshold - self.step)

    def to_dict(self) -> dict:
        return asdict(self)
