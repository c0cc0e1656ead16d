"""On-call acts on incidents, and a broken feed is an incident, through the real broker:
``vigil incident ack`` turns an open incident into one ``acknowledged`` message (and a
PagerDuty acknowledge), a second ack changes nothing, ``vigil incident resolve`` closes
it; a community whose raw posts turn into dead letters raises one ``pipeline`` incident
that resolves once its posts get through again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jsonschema
import pytest

from streams.schemas import schema_for
from tests.conftest import REPO, Recorder, produce, start_worker, stop_worker
from tests.test_notify_integration import escalations_for, stop, toxic_burst

pytestmark = pytest.mark.integration


def incident_cli(broker, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "agents.cli", "incident", *args, "--broker", broker.url],
                   cwd=REPO, check=True, timeout=60, capture_output=True)


def test_acknowledge_and_resolve_an_incident_by_hand(broker, tmp_path):
    worker = start_worker(broker, tmp_path, VIGIL_INCIDENT_QUIET_S="86400")
    recorder = Recorder()
    routes = tmp_path / "routes.toml"
    routes.write_text(f'[[routes]]\nname = "pd"\nsink = "pagerduty"\ntypes = ["moderation"]\n'
                      f'statuses = ["triggered", "acknowledged", "resolved"]\n[routes.settings]\n'
                      f'routing_key_env = "TEST_PD_KEY"\nurl = "{recorder.url}/pd"\n')
    notifier = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "notify", "--routes", str(routes), "--metrics-port", "0"],
        env={**os.environ, "VIGIL_BROKER": broker.url, "TEST_PD_KEY": "pd-key"}, cwd=REPO,
        stdout=(tmp_path / "notify.log").open("wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    try:
        produce(broker.bootstrap, toxic_burst("heckler", "r/gamma", 0)[:2])
        first = escalations_for(broker, "r/gamma", lambda es: len(es) >= 2)
        key = first[0]["dedup_key"]
        assert [e["status"] for e in first] == ["triggered", "updated"]

        incident_cli(broker, "ack", key, "--community", "r/gamma", "--by", "sam", "--note", "on it")
        acked = escalations_for(broker, "r/gamma", lambda es: len(es) >= 3)
        ack = acked[2]
        assert ack["status"] == "acknowledged" and ack["dedup_key"] == key
        assert ack["evidence"]["acknowledged_by"] == "sam" and "on it" in ack["summary"]
        assert ack["occurrence_count"] == 2

        # acknowledged twice: nothing new; a further offence still updates the incident
        incident_cli(broker, "ack", key, "--community", "r/gamma", "--by", "alex")
        produce(broker.bootstrap, toxic_burst("heckler", "r/gamma", 100)[2:3])
        later = escalations_for(broker, "r/gamma", lambda es: len(es) >= 4)
        assert [e["status"] for e in later[3:]] == ["updated"]

        incident_cli(broker, "resolve", key, "--community", "r/gamma", "--by", "sam")
        done = escalations_for(broker, "r/gamma", lambda es: len(es) >= 5)
        time.sleep(2)  # a stray second acknowledge would have arrived by now
        done = escalations_for(broker, "r/gamma", lambda es: len(es) >= 5)
        assert [e["status"] for e in done] == ["triggered", "updated", "acknowledged",
                                               "updated", "resolved"]
        assert done[-1]["evidence"]["resolved_by"] == "sam"
        assert len({e["id"] for e in done}) == 5
        validator = jsonschema.Draft202012Validator(schema_for("escalations"))
        for e in done:
            validator.validate(e)

        # PagerDuty saw trigger, acknowledge, resolve on the one dedup_key
        recorder.wait(lambda: len(recorder.accepted("/pd")) >= 3)
        pd = [json.loads(r["body"]) for r in recorder.accepted("/pd")]
        assert [b["event_action"] for b in pd] == ["trigger", "acknowledge", "resolve"]
        assert {b["dedup_key"] for b in pd} == {key}
    finally:
        stop(notifier)
        stop_worker(worker)
        recorder.server.shutdown()


def test_a_feed_turning_into_dead_letters_is_one_pipeline_incident(broker, tmp_path):
    worker = start_worker(broker, tmp_path, VIGIL_FEED_HEALTH_WINDOW_S="3",
                          VIGIL_FEED_HEALTH_MIN_DEAD="5")
    headers = {"vigil-platform": "discourse"}
    bad = [(b"forum/support", b'{"platform": "discourse", "id": "' + str(i).encode() + b'", tru',
            headers) for i in range(8)]

    def good(start: int, n: int) -> list:
        return [(b"forum/support", json.dumps({
            "platform": "discourse", "community": "forum/support", "id": f"ok-{start + i}",
            "author": "a", "text": "the update works fine", "created_at": 1793606400 + start + i,
        }).encode(), headers) for i in range(n)]

    try:
        produce(broker.bootstrap, good(0, 2) + bad)
        failing = escalations_for(broker, "pipeline:", lambda es: len(es) >= 1)
        assert len(failing) == 1
        inc = failing[0]
        assert inc["type"] == "pipeline" and inc["status"] == "triggered"
        assert inc["dedup_key"] == "pipeline:discourse:forum/support:dead_letters"
        assert inc["community"] == "forum/support" and inc["severity"] == "high"
        assert inc["evidence"]["reasons"] == {"invalid_json": 5}
        jsonschema.Draft202012Validator(schema_for("escalations")).validate(inc)

        time.sleep(3.5)  # the window closes; a clean one follows...
        produce(broker.bootstrap, good(100, 6))
        time.sleep(3.5)
        produce(broker.bootstrap, good(200, 1))  # ...and closes
        both = escalations_for(broker, "pipeline:", lambda es: len(es) >= 2)
        time.sleep(1)
        both = escalations_for(broker, "pipeline:", lambda es: len(es) >= 2)
        assert [e["status"] for e in both] == ["triggered", "resolved"]
        assert both[1]["evidence"]["dead_lettered"] == 0
    finally:
        stop_worker(worker)
