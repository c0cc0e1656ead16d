"""The round trip through the real broker, worker and ``vigil notify`` (issue 16): a
signed Slack click acknowledges the incident on ``escalations`` and the message is
replaced to say who did it, a forged click changes nothing; PagerDuty's acknowledge
webhook acknowledges, delivered twice it acts once, and is not sent back to PagerDuty;
a signed Discord click labels the post on ``moderation.feedback``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from nacl.signing import SigningKey

from streams.broker import free_port
from tests.conftest import REPO, Recorder, as_json, produce, read_topic, start_worker, stop_worker
from tests.test_notify_integration import escalations_for, stop, toxic_burst

pytestmark = pytest.mark.integration

SLACK_SECRET, PD_SECRET = "slack-signing-secret-1", "pd-webhook-secret-1"
DISCORD_KEY = SigningKey.generate()


def post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def slack_click(base: str, value: str, response_url: str, *, secret: str = SLACK_SECRET,
                user: str = "U0ONCALL") -> int:
    payload = {"type": "block_actions", "user": {"id": user},
               "response_url": response_url, "message": {"text": "alert", "blocks": []},
               "actions": [{"action_id": "vigil_ack", "value": value,
                            "action_ts": f"{time.time():.6f}"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return post(base + "/slack/interactions", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})[0]


def pagerduty(base: str, kind: str, key: str, event_id: str) -> int:
    body = json.dumps({"event": {"id": event_id, "event_type": kind, "resource_type": "incident",
                                 "occurred_at": "2026-11-02T09:00:00.000Z",
                                 "agent": {"id": "PXPGF42", "type": "user_reference"},
                                 "data": {"id": "Q1", "type": "incident", "incident_key": key}}}).encode()
    sig = "v1=" + hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return post(base + "/pagerduty/webhook", body, {"Content-Type": "application/json",
                                                    "X-PagerDuty-Signature": sig})[0]


def discord_click(base: str, custom_id: str, *, key: SigningKey = DISCORD_KEY) -> tuple[int, bytes]:
    body = json.dumps({"id": f"int-{time.time()}", "type": 3, "member": {"user": {"id": "4242"}},
                       "data": {"custom_id": custom_id},
                       "message": {"embeds": [{"title": "t", "fields": [
                           {"name": "Evidence", "value": "you are trash, uninstall"}]}],
                           "components": []}}).encode()
    ts = str(int(time.time()))
    return post(base + "/discord/interactions", body, {
        "Content-Type": "application/json", "X-Signature-Timestamp": ts,
        "X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex()})


def start_notify(broker, tmp_path, recorder: Recorder, port: int) -> subprocess.Popen:
    routes = tmp_path / "routes.toml"
    routes.write_text(f"""
[callbacks]
port = {port}
host = "127.0.0.1"
slack_signing_secret_env = "TEST_SLACK_SECRET"
discord_public_key_env = "TEST_DISCORD_KEY"
pagerduty_webhook_secrets_env = ["TEST_PD_SECRET"]

[[routes]]
name = "mods"
sink = "slack"
types = ["moderation"]
statuses = ["triggered", "acknowledged", "resolved"]
[routes.settings]
webhook_url_env = "TEST_SLACK_URL"
buttons = true

