"""Notification routing policy, sink payloads and route configuration (pure parts; the
delivery loop runs against real servers in test_notify_integration.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from config.communities import ConfigError
from config.notifications import load_routes
from connectors.notifiers.chat import DiscordSink, SlackSink
from connectors.notifiers.pagerduty import PagerDutySink
from connectors.notifiers.webhook import WebhookSink, verify
from models.notification_policy import Route, RoutePolicy

ESC = {"id": "e1", "dedup_key": "moderation:reddit:r/x:a_1", "type": "moderation",
       "severity": "high", "status": "triggered", "community": "r/x", "platform": "reddit",
       "title": "Repeat offender in r/x: warn", "summary": "3 violations in 1 h",
       "recommended_action": "Warn the author", "runbook_url": "https://example.org/rb",
       "first_seen": "2026-11-02T08:00:00Z", "last_seen": "2026-11-02T08:05:00Z",
       "occurrence_count": 3, "created_at": "2026-11-02T08:05:01Z",
       "evidence": {"snippets": ["@everyone you idiot"], "category": "insult"}}
NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.timezone.utc).timestamp()
MIDNIGHT = dt.datetime(2026, 11, 2, 23, 30, tzinfo=dt.timezone.utc).timestamp()


def test_rate_cap_per_community_refills_over_time_and_never_caps_resolves():
    p = RoutePolicy(Route("s", "slack", rate_per_hour=3))
    got = [p.decide({**ESC, "dedup_key": f"k{i}"}, now=NOON) for i in range(5)]
    assert got == ["deliver"] * 3 + ["rate_cap"] * 2
    # another community has its own bucket
    assert p.decide({**ESC, "dedup_key": "o1", "community": "r/y"}, now=NOON) == "deliver"
    # a resolve of a delivered trigger always goes; of a capped one never
    assert p.decide({**ESC, "dedup_key": "k0", "status": "resolved"}, now=NOON) == "deliver"
    assert p.decide({**ESC, "dedup_key": "k4", "status": "resolved"}, now=NOON) == "no_trigger"
    # 20 minutes later one token is back (3 per hour)
    assert p.decide({**ESC, "dedup_key": "k9"}, now=NOON + 1200) == "deliver"


def test_quiet_hours_let_only_severe_triggers_through_in_the_routes_timezone():
    p = RoutePolicy(Route("s", "slack", quiet_hours=("22:00", "07:00"),
                          quiet_min_severity="critical", timezone="Europe/London"))
    assert p.decide({**ESC, "dedup_key": "a"}, now=MIDNIGHT) == "quiet_hours"
    assert p.decide({**ESC, "dedup_key": "b", "severity": "critical"}, now=MIDNIGHT) == "deliver"
    assert p.decide({**ESC, "dedup_key": "c"}, now=NOON) == "deliver"


def test_matching_by_type_kind_and_community():
    p = RoutePolicy(Route("d", "discord", types=("trend",), kinds=("opportunity",),
                          communities=("r/x",)))
    trend = {**ESC, "type": "trend", "evidence": {"kind": "opportunity"}}
    assert p.decide(trend, now=NOON) == "deliver"
    assert p.decide({**trend, "dedup_key": "t2", "evidence": {"kind": "threat"}}, now=NOON) == "no_match"
    assert p.decide({**trend, "dedup_key": "t3", "community": "r/y"}, now=NOON) == "no_match"
    assert p.decide(ESC, now=NOON) == "no_match"


def test_pagerduty_events_v2_payload(monkeypatch):
    monkeypatch.setenv("PD_KEY", "rk")
    sink = PagerDutySink("pd", {"routing_key_env": "PD_KEY"})
    url, body, _ = sink.request(ESC)
    b = json.loads(body)
    assert url == "https://events.pagerduty.com/v2/enqueue"
    assert (b["event_action"], b["dedup_key"], b["routing_key"]) == ("trigger", ESC["dedup_key"], "rk")
    assert b["payload"]["severity"] == "error" and b["payload"]["class"] == "moderation/insult"
    assert b["links"][0]["href"] == ESC["runbook_url"]
    _, body, _ = sink.request({**ESC, "status": "resolved"})
    assert json.loads(body) == {"routing_key": "rk", "event_action": "resolve",
                                "dedup_key": ESC["dedup_key"]}


def test_slack_blocks_and_discord_embed_never_ping(monkeypatch):
    monkeypatch.setenv("HOOK", "https://hooks.example/secret-path")
    slack = json.loads(SlackSink("s", {"webhook_url_env": "HOOK"}).request(ESC)[1])
    assert slack["blocks"][0]["type"] == "header" and "Repeat offender" in slack["text"]
    assert any(b["type"] == "context" for b in slack["blocks"])  # the evidence snippet
    discord = json.loads(DiscordSink("d", {"webhook_url_env": "HOOK"}).request(ESC)[1])
    assert discord["allowed_mentions"] == {"parse": []}
    assert discord["embeds"][0]["fields"][0]["name"] == "Community"


def test_webhook_signature_verifies_and_a_tampered_body_does_not(monkeypatch):
    monkeypatch.setenv("KEY", "k3y")
    url, body, headers = WebhookSink("w", {"url": "https://x.example/in",
                                           "signing_key_env": "KEY"}).request(ESC)
    ts, sig = headers["X-Vigil-Timestamp"], headers["X-Vigil-Signature"]
    assert verify(b"k3y", ts, sig, body)
    assert not verify(b"k3y", ts, sig, body.replace(b"r/x", b"r/y"))
    assert headers["X-Vigil-Delivery"] == "e1"


def test_missing_secret_names_the_route_and_variable(monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ValueError, match="route pd: environment variable NOPE"):
        PagerDutySink("pd", {"routing_key_env": "NOPE"})


def test_route_config_refuses_secrets_in_the_file_and_bad_values(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text('[[routes]]\nname="a"\nsink="slack"\n[routes.settings]\nwebhook_url="https://x"\n')
    with pytest.raises(ConfigError, match="looks like a secret"):
        load_routes(f)
    f.write_text('[[routes]]\nname="a"\nsink="sms"\n')
    with pytest.raises(ConfigError, match="sink must be one of"):
        load_routes(f)
    f.write_text('[[routes]]\nname="a"\nsink="slack"\nmin_severity="urgent"\n')
    with pytest.raises(ConfigError, match="unknown severity"):
        load_routes(f)


def test_the_shipped_example_routes_load():
    routes = load_routes("config/notifications.example.toml")
    assert {r.sink for r in routes} == {"pagerduty", "slack", "discord", "webhook"}
