"""The records Vigil writes to Kafka: the contract with downstream services.

Every record carries ``schema_version``. Additive changes (a new optional field) keep
the version; a breaking change bumps it and moves the records to a ``<topic>.v2`` topic
so that old consumers keep working. JSON Schemas for the records that leave the system
live in ``streams/schemas/`` and are generated from these classes
(``vigil schemas write``); a test fails when they drift.

Times are ISO-8601 strings in UTC with a ``Z`` suffix; ``created_at`` is always event
time (when the post was written on its platform), never the time Vigil saw it.

The records are plain dataclasses; this module imports only the standard library. The
Kafka codec is at the edge: ``rec.dumps()`` gives the message value (UTF-8 JSON, one
object, fields in declaration order, compact separators, non-ASCII as ``\\u`` escapes;
the exact bytes the earlier Faust records wrote, with no ``__faust`` type tag), and
``Cls.loads(value)`` parses one back. ``loads`` takes untrusted topic data: anything
that is not a JSON object with every required field raises ``ValueError``; keys it does
not know are ignored, so a newer producer may add optional fields. ``rec.asdict()``
returns the fields as a dict in declaration order, a nested record as a dict too.

>>> act = IncidentAction(dedup_key="k", community="r/acme", action="resolve",
...                      actor="oncall", time="2026-11-02T12:00:00Z")
>>> act.dumps()
b'{"dedup_key":"k","community":"r/acme","action":"resolve","actor":"oncall","time":"2026-11-02T12:00:00Z","note":"","source":"unknown","idempotency_key":null,"schema_version":1}'
>>> IncidentAction.loads(act.dumps()) == act
True
>>> IncidentAction.loads(b'{"dedup_key": "k"}')
Traceback (most recent call last):
...
ValueError: IncidentAction: missing required field(s): community, action, actor, time
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, TypeVar, Union

__all__ = ["SCHEMA_VERSION", "SEVERITIES", "ESCALATION_TYPES", "ESCALATION_STATUSES",
           "TREND_KINDS", "TREND_STATES", "VigilRecord", "Post", "ScoredPost", "TrendSignal",
           "Escalation", "DeadLetter", "IncidentAction", "ModerationFeedback",
           "RECORD_TYPES"]

SCHEMA_VERSION = 1

SEVERITIES = ("critical", "high", "medium", "low")
ESCALATION_TYPES = ("moderation", "trend", "safety", "pipeline")
ESCALATION_STATUSES = ("triggered", "updated", "acknowledged", "resolved")
TREND_KINDS = ("threat", "opportunity", "neutral")
TREND_STATES = ("emerging", "rising", "peaking", "fading", "resolved")

_R = TypeVar("_R", bound="VigilRecord")


def _json_default(o: Any) -> Any:
    """Values inside the free-form ``meta``/``evidence`` maps that JSON has no type for:
    converted as Faust's JSON encoder did, so the bytes stay the same. One exception:
    ``bytes`` raise ``TypeError`` (Faust wrote their Python repr, ``"b'...'"``)."""
    import datetime as _dt
    import decimal
    import enum
    import uuid
    from collections import deque

    if isinstance(o, VigilRecord):
        return o.asdict()
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if isinstance(o, (_dt.date, _dt.time)):
        if not isinstance(o, (_dt.datetime, _dt.time)):
            o = _dt.datetime(o.year, o.month, o.day)
        text = o.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, (set, frozenset, deque)):
        return list(o)
    to_json = getattr(o, "__json__", None)
    if to_json is not None:
        return to_json()
    raise TypeError(f"JSON cannot serialize {type(o).__name__!r}: {o!r}")


class _Codec:
    """What ``dumps``/``loads`` need to know about one record class, worked out once."""

    __slots__ = ("names", "required", "nested")

    def __init__(self, cls: type) -> None:
        hints = typing.get_type_hints(cls)
        fs = dataclasses.fields(cls)
        self.names = tuple(f.name for f in fs)
        self.required = tuple(f.name for f in fs if f.default is dataclasses.MISSING
                              and f.default_factory is dataclasses.MISSING)
        # field -> record class, for fields holding a nested record (ScoredPost.post)
        self.nested: dict[str, type] = {}
        for f in fs:
            tp = hints[f.name]
            if typing.get_origin(tp) is Union:  # Optional[SomeRecord]
                args = [a for a in typing.get_args(tp) if a is not type(None)]
                tp = args[0] if len(args) == 1 else tp
            if isinstance(tp, type) and issubclass(tp, VigilRecord):
                self.nested[f.name] = tp


_CODECS: dict[type, _Codec] = {}


def _codec(cls: type) -> _Codec:
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = _Codec(cls)
    return codec


class VigilRecord:
    """Base for every record on a Vigil topic (subclasses are dataclasses)."""

    def asdict(self) -> dict[str, Any]:
        """The record as a dict in field order; nested records become dicts too."""
        codec = _codec(type(self))
        out = {name: getattr(self, name) for name in codec.names}
        for name in codec.nested:
            value = out[name]
            if isinstance(value, VigilRecord):
                out[name] = value.asdict()
        return out

    def dumps(self) -> bytes:
        """The Kafka message value: UTF-8 JSON, byte-for-byte what Faust wrote."""
        return json.dumps(self.asdict(), separators=(",", ":"),
                          default=_json_default).encode("utf-8")

    @classmethod
    def loads(cls: type[_R], data: Union[bytes, bytearray, memoryview, str]) -> _R:
        """Parse one message value. ``ValueError`` unless it is a JSON object with every
        required field; unknown keys are ignored."""
        if data is None:
            raise ValueError(f"{cls.__name__}: no payload (a tombstone?)")
        if isinstance(data, (bytes, bytearray, memoryview)):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{cls.__name__}: payload is not UTF-8: {exc}") from None
        elif not isinstance(data, str):
            raise TypeError(f"{cls.__name__}.loads takes bytes or str, "
                            f"not {type(data).__name__}")
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise ValueError(f"{cls.__name__}: payload is not valid JSON: {exc}") from None
        return cls.from_dict(obj)

    @classmethod
    def from_dict(cls: type[_R], obj: Any) -> _R:
        """Build a record from a parsed JSON object, with the checks of :meth:`loads`."""
        return _from_dict(cls, obj, cls.__name__)


def _from_dict(cls: type[_R], obj: Any, where: str) -> _R:
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: expected a JSON object, got {_json_type(obj)}")
    codec = _codec(cls)
    missing = [name for name in codec.required if name not in obj]
    if missing:
        raise ValueError(f"{where}: missing required field(s): {', '.join(missing)}")
    kwargs = {name: obj[name] for name in codec.names if name in obj}
    for name, sub in codec.nested.items():
        value = kwargs.get(name)
        if value is not None or name in codec.required:
            kwargs[name] = _from_dict(sub, value, f"{where}.{name}")
    return cls(**kwargs)


def _json_type(obj: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "integer",
             float: "number", type(None): "null"}
    return names.get(type(obj), type(obj).__name__)


@dataclass
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
    meta: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass
class ScoredPost(VigilRecord):
    """A post with its scores and the decision taken on it (``posts.scored``)."""

    post: Post
    toxicity: float  # [0, 1]
    sentiment: float  # VADER compound, [-1, 1]
    model_version: str
    decision: str  # "none" | "escalate" (conduct policy) | "safety" (severe: at once)
    scored_at: str
    categories: Dict[str, float] = field(default_factory=dict)
    # what drove the score, e.g. "profanity-check p=0.97"
    explanation: List[str] = field(default_factory=list)
    # the words that pushed the score up, strongest first
    terms: List[str] = field(default_factory=list)
    threshold: float = 0.0  # the community's threshold when this post was scored
    # severe categories (threat, self_harm, personal_data) that fired
    severe: List[str] = field(default_factory=list)
    exempt: bool = False  # author exempt by community config: never escalated
    # the community topic the post joined (online clustering of its embedding) and the
    # topic's label at that moment; None when the worker scores without embeddings
    topic_id: Optional[str] = None
    topic_label: Optional[str] = None
    # the language the post was scored as (the platform's, else detected; "und" when too
    # short or unsure to tell) and whether the English-only scorers can read it: when
    # false the toxicity and sentiment are lower bounds and a person should read it
    # (models/language.py)
    lang: Optional[str] = None
    lang_supported: bool = True
    schema_version: int = SCHEMA_VERSION


@dataclass
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
    top_terms: List[str] = field(default_factory=list)
    exemplar_post_ids: List[str] = field(default_factory=list)
    exemplars: List[str] = field(default_factory=list)
    category: Optional[str] = None  # e.g. outage, refund, praise, feature_request
    confidence: Optional[float] = None  # that the trend is a real threat/opportunity
    reasons: List[str] = field(default_factory=list)  # what drove the classification
    trigger_post_id: Optional[str] = None  # the post whose arrival caused this signal
    trigger_ingested_at: Optional[str] = None
    schema_version: int = SCHEMA_VERSION


@dataclass
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
    evidence: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass
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
    headers: Dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass
class IncidentAction(VigilRecord):
    """On-call acting on an incident (``incidents.actions``, keyed by ``community`` so it
    reaches the worker that holds the incident): acknowledge, resolve by hand, or hand it
    to someone else (PagerDuty's reassign: the incident is no longer acknowledged)."""

    dedup_key: str
    community: str
    action: str  # "acknowledge" | "resolve" | "reassign"
    actor: str  # who: an on-call handle, not a community member
    time: str
    note: str = ""
    # where from (cli, console, slack, discord, pagerduty, api): a route never sends an
    # incident's change back to the tool it came from
    source: str = "unknown"
    idempotency_key: Optional[str] = None  # a retried delivery acts once
    schema_version: int = SCHEMA_VERSION


@dataclass
class ModerationFeedback(VigilRecord):
    """A moderator's decision on a post or an on-call verdict on a trend
    (``moderation.feedback``, keyed by community; every worker learns from every label).

    One contract whatever the path: ``moderator_id`` says who (a pseudonym), ``source``
    where from (``FEEDBACK_SOURCES``, with the platform's own name for the action after
    a colon: ``twitch:clearmsg``, ``reddit:modlog``), ``time`` when, and
    ``idempotency_key`` makes a retried delivery or a webhook sent twice count once. A
    later label on the same post replaces the earlier one (an approval after a removal).
    """

    post_id: str
    community: str
    label: str  # "toxic" | "not_toxic" | "real" | "false_alarm"
    action: str  # none | remove | approve | warn | timeout | ban
    moderator_id: str  # pseudonymised
    time: str
    category: Optional[str] = None
    trend_id: Optional[str] = None
    text: Optional[str] = None  # lets any worker learn even if it did not score the post
    source: str = "unknown"
    idempotency_key: Optional[str] = None
    schema_version: int = SCHEMA_VERSION


FEEDBACK_LABELS = ("toxic", "not_toxic", "real", "false_alarm")
FEEDBACK_ACTIONS = ("none", "remove", "approve", "warn", "timeout", "ban", "kick")
#: where a label comes from; a platform's action is "<platform>:<its name for it>"
FEEDBACK_SOURCES = ("platform", "console", "cli", "api", "slack", "discord", "pagerduty",
                    "unknown")


#: record class name -> class, as named in ``streams.topics`` (``TopicSpec.record``).
RECORD_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    Post, ScoredPost, TrendSignal, Escalation, DeadLetter, IncidentAction, ModerationFeedback)}
