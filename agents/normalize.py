"""posts.raw (bytes) -> posts.normalized (Post) | posts.dlq (DeadLetter)."""

from __future__ import annotations

import time

import structlog

from agents.runtime import steps
from models.normalize import MalformedPost
from streams import channels, metrics
from streams.app import app

log = structlog.get_logger("vigil.normalize")


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
                post = steps.normalize(raw, fmt=fmt, ingested_ts=msg.timestamp or time.time())
            except MalformedPost as exc:
                if exc.reason == "internal_error":
                    metrics.STAGE_ERRORS.labels(stage="normalize").inc()
                metrics.POSTS_DEAD_LETTERED.labels(reason=exc.reason).inc()
                log.warning("dead_lettered", reason=exc.reason, detail=exc.detail)
                dead = steps.dead_letter(exc, raw, key=msg.key, headers=headers,
                                         topic=msg.topic, partition=msg.partition,
                                         offset=msg.offset)
                await channels.posts_dlq.send(key=msg.topic, value=dead)
                continue
            finally:
                metrics.STAGE_SECONDS.labels(stage="normalize").observe(
                    time.perf_counter() - started)
        # post: a canonical Post, or None when this (platform, id) was seen in the window
        if post is None:
            metrics.POSTS_DUPLICATE.labels(platform=platform_label).inc()
            continue
        metrics.POSTS_NORMALIZED.labels(platform=metrics.platform_label(post.platform)).inc()
        await channels.posts_normalized.send(key=post.community, value=post)
