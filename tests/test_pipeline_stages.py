"""The pipeline's stages and :meth:`Pipeline.process` end to end (no broker), checked
against the published schemas."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from models.eventtime import parse_event_time, to_iso
from streams.events import Input, Outputs
from streams.pipeline import Pipeline
from streams.records import DeadLetter, IncidentAction, Post, ScoredPost
from streams.schemas import PUBLISHED, check_schemas, schema_for
from streams.state import PipelineState
from tests.pipeline_kit import new_pipeline, normalize, raw_input

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
def pipeline() -> Pipeline:
    p = new_pipeline()
    p.load_models()
    return p


@pytest.fixture(scope="module")
def scored(pipeline) -> list[ScoredPost]:
    posts = [normalize(pipeline, p, ingested=INGESTED, now=NOW) for p in PAYLOADS]
    return pipeline.score.score(posts)


def test_normalize_dedups_redelivery():
    p = new_pipeline()
    first = normalize(p, PAYLOADS[0], fmt=None, ingested=INGESTED, now=NOW)
    assert isinstance(first, Post) and first.author_id != "grimtide_88"
    assert normalize(p, PAYLOADS[0], fmt=None, ingested=INGESTED, now=NOW) is None


def test_scored_posts_validate_and_decide(scored):
    v = validator("posts.scored")
    for sp in scored:
        v.validate(json.loads(sp.dumps()))
    assert [sp.decision for sp in scored] == ["escalate", "none", "escalate"]
    assert "fucking" in scored[0].terms


def test_moderation_escalations_validate(pipeline, scored):
    v = validator("escalations")
    state, emitted = PipelineState(), Outputs()
    for sp in scored:
        pipeline.escalate.post(sp, state, 0, emitted)
    out = emitted.escalations
    # redelivered post: the ladder recommends again (a draft), the ledger emits nothing new
    again = Outputs()
    pipeline.escalate.post(scored[0], state, 0, again)
    assert [d.action != "none" for d in again.decisions] == [True]
    assert again.escalations == []
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


def test_dead_letter_validates_and_keeps_bytes(pipeline):
    bad = b'{"platform": "reddit", "text": "cut \xc3\xa9'
    dl = pipeline.normalize.normalize(
        raw_input(bad, community="r/acmegames", ingested=INGESTED, partition=2, offset=41),
        now=NOW)
    assert isinstance(dl, DeadLetter)
    doc = json.loads(dl.dumps())
    validator("posts.dlq").validate(doc)
    assert doc["reason"] == "invalid_json"
    assert base64.b64decode(doc["value_b64"]) == bad
    assert base64.b64decode(doc["key_b64"]) == b"r/acmegames"
    assert (doc["source_topic"], doc["source_partition"], doc["source_offset"]) \
        == ("posts.raw", 2, 41)
    assert doc["headers"] == {"vigil-format": "vigil"} and doc["failed_at"] == to_iso(NOW)


def test_committed_schemas_up_to_date():
    assert check_schemas() == []


def test_check_schemas_detects_drift(tmp_path):
    assert set(check_schemas(tmp_path)) == set(PUBLISHED)  # nothing written there


@pytest.mark.parametrize("field,value", [
    ("severity", "catastrophic"), ("status", "snoozed"), ("type", "gossip"),
    ("created_at", "yesterday"), ("schema_version", 2), ("occurrence_count", "3"),
])
def test_schema_rejects_bad_escalation(pipeline, scored, field, value):
    out = Outputs()
    pipeline.escalate.post(scored[0], PipelineState(), 0, out)
    (esc,) = out.escalations
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


def test_retrigger_gets_a_new_escalation_id(pipeline, scored):
    state, out = PipelineState(), Outputs()
    pipeline.escalate.post(scored[0], state, 0, out)
    first = out.escalations[0]
    resolve = IncidentAction(dedup_key=first.dedup_key, community=first.community,
                             action="resolve", actor="oncall-sam", time="2026-11-02T08:02:00Z")
    pipeline.escalate.action(resolve, state, 0, out)
    pipeline.escalate.post(scored[2], state, 0, out)  # the same author again
    assert [e.status for e in out.escalations] == ["triggered", "resolved", "triggered"]
    second = out.escalations[-1]
    assert second.dedup_key == first.dedup_key
    assert second.status == first.status == "triggered"
    assert second.id != first.id


def test_crashing_parser_becomes_internal_error_dead_letter(pipeline, monkeypatch):
    from models.normalize import Normalizer
    from models.parsers import FORMATS

    def crash(obj):  # a bug of Vigil's; a payload of the wrong shape is "wrong_type"
        raise RuntimeError("boom")

    normalizer = pipeline.normalize.normalizer
    monkeypatch.setattr(pipeline.normalize, "normalizer", Normalizer(
        normalizer.pseudonymize, normalizer.limits, {**FORMATS, "test-crash": crash}))
    dl = normalize(pipeline, b"{}", fmt="test-crash", ingested=INGESTED, now=NOW)
    assert isinstance(dl, DeadLetter)
    assert dl.reason == "internal_error" and "RuntimeError" in dl.detail
    assert base64.b64decode(dl.value_b64) == b"{}" and dl.key_b64 is None
    validator("posts.dlq").validate(json.loads(dl.dumps()))


# -- Pipeline.process: one batch of mixed inputs ------------------------------------
BAD = b'{"platform": "reddit", "text": "cut \xc3\xa9'
PARTITION = 3


def mixed_batch(author_id: str) -> list[Input]:
    """PAYLOADS[0] (a toxic post: a moderation incident for its author), a malformed
    payload, and on-call acknowledging the post's incident."""
    ack = IncidentAction(dedup_key=f"moderation:reddit:r/acmegames:{author_id}",
                         community="r/acmegames", action="acknowledge", actor="oncall-sam",
                         time="2026-11-02T08:05:00Z")
    return [raw_input(PAYLOADS[0], community="r/acmegames", ingested=INGESTED,
                      partition=PARTITION, offset=10),
            raw_input(BAD, community="r/acmegames", ingested=INGESTED, partition=PARTITION,
                      offset=11),
            Input("incidents.actions", ack.dumps(), key=b"r/acmegames", partition=PARTITION,
                  offset=4)]


