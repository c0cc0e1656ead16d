"""posts.scored + signals.trends -> escalations, one incident per dedup_key.

The ledger (a table keyed by dedup_key) turns repeats into updates and ignores
redelivered sources. The escalation is sent before the ledger is written: a crash in
between re-sends it after restart with the same deterministic ``id``, which consumers
use as their idempotency key. Losing one is never an option; a repeat with the same id
is harmless.

Moderation and safety incidents end by going quiet: every
``VIGIL_INCIDENT_SWEEP_INTERVAL_S`` each worker resolves its open ones with no new
occurrence for ``VIGIL_INCIDENT_QUIET_S`` of event time. The event clock is the latest
event time this worker escalated on, advanced by the wall time since (so a replay of
old data resolves in its own time, and a community that falls silent still resolves).
A sweep runs outside any stream event, so it writes the table entry and its changelog
record itself, to the partition the entry was written from.

On-call acknowledges or resolves an incident through ``incidents.actions`` (``vigil
incident ack|resolve``, or a PagerDuty/ChatOps bridge); it is keyed by community, so it
reaches the worker that holds the incident, which emits ``acknowledged`` (once) or
``resolved``.
"""

from __future__ import annotations

import time
from typing import Optional

import structlog
from faust.types import EventT
from faust.streams import current_event

from agents.runtime import steps
from models.conduct import ConductState
from models.escalation import (QUIET_RESOLVED_TYPES, Draft, IncidentState, action_draft,
                               quiet_resolve_draft)
from models.eventtime import parse_event_time
from streams import channels, metrics
from streams.app import app
from streams.tables import conduct, incidents

log = structlog.get_logger("vigil.escalate")
_settings = app.vigil_settings
# [latest event time escalated on, wall time when seen]
_event_clock = [0.0, 0.0]


def event_now() -> float:
    latest, seen_at = _event_clock
    return latest + (time.time() - seen_at) if seen_at else 0.0


async def apply_draft(draft: Draft, source_id: str, ingested_at: Optional[str],
                      partition: Optional[int] = None, *, event_clock: bool = True) -> None:
    """Run a draft through the incident ledger, emit what it says, record the state.

    ``event_clock=False`` for drafts timed by the wall clock (feed health), which must
    not push the event clock of a replay forward and resolve its incidents early."""
    started = time.perf_counter()
    if event_clock and draft.event_ts > _event_clock[0]:
        _event_clock[:] = [draft.event_ts, time.time()]
    event: Optional[EventT] = current_event()
    with metrics.counting_errors("escalate"):
        state = IncidentState.from_dict(incidents.get(draft.dedup_key))
        state, escalation = steps.escalate(state, draft, source_id)
    await _emit(escalation, ingested_at)
    if state is not None:
        if event is not None:
            state.partition = event.message.partition
            incidents[draft.dedup_key] = state.to_dict()
        else:  # a sweep: no event to take the partition from
            value = state.to_dict()
            incidents.data[draft.dedup_key] = value
            incidents.send_changelog(partition, draft.dedup_key, value)
    metrics.STAGE_SECONDS.labels(stage="escalate").observe(time.perf_counter() - started)


async def _emit(escalation, ingested_at: Optional[str]) -> None:
    if escalation is not None:
        await channels.escalations.send(key=escalation.dedup_key, value=escalation)
        metrics.ESCALATIONS.labels(type=escalation.type, severity=escalation.severity,
                                   status=escalation.status,
                                   community=metrics.community_label(escalation.community)).inc()
        if ingested_at:
            metrics.INGEST_TO_ESCALATION_SECONDS.observe(
                max(0.0, time.time() - parse_event_time(ingested_at)))
        log.info("escalation", community=escalation.community, dedup_key=escalation.dedup_key,
                 status=escalation.status, severity=escalation.severity, title=escalation.title)


@app.timer(interval=_settings.incident_sweep_interval_s)
async def resolve_quiet_incidents() -> None:
    """Resolve this worker's moderation and safety incidents that went quiet."""
    now = event_now()
    if not now:
        return  # nothing escalated here since start: no clock to judge quiet by
    for key, value in list(incidents.items()):
        # cheap dict checks first: most entries are closed incidents kept for redelivery
        if (not value or value.get("status") == "resolved"
                or value.get("type") not in QUIET_RESOLVED_TYPES):
            continue
        state = IncidentState.from_dict(value)
        if state is None or state.partition is None:
            continue
        draft = quiet_resolve_draft(state, now, _settings.incident_quiet_s)
        if draft is None:
            continue
        with structlog.contextvars.bound_contextvars(community=state.community):
            await apply_draft(draft, f"quiet:{state.incident}:{state.occurrence_count}", None,
                         partition=state.partition)


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
        community = metrics.community_label(post.community)
        action = rec.get("action", "none")
        metrics.DECISIONS.labels(action=action, category=metrics.category_label(category),
                                 community=community).inc()
        if len(record.violations) >= 2:
            metrics.REPEAT_OFFENCES.labels(action=action, community=community).inc()
        # drafts: a safety Draft (severe), a ladder recommendation, or nothing (a "note"
        # below the ladder's first escalating step is recorded but not paged)
        with structlog.contextvars.bound_contextvars(post_id=post.post_id,
                                                     community=post.community):
            for draft in drafts:
                await apply_draft(draft, f"post:{post.platform}:{post.post_id}", post.ingested_at)


@app.agent(channels.incident_actions, name="vigil.incident_actions")
async def incident_actions(stream):
    async for act in stream:
        with structlog.contextvars.bound_contextvars(community=act.community,
                                                     dedup_key=act.dedup_key):
            state = IncidentState.from_dict(incidents.get(act.dedup_key))
            draft, why = action_draft(state, act.action, act.actor, act.note)
            # draft: an acknowledge or a resolve of an open incident, or None and why not
            if draft is None:
                log.warning("incident_action_ignored", action=act.action, actor=act.actor,
                            reason=why)
                continue
            log.info("incident_action", action=act.action, actor=act.actor)
            await apply_draft(draft, f"action:{act.action}:{act.actor}:{act.time}", None)


@app.agent(channels.signals_trends, name="vigil.escalate_trends")
async def escalate_trends(stream):
    async for trend in stream:
        draft = steps.trend_draft(trend)
        # draft: a trend Draft (trigger or resolve) for threats/opportunities, else None
        if draft is not None:
            with structlog.contextvars.bound_contextvars(community=trend.community):
                await apply_draft(draft, steps.trend_source_id(trend), trend.trigger_ingested_at)
