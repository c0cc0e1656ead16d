"""Everything Vigil watches in one community, as one state and one ``observe``.

    post ──▶ volume burst (models.bursts)            "volume"
         ├─▶ share of toxic posts (models.spikes)    "toxicity-share"
         └─▶ share of strongly negative posts        "negative-sentiment"

One state per community keeps one table write per post. A share spike that starts
while volume is elevated (a burst, or half-way to one) is part of that incident (the
burst's signals carry its sentiment and toxicity share), so it is not raised
separately: on-call gets one page per incident, not three.

>>> w = CommunityWatcher(BurstParams(window_s=60, min_history=5, alpha=0.2),
...                      ShareParams(window_s=60, min_history=5))
>>> s = WatchState()
>>> quiet = [w.observe(s, t * 20.0, f"q{t}", "fine", 0.3, False) for t in range(30)]
>>> sum(len(x) for x in quiet)
0
>>> burst = [w.observe(s, 600 + i, f"b{i}", "down again", -0.8, False) for i in range(20)]
>>> [(topic, sig.state) for out in burst for topic, sig in out]
[('volume', 'rising')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from models.bursts import BurstDetector, BurstParams, BurstSignal, BurstState
from models.spikes import ShareParams, ShareSignal, ShareSpikeDetector, ShareState

__all__ = ["WatchState", "CommunityWatcher", "NEGATIVE_SENTIMENT", "TOPICS"]

#: VADER compound at or below this counts as a strongly negative post.
NEGATIVE_SENTIMENT = -0.5
TOPICS = {"volume": "all posts", "toxicity-share": "share of toxic posts",
          "negative-sentiment": "share of strongly negative posts"}

Signal = Union[BurstSignal, ShareSignal]


@dataclass
class WatchState:
    volume: BurstState = field(default_factory=BurstState)
    toxicity: ShareState = field(default_factory=ShareState)
    negative: ShareState = field(default_factory=ShareState)
    # what the running volume burst is about (kind, category, confidence, reasons),
    # decided once when it starts so that its updates and resolve say the same
    volume_class: Optional[dict] = None

    def to_dict(self) -> dict:
        return {"volume": self.volume.to_dict(), "toxicity": self.toxicity.to_dict(),
                "negative": self.negative.to_dict(), "volume_class": self.volume_class}

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "WatchState":
        if not d:
            return cls()
        return cls(BurstState.from_dict(d.get("volume")), ShareState.from_dict(d.get("toxicity")),
                   ShareState.from_dict(d.get("negative")), d.get("volume_class"))


class CommunityWatcher:
    def __init__(self, burst: BurstParams, share: ShareParams):
        self.bursts = BurstDetector(burst)
        self.shares = ShareSpikeDetector(share)

    def observe(self, s: WatchState, ts: float, post_id: str, text: str, sentiment: float,
                toxic: bool) -> list[tuple[str, Signal]]:
        """Count one post everywhere; the (topic_id, signal) pairs it causes."""
        out: list[tuple[str, Signal]] = [
            ("volume", sig) for sig in self.bursts.observe(s.volume, ts, post_id, text,
                                                           sentiment, toxic)]
        # While volume is up (a burst, or on its way to one) the volume detector owns the
        # incident; a share spike alone is news only when the volume is normal.
        burst_running = (s.volume.active or any(sig.state != "resolved" for _, sig in out)
                         or s.volume.zscore(s.volume.count) >= self.bursts.p.z / 2)
        for topic, state, hit in (("toxicity-share", s.toxicity, toxic),
                                  ("negative-sentiment", s.negative,
                                   sentiment <= NEGATIVE_SENTIMENT)):
            for sig in self.shares.observe(state, ts, hit):
                if sig.state == "rising" and burst_running:
                    state.active = False  # folded into the running burst's incident
                    continue
                out.append((topic, sig))
        return out
