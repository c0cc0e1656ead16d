"""posts.raw (bytes) -> posts.normalized (Post) | posts.dlq (DeadLetter).

Feed health watches the same stream: a community whose raw posts turn mostly into dead
letters raises a ``pipeline`` incident (models/feed_health.py), resolved once its posts
get through again. Its state is soft (worker memory): after a restart a broken feed is
noticed again within one window.
"""

from __future__ import annotations

import time

import structlog

from agents.escalate import apply_draft
from agents.runtime import steps
from models.escalation import feed_draft
from models.feed_health import FeedHealthMonitor, FeedHealthParams, FeedHealthState
from models.normalize import MalformedPost, NotAPost
from streams import channels, metrics
from streams.app import app

log = structlog.get_logger("vigil.normalize")
_settings = app.vigil_settings
_feed_monitor = FeedHealthMonitor(FeedHealthParams(window_s=_settings.feed_health_window_s,
                                                   min_dead=_settings.feed_health_min_dead))
_feeds: dict[str, FeedHealthState] = {}  # community (the raw key) -> its feed's health


async def _watch_feed(msg, platform: str, *, ok: bool, reason: str = "") -> None:
    community = (msg.key.decode("utf-8", "replace") if isinstance(msg.key, bytes)
                 else msg.key) or f"(unkeyed, partition {msg.partition})"
    state = _feeds.get(community)
    if state is None:
        if len(_feeds) >= 10_000:
            _feeds.pop(next(iter(_feeds)))
        state = _feeds[community] = FeedHealthState(platform=platform)
    ts = msg.timestamp or time.time()  # Faust gives the broker timestamp in seconds
    # the open window's figures, for a "recovered" at its close (observe replaces the
    # reasons dict when a window rolls, never mutates an old one: no copy needed)
    window = (state.dead, state.ok + state.dead, state.reasons)
    change = _feed_monitor.observe(state, ts, ok=ok, reason=reason)
    if change is None:
        return
    dead, total, reasons = ((state.dead, state.ok + state.dead, state.reasons)
                            if change == "failing" else window)  # recovered: the clean window
    draft = feed_draft(community=community, platform=platform, change=change, dead=dead,
                       total=total, reasons=reasons, event_ts=ts)
    log.warning("feed_" + change, community=community, dead=dead, payloads=total)
    await apply_draft(draft, f"feed:{change}:{state.failing_since}", None, event_clock=False)


def _headers(message) -> dict[str, str]:
    raw = message.headers or []
    items = raw.items() if isinstance(raw, dict) else raw
    return {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
            for k, v in items}


@app.agent(channels.posts_raw, name="vigil.normalize")
async def normalize(stream):
    async for event in stream.events():
        # event.value: the payload bytes exactly as the connector produced them
        msg = event.message
        headers = _headers(msg)
        fmt = headers.get("vigil-format")
        platform_label = metrics.platform_label(headers.get("vigil-platform"))
        metrics.POSTS_INGESTED.labels(platform=platform_label).inc()
        started = time.perf_counter()
        raw = event.value if event.value is not None else b""
        with structlog.contextvars.bound_contextvars(
                source_partition=msg.partition, source_offset=msg.offset):
            try:
                key = msg.key.decode("utf-8", "replace") if isinstance(msg.key, bytes) else msg.key
                post = steps.normalize(raw, fmt=fmt, ingested_ts=msg.timestamp or time.time(),
                                       community=key)
            except MalformedPost as exc:
                if exc.reason == "internal_error":
                    metrics.STAGE_ERRORS.labels(stage="normalize").inc()
                metrics.POSTS_DEAD_LETTERED.labels(reason=exc.reason).inc()
                log.warning("dead_lettered", reason=exc.reason, detail=exc.detail)
                dead = steps.dead_letter(exc, raw, key=msg.key, headers=headers,
                                         topic=msg.topic, partition=msg.partition,
                                         offset=msg.offset)
                await channels.posts_dlq.send(key=msg.topic, value=dead)
                await _watch_feed(msg, platform_label, ok=False, reason=exc.reason)
                continue
            except NotAPost as event:
                # a deletion or a moderator's action: well-formed, so the feed is healthy
                metrics.PLATFORM_EVENTS.labels(platform=platform_label, kind=event.kind).inc()
                log.info("platform_event", kind=event.kind, post_id=event.fields.get("post_id"),
                         community=event.fields.get("community"))
                await _watch_feed(msg, platform_label, ok=True)
                continue
            finally:
                metrics.STAGE_SECONDS.labels(stage="normalize").observe(
                    time.perf_counter() - started)
        await _watch_feed(msg, platform_label, ok=True)
        # post: a canonical Post, or None when this (platform, id) was seen in the window
        if post is None:
            metrics.POSTS_DUPLICATE.labels(platform=platform_label).inc()
            continue
        metrics.POSTS_NORMALIZED.labels(platform=metrics.platform_label(post.platform)).inc()
        await channels.posts_normalized.send(key=post.community, value=post)
