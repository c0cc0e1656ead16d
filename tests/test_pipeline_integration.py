"""Posts through a real worker on a real broker: posts.raw -> scored / dlq / escalations."""

from __future__ import annotations

import base64
import json

import jsonschema
import pytest

from streams.schemas import schema_for
from tests.conftest import as_json, produce, read_topic, total

pytestmark = pytest.mark.integration

T0 = 1793606400  # 2026-11-02T08:00:00Z
COMMUNITIES = [("reddit", "r/alpha"), ("reddit", "r/beta"), ("discord", "guild/#chat")]
CLEAN = ["anyone up for a raid tonight?", "the new patch notes look good",
         "how do I change my keybinds", "great match everyone, gg"]
TOXIC = ["shut up you fucking idiot", "you are a worthless piece of shit",
         "fuck off, nobody wants your garbage opinions you moron"]


def post(i: int, platform: str, community: str, text: str, author: str = "someone") -> dict:
    return {"platform": platform, "community": community, "id": f"it-{i}", "author": author,
            "text": text, "created_at": T0 + i * 10, "lang": "en", "meta": {"n": i}}


def encode(obj) -> bytes:
    return json.dumps(obj).encode()


VALID = [post(i, *COMMUNITIES[i % 3], CLEAN[i % 4], author=f"user{i % 5}") for i in range(27)]
VALID += [post(100 + i, "reddit", "r/alpha", TOXIC[i], author="Real Name Troll") for i in range(3)]
MALFORMED = {
    "invalid_json": b'{"platform": "reddit", "community": "r/alpha", "id": "bad-1", "text": "tr',
    "missing_field": encode({"platform": "reddit", "community": "r/alpha", "id": "bad-2",
                             "created_at": T0}),
    "wrong_type": encode({"platform": "reddit", "community": "r/alpha", "id": "bad-3",
                          "text": ["not", "a", "string"], "created_at": T0}),
    "bad_timestamp": encode({"platform": "reddit", "community": "r/alpha", "id": "bad-4",
                             "text": "hello", "created_at": "last tuesday"}),
    "payload_too_large": encode({"platform": "reddit", "community": "r/alpha", "id": "bad-5",
                                 "text": "x" * 70_000, "created_at": T0}),
    "not_an_object": b'["a", "list"]',
}
HEADERS = {"vigil-format": "vigil", "vigil-connector": "test/1"}


@pytest.fixture(scope="module")
def pipeline_run(broker, worker):
    items = [(p["community"].encode(), encode(p), {**HEADERS, "vigil-platform": p["platform"]})
             for p in VALID]
    items.append((b"r/alpha", encode(VALID[0]), {**HEADERS, "vigil-platform": "reddit"}))  # dup
    items += [(b"r/alpha", raw, {**HEADERS, "vigil-platform": "reddit"})
              for raw in MALFORMED.values()]
    produce(broker.bootstrap, items)
    metrics = worker.wait_for(
        lambda m: total(m, "vigil_posts_scored_total") >= len(VALID)
        and total(m, "vigil_posts_dead_lettered_total") >= len(MALFORMED)
        and total(m, "vigil_escalations_total") >= 3)
    return {"items": items, "metrics": metrics}


def test_valid_posts_reach_posts_scored_once_each(broker, pipeline_run):
    scored = read_topic(broker.bootstrap, "posts.scored",
                        until=lambda ms: len(ms) >= len(VALID), timeout_s=30)
    ids = [as_json(m)["post"]["post_id"] for m in scored]
    assert sorted(ids) == sorted(p["id"] for p in VALID)  # the duplicate was dropped
    validator = jsonschema.Draft202012Validator(schema_for("posts.scored"),
                                                format_checker=jsonschema.FormatChecker())
    for m in scored:
        record = as_json(m)
        validator.validate(record)
        assert m.key.decode() == record["post"]["community"]  # keyed by community
    toxic = {as_json(m)["post"]["post_id"] for m in scored if as_json(m)["decision"] == "escalate"}
    assert toxic == {f"it-{100 + i}" for i in range(3)}


