"""Escalations to notifiers through the real broker: a burst of toxic posts from one
author is one incident (trigger, updates, a resolve after the quiet period), PagerDuty
gets one trigger and one resolve despite a 503 and a 429, a signed webhook gets every
status, and an escalation produced while PagerDuty is down is delivered once after
the notifier restarts. The receivers are real local HTTP servers that record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from connectors.notifiers.webhook import verify
from models.eventtime import parse_event_time
from streams.broker import free_port
from streams.schemas import schema_for
from tests.conftest import (REPO, Recorder, as_json, produce, read_topic, start_worker,
                            stop_worker)

pytestmark = pytest.mark.integration

T0 = 1793606400  # 2026-11-02T08:00:00Z
SIGNING_KEY = "test-signing-key"
TOXIC = ["shut up you fucking idiot", "you are a worthless piece of shit",
         "fuck off, nobody wants your garbage opinions you moron",
         "you stupid fucking clown", "go away you pathetic moron"]


def start_notifier(broker, tmp_path: Path, recorder: Recorder) -> subprocess.Popen:
    routes = tmp_path / "routes.toml"
    routes.write_text(f"""
[[routes]]
name = "pd"
sink = "pagerduty"
types = ["moderation", "safety"]
statuses = ["triggered", "resolved"]
[routes.settings]
routing_key_env = "TEST_PD_KEY"
url = "{recorder.url}/pd"

