"""Moderator feedback through the real broker changes later decisions for that
community, survives a restart through the checkpoint, and leaves others alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import as_json, produce, read_topic, start_worker, stop_worker, total
from tests.test_text_process import _children

pytestmark = pytest.mark.integration

T0 = 1793606400
BANTER = ["that riff is fucking brutal", "this drummer is a fucking beast",
          "holy shit that breakdown", "fucking sick solo at 3:20", "damn this album slaps hard",
          "the bass tone is fucking filthy", "that scream was insane as hell",
          "fucking legendary set last night", "this mix is heavy as shit",
          "goddamn what a closing track"]


def post(pid: str, community: str, text: str, t: int) -> tuple[bytes, bytes, dict]:
    body = {"platform": "reddit", "community": community, "id": pid, "author": f"fan-{pid}",
            "text": text, "created_at": T0 + t}
    return community.encode(), json.dumps(body).encode(), {"vigil-platform": "reddit"}


def feedback(pid: str, community: str, label: str) -> tuple[bytes, bytes, dict]:
    body = {"post_id": pid, "community": community, "label": label, "action": "none",
            "moderator_id": "m_1", "time": "2026-11-02T09:00:00Z"}
    return community.encode(), json.dumps(body).encode(), {}


def scored_by_id(bootstrap: str, ids: set[str]) -> dict:
    msgs = read_topic(bootstrap, "posts.scored",
                      until=lambda ms: ids <= {as_json(m)["post"]["post_id"] for m in ms},
                      timeout_s=90)
    return {as_json(m)["post"]["post_id"]: as_json(m) for m in msgs}


def test_feedback_changes_later_decisions_for_that_community_only(broker, tmp_path):
    worker = start_worker(broker, tmp_path)
    try:
        # 1. A metal community's banter is flagged at first: the lexical prior hates it.
        rounds = [(f"m{r}-{i}", text) for r in range(3) for i, text in enumerate(BANTER)]
        produce(broker.bootstrap, [post(pid, "r/metal", text, k) for k, (pid, text) in enumerate(rounds)])
        first = scored_by_id(broker.bootstrap, {pid for pid, _ in rounds})
        flagged = [pid for pid, _ in rounds if first[pid]["decision"] == "escalate"]
        assert len(flagged) >= len(rounds) // 2

        # 2. Its moderators say: not toxic, here.
        produce(broker.bootstrap, [feedback(pid, "r/metal", "not_toxic") for pid, _ in rounds],
                topic="moderation.feedback")
        m = worker.wait_for(lambda m: total(m, "vigil_feedback_labels_total", outcome="learned")
                            >= len(rounds))
        assert total(m, "vigil_toxicity_labels_learned") >= len(rounds)

        # 3. New banter in r/metal now passes; the same words in another community do not.
        later = [post(f"late-{i}", "r/metal", text, 1000 + i) for i, text in enumerate(BANTER[:5])]
        control = [post(f"ctl-{i}", "r/chess", text, 1000 + i) for i, text in enumerate(BANTER[:5])]
        produce(broker.bootstrap, later + control)
        after = scored_by_id(broker.bootstrap, {f"late-{i}" for i in range(5)}
                             | {f"ctl-{i}" for i in range(5)})
        metal_flags = sum(after[f"late-{i}"]["decision"] != "none" for i in range(5))
        chess_flags = sum(after[f"ctl-{i}"]["decision"] != "none" for i in range(5))
        assert metal_flags < chess_flags
        assert metal_flags <= 1
        # With MiniLM the worker reads texts in its inference thread (by default): no child.
        assert not [c for c in _children(worker.proc.pid)
                    if b"agents.text_process" in Path(f"/proc/{c}/cmdline").read_bytes()]
    finally:
        stop_worker(worker)

    # 4. The learnt state was checkpointed with the feedback offsets it reflects ...
    ckpt = tmp_path / "data" / "models" / "toxicity.ckpt"
    assert ckpt.is_file()
    # So were the online topics (saved at shutdown; the score stage owns them).
    topics = json.loads((tmp_path / "data" / "models" / "topics.json").read_text())
    assert {"r/metal", "r/chess"} <= set(topics["communities"])
    # ... and a restarted worker restores it before it scores anything: the same banter,
    # waiting on the broker when it starts, still passes in r/metal.
    produce(broker.bootstrap, [post("again-0", "r/metal", BANTER[0], 2000),
                               post("again-1", "r/chess", BANTER[0], 2000)])
    worker = start_worker(broker, tmp_path)
    try:
        again = scored_by_id(broker.bootstrap, {"again-0", "again-1"})
        assert again["again-0"]["decision"] == "none"
        assert again["again-1"]["decision"] != "none"
        log = worker.log_path.read_text()
        assert "checkpoint_restored" in log
        # the restored topics go on: the same text joins the topic it joined before
        assert "topics_restored" in log
        assert again["again-0"]["topic_id"] == after["late-0"]["topic_id"]
    finally:
        stop_worker(worker)


def _learned_at(log_path, post_id: str):
    """The worker's own clock when it learnt the label for ``post_id`` (its JSON log)."""
    from datetime import datetime

    for line in log_path.read_text(errors="replace").splitlines():
        if '"feedback"' in line and post_id in line:
            entry = json.loads(line)
            if entry.get("event") == "feedback" and entry.get("post_id") == post_id:
                return datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
    return None


