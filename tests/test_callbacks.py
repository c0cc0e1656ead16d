"""Chat buttons and PagerDuty webhooks (issue 16), no broker: what a message carries,
which requests are believed (signatures, the five-minute window, replays), and what a
believed request turns into; the ledger's reassign; a route never echoes an action
back to the tool it came from."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import pytest
from nacl.signing import SigningKey

from connectors.callbacks import actions
from connectors.callbacks.buttons import Unreadable, buttons_for, decode, encode
from connectors.callbacks.verify import (Refused, ReplayGuard, verify_discord, verify_pagerduty,
                                         verify_slack)
from models.escalation import IncidentLedger, IncidentState, action_draft

ESC = {"status": "triggered", "severity": "high", "title": "Abuse in r/acme", "summary": "s",
       "community": "r/acme", "platform": "reddit", "occurrence_count": 2, "first_seen": "a",
       "last_seen": "b", "recommended_action": "r", "runbook_url": "http://runbook",
       "dedup_key": "moderation:reddit:r/acme:a_1", "type": "moderation",
       "evidence": {"post_ids": ["t1_x"], "snippets": ["you absolute clown"]}}


def pseudo(tool: str, user: str) -> str:
    return f"{tool}_{hashlib.sha256(user.encode()).hexdigest()[:8]}"


def test_buttons_say_what_applies_and_round_trip():
    assert [v for _, v, _ in buttons_for(ESC)] == ["ack", "resolve", "toxic", "not_toxic"]
    assert [v for _, v, _ in buttons_for({**ESC, "status": "acknowledged"})] == [
        "resolve", "toxic", "not_toxic"]
    assert buttons_for({**ESC, "status": "resolved"}) == []
    long = {**ESC, "dedup_key": "moderation:reddit:r/acme:" + "a" * 120}
    assert [v for _, v, _ in buttons_for(long, max_len=100)] == ["toxic", "not_toxic"]
    assert decode(encode("toxic", "r/acme", "t1_x")) == ("toxic", "r/acme", "t1_x")
    for bad in ("", "[2,\"ack\",\"c\",\"k\"]", "[1,\"delete_all\",\"c\",\"k\"]", "{}"):
        with pytest.raises(Unreadable):
            decode(bad)


def slack_headers(body: bytes, secret: bytes, ts: float) -> dict:
    base = b"v0:" + str(int(ts)).encode() + b":" + body
    return {"X-Slack-Request-Timestamp": str(int(ts)),
            "X-Slack-Signature": "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()}


def test_slack_requests_are_believed_only_signed_fresh_and_once():
    body, now = b"payload=%7B%7D", time.time()
    verify_slack(b"good", slack_headers(body, b"good", now), body, now=now)
    for headers, sent, why in ((slack_headers(body, b"guess", now), body, "forged"),
                               (slack_headers(body, b"good", now - 301), body, "expired"),
                               (slack_headers(body, b"good", now), body + b"x", "forged"),
                               ({}, body, "forged")):
        with pytest.raises(Refused) as err:
            verify_slack(b"good", headers, sent, now=now)
        assert err.value.reason == why
    guard = ReplayGuard()
    guard.check("sig-1", now)
    with pytest.raises(Refused, match="replayed"):
        guard.check("sig-1", now + 10)
    guard.check("sig-1", now + 400)  # outside the window it is expired anyway


def test_discord_interactions_need_the_applications_ed25519_signature():
    key = SigningKey.generate()
    public = key.verify_key.encode().hex()
    body, ts = b'{"type":1}', str(int(time.time()))
    good = {"X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex(),
            "X-Signature-Timestamp": ts}
    verify_discord(public, good, body, now=time.time())
    other = SigningKey.generate().sign(ts.encode() + body).signature.hex()
    for headers in ({**good, "X-Signature-Ed25519": other}, {**good, "X-Signature-Timestamp": "1"},
                    {"X-Signature-Ed25519": "zz", "X-Signature-Timestamp": ts}):
        with pytest.raises(Refused, match="forged"):
            verify_discord(public, headers, body, now=time.time())


def test_pagerduty_signatures_accept_any_current_secret_during_rotation():
    body = b'{"event":{}}'
    sig = lambda s: "v1=" + hmac.new(s, body, hashlib.sha256).hexdigest()  # noqa: E731
    verify_pagerduty((b"old", b"new"), {"X-PagerDuty-Signature": f"{sig(b'x')},{sig(b'new')}"}, body)
    with pytest.raises(Refused, match="forged"):
        verify_pagerduty((b"new",), {"X-PagerDuty-Signature": sig(b"x")}, body)
    with pytest.raises(Refused, match="forged"):
        verify_pagerduty((b"new",), {}, body)


def slack_payload(verb: str, ref: str, user: str = "U42") -> dict:
    value = encode(verb, "r/acme", ref)
    return {"type": "block_actions", "user": {"id": user, "name": "never-used"},
            "response_url": "https://hooks.slack.test/actions/T/1/x",
            "actions": [{"action_id": f"vigil_{verb}", "value": value, "action_ts": "1793606400.1"}],
            "message": {"text": "New [high] Abuse", "blocks": [
                {"type": "context", "block_id": "vigil_evidence_0",
                 "elements": [{"type": "plain_text", "text": "you absolute clown"}]},
                {"type": "actions", "block_id": "vigil_actions", "elements": [
                    {"action_id": f"vigil_{v}", "value": encode(v, "r/acme", ref)}
                    for v in ("ack", "resolve", "toxic")]}]}}


def test_a_slack_click_becomes_the_record_and_the_message_says_who():
    [(topic, key, act)], message = actions.slack_click(
        slack_payload("ack", ESC["dedup_key"]), pseudo)
    assert (topic, key, act.action, act.source) == ("incidents.actions", b"r/acme", "acknowledge", "slack")
    assert act.actor == pseudo("slack", "U42") and act.idempotency_key
    assert message["replace_original"] is True
    assert "Acknowledged by <@U42>" in message["blocks"][-1]["elements"][0]["text"]
    left = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert left == ["vigil_resolve", "vigil_toxic"]  # acknowledged: that button is gone
    [(topic, _, label)], _ = actions.slack_click(slack_payload("toxic", "t1_x"), pseudo)
    assert (topic, label.post_id, label.label, label.text, label.source) == (
        "moderation.feedback", "t1_x", "toxic", "you absolute clown", "slack")
    # the same click delivered again carries the same key: learnt once
    again = actions.slack_click(slack_payload("toxic", "t1_x"), pseudo)[0][0][2]
    assert again.idempotency_key == label.idempotency_key
    with pytest.raises(actions.Ignored):
        actions.slack_click({"type": "view_submission"}, pseudo)


def test_a_discord_click_updates_the_message_in_place():
    interaction = {"id": "99", "type": 3, "member": {"user": {"id": "777"}},
                   "data": {"custom_id": encode("false_alarm", "acme", "trend-7")},
                   "message": {"embeds": [{"title": "Trend", "fields": []}], "components": [
                       {"type": 1, "components": [
                           {"type": 2, "custom_id": encode(v, "acme", "trend-7")}
                           for v in ("real", "false_alarm")]}]}}
    [(topic, _, label)], update = actions.discord_click(interaction, pseudo)
    assert (topic, label.label, label.trend_id, label.text) == (
        "moderation.feedback", "false_alarm", "trend-7", None)
    assert update["type"] == 7 and update["data"]["embeds"][0]["fields"][-1]["name"] == \
        "Marked a false alarm"
    assert "<@777>" in update["data"]["embeds"][0]["fields"][-1]["value"]


def pd_event(kind: str, key: str = ESC["dedup_key"], ident: str = "01EV") -> dict:
    return {"event": {"id": ident, "event_type": kind, "resource_type": "incident",
                      "occurred_at": "2026-11-02T09:00:00.000Z",
                      "agent": {"id": "PXPGF42", "summary": "Ana Oncall", "type": "user_reference"},
                      "data": {"id": "Q1", "type": "incident", "incident_key": key}}}


def test_pagerduty_events_become_incident_actions_on_incidents_vigil_raised():
    known = {ESC["dedup_key"]: "r/acme"}.get
    for kind, action in actions.PAGERDUTY_ACTIONS.items():
        [(topic, key, act)] = actions.pagerduty_event(pd_event(kind), known, pseudo)
        assert (topic, key, act.action, act.source) == ("incidents.actions", b"r/acme", action, "pagerduty")
        assert "Ana" not in act.dumps().decode()
    assert actions.pagerduty_event(pd_event("incident.resolved"), known, pseudo)[0][2].idempotency_key \
        == actions.pagerduty_event(pd_event("incident.resolved"), known, pseudo)[0][2].idempotency_key
    for body, why in ((pd_event("incident.priority_updated"), "event_type"),
                      (pd_event("incident.resolved", key="someone-elses"), "unknown_incident"),
                      (pd_event("incident.resolved", key=""), "not_from_vigil")):
        with pytest.raises(actions.Ignored) as err:
            actions.pagerduty_event(body, known, pseudo)
        assert err.value.reason == why


def test_a_reassigned_incident_is_no_longer_acknowledged_and_can_be_acknowledged_again():
    ledger = IncidentLedger()
    st = IncidentState("k", "triggered", "high", 0.0, 10.0, 1, type="moderation", community="c",
                       platform="reddit", title="t")
    st, status = ledger.apply(st, action_draft(st, "acknowledge", "a")[0], "s1")
    assert status == "acknowledged" and st.acknowledged_by == "a"
    draft, _ = action_draft(st, "reassign", "b", "in PagerDuty", "pagerduty")
    assert draft.evidence["action_source"] == "pagerduty"
    st, status = ledger.apply(st, draft, "s2")
    assert status == "updated" and st.acknowledged_by == ""
    assert ledger.apply(st, action_draft(st, "acknowledge", "c")[0], "s3")[1] == "acknowledged"
    assert ledger.apply(st, draft, "s2")[1] is None  # the same delivery again: nothing


def test_a_route_never_sends_an_action_back_to_the_tool_it_came_from():
    from connectors.notifiers.delivery import RouteWorker
    from models.notification_policy import Route

    class Sink:
        name, sent = "pagerduty", []

        async def send(self, session, esc):
            self.sent.append(esc["status"])

    route = Route("pd", "pagerduty", settings={})
    worker = RouteWorker(route, Sink(), "127.0.0.1:1")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for source, status in (("pagerduty", "acknowledged"), ("slack", "resolved")):
        esc = {**ESC, "status": status, "created_at": now,
               "evidence": {**ESC["evidence"], "action_source": source}}
        assert asyncio.run(worker._settle(None, json.dumps(esc).encode(), backfill=False))
    assert Sink.sent == ["resolved"]  # PagerDuty's own acknowledge is not sent back to it


def test_the_callbacks_table_loads_from_the_example_and_refuses_what_cannot_work(tmp_path,
                                                                                  monkeypatch):
    from config.communities import ConfigError
    from config.notifications import load_callbacks

    key = SigningKey.generate().verify_key.encode().hex()
    monkeypatch.setenv("VIGIL_SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("VIGIL_DISCORD_PUBLIC_KEY", key)
    monkeypatch.setenv("VIGIL_PAGERDUTY_WEBHOOK_SECRET", "p")
    cb = load_callbacks("config/notifications.example.toml")
    assert (cb.port, cb.slack_signing_secret, cb.discord_public_key, cb.pagerduty_secrets) == (
        8090, b"s", key, (b"p",))
    monkeypatch.delenv("VIGIL_PAGERDUTY_WEBHOOK_SECRET")
    with pytest.raises(ConfigError, match="VIGIL_PAGERDUTY_WEBHOOK_SECRET is not set"):
        load_callbacks("config/notifications.example.toml")
    f = tmp_path / "r.toml"
    f.write_text('[callbacks]\ndiscord_public_key_env = "VIGIL_DISCORD_PUBLIC_KEY"\n')
    monkeypatch.setenv("VIGIL_DISCORD_PUBLIC_KEY", "not-hex")
    with pytest.raises(ConfigError, match="64 hex digits"):
        load_callbacks(f)
    f.write_text('[callbacks]\nport = 8090\n')
    with pytest.raises(ConfigError, match="at least one"):
        load_callbacks(f)
    f.write_text('[[routes]]\nname="a"\nsink="slack"\n')
    assert load_callbacks(f) is None
