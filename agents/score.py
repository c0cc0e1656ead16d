"""posts.normalized (Post) -> posts.scored (ScoredPost), in batches, off the event loop."""

from __future__ import annotations

import time

import structlog

from agents.runtime import run_blocking, steps
from models.eventtime import parse_event_time
from streams import channels, metrics
from streams.app import app

log = structlog.get_logger("vigil.score")
_settings = app.vigil_settings


@app.agent(channels.posts_normalized, name="vigil.score")
async def score(stream):
    async for posts in stream.take(_settings.score_batch_size, within=_settings.score_batch_within_s):
        # posts: up to score_batch_size Posts, whatever arrived within the batch window
        started = time.perf_counter()
        with metrics.counting_errors("score"):
            scored = await run_blocking(steps.score_batch, posts)
        metrics.STAGE_SECONDS.labels(stage="score").observe(time.perf_counter() - started)
        # scored: one ScoredPost per post, same order
        now = time.time()
        for s in scored:
            post = s.post
            await channels.posts_scored.send(key=post.community, value=s)
            metrics.POSTS_SCORED.labels(platform=metrics.platform_label(post.platform), decision=s.decision).inc()
            metrics.TOXICITY_SCORE.observe(s.toxicity)
            metrics.INGEST_TO_SCORED_SECONDS.observe(max(0.0, now - parse_event_time(post.ingested_at)))
            if s.decision != "none":
                log.info("toxic_post", post_id=post.post_id, community=post.community,
                         toxicity=s.toxicity, terms=s.terms)
        if scored:
            metrics.EVENT_TIME_LAG_SECONDS.labels(stage="score").set(
                now - parse_event_time(scored[-1].post.created_at))
