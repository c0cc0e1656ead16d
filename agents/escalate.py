"""posts.scored + signals.trends -> escalations, one incident per dedup_key.

The ledger (a table keyed by dedup_key) turns repeats into updates and ignores
redelivered sources. The escalation is sent before the ledger is written: a crash in
between re-sends it after restart with the same deterministic ``id``, which consumers
use as their idempotency key. Losing one is never an option; a repeat with the same id
is harmless.
"""

from __future__ import annotations

import time
from typing import Optional

import structlog

from agents.runtime import steps
from models.escalation import Draft, IncidentState
from models.eventtime import parse_event_time
from streams import channels, metrics
from streams.app import app
from streams.tables import incidents

log = structlog.get_logger("vigil.escalate")


async def _apply(draft: Draft, source_id: str, ingested_at: Optional[str]) -> None:
    started = time.perf_counter()
    with metrics.counting_errors("escalate"):
        state = IncidentState.from_dict(incidents.get(draft.dedup_key))
        state, escalation = steps.escalate(state, draft, source_id)
    if escalation is not None:
        await channels.escalations.send(key=escalation.dedup_key, value=escalation)
        metrics.ESCALATIONS.labels(type=escalation.type, severity=escalation.severity,
                                   status=escalation.status).inc()
        if ingested_at:
            metrics.INGEST_TO_ESCALATION_SECONDS.observe(
                max(0.0, time.time() - parse_event_time(ingested_at)))
        log.info("escalation", community=escalation.community, dedup_key=escalation.dedup_key,
                 status=escalation.status, severity=escalation.severity, title=escalation.title)
    if state is not None:
        incidents[draft.dedup_key] = state.to_dict()
    metrics.STAGE_SECONDS.labels(stage="escalate").observe(time.perf_counter() - started)


@app.agent(channels.posts_scored, name="vigil.escalate_moderation")
async def escalate_moderation(stream):
    async for scored in stream:
        draft = steps.moderation_draft(scored)
        # draft: a moderation Draft for a toxic post, else None
        if draft is not None:
            with structlog.contextvars.bound_contextvars(post_id=scored.post.post_id,
                                                         community=scored.post.community):
                await _apply(draft, f"post:{scored.post.platform}:{scored.post.post_id}",
                             scored.post.ingested_at)


@app.agent(channels.signals_trends, name="vigil.escalate_trends")
async def escalate_trends(stream):
    async for trend in stream:
        draft = steps.trend_draft(trend)
        # draft: a trend Draft (trigger or resolve) for threats/opportunities, else None
        if draft is not None:
            with structlog.contextvars.bound_contextvars(community=trend.community):
                await _apply(draft, f"trend:{trend.trend_id}:{trend.state}",
                             trend.trigger_ingested_at)
