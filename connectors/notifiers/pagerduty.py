"""PagerDuty Events API v2: trigger, acknowledge and resolve one alert per dedup_key.

Vigil's ``dedup_key`` is PagerDuty's, so an incident's trigger, acknowledge and resolve
land on the same PagerDuty alert. Severity maps critical→critical, high→error,
medium→warning, low→info. Settings: ``routing_key_env`` (the integration key's
environment variable), optional ``url`` (default the public endpoint) and ``source``.
"""

from __future__ import annotations

from connectors.notifiers.base import NotifierSink, dumps, secret_from_env

__all__ = ["PagerDutySink", "SEVERITY_MAP"]

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY_MAP = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
_ACTIONS = {"triggered": "trigger", "updated": "trigger", "acknowledged": "acknowledge",
            "resolved": "resolve"}


class PagerDutySink(NotifierSink):
    name = "pagerduty"

    def __init__(self, route: str, settings: dict):
        self.routing_key = secret_from_env(route, settings, "routing_key_env")
        self.url = settings.get("url", EVENTS_URL)
        self.source = settings.get("source", "vigil")

    def request(self, esc: dict) -> tuple[str, bytes, dict]:
        action = _ACTIONS[esc["status"]]
        body: dict = {"routing_key": self.routing_key, "event_action": action,
                      "dedup_key": esc["dedup_key"]}
        if action == "trigger":
            ev = esc.get("evidence") or {}
            body["payload"] = {
                "summary": esc["title"][:1024],
                "source": f"{self.source}:{esc['platform']}:{esc['community']}",
                "severity": SEVERITY_MAP[esc["severity"]],
                "timestamp": esc["first_seen"],
                "component": esc["community"],
                "group": esc["platform"],
                "class": esc["type"] + (f"/{ev['category']}" if ev.get("category") else ""),
                "custom_details": {"summary": esc["summary"],
                                   "recommended_action": esc["recommended_action"],
                                   "occurrence_count": esc["occurrence_count"],
                                   "last_seen": esc["last_seen"], "evidence": ev},
            }
            body["links"] = [{"href": esc["runbook_url"], "text": "Runbook"}]
            body["client"] = "Vigil"
        return self.url, dumps(body), {}
