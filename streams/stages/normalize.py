"""normalize: ``posts.raw`` bytes -> a canonical ``Post``, a dead letter, a platform
event, or nothing (a duplicate); and the feed's health.

Shapes::

    Input(topic="posts.raw", value=payload bytes, key=community, headers={vigil-format})
      -> Post                       validated, author pseudonymised, deduplicated
       | DeadLetter                 reason + the original bytes, for posts.dlq
       | NotAPost(kind, fields)     a deletion or a moderator's action: not a post
       | None                       this (platform, id, revision) was seen in the window
    + a feed-health Draft when a community's feed starts or stops failing

State (soft, in memory): the dedup window, and feed health per community (after a
restart a broken feed is noticed again within one window).
"""

from __future__ import annotations

import base64
import time
from typing import Optional, Union

from config.settings import Settings
from models.dedup import DedupWindow
from models.escalation import Draft, feed_draft
from models.eventtime import to_iso
from models.feed_health import FeedHealthMonitor, FeedHealthParams, FeedHealthState
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.pseudonym import Pseudonymizer
from streams.events import Input
from streams.records import DeadLetter, Post

__all__ = ["NormalizeStage", "Normalized"]

#: what normalising one payload gives
Normalized = Union[Post, DeadLetter, NotAPost, None]

_FEEDS_LIMIT = 10_000


class NormalizeStage:
    def __init__(self, settings: Settings, pseudonymize: Pseudonymizer):
        self.normalizer = Normalizer(
            pseudonymize, NormalizeLimits(settings.max_payload_bytes, settings.max_text_chars,
                                          settings.max_clock_skew_s))
        self.dedup = DedupWindow(settings.dedup_window_s, settings.dedup_max_keys)
        self.feed_monitor = FeedHealthMonitor(FeedHealthParams(
            window_s=settings.feed_health_window_s, min_dead=settings.feed_health_min_dead))
        self.feeds: dict[str, FeedHealthState] = {}  # community (the raw key) -> health

    def normalize(self, item: Input, now: Optional[float] = None) -> Normalized:
        raw = item.value if item.value is not None else b""
        try:
            fields, ts = self.normalizer.normalize(
                raw, fmt=item.headers.get("vigil-format"), now=now or time.time(),
                community=item.community)
        except MalformedPost as exc:
            return self.dead_letter(exc, item, now)
        except NotAPost as event:
            return event
        except Exception as exc:  # a bug in a format parser must not lose the post
            return self.dead_letter(MalformedPost("internal_error",
                                                  f"{type(exc).__name__}: {exc}"), item, now)
        # an edit is a new revision of the same post: scored again, not a duplicate
        revision = fields["meta"].get("revision")
        dedup_id = fields["post_id"] if revision is None else f"{fields['post_id']}@{revision}"
        if self.dedup.seen(fields["platform"], dedup_id, ts):
            return None
        return Post(ingested_at=to_iso(item.timestamp or time.time()), **fields)

    @staticmethod
    def dead_letter(exc: MalformedPost, item: Input, now: Optional[float] = None) -> DeadLetter:
        raw = item.value if item.value is not None else b""
        return DeadLetter(
            reason=exc.reason, detail=exc.detail, source_topic=item.origin or item.topic,
            source_partition=item.partition, source_offset=item.offset,
            value_b64=base64.b64encode(raw).decode(),
            key_b64=base64.b64encode(item.key).decode() if item.key is not None else None,
            headers=dict(item.headers), failed_at=to_iso(now or time.time()))

    def watch_feed(self, item: Input, platform: str, *, ok: bool,
                   reason: str = "") -> Optional[tuple[Draft, str]]:
        """Count one payload of the item's community; a (draft, source id) when its
        feed starts failing (mostly dead letters) or recovers."""
        community = item.community or f"(unkeyed, partition {item.partition})"
        state = self.feeds.get(community)
        if state is None:
            if len(self.feeds) >= _FEEDS_LIMIT:
                self.feeds.pop(next(iter(self.feeds)))
            state = self.feeds[community] = FeedHealthState(platform=platform)
        ts = item.timestamp or time.time()
        # the open window's figures, for a "recovered" at its close (observe replaces the
        # reasons dict when a window rolls, never mutates an old one: no copy needed)
        window = (state.dead, state.ok + state.dead, state.reasons)
        change = self.feed_monitor.observe(state, ts, ok=ok, reason=reason)
        if change is None:
            return None
        dead, total, reasons = ((state.dead, state.ok + state.dead, state.reasons)
                                if change == "failing" else window)  # recovered: clean window
        draft = feed_draft(community=community, platform=platform, change=change, dead=dead,
                           total=total, reasons=reasons, event_ts=ts)
        return draft, f"feed:{change}:{state.failing_since}"
