"""detect: a ``ScoredPost`` and its community's state -> ``TrendSignal`` records.

Shapes::

    ScoredPost, WatchState (burst-state), RaidState (raid-state)
      -> [TrendSignal]   usually none; a trend's lifecycle step (emerging, rising,
                         peaking, fading, resolved) of the volume, a topic, a share
                         spike (toxicity, negative sentiment), or a raid

Trends are classified once, at their start (threat / opportunity / neutral, with a
category), and the classifier's features are remembered by trend id so that an
on-call verdict on the trend ("real", "false alarm") can teach it
(:mod:`streams.stages.learn`).

State: ``burst-state`` and ``raid-state`` per community (durable). The raid state holds
an author map, too big to encode per post: it is written every ``RAID_SYNC_EVERY``
posts of a community and on every raid signal; a restart re-learns at most those posts.
"""

from __future__ import annotations

from collections import OrderedDict

from config.settings import Settings
from models.bursts import BurstParams
from models.community_watch import CommunityWatcher, WatchState
from models.eventtime import parse_event_time, to_iso
from models.raids import RaidDetector, RaidParams
from models.spikes import ShareParams
from models.trend_classifier import TrendClassifier
from streams.records import ScoredPost, TrendSignal
from streams.stages import trend_records
from streams.state import PipelineState

__all__ = ["DetectStage", "RAID_SYNC_EVERY"]

RAID_SYNC_EVERY = 100
_TREND_FEATURES_LIMIT = 10_000


class DetectStage:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.watcher = CommunityWatcher(
            BurstParams(window_s=settings.burst_window_s, z=settings.burst_z,
                        min_count=settings.burst_min_count,
                        min_history=settings.burst_min_history, alpha=settings.burst_alpha,
                        max_p=settings.burst_max_p),
            ShareParams(window_s=settings.burst_window_s, min_posts=settings.burst_min_count,
                        min_history=settings.burst_min_history))
        self.raids = RaidDetector(RaidParams())
        self.classifier = TrendClassifier()  # cues validated now: a bad file stops the start
        # trend_id -> (TrendClass, features): what an on-call verdict on a trend teaches
        self.trend_features: "OrderedDict[str, tuple]" = OrderedDict()
        self._raid_unsynced: dict[str, int] = {}  # community -> posts since raid-state write

    def detect(self, scored: ScoredPost, state: PipelineState, partition: int) -> list[TrendSignal]:
        community = scored.post.community
        watch: WatchState = state.watch.get(community)
        raid = state.raids.get(community)
        out = self._signals(watch, scored, raid)
        for sig in out:
            watch.note_reported(sig.trend_id, sig.kind, sig.state)
        state.watch.touch(community, partition)
        unsynced = self._raid_unsynced.get(community, 0) + 1
        if unsynced >= RAID_SYNC_EVERY or any(s.topic_id == "raid" for s in out):
            state.raids.touch(community, partition)
            unsynced = 0
        self._raid_unsynced[community] = unsynced
        return out

    def burst_zscore(self, watch: WatchState) -> float:
        """The open volume window's z-score, once the baseline has its history."""
        volume = watch.volume
        if volume.n_windows < self.settings.burst_min_history:
            return 0.0
        return round(volume.zscore(volume.count), 3)

    def forget(self) -> None:
        """Partitions were reassigned: the raid states are reloaded from their store."""
        self._raid_unsynced.clear()

    def _signals(self, state: WatchState, scored: ScoredPost, raid) -> list[TrendSignal]:
        post = scored.post
        ts = parse_event_time(post.created_at)
        signals = self.watcher.observe(state, ts, post.post_id, post.text, scored.sentiment,
                                       scored.decision != "none", scored.topic_id,
                                       scored.topic_label or "")
        out = []
        if raid is not None:
            for rsig in self.raids.observe(raid, ts, post.post_id, post.author_id, post.text):
                out.append(trend_records.raid_record(post, rsig))
        for topic, sig in signals:
            if topic == "topic":
                out.append(trend_records.topic_record(post, state, sig, self.classify,
                                                      self.settings.burst_min_count))
            elif topic != "volume":
                out.append(trend_records.share_record(post, topic, sig, state, self.classify))
            elif sig.state == "emerging":
                # A candidate: classified for the record, nothing remembered.
                c = self.classifier.classify(
                    texts=sig.sample, top_terms=sig.top_terms, sentiment=sig.sentiment,
                    toxicity_share=sig.toxicity_share, growth_rate=sig.growth_rate)
                out.append(trend_records.volume_record(post, sig, {
                    "kind": c.kind, "category": c.category,
                    "confidence": round(c.confidence, 4), "reasons": list(c.reasons)},
                    self.settings.burst_z))
            else:
                if sig.state == "rising" or state.volume_class is None:
                    trend_id = f"{post.community}:volume:{to_iso(sig.window_start)}"
                    c = self.classify(trend_id, texts=sig.sample, top_terms=sig.top_terms,
                                      sentiment=sig.sentiment,
                                      toxicity_share=sig.toxicity_share,
                                      growth_rate=sig.growth_rate)
                    top = state.dominant_topic()
                    if top is not None:
                        c["topic_id"], c["topic_label"] = top[0], top[2]
                        c["reasons"].append(f"{top[1]:.0%} of its first window's posts are "
                                            f"on one topic: {top[2]}")
                    state.volume_class = c
                out.append(trend_records.volume_record(post, sig, state.volume_class,
                                                       self.settings.burst_z))
                if sig.state == "resolved":
                    state.volume_class = None
        return out

    def classify(self, trend_id: str, **inputs) -> dict:
        """Classify a trend once, at its start, and remember what an on-call verdict on
        it will teach the classifier."""
        c = self.classifier.classify(**inputs)
        self.trend_features[trend_id] = (c, self.classifier.features(**inputs))
        while len(self.trend_features) > _TREND_FEATURES_LIMIT:
            self.trend_features.popitem(last=False)
        return {"kind": c.kind, "category": c.category, "confidence": round(c.confidence, 4),
                "reasons": list(c.reasons)}
