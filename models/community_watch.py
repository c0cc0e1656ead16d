"""Everything Vigil watches in one community, as one state and one ``observe``.

    post ──▶ volume burst (models.bursts)                 "volume"
         ├─▶ share of toxic posts (models.spikes)         "toxicity-share"
         ├─▶ share of strongly negative posts             "negative-sentiment"
         └─▶ its topic's share (models.topic_bursts)      "topic"

One state per community keeps one table write per post. On-call gets one page per
incident, not three, so signals that describe the same incident are folded:

* a share spike or a topic burst that starts while volume is elevated (a burst, or
  half-way to one) is part of that incident: the volume burst's signals carry its
  sentiment and toxicity share, and its label names the dominant topic;
* a volume burst that starts while a topic burst runs on the topic that dominates the
  window is that topic's incident growing: the volume signals are held back until the
  volume burst resolves;
* a share spike that starts while a topic burst runs on the window's dominant topic
  (including one that starts on the same post) is folded into the topic burst; a topic
  burst that starts while a share spike runs that rose on the same topic (or on no
  dominant topic) is folded into the spike.

>>> w = CommunityWatcher(BurstParams(window_s=60, min_history=5, alpha=0.2),
...                      ShareParams(window_s=60, min_history=5))
>>> s = WatchState()
>>> quiet = [w.observe(s, t * 20.0, f"q{t}", "fine", 0.3, False) for t in range(30)]
>>> sum(len(x) for x in quiet)
0
>>> burst = [w.observe(s, 600 + i, f"b{i}", "down again", -0.8, False) for i in range(20)]
>>> [(topic, sig.state) for out in burst for topic, sig in out]
[('volume', 'emerging'), ('volume', 'rising')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from models.bursts import BurstDetector, BurstParams, BurstSignal, BurstState
from models.spikes import ShareParams, ShareSignal, ShareSpikeDetector, ShareState
from models.topic_bursts import (TopicBurstDetector, TopicBurstParams, TopicBurstSignal,
                                 TopicBurstState)

__all__ = ["WatchState", "CommunityWatcher", "NEGATIVE_SENTIMENT", "TOPICS"]

#: VADER compound at or below this counts as a strongly negative post.
NEGATIVE_SENTIMENT = -0.5
TOPICS = {"volume": "all posts", "toxicity-share": "share of toxic posts",
          "negative-sentiment": "share of strongly negative posts"}

Signal = Union[BurstSignal, ShareSignal, TopicBurstSignal]
#: a topic with at least this share of a volume burst's first window names the burst
DOMINANT_SHARE = 0.3
MAX_OPEN_TRENDS = 20


@dataclass
class WatchState:
    volume: BurstState = field(default_factory=BurstState)
    toxicity: ShareState = field(default_factory=ShareState)
    negative: ShareState = field(default_factory=ShareState)
    # what the running volume burst is about (kind, category, confidence, reasons),
    # decided once when it starts so that its updates and resolve say the same
    volume_class: Optional[dict] = None
    topics: TopicBurstState = field(default_factory=TopicBurstState)
    # the topic burst a running volume burst is folded into (its signals held back)
    volume_folded_into: Optional[str] = None
    # share spike -> the topic dominating its window when it rose ({"topic_id": ""} if
    # none), and what the trend was classified as; replaced at the next spike
    share_topics: dict = field(default_factory=dict)
    # trend id -> kind, for trends reported rising and not yet resolved (what the
    # "active trends" gauge counts); bounded in case a resolve never comes
    open_trends: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"volume": self.volume.to_dict(), "toxicity": self.toxicity.to_dict(),
                "negative": self.negative.to_dict(), "volume_class": self.volume_class,
                "topics": self.topics.to_dict(), "volume_folded_into": self.volume_folded_into,
                "share_topics": dict(self.share_topics), "open_trends": dict(self.open_trends)}

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "WatchState":
        if not d:
            return cls()
        return cls(BurstState.from_dict(d.get("volume")), ShareState.from_dict(d.get("toxicity")),
                   ShareState.from_dict(d.get("negative")), d.get("volume_class"),
                   TopicBurstState.from_dict(d.get("topics")), d.get("volume_folded_into"),
                   dict(d.get("share_topics") or {}), dict(d.get("open_trends") or {}))

    def note_reported(self, trend_id: str, kind: str, state: str) -> None:
        """Track what on-call has been told is running.

        >>> w = WatchState()
        >>> w.note_reported("t1", "threat", "rising"); w.note_reported("t2", "opportunity", "rising")
        >>> w.note_reported("t1", "threat", "peaking"); w.active_trends()
        {'threat': 1, 'opportunity': 1}
        >>> w.note_reported("t1", "threat", "resolved"); w.active_trends()
        {'opportunity': 1}
        """
        if state == "rising":
            self.open_trends[trend_id] = kind
            while len(self.open_trends) > MAX_OPEN_TRENDS:
                del self.open_trends[next(iter(self.open_trends))]
        elif state == "resolved":
            self.open_trends.pop(trend_id, None)

    def active_trends(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind in self.open_trends.values():
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    def dominant_topic(self) -> Optional[tuple[str, float, str]]:
        """The open window's dominant topic (id, share, label), if it has DOMINANT_SHARE."""
        top = self.topics.dominant()
        if top is None or not self.topics.n or not top[2]:
            return None
        share = top[1] / self.topics.n
        return (top[0], share, top[2]) if share >= DOMINANT_SHARE else None


