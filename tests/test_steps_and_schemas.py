"""The pipeline steps end to end (no broker), checked against the published schemas."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from agents.steps import Steps
from models.conduct import ConductState
from config.settings import Settings
from models.eventtime import parse_event_time
from models.normalize import MalformedPost
from streams.records import ScoredPost
from streams.schemas import PUBLISHED, check_schemas, schema_for

NOW = parse_event_time("2026-11-02T12:00:00Z")
INGESTED = NOW - 1


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str) or "T" not in value or not value.endswith("Z"):
        return False
    datetime.fromisoformat(value[:-1] + "+00:00")
    return True


# jsonschema only checks "date-time" with an optional package; check it ourselves.
FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_is_datetime)


def validator(topic: str) -> Draft202012Validator:
    schema = schema_for(topic)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def raw(pid: str, author: str, text: str, minute: int = 0) -> bytes:
    return json.dumps({"platform": "reddit", "community": "r/acmegames", "id": pid,
                       "author": author, "text": text,
                       "created_at": f"2026-11-02T08:{minute:02d}:00Z",
                       "url": f"https://reddit.example/{pid}"}).encode()


PAYLOADS = [
    raw("p1", "grimtide_88", "shut up you fucking idiot", 1),
    raw("p2", "friendly", "thanks for the patch notes, see you at the meetup", 2),
    raw("p3", "grimtide_88", "nobody cares what you think you dumb bitch", 3),
]


@pytest.fixture(scope="module")
def steps() -> Steps:
    s = Steps(Settings.load(env={}, embeddings=False))  # MiniLM is tested on its own
    s.load_models()
    return s


@pytest.fixture(scope="module")
def scored(steps) -> list[ScoredPost]:
    posts = [steps.normalize(p, fmt="vigil", ingested_ts=INGESTED, now=NOW) for p in PAYLOADS]
    return steps.score_batch(posts)


def test_normalize_dedups_redelivery():
    s = Steps(Settings.load(env={}, embeddings=False))  # MiniLM is tested on its own
    first = s.normalize(PAYLOADS[0], fmt=None, ingested_ts=INGESTED, now=NOW)
    assert first is not None and first.author_id != "grimtide_88"
    assert s.normalize(PAYLOADS[0], fmt=None, ingested_ts=INGESTED, now=NOW) is None


def test_scored_posts_validate_and_decide(scored):
    v = validator("posts.scored")
    for sp in scored:
        v.validate(json.loads(sp.dumps()))
    assert [sp.decision for sp in scored] == ["escalate", "none", "escalate"]
    assert "fucking" in scored[0].terms


def test_moderation_escalations_validate(steps, scored):
    v = validator("escalations")
    state, out, records = None, [], {}
    for sp in scored:
        drafts = steps.moderation_drafts(sp, records.setdefault(sp.post.author_id, ConductState()))
        if not drafts:
            continue
        draft = drafts[0]
        state, esc = steps.escalate(state, draft, source_id=sp.post.post_id)
        out.append(esc)
    # redelivered post: nothing new
    redelivered = steps.moderation_drafts(scored[0], records[scored[0].post.author_id])
    _, again = steps.escalate(state, redelivered[0], source_id="p1")
    assert again is None
    assert [(e.status, e.occurrence_count) for e in out] == [("triggered", 1), ("updated", 2)]
    assert out[0].dedup_key == out[1].dedup_key  # same author, same community
    assert out[0].id != out[1].id
    for e in out:
        doc = json.loads(e.dumps())
        v.validate(doc)
        assert doc["schema_version"] == 1 and "__faust" not in doc
        assert b"grimtide_88" not in e.dumps()
    assert out[1].first_seen == "2026-11-02T08:01:00Z"
    assert out[1].last_seen == "2026-11-02T08:03:00Z"


def test_dead_letter_validates_and_keeps_bytes(steps):
    bad = b'{"platform": "reddit", "text": "cut \xc3\xa9'
    with pytest.raises(MalformedPost) as info:
        steps.normalize(bad, fmt=None, ingested_ts=INGESTED, now=NOW)
    dl = Steps.dead_letter(info.value, bad, key=b"r/acmegames",
                           headers={"vigil-format": "vigil"}, topic="posts.raw",
                           partition=2, offset=41, now=NOW)
    doc = json.loads(dl.dumps())
    validator("posts.dlq").validate(doc)
    assert doc["reason"] == "invalid_json"
    assert base64.b64decode(doc["value_b64"]) == bad
    assert base64.b64decode(doc["key_b64"]) == b"r/acmegames"


def test_committed_schemas_up_to_date():
    assert check_schemas() == []


def test_check_schemas_detects_drift(tmp_path):
    assert set(check_schemas(tmp_path)) == set(PUBLISHED)  # nothing written there


@pytest.mark.parametrize("field,value", [
    ("severity", "catastrophic"), ("status", "snoozed"), ("type", "gossip"),
    ("created_at", "yesterday"), ("schema_version", 2), ("occurrence_count", "3"),
])
def test_schema_rejects_bad_escalation(steps, scored, field, value):
    draft = steps.moderation_drafts(scored[0], ConductState())[0]
    _, esc = steps.escalate(None, draft, source_id="x")
    doc = json.loads(esc.dumps())
    v = validator("escalations")
    v.validate(doc)
    doc[field] = value
    assert not v.is_valid(doc)


def test_schema_rejects_unknown_and_missing_fields(scored):
    v = validator("posts.scored")
    doc = json.loads(scored[1].dumps())
    assert not v.is_valid({**doc, "surprise": 1})
    del doc["post"]["post_id"]
    assert not v.is_valid(doc)


def test_retrigger_gets_a_new_escalation_id(steps, scored):
    draft = steps.moderation_drafts(scored[0], ConductState())[0]
    resolve = draft.__class__(**{**draft.__dict__, "resolve": True})
    state, first = steps.escalate(None, draft, source_id="a")
    state, _ = steps.escalate(state, resolve, source_id="r")
    state, second = steps.escalate(state, draft, source_id="b")
    assert second.status == first.status == "triggered"
    assert second.id != first.id


def test_crashing_parser_becomes_internal_error_dead_letter(steps, monkeypatch):
    from models.normalize import Normalizer
    from models.parsers import FORMATS

    def crash(obj):
        raise KeyError("boom")

    normalizer = steps.normalizer
    monkeypatch.setattr(steps, "normalizer", Normalizer(
        normalizer.pseudonymize, normalizer.limits, {**FORMATS, "test-crash": crash}))
    with pytest.raises(MalformedPost) as info:
        steps.normalize(b"{}", fmt="test-crash", ingested_ts=INGESTED, now=NOW)
    assert info.value.reason == "internal_error" and "KeyError" in info.value.detail
    dl = Steps.dead_letter(info.value, b"{}", key=None, headers={}, topic="posts.raw",
                           partition=0, offset=0, now=NOW)
    validator("posts.dlq").validate(json.loads(dl.dumps()))
