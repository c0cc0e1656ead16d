"""From scores and signals to escalations: what to raise, and how to group it.

Two decisions live here, both pure:

* **drafts**: a toxic post becomes a ``moderation`` draft grouped per author and
  community (the repeat offender pages once, then updates); a threat burst becomes a
  ``trend`` draft keyed by its trend id, and its end a resolve.
* **the incident ledger**: per ``dedup_key``, the first draft triggers, later ones update
  (``occurrence_count`` grows), on-call may acknowledge it once, and a resolve closes it. The ledger remembers which
  sources it has applied, so a post redelivered after a crash (at-least-once) changes
  nothing and emits nothing: consumers never see the same occurrence twice.

>>> led = IncidentLedger()
>>> d = Draft("moderation:reddit:r/x:a_1", "moderation", "medium", "r/x", "reddit",
...           "t", "s", "review", {}, 100.0)
>>> st, status = led.apply(None, d, source_id="p1"); status, st.occurrence_count
('triggered', 1)
>>> led.apply(st, d, source_id="p1")[1] is None  # redelivered: nothing new
True
>>> st, status = led.apply(st, d, source_id="p2"); status, st.occurrence_count
('updated', 2)
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from models.bursts import BurstSignal

__all__ = ["Draft", "IncidentState", "IncidentLedger", "moderation_draft", "safety_draft",
           "trend_draft", "escalation_id", "quiet_resolve_draft", "QUIET_RESOLVED_TYPES",
           "action_draft", "feed_draft", "INCIDENT_ACTIONS"]

_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class Draft:
    dedup_key: str
    type: str
    severity: str
    community: str
    platform: str
    title: str
    summary: str
    recommended_action: str
    evidence: dict
    event_ts: float
    resolve: bool = False
    acknowledge: bool = False  # on-call took it: say so once, keep the incident open
    reassign: bool = False  # handed to someone else: no longer acknowledged, still open
    annotate: bool = False  # on-call's note on the incident's timeline: nothing else changes


@dataclass
class IncidentState:
    dedup_key: str
    status: str
    severity: str
    first_seen: float
    last_seen: float
    occurrence_count: int
    sources: list = field(default_factory=list)  # recent source ids, for redelivery
    incident: int = 1  # 1 for the key's first incident, +1 on each re-trigger
    # what the incident is about, kept so a quiet-period resolve can say it again
    type: str = ""
    community: str = ""
    platform: str = ""
    title: str = ""
    partition: Optional[int] = None  # set by the agent: where its table entry lives
    acknowledged_by: str = ""  # who acknowledged this incident, if anyone did

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> Optional["IncidentState"]:
        return cls(**d) if d else None


@dataclass(frozen=True)
class IncidentLedger:
    max_sources: int = 64

    def apply(self, state: Optional[IncidentState], draft: Draft,
              source_id: str) -> tuple[Optional[IncidentState], Optional[str]]:
        """New state and the status to emit (None: nothing to emit)."""
        if state is not None and source_id in state.sources:
            return state, None
        if draft.acknowledge:
            if state is None or state.status == "resolved" or state.acknowledged_by:
                return state, None  # nothing open, or acknowledged already
            state.status = "acknowledged"
            state.acknowledged_by = draft.evidence.get("acknowledged_by") or "on-call"
            self._remember(state, source_id)
            return state, "acknowledged"
        if draft.reassign or draft.annotate:
            if state is None or state.status == "resolved":
                return state, None
            if draft.reassign:
                state.status = "updated"
                state.acknowledged_by = ""  # the new holder acknowledges anew
            self._remember(state, source_id)
            return state, "updated"
        if draft.resolve:
            if state is None or state.status == "resolved":
                return state, None  # nothing open to resolve
            state.status = "resolved"
            state.last_seen = max(state.last_seen, draft.event_ts)
            self._remember(state, source_id)
            return state, "resolved"
        if state is None or state.status == "resolved":
            previous = state
            state = IncidentState(draft.dedup_key, "triggered", draft.severity, draft.event_ts,
                                  draft.event_ts, 1,
                                  incident=previous.incident + 1 if previous else 1,
                                  type=draft.type, community=draft.community,
                                  platform=draft.platform, title=draft.title)
            if previous is not None:  # a redelivered source of the old incident stays known
                state.sources = list(previous.sources)
            self._remember(state, source_id)
            return state, "triggered"
        state.status = "updated"
        state.occurrence_count += 1
        state.last_seen = max(state.last_seen, draft.event_ts)
        if _SEVERITY_RANK[draft.severity] > _SEVERITY_RANK[state.severity]:
            state.severity = draft.severity
        self._remember(state, source_id)
        return state, "updated"

    def _remember(self, state: IncidentState, source_id: str) -> None:
        state.sources.append(source_id)
        del state.sources[: -self.max_sources]


#: incident types that end by going quiet; trends end with their lifecycle's resolve
QUIET_RESOLVED_TYPES = ("moderation", "safety")


def quiet_resolve_draft(state: IncidentState, now_ts: float, quiet_s: float) -> Optional[Draft]:
    """A resolve for a moderation or safety incident nothing has added to for ``quiet_s``
    of event time, or None.

    >>> st = IncidentState("moderation:reddit:r/x:a_1", "updated", "medium", 0.0, 100.0, 3,
    ...                    type="moderation", community="r/x", platform="reddit", title="t")
    >>> quiet_resolve_draft(st, 3000.0, 3600.0) is None
    True
    >>> d = quiet_resolve_draft(st, 3700.0, 3600.0); d.resolve, d.event_ts
    (True, 3700.0)
    """
    if (state.status == "resolved" or state.type not in QUIET_RESOLVED_TYPES
            or now_ts - state.last_seen < quiet_s):
        return None
    minutes = quiet_s / 60
    return Draft(
        dedup_key=state.dedup_key, type=state.type, severity=state.severity,
        community=state.community, platform=state.platform, title=state.title,
        summary=f"No new occurrence for {minutes:.0f} min after {state.occurrence_count}; "
                f"resolved automatically.",
        recommended_action="Nothing further unless it starts again.",
        evidence={"occurrence_count": state.occurrence_count, "quiet_s": quiet_s},
        event_ts=now_ts, resolve=True)


#: what on-call can do to an incident from outside (``incidents.actions``)
INCIDENT_ACTIONS = ("acknowledge", "resolve", "reassign", "note")


def action_draft(state: Optional[IncidentState], action: str, actor: str,
                 note: str = "", source: str = "unknown") -> tuple[Optional[Draft], str]:
    """On-call's acknowledge, resolve or reassign as a draft, or None and why not.
    ``source`` (the tool it came from) travels in the evidence, so that no route sends
    the change back to where it came from.

    A trend incident cannot be resolved by hand: it resolves with its trend, and a
    trend still running would re-trigger (and page) at its next update.

    >>> st = IncidentState("moderation:reddit:r/x:a_1", "triggered", "medium", 0.0, 100.0, 1,
    ...                    type="moderation", community="r/x", platform="reddit", title="t")
    >>> d, why = action_draft(st, "acknowledge", "sam"); d.acknowledge, d.event_ts, why
    (True, 100.0, '')
    >>> action_draft(None, "resolve", "sam")[1]
    'unknown_incident'
    >>> st.type = "trend"; action_draft(st, "resolve", "sam")[1]
    'trend_resolves_itself'
    """
    if action not in INCIDENT_ACTIONS:
        return None, "unknown_action"
    if state is None:
        return None, "unknown_incident"
    if state.status == "resolved":
        return None, "already_resolved"
    if action == "acknowledge" and state.acknowledged_by:
        return None, "already_acknowledged"
    if action == "resolve" and state.type == "trend":
        return None, "trend_resolves_itself"
    if action == "note" and not note.strip():
        return None, "empty_note"
    done = {"acknowledge": "Acknowledged", "resolve": "Resolved", "reassign": "Reassigned",
            "note": "Note"}[action]
    by = {"acknowledge": "acknowledged_by", "resolve": "resolved_by", "reassign": "reassigned_by",
          "note": "noted_by"}
    return Draft(
        dedup_key=state.dedup_key, type=state.type, severity=state.severity,
        community=state.community, platform=state.platform, title=state.title,
        summary=f"{done} by {actor}" + (f": {note}" if note else "."),
        recommended_action={
            "acknowledge": "On-call has it; further occurrences still update it.",
            "resolve": "Nothing further unless it starts again.",
            "reassign": "Handed over: the new holder acknowledges it.",
            "note": "See the note."}[action],
        evidence={by[action]: actor, "note": note, "occurrence_count": state.occurrence_count,
                  "action_source": source},
        # the incident's own time: an action must not move the event clock
        event_ts=state.last_seen, resolve=action == "resolve",
        acknowledge=action == "acknowledge", reassign=action == "reassign",
        annotate=action == "note"), ""


def feed_draft(*, community: str, platform: str, change: str, dead: int, total: int,
               reasons: dict, event_ts: float) -> Draft:
    """A ``pipeline`` incident for a community whose feed turned into dead letters
    (``change`` "failing"), or its resolve ("recovered")."""
    top = ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
    failing = change == "failing"
    return Draft(
        dedup_key=f"pipeline:{platform}:{community}:dead_letters", type="pipeline",
        severity="high", community=community, platform=platform,
        title=f"Feed problem in {community}: {platform} posts are being dead-lettered",
        summary=(f"{dead} of the last {total} payloads went to posts.dlq: {top}. "
                 "Vigil is not watching this community until it is fixed." if failing else
                 f"Posts are getting through again ({dead} of {total} dead-lettered in the "
                 "last window)."),
        recommended_action=("Check the connector and the platform's payload format; the "
                            "original bytes and reasons are on posts.dlq." if failing else
                            "Replay what posts.dlq holds for the outage if it matters."),
        evidence={"dead_lettered": dead, "payloads": total, "reasons": dict(reasons)},
        event_ts=event_ts, resolve=not failing)


def escalation_id(dedup_key: str, incident: int, occurrence: int, status: str) -> str:
    """Deterministic: the same occurrence re-emitted after a crash has the same id.

    ``incident`` numbers the incidents of one ``dedup_key`` (it re-triggers after a
    resolve), so a new incident never reuses an old one's ids.
    """
    raw = f"{dedup_key}|{incident}|{occurrence}|{status}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


_ACTION_TEXT = {
    "none": "No action needed beyond review.",
    "note": "Note it on the author's record; no action on the platform yet.",
    "warn": "Warn the author, citing the rule broken.",
    "timeout": "Time the author out",
    "suspend": "Suspend the author",
    "ban": "Consider a ban: review the author's history first.",
}


def _snippet(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def _action_text(action: str, duration_s: Optional[float]) -> str:
    text = _ACTION_TEXT.get(action, action)
    if action in ("timeout", "suspend"):
        text += f" for {duration_s / 3600:g} h." if duration_s else "."
    return text


def moderation_draft(*, platform: str, community: str, post_id: str, author_id: str,
                     text: str, toxicity: float, terms: tuple[str, ...], url: Optional[str],
                     event_ts: float, action: str, reason: str, severity: str,
                     category: str, duration_s: Optional[float] = None,
                     history: tuple[str, ...] = ()) -> Draft:
    """A conduct-policy recommendation for a violating post, grouped per author."""
    return Draft(
        dedup_key=f"moderation:{platform}:{community}:{author_id}",
        type="moderation", severity=severity, community=community, platform=platform,
        title=f"{action.capitalize()} recommended in {community}: {category}",
        summary=f"Post {post_id} scored {toxicity:.2f}"
                + (f" (terms: {', '.join(terms)})" if terms else "") + f". {reason}",
        recommended_action=_action_text(action, duration_s) + " Vigil recommends; a human decides.",
        evidence={"post_ids": [post_id], "snippets": [_snippet(text)], "author_id": author_id,
                  "toxicity": round(toxicity, 4), "category": category, "terms": list(terms),
                  "url": url, "recommended": action, "duration_s": duration_s,
                  "reason": reason, "history_post_ids": list(history)},
        event_ts=event_ts,
    )


def safety_draft(*, platform: str, community: str, post_id: str, author_id: str, text: str,
                 categories: dict, severe: tuple[str, ...], url: Optional[str],
                 event_ts: float, explanation: list) -> Draft:
    """Threats, self-harm and personal data skip the ladder: a human must look now."""
    what = ", ".join(c.replace("_", " ") for c in severe)
    return Draft(
        dedup_key=f"safety:{platform}:{community}:{post_id}",
        type="safety", severity="critical" if "threat" in severe or "self_harm" in severe else "high",
        community=community, platform=platform,
        title=f"Safety: {what} in {community}",
        summary=f"Post {post_id}: {what}. " + "; ".join(explanation[1:3]),
        recommended_action=("Review now and follow the safety procedure: remove personal data, "
                            "assess credible threats with the platform's trust & safety route, "
                            "and reach out with support resources for self-harm."),
        evidence={"post_ids": [post_id], "snippets": [_snippet(text)], "author_id": author_id,
                  "categories": {k: v for k, v in categories.items() if v},
                  "severe": list(severe), "url": url},
        event_ts=event_ts,
    )


_SHARE_TOPICS = ("toxicity-share", "negative-sentiment")


def trend_draft(*, community: str, platform: str, trend_id: str, signal: BurstSignal,
                topic_id: str = "volume", topic_label: str = "",
                category: Optional[str] = None,
                min_severity: str = "medium",
                include_opportunities: bool = True) -> Optional[Draft]:
    """A draft for a burst signal, or None when it is below what on-call wants to see.

    A resolve always gets a draft: the ledger ignores it when nothing is open, and an
    incident that was triggered must never be left open because the burst changed.
    """
    resolve = signal.state == "resolved"
    if signal.state == "emerging":
        return None  # a candidate: on signals.trends and dashboards, never a page
    if not resolve:
        if signal.kind == "neutral":
            return None
        if signal.kind == "opportunity" and not include_opportunities:
            return None
        if (signal.kind == "threat"
                and _SEVERITY_RANK[signal.severity] < _SEVERITY_RANK[min_severity]):
            return None
    terms = ", ".join(signal.top_terms) or "no distinctive terms"
    what = ((category.replace("_", " ").capitalize() if category else None)
            or {"threat": "Complaint", "opportunity": "Praise"}.get(signal.kind, "Activity"))
    stage = {"peaking": " (peaking)", "fading": " (fading)"}.get(signal.state, "")
    evidence: dict[str, Any] = {
        "trend_id": trend_id, "kind": signal.kind, "category": category, "volume": signal.volume, "baseline": signal.baseline,
        "zscore": signal.zscore, "growth_rate": signal.growth_rate,
        "sentiment": signal.sentiment, "toxicity_share": signal.toxicity_share,
        "top_terms": list(signal.top_terms),
        "post_ids": [p for p, _ in signal.exemplars],
        "snippets": [s for _, s in signal.exemplars],
    }
    return Draft(
        dedup_key=f"trend:{trend_id}", type="trend", severity=signal.severity,
        community=community, platform=platform,
        title=(f"{what} burst in {community}{stage}: {terms}" if topic_id == "volume" else
               f"Raid in {community}: {signal.volume} near-duplicate posts from new accounts"
               if topic_id == "raid" else
               f"{what} trend in {community}{stage}: {topic_label}"
               if topic_id not in _SHARE_TOPICS else
               f"Spike in the {topic_label or topic_id} in {community}{stage}: "
               f"{signal.volume and signal.growth_rate:.1f}x the usual"
               + (f", mostly about {terms}" if signal.top_terms else "")),
        summary=(f"{signal.volume} posts in the window vs a baseline of {signal.baseline:.1f} "
                 f"(z={signal.zscore:.1f}); mean sentiment {signal.sentiment:+.2f}"),
        recommended_action=("Investigate and acknowledge publicly if it is a real incident."
                            if signal.kind == "threat" else
                            "Engage: thank the community and amplify the positive reaction."),
        evidence=evidence, event_ts=signal.first_seen, resolve=resolve,
    )