def test_scored_posts_carry_their_online_topic(broker, pipeline_run):
    """The worker embeds (the default), so every post joins a topic of its community;
    the same text in the same community is the same topic."""
    scored = [as_json(m) for m in read_topic(broker.bootstrap, "posts.scored",
                                             until=lambda ms: len(ms) >= len(VALID),
                                             timeout_s=30)]
    assert all(r["topic_id"] and r["topic_label"] for r in scored)
    by_text: dict = {}
    for r in scored:
        by_text.setdefault((r["post"]["community"], r["post"]["text"]), set()).add(r["topic_id"])
    assert all(len(ids) == 1 for ids in by_text.values())
    # four unrelated clean texts are not all one topic in a community
    alpha = {r["topic_id"] for r in scored if r["post"]["community"] == "r/alpha"}
    assert len(alpha) >= 2


def test_authors_never_leave_normalisation_in_clear(broker, pipeline_run):
    scored = read_topic(broker.bootstrap, "posts.scored",
                        until=lambda ms: len(ms) >= len(VALID), timeout_s=30)
    for m in scored:
        assert b"Real Name Troll" not in m.value and b'"user1"' not in m.value


def test_malformed_payloads_reach_dlq_with_reason_and_original_bytes(broker, pipeline_run):
    dead = read_topic(broker.bootstrap, "posts.dlq",
                      until=lambda ms: len(ms) >= len(MALFORMED), timeout_s=30)
    by_reason = {as_json(m)["reason"]: as_json(m) for m in dead}
    assert set(by_reason) == set(MALFORMED)
    validator = jsonschema.Draft202012Validator(schema_for("posts.dlq"),
                                                format_checker=jsonschema.FormatChecker())
    for reason, original in MALFORMED.items():
        record = by_reason[reason]
        validator.validate(record)
        assert base64.b64decode(record["value_b64"]) == original
        assert record["source_topic"] == "posts.raw" and record["source_offset"] >= 0
        assert record["headers"]["vigil-connector"] == "test/1"
        assert record["detail"]


def test_metrics_count_what_happened(worker, pipeline_run):
    m = worker.metrics()
    assert total(m, "vigil_posts_ingested_total") == len(pipeline_run["items"])
    assert total(m, "vigil_posts_normalized_total") == len(VALID)
    assert total(m, "vigil_posts_duplicate_total") == 1
    for reason in MALFORMED:
        assert total(m, "vigil_posts_dead_lettered_total", reason=reason) == 1
    assert total(m, "vigil_posts_scored_total", decision="escalate") == 3
    assert total(m, "vigil_posts_scored_total") == len(VALID)
    assert total(m, "vigil_stage_duration_seconds_count", stage="score") >= 1
    assert total(m, "vigil_ingest_to_escalation_seconds_count") >= 1


def test_repeat_toxic_author_is_one_incident_with_updates(broker, pipeline_run):
    msgs = read_topic(broker.bootstrap, "escalations", until=lambda ms: len(ms) >= 3,
                      timeout_s=30)
    validator = jsonschema.Draft202012Validator(schema_for("escalations"),
                                                format_checker=jsonschema.FormatChecker())
    records = [as_json(m) for m in msgs]
    for m, r in zip(msgs, records):
        validator.validate(r)
        assert m.key.decode() == r["dedup_key"]
    assert [r["status"] for r in records] == ["triggered", "updated", "updated"]
    assert len({r["dedup_key"] for r in records}) == 1
    assert len({r["id"] for r in records}) == 3
    assert [r["occurrence_count"] for r in records] == [1, 2, 3]


def test_worker_logs_are_json_with_bound_context(worker, pipeline_run):
    events = [json.loads(line) for line in worker.log_path.read_text().splitlines()
              if line.startswith("{")]
    assert events, "no JSON log lines"
    dead = [e for e in events if e.get("event") == "dead_lettered"]
    assert {e["reason"] for e in dead} == set(MALFORMED)
    assert all("source_offset" in e and "timestamp" in e for e in dead)
    escalations = [e for e in events if e.get("event") == "escalation"]
    assert escalations and all(e.get("community") == "r/alpha" and e.get("post_id")
                               for e in escalations)