def test_a_label_changes_the_next_score_in_that_community(broker, tmp_path, record_property):
    """One label, learnt by a live worker, changes the very next post's score in that
    community. The time from producing the label to the worker having learnt it
    (``label_to_learned_s``, worker's log clock) and to the first probe post scored with
    it (``label_to_changed_score_s``, which adds the probe's own raw -> scored trip) are
    recorded in the JUnit properties and printed, not asserted: tests do not time."""
    import time

    worker = start_worker(broker, tmp_path)
    try:
        taught = [(f"t-{i}", text) for i, text in enumerate(BANTER * 2)]
        produce(broker.bootstrap, [post(pid, "r/doom", text, i) for i, (pid, text) in enumerate(taught)])
        scored_by_id(broker.bootstrap, {pid for pid, _ in taught})
        # the community's moderators have said "fine here" often enough to be trusted a bit
        produce(broker.bootstrap, [feedback(pid, "r/doom", "not_toxic") for pid, _ in taught[:-1]],
                topic="moderation.feedback")
        worker.wait_for(lambda m: total(m, "vigil_feedback_labels_total", outcome="learned")
                        >= len(taught) - 1)
        produce(broker.bootstrap, [post("probe-0", "r/doom", BANTER[0], 100)])
        baseline = scored_by_id(broker.bootstrap, {"probe-0"})["probe-0"]["toxicity"]

        # one more label: the next post in r/doom scores differently
        last = taught[-1][0]
        sent = time.time()
        produce(broker.bootstrap, [feedback(last, "r/doom", "not_toxic")], topic="moderation.feedback")
        learned_at = None
        while learned_at is None and time.time() - sent < 60:
            learned_at = _learned_at(worker.log_path, last)
            time.sleep(0.02)
        assert learned_at is not None, worker.log_tail()
        produce(broker.bootstrap, [post("probe-1", "r/doom", BANTER[0], 101)])
        probe = scored_by_id(broker.bootstrap, {"probe-1"})["probe-1"]
        changed_at = time.time()
        assert probe["toxicity"] < baseline, (probe["toxicity"], baseline)
        # ... and only there: the same text elsewhere keeps the shipped score
        produce(broker.bootstrap, [post("ctl-0", "r/chess", BANTER[0], 102)])
        assert scored_by_id(broker.bootstrap, {"ctl-0"})["ctl-0"]["toxicity"] > probe["toxicity"]
        record_property("label_to_learned_s", round(learned_at - sent, 3))
        record_property("label_to_changed_score_s", round(changed_at - sent, 3))
        print(f"label_to_learned_s={learned_at - sent:.3f} "
              f"label_to_changed_score_s={changed_at - sent:.3f}")
    finally:
        stop_worker(worker)