[[routes]]
name = "hook"
sink = "webhook"
[routes.settings]
url = "{recorder.url}/hook"
signing_key_env = "TEST_HOOK_KEY"
""")
    env = {**os.environ, "VIGIL_BROKER": broker.url, "TEST_PD_KEY": "pd-routing-key-123",
           "TEST_HOOK_KEY": SIGNING_KEY, "VIGIL_LOG_FORMAT": "json"}
    log = (tmp_path / "notify.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "agents.cli", "notify", "--routes", str(routes),
                             "--metrics-port", "0"], env=env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def toxic_burst(author: str, community: str, start: int) -> list[tuple]:
    return [(community.encode(), json.dumps({
        "platform": "reddit", "community": community, "id": f"{author}-{i}", "author": author,
        "text": text, "created_at": T0 + start + i * 10}).encode(), {"vigil-platform": "reddit"})
        for i, text in enumerate(TOXIC)]


def escalations_for(broker, key_part: str, until) -> list[dict]:
    msgs = read_topic(broker.bootstrap, "escalations", timeout_s=90,
                      until=lambda ms: until([as_json(m) for m in ms
                                              if key_part in as_json(m)["dedup_key"]]))
    return [as_json(m) for m in msgs if key_part in as_json(m)["dedup_key"]]


def test_one_incident_one_page_with_retries_and_restart(broker, tmp_path):
    recorder = Recorder()
    # PagerDuty is flaky at first: a 503, then a 429 asking for a 1 s wait.
    recorder.script["/pd"] = [(503, {}), (429, {"Retry-After": "1"})]
    # posts 10 s apart (event time) stay one incident with a 15 s quiet period; after
    # the burst the worker's idle clock (every 1 s, no grace) lets it go quiet
    worker = start_worker(broker, tmp_path, VIGIL_EMBEDDINGS="false",
                          VIGIL_INCIDENT_QUIET_S="15", VIGIL_INCIDENT_SWEEP_INTERVAL_S="1",
                          VIGIL_IDLE_CLOCK_GRACE_S="0")
    notifier = start_notifier(broker, tmp_path, recorder)
    try:
        # 1. A burst of five toxic posts from one author: one incident, then quiet.
        produce(broker.bootstrap, toxic_burst("troll", "r/alpha", 0))
        incident = escalations_for(broker, "r/alpha",
                                   lambda es: any(e["status"] == "resolved" for e in es))
        statuses = [e["status"] for e in incident]
        assert statuses[0] == "triggered" and statuses[-1] == "resolved"
        assert set(statuses[1:-1]) <= {"updated"} and len(statuses) >= 3
        assert len({e["dedup_key"] for e in incident}) == 1
        assert len({e["id"] for e in incident}) == len(incident)  # no repeats
        validator = jsonschema.Draft202012Validator(schema_for("escalations"),
                                                    format_checker=jsonschema.FormatChecker())
        for e in incident:
            validator.validate(e)
        resolve = incident[-1]
        assert "resolved automatically" in resolve["summary"]
        # event time: resolved ≥ quiet period after the last occurrence
        assert parse_event_time(resolve["last_seen"]) - T0 - 40 >= 15

        # 2. PagerDuty: exactly one trigger and one resolve accepted, after the retries.
        recorder.wait(lambda: len(recorder.accepted("/pd")) >= 2)
        pd = [json.loads(r["body"]) for r in recorder.accepted("/pd")]
        assert [b["event_action"] for b in pd] == ["trigger", "resolve"]
        assert {b["dedup_key"] for b in pd} == {incident[0]["dedup_key"]}
        assert pd[0]["routing_key"] == "pd-routing-key-123"
        payload = pd[0]["payload"]
        assert payload["severity"] in ("critical", "error", "warning", "info")
        assert payload["component"] == "r/alpha" and payload["group"] == "reddit"
        assert payload["custom_details"]["recommended_action"]
        pd_all = [r for r in recorder.requests if r["path"] == "/pd"]
        assert [r["status"] for r in pd_all[:3]] == [503, 429, 202]
        assert pd_all[2]["t"] - pd_all[1]["t"] >= 1.0  # Retry-After honoured
        latency = pd_all[0]["t"] - parse_event_time(incident[0]["created_at"])
        print(f"\nescalation produced -> first PagerDuty attempt: {latency:.3f} s")

        # 3. The signed webhook got every status, each signature valid, in order.
        recorder.wait(lambda: len(recorder.accepted("/hook")) >= len(incident))
        hook = recorder.accepted("/hook")
        for r in hook:
            h = {k.lower(): v for k, v in r["headers"].items()}
            assert verify(SIGNING_KEY.encode(), h["x-vigil-timestamp"], h["x-vigil-signature"],
                          r["body"])
        assert [json.loads(r["body"])["id"] for r in hook] == [e["id"] for e in incident]
        waits = sorted(r["t"] - parse_event_time(json.loads(r["body"])["created_at"]) for r in hook)
        print(f"escalation produced -> signed webhook received: median {waits[len(waits) // 2]:.3f} s,"
              f" max {waits[-1]:.3f} s over {len(waits)}")

        # 4. PagerDuty goes down; a new incident waits, the notifier restarts, and the
        #    trigger arrives exactly once when PagerDuty is back.
        recorder.down.add("/pd")
        produce(broker.bootstrap, toxic_burst("brigader", "r/beta", 600)[:1])
        escalations_for(broker, "r/beta", lambda es: len(es) >= 1)
        recorder.wait(lambda: any(r["path"] == "/pd" and r["status"] == 503
                                  and b"r/beta" in r["body"] for r in recorder.requests))
        stop(notifier)
        recorder.down.discard("/pd")
        notifier = start_notifier(broker, tmp_path, recorder)
        recorder.wait(lambda: any(b"r/beta" in r["body"] for r in recorder.accepted("/pd")))
        time.sleep(2)  # anything duplicated would arrive now
        beta = [json.loads(r["body"]) for r in recorder.accepted("/pd") if b"r/beta" in r["body"]]
        # one trigger (its quiet resolve may follow while the notifier restarts)
        assert [b["event_action"] for b in beta][:2] in (["trigger"], ["trigger", "resolve"])
        alpha = [r for r in recorder.accepted("/pd") if b"r/alpha" in r["body"]]
        assert len(alpha) == 2  # the restart re-sent nothing already delivered
        # secrets never reach the logs
        logs = (tmp_path / "notify.log").read_text()
        assert "pd-routing-key-123" not in logs and SIGNING_KEY not in logs
        assert "notification_retry" in logs
    finally:
        stop(notifier)
        stop_worker(worker)
