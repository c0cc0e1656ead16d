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
from models.conduct import ConductState
from models.escalation import Draft, IncidentState
from models.eventtime import parse_event_time
from streams import channels, metrics
from streams.app import app
from streams.tables import conduct, incidents

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
        if scored.decision == "none":
            continue
        post = scored.post
        key = f"{post.community}|{post.author_id}"
        with metrics.counting_errors("escalate"):
            record = ConductState.from_dict(conduct.get(key))
            drafts = steps.moderation_drafts(scored, record)
        conduct[key] = record.to_dict()  # per event: changelog on this event's partition
        rec = record.last_recommendation or {}
        category = (drafts[0].evidence.get("category") if drafts and drafts[0].type == "moderation"
                    else "safety" if scored.decision == "safety" else "toxicity")
        metrics.DECISIONS.labels(action=rec.get("action", "none"),
                                 category=metrics.category_label(category)).inc()
        # drafts: a safety Draft (severe), a ladder recommendation, or nothing (a "note"
        # below the ladder's first escalating step is recorded but not paged)
        with structlog.contextvars.bound_contextvars(post_id=post.post_id,
                                                     community=post.community):
            for draft in drafts:
                await _apply(draft, f"post:{post.platform}:{post.post_id}", post.ingested_at)


@app.agent(channels.signals_trends, name="vigil.escalate_trends")
async def escalate_trends(stream):
    async for trend in stream:
        draft = steps.trend_draft(trend)
        # draft: a trend Draft (trigger or resolve) for threats/opportunities, else None
        if draft is not None:
            with structlog.contextvars.bound_contextvars(community=trend.community):
                await _apply(draft, steps.trend_source_id(trend), trend.trigger_ingested_at)
