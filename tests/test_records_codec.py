"""The Kafka codec of streams.records: round trips, the exact bytes the Faust records
wrote (captured from the Faust implementation before records became dataclasses),
rejection of malformed payloads, and that importing the records needs no Kafka stack."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streams import records
from streams.records import (RECORD_TYPES, DeadLetter, Escalation, IncidentAction,
                             ModerationFeedback, Post, ScoredPost, TrendSignal)

ROOT = Path(__file__).resolve().parents[1]

TEXT = 'Ça marche — très bien! 👍 "quoted" \\ back\nnewline'


def _records() -> dict[str, records.VigilRecord]:
    post = Post(platform="reddit", community="r/acmegames", post_id="p1", author_id="a1b2",
                text=TEXT, created_at="2026-01-02T03:04:05Z",
                ingested_at="2026-01-02T03:04:06Z", thread_id="t1",
                meta={"score": 3, "roles": ["mod"]})
    return {
        "post": post,
        "post_min": Post(platform="x", community="c", post_id="p2", author_id="a", text="hi",
                         created_at="2026-01-01T00:00:00Z", ingested_at="2026-01-01T00:00:01Z"),
        "sp": ScoredPost(post=post, toxicity=0.1234, sentiment=-0.5, model_version="m1",
                         decision="none", scored_at="2026-01-02T03:04:07Z",
                         categories={"insult": 0.25}, explanation=["x p=0.97"], terms=["dumb"],
                         threshold=0.8, severe=[], exempt=True, topic_id="T1",
                         topic_label="ünïcode"),
        "ts": TrendSignal(trend_id="tr1", community="c", platform="x", topic_id="T",
                          topic_label="L", kind="threat", severity="high", state="rising",
                          window_start="2026-01-01T00:00:00Z",
                          window_end="2026-01-01T00:05:00Z", volume=12, baseline=1.5,
                          zscore=3.0, growth_rate=2.25, sentiment=-0.1, toxicity_share=0.0,
                          first_seen="2026-01-01T00:00:00Z", emitted_at="2026-01-01T00:05:00Z",
                          top_terms=["outage"], exemplar_post_ids=["p1"],
                          exemplars=["down again"], confidence=0.9, reasons=["r"]),
        "esc": Escalation(id="k#1", dedup_key="k", type="trend", severity="high",
                          status="triggered", community="c", platform="x", title="T",
                          summary="S", recommended_action="A", runbook_url="https://r/",
                          first_seen="2026-01-01T00:00:00Z", last_seen="2026-01-01T00:00:00Z",
                          occurrence_count=1, created_at="2026-01-01T00:00:00Z",
                          evidence={"post_ids": ["p1"], "n": 1.0, "nested": {"a": None}}),
        "dl": DeadLetter(reason="invalid_json", detail="d", source_topic="posts.raw",
                         source_partition=0, source_offset=42, value_b64="e2Jyb2tlbg==",
                         failed_at="2026-01-01T00:00:00Z", headers={"vigil-platform": "reddit"}),
        "ia": IncidentAction(dedup_key="k", community="c", action="resolve", actor="oncall",
                             time="2026-01-01T00:00:00Z"),
        "mf": ModerationFeedback(post_id="p1", community="c", label="toxic", action="remove",
                                 moderator_id="m", time="2026-01-01T00:00:00Z", text="naïve"),
    }


#: What faust.Record (include_metadata=False, serializer="json") wrote for the records
#: above: compact separators, declaration order, ASCII with \u escapes, no __faust key.
FAUST_BYTES = {
    'post': (
        b'{"platform":"reddit","community":"r/acmegames","post_id":"p1","author_id":"a1b2",'
        b'"text":"\\u00c7a marche \\u2014 tr\\u00e8s bien! '
        b'\\ud83d\\udc4d \\"quoted\\" \\\\ back\\nnewline",'
        b'"created_at":"2026-01-02T03:04:05Z","ingested_at":"2026-01-02T03:04:06Z",'
        b'"thread_id":"t1","parent_id":null,"lang":null,"url":null,"meta":{"score":3,'
        b'"roles":["mod"]},"schema_version":1}'),
    'post_min': (
        b'{"platform":"x","community":"c","post_id":"p2","author_id":"a","text":"hi",'
        b'"created_at":"2026-01-01T00:00:00Z","ingested_at":"2026-01-01T00:00:01Z",'
        b'"thread_id":null,"parent_id":null,"lang":null,"url":null,"meta":{},'
        b'"schema_version":1}'),
    'sp': (
        b'{"post":{"platform":"reddit","community":"r/acmegames","post_id":"p1",'
        b'"author_id":"a1b2",'
        b'"text":"\\u00c7a marche \\u2014 tr\\u00e8s bien! '
        b'\\ud83d\\udc4d \\"quoted\\" \\\\ back\\nnewline",'
        b'"created_at":"2026-01-02T03:04:05Z","ingested_at":"2026-01-02T03:04:06Z",'
        b'"thread_id":"t1","parent_id":null,"lang":null,"url":null,"meta":{"score":3,'
        b'"roles":["mod"]},"schema_version":1},"toxicity":0.1234,"sentiment":-0.5,'
        b'"model_version":"m1","decision":"none","scored_at":"2026-01-02T03:04:07Z",'
        b'"categories":{"insult":0.25},"explanation":["x p=0.97"],"terms":["dumb"],'
        b'"threshold":0.8,"severe":[],"exempt":true,"topic_id":"T1",'
        # issue 20 added lang and lang_supported (defaults), before schema_version
        b'"topic_label":"\\u00fcn\\u00efcode","lang":null,"lang_supported":true,'
        b'"schema_version":1}'),
    'ts': (
        b'{"trend_id":"tr1","community":"c","platform":"x","topic_id":"T","topic_label":"L",'
        b'"kind":"threat","severity":"high","state":"rising",'
        b'"window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:05:00Z",'
        b'"volume":12,"baseline":1.5,"zscore":3.0,"growth_rate":2.25,"sentiment":-0.1,'
        b'"toxicity_share":0.0,"first_seen":"2026-01-01T00:00:00Z",'
        b'"emitted_at":"2026-01-01T00:05:00Z","top_terms":["outage"],'
        b'"exemplar_post_ids":["p1"],"exemplars":["down again"],"category":null,'
        b'"confidence":0.9,"reasons":["r"],"trigger_post_id":null,"trigger_ingested_at":null,'
        b'"schema_version":1}'),
    'esc': (
        b'{"id":"k#1","dedup_key":"k","type":"trend","severity":"high","status":"triggered",'
        b'"community":"c","platform":"x","title":"T","summary":"S","recommended_action":"A",'
        b'"runbook_url":"https://r/","first_seen":"2026-01-01T00:00:00Z",'
        b'"last_seen":"2026-01-01T00:00:00Z","occurrence_count":1,'
        b'"created_at":"2026-01-01T00:00:00Z","evidence":{"post_ids":["p1"],"n":1.0,'
        b'"nested":{"a":null}},"schema_version":1}'),
    'dl': (
        b'{"reason":"invalid_json","detail":"d","source_topic":"posts.raw",'
        b'"source_partition":0,"source_offset":42,"value_b64":"e2Jyb2tlbg==",'
        b'"failed_at":"2026-01-01T00:00:00Z","key_b64":null,'
        b'"headers":{"vigil-platform":"reddit"},"schema_version":1}'),
    'ia': (
        b'{"dedup_key":"k","community":"c","action":"resolve","actor":"oncall",'
        # issue 16 added source and idempotency_key (defaults), before schema_version
        b'"time":"2026-01-01T00:00:00Z","note":"","source":"unknown","idempotency_key":null,'
        b'"schema_version":1}'),
    'mf': (
        b'{"post_id":"p1","community":"c","label":"toxic","action":"remove",'
        b'"moderator_id":"m","time":"2026-01-01T00:00:00Z","category":null,"trend_id":null,'
        # issue 16 added source and idempotency_key (defaults), before schema_version
        b'"text":"na\\u00efve","source":"unknown","idempotency_key":null,"schema_version":1}'),

}


@pytest.mark.parametrize("name", sorted(FAUST_BYTES))
def test_dumps_is_byte_for_byte_what_faust_wrote(name):
    assert _records()[name].dumps() == FAUST_BYTES[name]


def test_free_form_values_are_encoded_as_faust_did():
    ev = {"ids": ("p1", "p2"), "tags": {"x"},
          "at": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc),
          "day": dt.date(2026, 1, 2), "amount": decimal.Decimal("1.10"),
          "uid": uuid.UUID(int=5), "ratio": 0.1 + 0.2, "big": 1e16, 3: "int key"}
    esc = dataclasses.replace(_records()["esc"], evidence=ev)
    assert esc.dumps().endswith(
        b'"evidence":{"ids":["p1","p2"],"tags":["x"],"at":"2026-01-02T03:04:05.123456Z",'
        b'"day":"2026-01-02T00:00:00","amount":"1.10",'
        b'"uid":"00000000-0000-0000-0000-000000000005","ratio":0.30000000000000004,'
        b'"big":1e+16,"3":"int key"},"schema_version":1}')
    with pytest.raises(TypeError):
        dataclasses.replace(esc, evidence={"x": object()}).dumps()


def test_every_record_type_round_trips():
    recs = _records()
    assert {type(r) for r in recs.values()} == set(RECORD_TYPES.values())
    for rec in recs.values():
        data = rec.dumps()
        assert isinstance(data, bytes)
        back = type(rec).loads(data)
        assert back == rec and type(back) is type(rec)
        assert type(rec).loads(data.decode("utf-8")) == rec
        assert back.asdict() == json.loads(data)


def test_scored_post_rebuilds_its_nested_post():
    sp = _records()["sp"]
    back = ScoredPost.loads(sp.dumps())
    assert isinstance(back.post, Post) and back.post == sp.post
    assert back.post.text == TEXT and back.topic_label == "ünïcode"
    # non-ASCII straight in UTF-8 (another producer) reads the same
    raw = json.dumps(sp.asdict(), ensure_ascii=False).encode("utf-8")
    assert ScoredPost.loads(raw) == sp


def test_asdict_is_field_order_with_nested_records_as_dicts():
    sp = _records()["sp"]
    d = sp.asdict()
    assert list(d) == [f.name for f in dataclasses.fields(ScoredPost)]
    assert d["post"] == sp.post.asdict() and isinstance(d["post"], dict)
    assert list(d["post"]) == [f.name for f in dataclasses.fields(Post)]


def test_defaults_are_the_old_ones_and_not_shared():
    a, b = Post(**_MIN), Post(**_MIN)
    assert (a.thread_id, a.parent_id, a.lang, a.url, a.meta, a.schema_version) == (
        None, None, None, None, {}, records.SCHEMA_VERSION)
    a.meta["k"] = 1
    assert b.meta == {}
    ia = IncidentAction(dedup_key="k", community="c", action="resolve", actor="x", time="t")
    assert ia.note == "" and ia.schema_version == 1


_MIN = dict(platform="x", community="c", post_id="p", author_id="a", text="t",
            created_at="2026-01-01T00:00:00Z", ingested_at="2026-01-01T00:00:00Z")


@pytest.mark.parametrize("cls, data, message", [
    (ModerationFeedback, b"[1, 2]", "expected a JSON object, got array"),
    (ModerationFeedback, b'"text"', "expected a JSON object, got string"),
    (ModerationFeedback, b"null", "expected a JSON object, got null"),
    (ModerationFeedback, b"42", "expected a JSON object, got integer"),
    (ModerationFeedback, b"{broken", "not valid JSON"),
    (ModerationFeedback, b"", "not valid JSON"),
    (ModerationFeedback, b"\xff\xfe{}", "not UTF-8"),
    (ModerationFeedback, None, "no payload"),
    (ModerationFeedback, b'{"post_id": "p1", "community": "c"}',
     "missing required field(s): label, action, moderator_id, time"),
    (IncidentAction, b'{"dedup_key": "k", "community": "c", "action": "resolve"}',
     "missing required field(s): actor, time"),
    (ScoredPost, b'{"post": [], "toxicity": 0, "sentiment": 0, "model_version": "m", '
                 b'"decision": "none", "scored_at": "t"}',
     "ScoredPost.post: expected a JSON object"),
    (ScoredPost, b'{"post": null, "toxicity": 0, "sentiment": 0, "model_version": "m", '
                 b'"decision": "none", "scored_at": "t"}',
     "ScoredPost.post: expected a JSON object"),
    (ScoredPost, b'{"post": {"platform": "x"}, "toxicity": 0, "sentiment": 0, '
                 b'"model_version": "m", "decision": "none", "scored_at": "t"}',
     "ScoredPost.post: missing required field(s): community, post_id"),
])
def test_malformed_payloads_raise_value_error(cls, data, message):
    with pytest.raises(ValueError) as err:
        cls.loads(data)
    assert message in str(err.value)
    assert str(err.value).startswith(cls.__name__)


def test_loads_takes_bytes_or_str_only():
    with pytest.raises(TypeError):
        IncidentAction.loads(42)


def test_unknown_keys_are_ignored():
    mf = _records()["mf"]
    newer = {**json.loads(mf.dumps()), "reviewed_by": "m2", "__faust": {"ns": "x"}}
    back = ModerationFeedback.loads(json.dumps(newer))
    assert back == mf and not hasattr(back, "reviewed_by")
    assert back.dumps() == mf.dumps()
    sp = _records()["sp"]
    d = sp.asdict()
    d["post"]["platform_extra"] = 1
    d["future_score"] = 0.5
    assert ScoredPost.loads(json.dumps(d)) == sp


def test_optional_fields_may_be_absent():
    back = ModerationFeedback.loads(b'{"post_id": "p", "community": "c", "label": "toxic", '
                                    b'"action": "none", "moderator_id": "m", "time": "t"}')
    assert (back.category, back.trend_id, back.text, back.schema_version) == (
        None, None, None, records.SCHEMA_VERSION)


def test_record_types_names_every_record_the_topics_use():
    from streams.topology import TOPICS
    assert all(RECORD_TYPES[name].__name__ == name for name in RECORD_TYPES)
    assert {t.record for t in TOPICS if t.record != "bytes"} <= set(RECORD_TYPES)
    assert all(dataclasses.is_dataclass(cls) for cls in RECORD_TYPES.values())


BLOCKED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("faust", "mode", "aiokafka", "kafka"):
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
for name in ("faust", "mode", "aiokafka", "kafka"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"the blocker let {name} through")
import streams.records as r
assert r.__file__.startswith(sys.argv[1]), r.__file__
ia = r.IncidentAction.loads(r.IncidentAction(dedup_key="k", community="c", action="resolve",
                                             actor="x", time="t").dumps())
print("ok", sorted(r.RECORD_TYPES), sorted(m for m in sys.modules if m.split(".")[0] in
                                             ("faust", "mode", "aiokafka", "kafka")))
"""


def test_records_import_without_faust_or_kafka():
    done = subprocess.run([sys.executable, "-c", BLOCKED, str(ROOT)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ") and done.stdout.rstrip().endswith("[]")
