"""Metrics and logs, recorded where the runner hands records over: from one call's
inputs and :class:`~streams.events.Outputs`, never inside a stage.

Labels stay low-cardinality (platform, community within its configured bound, kind,
state, reason); post ids and pseudonymous authors appear in log lines only.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Sequence, Union

import structlog

from models.eventtime import parse_event_time
from streams import metrics
from streams.events import CLOCK_HEADER, EndOfInput, Input, Outputs

log = structlog.get_logger("vigil.pipeline")
_LEVELS = {"debug": log.debug, "info": log.info, "warning": log.warning, "error": log.error}


def record(inputs: Sequence[Union[Input, EndOfInput]], out: Outputs) -> None:
    now = time.time()
    # per-post counters added up per call first: one labelled increment per label set,
    # not one per post (labels() per post held 5 % of the worker's main thread)
    _add(metrics.POSTS_INGESTED, ("platform",), Counter(
        metrics.platform_label(item.headers.get("vigil-platform")) for item in inputs
        if isinstance(item, Input) and item.topic == "posts.raw"
        and CLOCK_HEADER not in item.headers))
    for stage, seconds in out.stage_seconds.items():
        metrics.STAGE_SECONDS.labels(stage=stage).observe(seconds)
    for dead in out.dead_letters:
        if dead.reason == "internal_error":
            metrics.STAGE_ERRORS.labels(stage="normalize").inc()
        metrics.POSTS_DEAD_LETTERED.labels(reason=dead.reason).inc()
    for platform in out.duplicates:
        metrics.POSTS_DUPLICATE.labels(platform=platform).inc()
    for platform, kind in out.platform_events:
        metrics.PLATFORM_EVENTS.labels(platform=platform, kind=kind).inc()
    _add(metrics.POSTS_NORMALIZED, ("platform",),
         Counter(metrics.platform_label(post.platform) for post in out.normalized))
    scored, languages = Counter(), Counter()
    for s in out.scored:
        community = metrics.community_label(s.post.community)
        scored[metrics.platform_label(s.post.platform), community, s.decision] += 1
        languages[metrics.language_label(s.lang), str(s.lang_supported).lower()] += 1
        if s.lang_supported:  # VADER reads English: elsewhere its 0 would read as neutral
            metrics.SENTIMENT.labels(community=community).observe(s.sentiment)
        metrics.TOXICITY_SCORE.observe(s.toxicity)
        metrics.INGEST_TO_SCORED_SECONDS.observe(
            max(0.0, now - parse_event_time(s.post.ingested_at)))
    _add(metrics.POSTS_SCORED, ("platform", "community", "decision"), scored)
    _add(metrics.POSTS_BY_LANGUAGE, ("language", "supported"), languages)
    if out.scored:
        metrics.EVENT_TIME_LAG_SECONDS.labels(stage="score").set(
            now - parse_event_time(out.scored[-1].post.created_at))
    for d in out.decisions:
        community = metrics.community_label(d.community)
        metrics.DECISIONS.labels(action=d.action, category=metrics.category_label(d.category),
                                 community=community).inc()
        if d.repeat:
            metrics.REPEAT_OFFENCES.labels(action=d.action, community=community).inc()
    for community, (zscore, active) in out.watch.items():
        label = metrics.community_label(community)
        metrics.BURST_ZSCORE.labels(community=label).set(zscore)
        for kind in ("threat", "opportunity", "neutral"):
            metrics.TRENDS_ACTIVE.labels(community=label, kind=kind).set(active.get(kind, 0))
    for t in out.trends:
        metrics.TRENDS.labels(community=metrics.community_label(t.community), kind=t.kind,
                              state=t.state).inc()
    for esc, ingested_at, post_id in zip(out.escalations, out.escalation_ingested_at,
                                         out.escalation_post_ids):
        metrics.ESCALATIONS.labels(type=esc.type, severity=esc.severity, status=esc.status,
                                   community=metrics.community_label(esc.community)).inc()
        if ingested_at:
            metrics.INGEST_TO_ESCALATION_SECONDS.observe(
                max(0.0, now - parse_event_time(ingested_at)))
        log.info("escalation", community=esc.community, dedup_key=esc.dedup_key,
                 status=esc.status, severity=esc.severity, title=esc.title, post_id=post_id)
    for learned in out.learned:
        fb = learned.feedback
        label = fb.label if fb.label in metrics.FEEDBACK_LABELS else "other"
        metrics.FEEDBACK.labels(label=label, outcome=learned.outcome).inc()
        if learned.online_auc is not None:
            metrics.LEARNER_AUC.set(learned.online_auc)
        log.info("feedback", post_id=fb.post_id, community=fb.community, label=fb.label,
                 action=fb.action, outcome=learned.outcome, score_before=learned.score_before)
    for platform, action, by in out.moderator_actions:
        metrics.MODERATOR_ACTIONS.labels(platform=platform, action=action, by=by).inc()
    for fb in out.labels:
        metrics.MODERATOR_LABELS.labels(platform=metrics.platform_label(fb.source.split(":")[0]),
                                        label=fb.label).inc()
    for topic, _error in out.invalid:
        if topic == "moderation.feedback":
            metrics.FEEDBACK.labels(label="invalid", outcome="invalid").inc()
    for note in out.notes:
        _LEVELS.get(note.level, log.info)(note.event, **note.fields)


def _add(counter, names: tuple[str, ...], counts: Counter) -> None:
    """``counter`` incremented by each count, labelled by its key (a value per name)."""
    for key, n in counts.items():
        values = key if isinstance(key, tuple) else (key,)
        counter.labels(**dict(zip(names, values))).inc(n)
