"""JSON Schemas (draft 2020-12) for the records that leave Vigil, generated from the
record classes so the published contract cannot drift from the code.

``vigil schemas write`` regenerates ``streams/schemas/*.json``; ``vigil schemas check``
(and a test) fails when the committed files differ from what the classes say.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Union

from models.escalation import INCIDENT_ACTIONS
from streams import records

__all__ = ["PUBLISHED", "schema_for", "write_schemas", "check_schemas", "SCHEMA_DIR"]

SCHEMA_DIR = Path(__file__).parent / "schemas"

#: topic -> record class, for every topic downstream services consume.
PUBLISHED: dict[str, type] = {
    "escalations": records.Escalation,
    "signals.trends": records.TrendSignal,
    "posts.scored": records.ScoredPost,
    "posts.dlq": records.DeadLetter,
    # an input: what on-call tools and PagerDuty bridges produce
    "incidents.actions": records.IncidentAction,
    # an input too: moderators' labels, from every path (platforms, chat, CLI, API)
    "moderation.feedback": records.ModerationFeedback,
}

#: Closed vocabularies, so consumers can switch on them safely.
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Escalation", "type"): records.ESCALATION_TYPES,
    ("Escalation", "severity"): records.SEVERITIES,
    ("Escalation", "status"): records.ESCALATION_STATUSES,
    ("TrendSignal", "kind"): records.TREND_KINDS,
    ("TrendSignal", "severity"): records.SEVERITIES,
    ("TrendSignal", "state"): records.TREND_STATES,
    ("ScoredPost", "decision"): ("none", "escalate", "safety"),
    ("IncidentAction", "action"): INCIDENT_ACTIONS,
    ("ModerationFeedback", "label"): records.FEEDBACK_LABELS,
    ("ModerationFeedback", "action"): records.FEEDBACK_ACTIONS,
}
_DATETIME_FIELDS = {"created_at", "ingested_at", "scored_at", "window_start", "window_end",
                    "first_seen", "last_seen", "emitted_at", "failed_at", "time",
                    "trigger_ingested_at"}
_SCALARS = {str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"},
            bool: {"type": "boolean"}, Any: {}}


def _type_schema(tp: Any, defs: dict) -> dict:
    origin = typing.get_origin(tp)
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if origin is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _type_schema(args[0], defs)
        if "type" in inner:
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin in (list, typing.List):
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if origin in (dict, typing.Dict):
        return {"type": "object", "additionalProperties": _type_schema(typing.get_args(tp)[1], defs)}
    if isinstance(tp, type) and issubclass(tp, records.VigilRecord):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}
            defs[tp.__name__] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    raise TypeError(f"no JSON Schema mapping for {tp!r}")


def _object_schema(cls: type, defs: dict) -> dict:
    hints = typing.get_type_hints(cls)  # resolves the (string) annotations
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):  # declaration order
        name = f.name
        schema = _type_schema(hints[name], defs)
        if name in _DATETIME_FIELDS:
            schema["format"] = "date-time"
        enum = ENUMS.get((cls.__name__, name))
        if enum:
            schema["enum"] = list(enum)
        if name == "schema_version":
            schema["const"] = records.SCHEMA_VERSION
        props[name] = schema
        # schema_version has a default in Python but is always written: consumers rely on it.
        has_default = (f.default is not dataclasses.MISSING
                       or f.default_factory is not dataclasses.MISSING)
        if not has_default or name == "schema_version":
            required.append(name)
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    return {"type": "object", "description": doc, "properties": props,
            "required": required, "additionalProperties": False}


def schema_for(topic: str) -> dict:
    cls = PUBLISHED[topic]
    defs: dict = {}
    body = _object_schema(cls, defs)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"https://vigil.dev/schemas/{topic}.v{records.SCHEMA_VERSION}.json",
              "title": f"{cls.__name__} ({topic})", **body}
    if defs:
        schema["$defs"] = defs
    return schema


def _render(topic: str) -> str:
    return json.dumps(schema_for(topic), indent=2, sort_keys=False) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for topic in PUBLISHED:
        path = directory / f"{topic}.schema.json"
        path.write_text(_render(topic))
        paths.append(path)
    return paths


def check_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Topics whose committed schema differs from the record class (empty: all good)."""
    stale = []
    for topic in PUBLISHED:
        path = directory / f"{topic}.schema.json"
        if not path.is_file() or path.read_text() != _render(topic):
            stale.append(topic)
    return stale
