"""The ``TrendSignal`` records the detect stage emits, one builder per kind of signal:
a volume burst, a topic's burst, a share spike (toxicity, negative sentiment), a raid.

Each builder is pure: the signal from ``models/`` and the post that caused it in, a
record out. ``classify(trend_id, **inputs) -> dict`` is the detect stage's classifier
(kind, category, confidence, reasons), called once at a trend's start.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from models.bursts import BurstSignal
from models.community_watch import TOPICS, WatchState
from models.eventtime import to_iso
from models.raids import RaidSignal
from models.spikes import ShareSignal
from models.topic_bursts import TopicBurstSignal
from streams.records import Post, TrendSignal

__all__ = ["topic_record", "raid_record", "share_record", "volume_record"]

Classify = Callable[..., dict]


def topic_record(post: Post, state: WatchState, sig: TopicBurstSignal, classify: Classify,
                 min_count: int) -> TrendSignal:
    trend_id = f"{post.community}:topic:{sig.topic_id}:{to_iso(sig.window_start)}"
    run = state.topics.active.get(sig.topic_id)
    cls = sig.annotation or (run.get("class") if run else None)
    if cls is None:  # classified at rising; kept on the running burst until it resolves
        terms = [t.strip() for t in sig.label.split(",") if t.strip()]
        cls = classify(trend_id, texts=sig.sample or tuple(s for _, s in sig.exemplars),
                       top_terms=terms, sentiment=sig.sentiment,
                       toxicity_share=sig.toxicity_share,
                       growth_rate=sig.share / max(sig.baseline, 0.01))
        cls["reasons"].append(f"the topic took {sig.posts} of {sig.community_posts} posts "
                              f"({sig.share:.0%}) against a usual {sig.baseline:.0%}")
        if run is not None:
            run["class"] = cls
    base = sig.baseline * sig.community_posts
    sd = math.sqrt(max(base * (1 - sig.baseline), 0.25))
    return TrendSignal(
        trend_id=trend_id, community=post.community, platform=post.platform,
        topic_id=sig.topic_id, topic_label=sig.label or sig.topic_id, kind=cls["kind"],
        severity=(("high" if sig.share >= 0.5 and sig.posts >= 2 * min_count
                   else "medium") if cls["kind"] == "threat" else "low"),
        state=sig.state, window_start=to_iso(sig.window_start),
        window_end=to_iso(sig.window_end), volume=sig.posts, baseline=round(base, 3),
        zscore=round((sig.posts - base) / sd, 3),
        growth_rate=round(sig.share / max(sig.baseline, 0.01), 3),
        sentiment=sig.sentiment, toxicity_share=sig.toxicity_share,
        first_seen=to_iso(sig.first_seen), emitted_at=to_iso(time.time()),
        top_terms=[t.strip() for t in sig.label.split(",") if t.strip()],
        exemplar_post_ids=[p for p, _ in sig.exemplars],
        exemplars=[s for _, s in sig.exemplars],
        category=cls["category"], confidence=cls["confidence"], reasons=cls["reasons"],
        trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)


def raid_record(post: Post, sig: RaidSignal) -> TrendSignal:
    last = sig.last_seen or sig.first_seen
    return TrendSignal(
        trend_id=f"{post.community}:raid:{sig.raid_id}", community=post.community,
        platform=post.platform, topic_id="raid",
        topic_label="near-duplicate posts from new or silent accounts",
        kind="threat", severity="high", state=sig.state,
        window_start=to_iso(sig.window_start), window_end=to_iso(max(last, sig.first_seen)),
        volume=sig.posts, baseline=0.0, zscore=0.0, growth_rate=0.0, sentiment=0.0,
        toxicity_share=0.0, first_seen=to_iso(sig.first_seen),
        emitted_at=to_iso(time.time()), exemplar_post_ids=list(sig.exemplar_post_ids),
        exemplars=[sig.exemplar_text[:160]], category="harassment_campaign",
        confidence=round(sig.similarity, 4),
        reasons=[f"{sig.posts} near-duplicate posts from {sig.authors} new or silent "
                 f"accounts", f"{sig.new_author_share:.0%} of the community's posts since "
                 f"it began", f"mean similarity {sig.similarity:.2f}"],
        trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)


def share_record(post: Post, topic: str, sig: ShareSignal, state: WatchState,
                 classify: Classify) -> TrendSignal:
    base = sig.baseline
    sd = math.sqrt(max(base * (1 - base), 0.01) / max(sig.posts, 1))
    about = state.share_topics.get(topic) or {}
    terms = [t.strip() for t in about.get("label", "").split(",") if t.strip()]
    cls = about.get("class")
    if cls is None and about.get("topic_id"):
        # The spike rose while one topic dominated the window: say what it is about.
        window = state.topics.window.get(about["topic_id"])
        texts = [snip for _, snip in window[3]] if window else []
        trend_id = f"{post.community}:{topic}:{to_iso(sig.window_start)}"
        cls = classify(trend_id, texts=texts or [post.text], top_terms=terms,
                       sentiment=-0.5 if topic == "negative-sentiment" else 0.0,
                       toxicity_share=sig.share if topic == "toxicity-share" else 0.0,
                       growth_rate=sig.share / max(base, 0.01))
        cls["reasons"].append(f"{about['share']:.0%} of the window's posts are on one "
                              f"topic: {about['label']}")
        about["class"] = cls
    return TrendSignal(
        trend_id=f"{post.community}:{topic}:{to_iso(sig.window_start)}",
        community=post.community, platform=post.platform, topic_id=topic,
        topic_label=TOPICS[topic], kind="threat",
        severity="high" if topic == "toxicity-share" and sig.share >= 0.5 else "medium",
        state=sig.state, window_start=to_iso(sig.window_start),
        window_end=to_iso(sig.window_end), volume=sig.posts, baseline=base,
        zscore=round((sig.share - base) / sd, 3),
        growth_rate=round(sig.share / max(base, 0.01), 3),
        sentiment=0.0, toxicity_share=sig.share if topic == "toxicity-share" else 0.0,
        first_seen=to_iso(sig.first_seen), emitted_at=to_iso(time.time()),
        top_terms=terms, exemplar_post_ids=[post.post_id], exemplars=[post.text[:160]],
        # a share spike is a threat whatever its topic: only a threat category fits
        category=cls["category"] if cls and cls["kind"] == "threat" else None,
        confidence=cls["confidence"] if cls else None,
        reasons=cls["reasons"] if cls else [],
        trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)


def volume_record(post: Post, sig: BurstSignal, cls: dict, burst_z: float) -> TrendSignal:
    trend_id = f"{post.community}:volume:{to_iso(sig.window_start)}"
    return TrendSignal(
        trend_id=trend_id, community=post.community, platform=post.platform,
        topic_id="volume", topic_label=cls.get("topic_label") or "all posts",
        kind=cls["kind"],
        severity=(("high" if sig.zscore >= 2 * burst_z else "medium")
                  if cls["kind"] == "threat" else "low"),
        state=sig.state, window_start=to_iso(sig.window_start),
        window_end=to_iso(sig.window_end), volume=sig.volume, baseline=sig.baseline,
        zscore=sig.zscore, growth_rate=sig.growth_rate, sentiment=sig.sentiment,
        toxicity_share=sig.toxicity_share, first_seen=to_iso(sig.first_seen),
        emitted_at=to_iso(time.time()), top_terms=list(sig.top_terms),
        exemplar_post_ids=[p for p, _ in sig.exemplars],
        exemplars=[s for _, s in sig.exemplars],
        category=cls["category"], confidence=cls["confidence"], reasons=cls["reasons"],
        trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)