def test_process_scores_dead_letters_and_applies_the_action_in_order(scored):
    author = scored[0].post.author_id  # the pseudonym of PAYLOADS[0]'s author
    out = new_pipeline().process(mixed_batch(author), PipelineState())
    assert [(s.post.post_id, s.decision) for s in out.scored] == [("p1", "escalate")]
    validator("posts.scored").validate(json.loads(out.scored[0].dumps()))
    (dl,) = out.dead_letters
    validator("posts.dlq").validate(json.loads(dl.dumps()))
    assert dl.reason == "invalid_json" and base64.b64decode(dl.value_b64) == BAD
    assert (dl.source_partition, dl.source_offset) == (PARTITION, 11)
    assert [e.status for e in out.escalations] == ["triggered", "acknowledged"]
    assert {e.dedup_key for e in out.escalations} == {f"moderation:reddit:r/acmegames:{author}"}
    for e in out.escalations:
        validator("escalations").validate(json.loads(e.dumps()))
    # the trigger was caused by a post (its ingestion time); the acknowledgement was not
    assert out.escalation_ingested_at == [to_iso(INGESTED), None]
    assert out.invalid == []


def test_a_redelivered_batch_emits_no_escalation_again(scored):
    pipeline, state = new_pipeline(), PipelineState()
    inputs = mixed_batch(scored[0].post.author_id)
    first = pipeline.process(inputs, state)
    assert [e.status for e in first.escalations] == ["triggered", "acknowledged"]
    assert state.incidents.take_changed() == [(first.escalations[0].dedup_key, PARTITION)]
    again = pipeline.process(inputs, state)
    assert again.escalations == [] and again.scored == [] and len(again.duplicates) == 1
    assert state.incidents.take_changed() == []  # no incident changed: nothing to write
    # after a restart the dedup window is gone (soft state), the incidents are not: the
    # post is scored again, and the ledger's source ids keep it from escalating twice
    restarted = new_pipeline().process(inputs, state)
    assert [s.post.post_id for s in restarted.scored] == ["p1"]
    assert restarted.escalations == []
    assert state.incidents.take_changed() == []
