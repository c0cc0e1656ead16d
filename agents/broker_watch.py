"""Is the broker there, and are Vigil's topics? Checked every few seconds, said at once.

Every ``WATCH_INTERVAL_S`` the worker asks the broker for its metadata (the producer's
own connection, bounded by a timeout). ``vigil_broker_up`` is 1 only while that works
and no send is failing (:mod:`agents.delivery`); the log says "broker_unreachable" with
the reason, at most once per few seconds however long the outage.

A broker that comes back without Vigil's topics (Tansu's memory storage loses every
topic at a restart; a Kafka operator may delete one) is reported the moment it is seen:
``vigil_topics_missing`` counts them and the worker recreates them from the topology,
logging plainly that their records, and the offsets committed on them, are gone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from agents.app import app
from agents.delivery import RateLimitedLog, outage
from streams import metrics
from streams.topology import TOPICS

log = structlog.get_logger("vigil.broker")
WATCH_INTERVAL_S = 3.0
_unreachable = RateLimitedLog(every_s=5.0)


async def broker_topics() -> set[str]:
    """Topic names the broker has now; raises when it cannot be asked."""
    client: Any = app.producer._ensure_producer().client  # Faust exposes no metadata call
    cluster = await asyncio.wait_for(client.fetch_all_metadata(), timeout=WATCH_INTERVAL_S)
    return set(cluster.topics(exclude_internal_topics=True))


@app.timer(interval=WATCH_INTERVAL_S)
async def watch_broker() -> None:
    try:
        have = await broker_topics()
    except Exception as exc:
        metrics.BROKER_UP.set(0)
        _unreachable.warning("broker_unreachable", broker=app.vigil_settings.broker,
                             error=f"{type(exc).__name__}: {exc}"[:300])
        return
    metrics.BROKER_UP.set(0 if outage.active else 1)
    missing = sorted(t.name for t in TOPICS if t.name not in have)
    metrics.TOPICS_MISSING.set(len(missing))
    if not missing:
        return
    log.error("topics_missing", topics=missing,
              note="the broker lost them (memory storage loses every topic at a restart); "
                   "their records and the offsets committed on them are gone")
    from streams.admin import create_topics

    try:  # kafka-python's admin client blocks: off the loop, off the inference thread
        made = await asyncio.get_running_loop().run_in_executor(
            None, create_topics, app.vigil_settings)
    except Exception as exc:
        log.error("topics_not_recreated", topics=missing, error=str(exc)[:300])
        return
    log.warning("topics_recreated", topics=[r.name for r in made if r.created])
    metrics.TOPICS_MISSING.set(0)
