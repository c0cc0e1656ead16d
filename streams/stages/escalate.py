"""escalate: what deserves a human -> ``Escalation`` records, one incident per dedup key.

Shapes::

    ScoredPost (decision != none), ConductState  -> safety or conduct-ladder Draft
    TrendSignal                                  -> trend Draft (threats, opportunities)
    feed-health Draft (from normalize)           -> pipeline incident
    IncidentAction (on-call: acknowledge, resolve) -> Draft, or ignored with a reason
    a partition's event time moving (a post, an idle-clock record) -> quiet resolves
    Draft, IncidentState (incidents) -> IncidentState', Escalation | None

The ledger turns repeats into updates and ignores redelivered sources (a source id
names one input: a post, one lifecycle step of a trend, one action), so replaying an
input after a crash emits nothing twice; each escalation's ``id`` is deterministic,
so a consumer that upserts on it sees one message even if one is re-sent.

Moderation and safety incidents end by going quiet: one with no new occurrence for
``incident_quiet_s`` of its own partition's event time is resolved the moment that
partition's clock passes the deadline (:meth:`EscalateStage.advance`, called before
each post is escalated, in input order), so live, replay and a worker restarted any
number of times resolve at the same point of the same partition. A partition whose
communities fell silent still moves: the worker writes an idle-clock record into it
(``vigil-clock`` header on ``posts.raw``, see :mod:`agents.worker`), which every
runner reads back like any other input; a replay of a file, which has no such
records, treats the end of its input as silence long enough to resolve everything
quiet (:meth:`EscalateStage.end_of_input`).

State: ``conduct`` (per community and author), ``incidents`` (per dedup key) and
``clocks`` (per partition); soft: the quiet deadlines of each partition's open
incidents, rebuilt from ``incidents`` when a partition is first seen.
"""

from __future__ import annotations

import time
from typing import Optional

from config.settings import Settings
from models.conduct import ConductState, Violation, severity_for
from models.escalation import (QUIET_RESOLVED_TYPES, Draft, IncidentLedger, IncidentState,
                               action_draft, escalation_id, moderation_draft,
                               quiet_resolve_draft, safety_draft, trend_draft)
from models.bursts import BurstSignal
from models.eventtime import parse_event_time, to_iso
from models.watermarks import PartitionClock, QuietDeadlines
from streams.events import Decision, Outputs
from streams.records import Escalation, IncidentAction, ScoredPost, TrendSignal
from streams.stages.communities import Communities
from streams.state import PipelineState

__all__ = ["EscalateStage", "violation"]


def violation(scored: ScoredPost) -> Optional[Violation]:
    """The violation a flagged post is, named by its most specific evidence: a rule
    category that fired ("insult", "threat" …) says more than the profanity prior."""
    if scored.decision not in ("escalate", "safety"):
        return None
    rules = {k: v for k, v in scored.categories.items()
             if k not in ("learned", "profanity") and v >= 0.5}
    category = (max(rules, key=rules.get) if rules
                else "profanity" if scored.categories.get("profanity", 0) >= 0.5
                else "toxicity")
    return Violation(parse_event_time(scored.post.created_at), scored.post.post_id,
                     category, scored.toxicity, scored.decision == "safety")


