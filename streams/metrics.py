"""Prometheus metrics for the worker, served at ``/metrics`` on the Faust web port.

Naming follows Prometheus conventions: ``vigil_`` prefix, base units (seconds),
``_total`` for counters. Labels are low-cardinality only (stage, outcome, platform,
reason, type, severity, kind, community): never a user, post id or free text. The
``community`` label is bounded by :class:`CommunityLabels`: the communities named in
``communities.toml`` plus the first ``VIGIL_METRICS_COMMUNITY_LIMIT`` others a process
sees; anything beyond is counted as ``"other"``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)

from streams.build_info import build_labels

# ``*_created`` series double the exposition for no dashboard use.
disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)

# Every process that serves /metrics (worker, connectors, notify, serve) uses REGISTRY,
# so each exports this one series: "which version runs where", and a series that is
# present exactly while the process is (what the absent-worker alert looks for).
BUILD_INFO = Gauge(
    "vigil_build_info", "Always 1; the labels say which Vigil build this process runs.",
    ["version", "python", "revision"], registry=REGISTRY)
BUILD_INFO.labels(**build_labels()).set(1)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

POSTS_INGESTED = Counter(
    "vigil_posts_ingested_total", "Raw payloads read from posts.raw.",
    ["platform"], registry=REGISTRY)
POSTS_NORMALIZED = Counter(
    "vigil_posts_normalized_total", "Posts that passed validation and were forwarded.",
    ["platform"], registry=REGISTRY)
POSTS_DUPLICATE = Counter(
    "vigil_posts_duplicate_total", "Posts dropped as duplicates of a (platform, post id) seen within the window.",
    ["platform"], registry=REGISTRY)
PLATFORM_EVENTS = Counter(
    "vigil_platform_events_total",
    "Platform events that are not posts (deletions, moderators' actions, notices), by kind; "
    "counted, not dead-lettered.", ["platform", "kind"], registry=REGISTRY)
MODERATOR_ACTIONS = Counter(
    "vigil_moderator_actions_total",
    "Moderators' actions seen on the platforms, by action and by whom (moderator, author, "
    "automatic, unknown); only a moderator's action becomes labels.",
    ["platform", "action", "by"], registry=REGISTRY)
MODERATOR_LABELS = Counter(
    "vigil_moderator_labels_published_total",
    "Labels published to moderation.feedback from moderators' actions on the platforms.",
    ["platform", "label"], registry=REGISTRY)
CALLBACKS = Counter(
    "vigil_callbacks_total",
    "Requests from Slack, Discord and PagerDuty to vigil notify's callback server, by "
    "outcome (accepted, forged, expired, replayed, duplicate, ignored, unreadable, "
    "unavailable, too_large, ping).", ["tool", "outcome"], registry=REGISTRY)
CALLBACK_UPDATES = Counter(
    "vigil_callback_message_updates_total",
    "Chat messages replaced after a click (Slack's response_url), by result.",
    ["tool", "result"], registry=REGISTRY)
API_REQUESTS = Counter(
    "vigil_api_requests_total",
    "vigil serve requests, by method (analyze, suggestscore) and outcome (ok, or the "
    "error status in lower case).", ["method", "outcome"], registry=REGISTRY)
API_SECONDS = Histogram(
    "vigil_api_request_duration_seconds", "vigil serve: request received -> answered.",
    ["method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5),
    registry=REGISTRY)
API_BATCH_TEXTS = Histogram(
    "vigil_api_batch_texts", "vigil serve: texts per model call (requests micro-batched, "
    "sentences of span annotations included).", buckets=(1, 2, 4, 8, 16, 32, 64, 128),
    registry=REGISTRY)
BROKER_UP = Gauge(
    "vigil_broker_up",
    "1 while the broker acknowledges this process's records, 0 from the first failed "
    "send or unreachable broker until the next acknowledged one.", registry=REGISTRY)
PRODUCE_RETRIES = Counter(
    "vigil_produce_retries_total",
    "Records sent again because the broker did not acknowledge them, by topic.",
    ["topic"], registry=REGISTRY)
RECORDS_ACKNOWLEDGED = Counter(
    "vigil_records_acknowledged_total",
    "Records the broker acknowledged, by topic (outputs and state changelogs).",
    ["topic"], registry=REGISTRY)
INPUT_OFFSET_GAPS = Counter(
    "vigil_input_offset_gaps_total",
    "Input records the consumer skipped over (an offset jump inside a partition): "
    "should stay 0; Vigil never commits past them.", ["topic"], registry=REGISTRY)
CONSUMER_STALLS = Counter(
    "vigil_consumer_stalls_total",
    "Times the worker found input waiting at a position that had not moved for 10 s "
    "of an idle pipeline, and sent its consumer back to that offset.", registry=REGISTRY)
TEXT_READER_LOST = Counter(
    "vigil_text_reader_lost_total",
    "Times the worker's text-reading child process died, hung or could not start; the "
    "worker read posts itself meanwhile (slower, same scores).", registry=REGISTRY)
CLOCK_RECORDS = Counter(
    "vigil_clock_records_total",
    "Idle-clock records written into quiet input partitions (written) and read back "
    "(read).", ["direction"], registry=REGISTRY)
TOPICS_MISSING = Gauge(
    "vigil_topics_missing",
    "Topics of Vigil's topology that the broker does not have (0 when all exist).",
    registry=REGISTRY)
POSTS_DEAD_LETTERED = Counter(
    "vigil_posts_dead_lettered_total", "Payloads sent to posts.dlq, by reason.",
    ["reason"], registry=REGISTRY)
POSTS_SCORED = Counter(
    "vigil_posts_scored_total", "Posts scored, by community and decision (none, escalate, safety).",
    ["platform", "community", "decision"], registry=REGISTRY)
POSTS_BY_LANGUAGE = Counter(
    "vigil_posts_language_total",
    "Posts scored, by language (ISO 639-1, und when too short or unsure to tell, other) and "
    "whether the English-only scorers read it (supported: true or false).",
    ["language", "supported"], registry=REGISTRY)
SENTIMENT = Histogram(
    "vigil_sentiment_compound", "VADER compound sentiment of scored posts whose language "
    "VADER reads, by community.",
    ["community"], buckets=(-0.5, -0.05, 0.05, 0.5, 1.0), registry=REGISTRY)
TOXICITY_SCORE = Histogram(
    "vigil_toxicity_score", "Distribution of toxicity scores.",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0), registry=REGISTRY)
TRENDS = Counter(
    "vigil_trend_signals_total", "Trend signals emitted, by community, kind and lifecycle state.",
    ["community", "kind", "state"], registry=REGISTRY)
TRENDS_ACTIVE = Gauge(
    "vigil_trends_active",
    "Trends reported rising and not yet resolved, by community and kind (threat, "
    "opportunity, neutral), on the worker that owns the community.",
    ["community", "kind"], registry=REGISTRY)
BURST_ZSCORE = Gauge(
    "vigil_burst_zscore",
    "How unusual the community's open volume window is: z-score against its learnt "
    "baseline (0 until the baseline has enough history).",
    ["community"], registry=REGISTRY)
ESCALATIONS = Counter(
    "vigil_escalations_total",
    "Escalation messages produced, by type, severity, status and community.",
    ["type", "severity", "status", "community"], registry=REGISTRY)
STAGE_SECONDS = Histogram(
    "vigil_stage_duration_seconds", "Time spent in a pipeline stage per batch or event.",
    ["stage"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
INGEST_TO_SCORED_SECONDS = Histogram(
    "vigil_ingest_to_scored_seconds",
    "From the raw payload's broker timestamp to its scored post being produced.",
    buckets=_LATENCY_BUCKETS, registry=REGISTRY)
INGEST_TO_ESCALATION_SECONDS = Histogram(
    "vigil_ingest_to_escalation_seconds",
    "End-to-end: from the triggering post's broker timestamp to the escalation being produced.",
    buckets=_LATENCY_BUCKETS, registry=REGISTRY)
# -- notifier process (vigil notify) ---------------------------------------------------
NOTIFICATIONS = Counter(
    "vigil_notifications_total",
    "Escalations a notification route handled: delivered, or why not (suppressed_*, failed).",
    ["route", "sink", "outcome"], registry=REGISTRY)
NOTIFICATION_ATTEMPTS = Counter(
    "vigil_notification_attempts_total", "HTTP attempts to a notifier, by result.",
    ["route", "sink", "result"], registry=REGISTRY)
NOTIFICATION_SECONDS = Histogram(
    "vigil_notification_latency_seconds",
    "From the escalation being produced (created_at) to the notifier accepting it.",
    ["route"], buckets=_LATENCY_BUCKETS + (60.0, 300.0, 900.0), registry=REGISTRY)
NOTIFICATION_PENDING = Gauge(
    "vigil_notification_pending", "Escalations a route has fetched and not yet settled.",
    ["route"], registry=REGISTRY)
# -- connector processes (vigil connect) -------------------------------------------------
CONNECTOR_FETCHED = Counter(
    "vigil_connector_fetched_total", "Posts a connector read from its platform.",
    ["platform"], registry=REGISTRY)
CONNECTOR_PRODUCED = Counter(
    "vigil_connector_produced_total", "Posts a connector produced to posts.raw.",
    ["platform"], registry=REGISTRY)
CONNECTOR_SKIPPED = Counter(
    "vigil_connector_skipped_total",
    "Posts a connector did not produce: already produced (duplicate), deleted/removed on "
    "the platform, from a chat not configured (other_chat), an update type not asked for "
    "(update_type).", ["platform", "reason"], registry=REGISTRY)
CONNECTOR_ERRORS = Counter(
    "vigil_connector_errors_total",
    "Failed platform requests and broken connections, by kind (rate_limited, server_error, "
    "client_error, network, protocol; rejected: a pushed request refused for its signature, "
    "age or size).", ["platform", "kind"], registry=REGISTRY)
CONNECTOR_RATE_LIMIT_WAIT_SECONDS = Counter(
    "vigil_connector_rate_limit_wait_seconds_total",
    "Time a connector spent waiting because the platform asked it to (rate-limit headers, "
    "Retry-After) or backing off after errors.", ["platform"], registry=REGISTRY)
CONNECTOR_QUOTA_USED = Gauge(
    "vigil_connector_quota_used_ratio",
    "Share of a platform's daily request quota spent today (YouTube: units per Pacific "
    "day against daily_quota_units).", ["platform"], registry=REGISTRY)
CONNECTOR_LAG_SECONDS = Gauge(
    "vigil_connector_lag_seconds",
    "How far behind the platform a connector is: wall clock minus the creation time of the "
    "newest post it produced.", ["platform"], registry=REGISTRY)
EVENT_TIME_LAG_SECONDS = Gauge(
    "vigil_event_time_lag_seconds",
    "Wall clock minus the newest event time seen, by stage (large during replays).",
    ["stage"], registry=REGISTRY)
FEEDBACK_LABELS = frozenset({"toxic", "not_toxic", "real", "false_alarm"})
FEEDBACK = Counter(
    "vigil_feedback_labels_total",
    "Moderator labels received, by label and what the learner did with them "
    "(learned, no_features, not_for_toxicity, duplicate, invalid).",
    ["label", "outcome"], registry=REGISTRY)
LEARNER_AUC = Gauge(
    "vigil_toxicity_online_roc_auc",
    "Exact ROC-AUC of the toxicity scores before learning, last 500 labels "
    "(Mann-Whitney, ties count half).", registry=REGISTRY)
LEARNER_LABELS = Gauge(
    "vigil_toxicity_labels_learned", "Moderator labels the toxicity model has learnt from.",
    registry=REGISTRY)
DECISIONS = Counter(
    "vigil_moderation_decisions_total",
    "Conduct-policy recommendations, by recommended action, category and community.",
    ["action", "category", "community"], registry=REGISTRY)
REPEAT_OFFENCES = Counter(
    "vigil_repeat_offences_total",
    "Toxic posts by an author who already has a violation on record in the community, "
    "by the action recommended.",
    ["action", "community"], registry=REGISTRY)
CONSUMER_LAG = Gauge(
    "vigil_consumer_lag_messages",
    "Messages on this worker's assigned partitions not yet processed, by source topic "
    "(high watermark from the latest fetch minus the next offset to process).",
    ["topic"], registry=REGISTRY)
STAGE_ERRORS = Counter(
    "vigil_stage_errors_total", "Unexpected errors in a stage, by stage.",
    ["stage"], registry=REGISTRY)


@contextmanager
def counting_errors(stage: str) -> Iterator[None]:
    """Count an unexpected exception against ``stage`` and let it propagate."""
    try:
        yield
    except Exception:
        STAGE_ERRORS.labels(stage=stage).inc()
        raise


class CommunityLabels:
    """The bounded set of values the ``community`` label takes.

    >>> labels = CommunityLabels()
    >>> labels.configure(["r/a"], limit=1)
    >>> labels("r/a"), labels("r/b"), labels("r/c"), labels("r/b")
    ('r/a', 'r/b', 'other', 'r/b')
    """

    def __init__(self) -> None:
        self._named: frozenset[str] = frozenset()
        self._seen: set[str] = set()
        self.limit = 50

    def configure(self, named: Iterable[str], limit: int) -> None:
        self._named, self._seen, self.limit = frozenset(named), set(), limit

    def __call__(self, community: Optional[str]) -> str:
        if not community:
            return "other"
        if community in self._named or community in self._seen:
            return community
        if len(self._seen) < self.limit:
            self._seen.add(community)
            return community
        return "other"


community_label = CommunityLabels()


def initialise_zero_series(*, dead_letter_reasons: Iterable[str] = (),
                           stages: Iterable[str] = ()) -> None:
    """Create counters at 0 before their first event. A counter born at 5 between two
    scrapes hides those 5 from ``rate()`` (its first sample is the baseline), and "none
    yet" should read as 0 on a dashboard or in an alert's ratio, not as no data."""
    for platform in KNOWN_PLATFORMS | {"other"}:
        POSTS_INGESTED.labels(platform=platform)
        POSTS_NORMALIZED.labels(platform=platform)
        POSTS_DUPLICATE.labels(platform=platform)
        for kind in ("deletion", "moderation_action", "non_post"):  # models.normalize.PLATFORM_EVENTS
            PLATFORM_EVENTS.labels(platform=platform, kind=kind)
    for reason in dead_letter_reasons:
        POSTS_DEAD_LETTERED.labels(reason=reason)
    for stage in stages:
        STAGE_ERRORS.labels(stage=stage)
    from streams.topology import INPUT_TOPICS, TOPICS

    for spec in TOPICS:  # what the worker produces and could have to send again
        PRODUCE_RETRIES.labels(topic=spec.name)
        RECORDS_ACKNOWLEDGED.labels(topic=spec.name)
    for topic in INPUT_TOPICS:
        INPUT_OFFSET_GAPS.labels(topic=topic)
    for direction in ("written", "read"):
        CLOCK_RECORDS.labels(direction=direction)


def render() -> bytes:
    return generate_latest(REGISTRY)


#: Platforms Vigil has connectors for; anything else is counted as "other" so that a
#: typo or a hostile header cannot create new time series.
KNOWN_PLATFORMS = frozenset({"reddit", "discourse", "discord", "x", "twitter", "steam",
                             "youtube", "twitch", "telegram", "webhook", "file"})


_CATEGORIES = frozenset({"profanity", "insult", "threat", "identity_attack", "sexual", "spam",
                         "personal_data", "self_harm", "safety", "toxicity"})


def category_label(category: str | None) -> str:
    return category if category in _CATEGORIES else "other"


def platform_label(platform: str | None) -> str:
    return platform if platform in KNOWN_PLATFORMS else "other"


def language_label(lang: str | None) -> str:
    """A two-letter ISO 639-1 code or ``und``; anything else (three-letter codes, tags a
    platform invented) is ``other``, so the label stays bounded."""
    if lang == "und" or (isinstance(lang, str) and len(lang) == 2 and lang.isascii()
                         and lang.isalpha() and lang.islower()):
        return lang
    return "other"