[[routes]]
name = "pd"
sink = "pagerduty"
types = ["moderation"]
statuses = ["triggered", "acknowledged", "resolved"]
[routes.settings]
routing_key_env = "TEST_PD_KEY"
url = "{recorder.url}/pd"
""")
    env = {**os.environ, "VIGIL_BROKER": broker.url, "VIGIL_LOG_FORMAT": "json",
           "VIGIL_PSEUDONYM_KEY": "test-key", "TEST_SLACK_SECRET": SLACK_SECRET,
           "TEST_PD_SECRET": PD_SECRET, "TEST_PD_KEY": "pd-routing-key",
           "TEST_DISCORD_KEY": DISCORD_KEY.verify_key.encode().hex(),
           "TEST_SLACK_URL": recorder.url + "/slack"}
    return subprocess.Popen([sys.executable, "-m", "agents.cli", "notify", "--routes", str(routes),
                             "--metrics-port", "0"], env=env, cwd=REPO,
                            stdout=(tmp_path / "notify.log").open("ab"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_healthy(base: str, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("callback server never answered: " + log.read_text()[-3000:])


def test_clicks_and_pagerduty_webhooks_act_on_incidents_once(broker, tmp_path):
    worker = start_worker(broker, tmp_path, VIGIL_INCIDENT_QUIET_S="86400")
    recorder = Recorder()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    notifier = start_notify(broker, tmp_path, recorder, port)
    try:
        wait_healthy(base, notifier, tmp_path / "notify.log")
        produce(broker.bootstrap, toxic_burst("clicker", "r/slackers", 0)[:2]
                + toxic_burst("pager", "r/pagers", 0)[:2])
        slack_inc = escalations_for(broker, "r/slackers", lambda es: len(es) >= 1)[0]
        pd_inc = escalations_for(broker, "r/pagers", lambda es: len(es) >= 1)[0]

        # the Slack message carries the buttons; a click on Acknowledge is one action
        recorder.wait(lambda: any(b"r/slackers" in r["body"] for r in recorder.accepted("/slack")))
        message = next(json.loads(r["body"]) for r in recorder.accepted("/slack")
                       if b"r/slackers" in r["body"])
        buttons = {e["action_id"]: e["value"] for b in message["blocks"] if b["type"] == "actions"
                   for e in b["elements"]}
        assert set(buttons) == {"vigil_ack", "vigil_resolve", "vigil_toxic", "vigil_not_toxic"}
        assert slack_click(base, buttons["vigil_ack"], recorder.url + "/respond",
                           secret="not-the-secret") == 401
        assert slack_click(base, buttons["vigil_ack"], recorder.url + "/respond") == 200
        acked = escalations_for(broker, "r/slackers", lambda es: "acknowledged" in
                                [e["status"] for e in es])
        assert [e["status"] for e in acked].count("acknowledged") == 1
        ack = next(e for e in acked if e["status"] == "acknowledged")
        assert ack["evidence"]["action_source"] == "slack"
        assert ack["evidence"]["acknowledged_by"] not in ("U0ONCALL", "")  # a pseudonym
        recorder.wait(lambda: recorder.accepted("/respond"))
        replaced = json.loads(recorder.accepted("/respond")[0]["body"])
        assert replaced["replace_original"] and "Acknowledged by <@U0ONCALL>" in json.dumps(replaced)

        # PagerDuty's acknowledge, delivered twice: one acknowledged, never sent back
        assert pagerduty(base, "incident.acknowledged", pd_inc["dedup_key"], "EV-1") == 200
        assert pagerduty(base, "incident.acknowledged", pd_inc["dedup_key"], "EV-1") == 200
        pd_acked = escalations_for(broker, "r/pagers", lambda es: "acknowledged" in
                                   [e["status"] for e in es])
        # a Discord click labels the post; a forged one is refused
        post_id = slack_inc["evidence"]["post_ids"][0]
        custom_id = json.dumps([1, "toxic", "r/slackers", post_id], separators=(",", ":"))
        assert discord_click(base, custom_id, key=SigningKey.generate())[0] == 401
        status, answer = discord_click(base, custom_id)
        assert status == 200 and json.loads(answer)["type"] == 7
        labels = read_topic(broker.bootstrap, "moderation.feedback", timeout_s=60,
                            until=lambda ms: any(as_json(m)["source"] == "discord" for m in ms))
        [label] = [as_json(m) for m in labels if as_json(m)["source"] == "discord"]
        assert (label["post_id"], label["label"], label["text"]) == (
            post_id, "toxic", "you are trash, uninstall")

        # by now the second PagerDuty delivery, and the forged Slack click, would show
        time.sleep(2)
        pd_acked = escalations_for(broker, "r/pagers", lambda es, n=len(pd_acked): len(es) >= n)
        assert [e["status"] for e in pd_acked].count("acknowledged") == 1
        assert next(e for e in pd_acked if e["status"] == "acknowledged")["evidence"][
            "action_source"] == "pagerduty"
        slackers = escalations_for(broker, "r/slackers", lambda es, n=len(acked): len(es) >= n)
        assert [e["status"] for e in slackers].count("acknowledged") == 1
        pd_events = [json.loads(r["body"]) for r in recorder.accepted("/pd")]
        by_key = lambda k: [b["event_action"] for b in pd_events if b["dedup_key"] == k]  # noqa: E731
        assert "acknowledge" not in by_key(pd_inc["dedup_key"])  # PagerDuty's own: not echoed
        recorder.wait(lambda: "acknowledge" in by_key(slack_inc["dedup_key"]))  # Slack's: paged
        log = (tmp_path / "notify.log").read_text()
        assert "U0ONCALL" not in log and SLACK_SECRET not in log
    finally:
        stop(notifier)
        stop_worker(worker)
