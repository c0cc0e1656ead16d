"""A worker killed with SIGKILL and restarted loses no escalation, and any message it
repeats carries the same id as the original (consumers upsert on ``id``)."""

from __future__ import annotations

import json
import signal

import pytest

from tests.conftest import as_json, produce, read_topic, start_worker, stop_worker, total

pytestmark = pytest.mark.integration

T0 = 1793606400
TOXIC = "shut up you fucking idiot, {n}"


def toxic(i: int, author: str) -> tuple[bytes, bytes, dict]:
    post = {"platform": "reddit", "community": "r/restart", "id": f"rs-{i}", "author": author,
            "text": TOXIC.format(n=i), "created_at": T0 + i}
    return b"r/restart", json.dumps(post).encode(), {"vigil-platform": "reddit"}


def test_sigkill_and_restart_lose_no_escalation(broker, tmp_path):
    first = start_worker(broker, tmp_path)
    try:
        produce(broker.bootstrap, [toxic(i, f"author{i}") for i in range(5)])
        first.wait_for(lambda m: total(m, "vigil_escalations_total") >= 5)
    finally:
        first.proc.send_signal(signal.SIGKILL)  # no graceful commit, no flush
        first.proc.wait(10)
    # While it is down: five new authors and a second offence by author0.
    produce(broker.bootstrap, [toxic(i, f"author{i}") for i in range(5, 10)]
            + [toxic(10, "author0")])
    second = start_worker(broker, tmp_path)
    try:
        second.wait_for(lambda m: total(m, "vigil_posts_scored_total") >= 6)
        msgs = read_topic(broker.bootstrap, "escalations",
                          until=lambda ms: len({as_json(m)["id"] for m in ms}) >= 11,
                          timeout_s=60)
    finally:
        stop_worker(second)
    records = [as_json(m) for m in msgs]
    # Nothing lost: every author has an incident, and author0's second offence shows.
    keys = {r["dedup_key"] for r in records}
    assert keys == {f"moderation:reddit:r/restart:{a}" for a in
                    {r["evidence"]["author_id"] for r in records}}
    assert len(keys) == 10
    author0 = [r for r in records if "rs-10" in r["evidence"]["post_ids"]]
    assert author0 and author0[0]["status"] == "updated" and author0[0]["occurrence_count"] == 2
    # Repeats are allowed (at-least-once) but identical in id: one id per occurrence.
    by_occurrence: dict[tuple, set] = {}
    for r in records:
        by_occurrence.setdefault((r["dedup_key"], r["occurrence_count"], r["status"]),
                                 set()).add(r["id"])
    assert all(len(ids) == 1 for ids in by_occurrence.values())
    assert len({r["id"] for r in records}) == 11