class EscalateStage:
    def __init__(self, settings: Settings, communities: Communities):
        self.settings = settings
        self.communities = communities
        self.ledger = IncidentLedger()
        self._deadlines: dict[int, QuietDeadlines] = {}
        # (newest event time of any partition, wall time when seen): only for the
        # worker's idle-clock records, never for deciding anything here
        self.newest = (0.0, 0.0)

    # -- inputs -----------------------------------------------------------------------
    def post(self, scored: ScoredPost, state: PipelineState, partition: int,
             out: Outputs) -> None:
        """A flagged post: safety at once when severe, else the author's conduct ladder."""
        v = violation(scored)
        if v is None:
            return
        post = scored.post
        key = f"{post.community}|{post.author_id}"
        record: ConductState = state.conduct.get(key)
        rec = self.communities.conduct_policy(post.community).record(record, v)
        state.conduct.touch(key, partition)
        drafts: list[Draft] = []
        if scored.decision == "safety":
            drafts.append(safety_draft(
                platform=post.platform, community=post.community, post_id=post.post_id,
                author_id=post.author_id, text=post.text, categories=scored.categories,
                severe=tuple(scored.severe), url=post.url, event_ts=v.ts,
                explanation=scored.explanation))
        elif rec.action != "none":
            drafts.append(moderation_draft(
                platform=post.platform, community=post.community, post_id=post.post_id,
                author_id=post.author_id, text=post.text, toxicity=scored.toxicity,
                terms=tuple(scored.terms), url=post.url, event_ts=v.ts, action=rec.action,
                reason=rec.reason, severity=severity_for(rec.action), category=v.category,
                duration_s=rec.duration_s, history=rec.violations))
        last = record.last_recommendation or {}
        category = ("safety" if scored.decision == "safety"
                    else drafts[0].evidence.get("category") if drafts else "toxicity")
        out.decisions.append(Decision(post.community, last.get("action", "none"),
                                      category or "toxicity", len(record.violations) >= 2))
        for draft in drafts:
            self.apply(draft, f"post:{post.platform}:{post.post_id}", state, partition, out,
                       ingested_at=post.ingested_at, post_id=post.post_id)

    def trend(self, trend: TrendSignal, state: PipelineState, partition: int,
              out: Outputs) -> None:
        sig = BurstSignal(
            state=trend.state, kind=trend.kind, severity=trend.severity,
            window_start=parse_event_time(trend.window_start),
            window_end=parse_event_time(trend.window_end), volume=trend.volume,
            baseline=trend.baseline, zscore=trend.zscore, growth_rate=trend.growth_rate,
            sentiment=trend.sentiment, toxicity_share=trend.toxicity_share,
            first_seen=parse_event_time(trend.first_seen), top_terms=tuple(trend.top_terms),
            exemplars=tuple(zip(trend.exemplar_post_ids, trend.exemplars)))
        draft = trend_draft(community=trend.community, platform=trend.platform,
                            trend_id=trend.trend_id, signal=sig, topic_id=trend.topic_id,
                            topic_label=trend.topic_label, category=trend.category,
                            include_opportunities=self.settings.escalate_opportunities)
        if draft is not None:  # threats and (by setting) opportunities; neutral: nothing
            # one lifecycle step of one trend: a redelivery repeats it exactly
            source = f"trend:{trend.trend_id}:{trend.state}:{trend.window_end}"
            self.apply(draft, source, state, partition, out,
                       ingested_at=trend.trigger_ingested_at, post_id=trend.trigger_post_id)

    def action(self, act: IncidentAction, state: PipelineState, partition: int,
               out: Outputs) -> None:
        draft, why = action_draft(state.incidents.get(act.dedup_key), act.action, act.actor,
                                  act.note, act.source)
        fields = dict(community=act.community, dedup_key=act.dedup_key, action=act.action,
                      actor=act.actor)
        if draft is None:
            out.note("incident_action_ignored", "warning", reason=why, **fields)
            return
        out.note("incident_action", **fields)
        # a retried delivery (a webhook sent twice) is the same source: the ledger drops it
        source_id = (f"action:{act.idempotency_key}" if act.idempotency_key
                     else f"action:{act.action}:{act.actor}:{act.time}")
        self.apply(draft, source_id, state, partition, out)

    def advance(self, partition: int, event_time: float, state: PipelineState,
                out: Outputs) -> None:
        """The partition's clock reaches ``event_time``: resolve what went quiet by then."""
        key = str(partition)
        clock: Optional[PartitionClock] = state.clocks.get(key)
        if clock is None:
            clock = PartitionClock()
            state.clocks.put(key, clock, partition)
        if not clock.advance(event_time):
            return
        state.clocks.touch(key, partition)
        if event_time > self.newest[0]:
            self.newest = (event_time, time.time())
        quiet_s = self.settings.incident_quiet_s
        for dedup_key in self._due(partition, state).pop_due(clock.event_time):
            incident: Optional[IncidentState] = state.incidents.get(dedup_key)
            if incident is None or incident.partition != partition:
                continue
            draft = quiet_resolve_draft(incident, clock.event_time, quiet_s)
            if draft is not None:
                self.apply(draft, f"quiet:{incident.incident}:{incident.occurrence_count}",
                           state, partition, out)

    def end_of_input(self, state: PipelineState, out: Outputs) -> None:
        """A replay's input ended: as if every partition then stayed silent for good."""
        clocks = [(int(k), state.clocks.get(k)) for k in state.clocks.keys_where(
            lambda v: True)]
        if not clocks:
            return
        last = max(c.event_time for _, c in clocks) + self.settings.incident_quiet_s
        for partition, _ in sorted(clocks):
            self.advance(partition, last, state, out)

    def forget(self) -> None:
        """Partitions were reassigned: rebuild the deadlines from the table when needed."""
        self._deadlines.clear()

    def _due(self, partition: int, state: PipelineState) -> QuietDeadlines:
        due = self._deadlines.get(partition)
        if due is None:  # first sight of this partition: its open incidents, from state
            due = self._deadlines[partition] = QuietDeadlines()
            quiet_s = self.settings.incident_quiet_s
            for key in state.incidents.keys_where(_open_and_quiet_resolved):
                incident = state.incidents.get(key)
                if incident is not None and incident.partition == partition:
                    due.add(incident.last_seen + quiet_s, key)
        return due

    # -- the ledger -------------------------------------------------------------------
    def apply(self, draft: Draft, source_id: str, state: PipelineState, partition: int,
              out: Outputs, *, ingested_at: Optional[str] = None,
              post_id: Optional[str] = None) -> None:
        """Run a draft through the incident ledger; emit what it says."""
        incident, status = self.ledger.apply(state.incidents.get(draft.dedup_key), draft,
                                             source_id)
        if incident is None or status is None:
            return  # a redelivered source, or nothing open to act on: nothing changed
        incident.partition = partition
        state.incidents.put(draft.dedup_key, incident, partition)
        if (status != "resolved" and incident.type in QUIET_RESOLVED_TYPES
                and partition in self._deadlines):
            self._deadlines[partition].add(
                incident.last_seen + self.settings.incident_quiet_s, draft.dedup_key)
        out.escalations.append(Escalation(
            id=escalation_id(draft.dedup_key, incident.incident, incident.occurrence_count,
                             status),
            dedup_key=draft.dedup_key, type=draft.type, severity=incident.severity,
            status=status, community=draft.community, platform=draft.platform,
            title=draft.title, summary=draft.summary,
            recommended_action=draft.recommended_action,
            runbook_url=f"{self.settings.runbook_base_url}-{draft.type}",
            first_seen=to_iso(incident.first_seen), last_seen=to_iso(incident.last_seen),
            occurrence_count=incident.occurrence_count, created_at=to_iso(time.time()),
            evidence=draft.evidence))
        out.escalation_ingested_at.append(ingested_at)
        out.escalation_post_ids.append(post_id)


def _open_and_quiet_resolved(value) -> bool:
    """Cheap checks first: most entries are closed incidents kept for redelivery."""
    if isinstance(value, dict):
        return (bool(value) and value.get("status") != "resolved"
                and value.get("type") in QUIET_RESOLVED_TYPES)
    return value.status != "resolved" and value.type in QUIET_RESOLVED_TYPES
