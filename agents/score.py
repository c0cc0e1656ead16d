"""posts.normalized (Post) -> posts.scored (ScoredPost), in batches, off the event loop.

Scoring also assigns each post to one of its community's online topics (the embedding
exists only here). The topics live in memory in the inference thread and are saved to
``<data_dir>/models/topics.json`` every ``VIGIL_TOPICS_CHECKPOINT_INTERVAL_S`` and at
shutdown, and restored at start. They are soft state: a community that moves to another
worker starts its topics afresh there (its old ones fade within the topics' 6-hour
half-life anyway), and bursts are still detected on its total volume meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional

import structlog

from agents.runtime import learning_restored, run_blocking, steps, topics_restored
from models.eventtime import parse_event_time
from streams import channels, metrics
from streams.app import app

log = structlog.get_logger("vigil.score")
_settings = app.vigil_settings


@app.agent(channels.posts_normalized, name="vigil.score")
async def score(stream):
    # what was learnt before a restart first: posts wait on the broker meanwhile
    await learning_restored.wait()
    await topics_restored.wait()
    async for posts in stream.take(_settings.score_batch_size, within=_settings.score_batch_within_s):
        # posts: up to score_batch_size Posts, whatever arrived within the batch window
        started = time.perf_counter()
        with metrics.counting_errors("score"):
            scored = await run_blocking(steps.score_batch, posts)
        metrics.STAGE_SECONDS.labels(stage="score").observe(time.perf_counter() - started)
        # scored: one ScoredPost per post, same order, each with its topic when embedding
        now = time.time()
        for s in scored:
            post = s.post
            await channels.posts_scored.send(key=post.community, value=s)
            community = metrics.community_label(post.community)
            metrics.POSTS_SCORED.labels(platform=metrics.platform_label(post.platform),
                                        community=community, decision=s.decision).inc()
            metrics.SENTIMENT.labels(community=community).observe(s.sentiment)
            metrics.TOXICITY_SCORE.observe(s.toxicity)
            metrics.INGEST_TO_SCORED_SECONDS.observe(max(0.0, now - parse_event_time(post.ingested_at)))
            if s.decision != "none":
                log.info("toxic_post", post_id=post.post_id, community=post.community,
                         toxicity=s.toxicity, terms=s.terms)
        if scored:
            metrics.EVENT_TIME_LAG_SECONDS.labels(stage="score").set(
                now - parse_event_time(scored[-1].post.created_at))


# -- the topics checkpoint ------------------------------------------------------------
def topics_path() -> Path:
    return Path(_settings.data_dir) / "models" / "topics.json"


def save_topics(path: Path) -> Optional[int]:
    """Write the topics atomically; runs in the inference thread, which owns them."""
    if steps.topics is None or not steps.topics.states:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    data = json.dumps(steps.topics.snapshot(), separators=(",", ":"))
    with tmp.open("w") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return len(data)


def load_topics(path: Path) -> int:
    if steps.topics is None or not path.is_file():
        return 0
    return steps.topics.restore(json.loads(path.read_text()))


@app.task
async def restore_topics() -> None:
    path = topics_path()
    try:
        n = await run_blocking(load_topics, path)
        if n:
            log.info("topics_restored", path=str(path), communities=n)
    except Exception as exc:  # a damaged file must not stop the worker: topics regrow
        log.warning("topics_checkpoint_ignored", path=str(path), error=str(exc))
    finally:
        topics_restored.set()  # scoring may start


@app.timer(interval=_settings.topics_checkpoint_interval_s)
async def checkpoint_topics() -> None:
    size = await run_blocking(save_topics, topics_path())
    if size:
        log.debug("topics_saved", bytes=size)


@app.on_before_shutdown.connect
async def _save_topics_at_shutdown(app_: Any, **_: Any) -> None:
    try:
        save_topics(topics_path())
    except Exception as exc:
        log.warning("topics_checkpoint_failed", error=str(exc))