class CommunityWatcher:
    def __init__(self, burst: BurstParams, share: ShareParams,
                 topic: Optional[TopicBurstParams] = None):
        self.bursts = BurstDetector(burst)
        self.shares = ShareSpikeDetector(share)
        self.topic_bursts = TopicBurstDetector(topic or TopicBurstParams(
            window_s=burst.window_s, min_count=burst.min_count,
            min_history=burst.min_history))

    def observe(self, s: WatchState, ts: float, post_id: str, text: str, sentiment: float,
                toxic: bool, topic_id: Optional[str] = None, topic_label: str = "",
                ) -> list[tuple[str, Signal]]:
        """Count one post everywhere; the (topic_id, signal) pairs it causes."""
        out: list[tuple[str, Signal]] = []
        topic_signals = (self.topic_bursts.observe(s.topics, ts, topic_id, topic_label, post_id,
                                                   text, sentiment, toxic)
                         if topic_id else [])
        for sig in self.bursts.observe(s.volume, ts, post_id, text, sentiment, toxic):
            if sig.state == "rising":
                top = s.dominant_topic()
                run = s.topics.active.get(top[0]) if top else None
                # Only a topic burst that was already running owns the incident; one
                # that starts on this very post is folded into the volume burst below.
                if run is not None and not run["folded"] and run["first_seen"] < ts:
                    s.volume_folded_into = top[0]
            if s.volume_folded_into is None:
                out.append(("volume", sig))
            if sig.state == "resolved":
                s.volume_folded_into = None
        # While volume is up (a burst, or on its way to one) the volume detector owns the
        # incident; a share spike alone is news only when the volume is normal.
        burst_running = (s.volume.active or any(sig.state != "resolved" for _, sig in out)
                         or s.volume.zscore(s.volume.count) >= self.bursts.p.z / 2)
        # A topic burst is the most telling description of an incident: it goes first,
        # unless the volume burst owns the incident.
        for sig in topic_signals:
            if sig.state == "rising":
                if burst_running and s.volume_folded_into is None:
                    self.topic_bursts.fold(s.topics, sig.topic_id)  # the volume burst's topic
                    continue
                # A share spike already paged for this topic (or for no topic in
                # particular): it is the same incident.
                if any(st.active and s.share_topics.get(name, {}).get("topic_id", "")
                       in ("", sig.topic_id)
                       for name, st in (("toxicity-share", s.toxicity),
                                        ("negative-sentiment", s.negative))):
                    self.topic_bursts.fold(s.topics, sig.topic_id)
                    continue
            if not sig.folded:
                out.append(("topic", sig))
        top = s.dominant_topic()
        topic_running = top is not None and not s.topics.active.get(top[0], {"folded": True})["folded"]
        for topic, state, hit in (("toxicity-share", s.toxicity, toxic),
                                  ("negative-sentiment", s.negative,
                                   sentiment <= NEGATIVE_SENTIMENT)):
            for sig in self.shares.observe(state, ts, hit):
                if sig.state == "rising" and (burst_running or topic_running):
                    # folded into the running burst's incident (volume, or the topic
                    # that dominates the window)
                    state.active = False
                    continue
                if sig.state == "rising":  # what the spike is about, kept until the next one
                    s.share_topics[topic] = ({"topic_id": top[0], "label": top[2],
                                              "share": round(top[1], 4)} if top
                                             else {"topic_id": ""})
                out.append((topic, sig))
        return out
