"""The records Vigil writes to Kafka: the contract with downstream services.

Every record carries ``schema_version``. Additive changes (a new optional field) keep
the version; a breaking change bumps it and moves the records to a ``<topic>.v2`` topic
so that old consumers keep working. JSON Schemas for the records that leave the system
live in ``streams/schemas/`` and are generated from these classes
(``vigil schemas write``); a test fails when they drift.

Times are ISO-8601 strings in UTC with a ``Z`` suffix; ``created_at`` is always event
time (when the post was written on its platform), never the time Vigil saw it.

``include_metadata=False`` keeps Faust's ``__faust`` type tag out of the JSON so that
non-Python consumers see exactly the documented fields.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import faust

SCHEMA_VERSION = 1

SEVERITIES = ("critical", "high", "medium", "low")
ESCALATION_TYPES = ("moderation", "trend", "safety", "pipeline")
ESCALATION_STATUSES = ("triggered", "updated", "acknowledged", "resolved")
TREND_KINDS = ("threat", "opportunity", "neutral")
TREND_STATES = ("emerging", "rising", "peaking", "fading", "resolved")


class VigilRecord(faust.Record, abstract=True, include_metadata=False, serializer="json"):
    """Base for every record on a Vigil topic."""


class Post(VigilRecord):
    """A canonical post (``posts.normalized``), whatever platform it came from."""

    platform: str
    community: str
    post_id: str
    author_id: str  # keyed-hash pseudonym, never the platform's user id
    text: str
    created_at: str  # event time, ISO-8601 UTC
    ingested_at: str  # when the raw payload reached the broker
    thread_id: Optional[str] = None
    parent_id: Optional[str] = None
    lang: Optional[str] = None
    url: Optional[str] = None
    meta: Dict[str, Any] = {}
    schema_version: int = SCHEMA_VERSION


class ScoredPost(VigilRecord):
    """A post with its scores and the decision taken on it (``posts.scored``)."""

    post: Post
    toxicity: float  # [0, 1]
    sentiment: float  # VADER compound, [-1, 1]
    model_version: str
    decision: str  # "none" | "escalate" (conduct policy) | "safety" (severe: at once)
    scored_at: str
    categories: Dict[str, float] = {}
    explanation: List[str] = []  # what drove the score, e.g. "profanity-check p=0.97"
    terms: List[str] = []  # the words that pushed the score up, strongest first
    threshold: float = 0.0  # the community's threshold when this post was scored
    severe: List[str] = []  # severe categories (threat, self_harm, personal_data) that fired
    exempt: bool = False  # author exempt by community config: never escalated
    # the community topic the post joined (online clustering of its embedding) and the
    # topic's label at that moment; None when the worker scores without embeddings
    topic_id: Optional[str] = None
    topic_label: Optional[str] = None
    schema_version: int = SCHEMA_VERSION


class TrendSignal(VigilRecord):
    """A change in a community's activity (``signals.trends``)."""

    trend_id: str
    community: str
    platform: str
    topic_id: str
    topic_label: str
    kind: str  # TREND_KINDS
    severity: str  # SEVERITIES
    state: str  # TREND_STATES
    window_start: str
    window_end: str
    volume: int
    baseline: float
    zscore: float
    growth_rate: float
    sentiment: float
    toxicity_share: float
    first_seen: str
    emitted_at: str
    top_terms: List[str] = []
    exemplar_post_ids: List[str] = []
    exemplars: List[str] = []
    category: Optional[str] = None  # e.g. outage, refund, praise, feature_request
    confidence: Optional[float] = None  # that the trend is a real threat/opportunity
    reasons: List[str] = []  # what drove the classification
    trigger_post_id: Optional[str] = None  # the post whose arrival caused this signal
    trigger_ingested_at: Optional[str] = None
    schema_version: int = SCHEMA_VERSION


class Escalation(VigilRecord):
    """Something a human should look at (``escalations``, keyed by ``dedup_key``).

    One incident keeps one ``dedup_key`` through trigger, updates and resolve, the way
    PagerDuty's Events API v2 does, so consumers can upsert on it.
    """

    id: str  # unique per message: dedup_key + occurrence
    dedup_key: str
    type: str  # ESCALATION_TYPES
    severity: str  # SEVERITIES
    status: str  # ESCALATION_STATUSES
    community: str
    platform: str
    title: str
    summary: str
    recommended_action: str
    runbook_url: str
    first_seen: str
    last_seen: str
    occurrence_count: int
    created_at: str
    evidence: Dict[str, Any] = {}
    schema_version: int = SCHEMA_VERSION


class DeadLetter(VigilRecord):
    """A payload Vigil could not process, with the reason and the original bytes."""

    reason: str  # machine-readable code, e.g. "invalid_json"
    detail: str  # human-readable explanation
    source_topic: str
    source_partition: int
    source_offset: int
    value_b64: str  # the original bytes, base64
    failed_at: str
    key_b64: Optional[str] = None
    headers: Dict[str, str] = {}
    schema_version: int = SCHEMA_VERSION


class IncidentAction(VigilRecord):
    """On-call acting on an incident (``incidents.actions``, keyed by ``community`` so it
    reaches the worker that holds the incident): acknowledge, or resolve by hand."""

    dedup_key: str
    community: str
    action: str  # "acknowledge" | "resolve"
    actor: str  # who: an on-call handle, not a community member
    time: str
    note: str = ""
    schema_version: int = SCHEMA_VERSION


class ModerationFeedback(VigilRecord):
    """A moderator's decision on a post or an on-call verdict on a trend."""

    post_id: str
    community: str
    label: str  # "toxic" | "not_toxic" | "real" | "false_alarm"
    action: str  # none | remove | warn | timeout | ban
    moderator_id: str  # pseudonymised
    time: str
    category: Optional[str] = None
    trend_id: Optional[str] = None
    text: Optional[str] = None  # lets any worker learn even if it did not score the post
    schema_version: int = SCHEMA_VERSION
