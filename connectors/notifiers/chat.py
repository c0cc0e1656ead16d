"""Chat webhooks: Slack (Block Kit) and Discord (embed).

Both take an incoming-webhook URL whose path is the secret, so it comes from an
environment variable (``webhook_url_env``) and is never logged.
"""

from __future__ import annotations

from connectors.notifiers.base import NotifierSink, dumps, secret_from_env

__all__ = ["SlackSink", "DiscordSink"]

_EMOJI = {"critical": ":rotating_light:", "high": ":red_circle:", "medium": ":large_orange_diamond:",
          "low": ":large_blue_circle:"}
_COLOUR = {"critical": 0x8B0000, "high": 0xE01E5A, "medium": 0xECB22E, "low": 0x36C5F0}
_STATUS = {"triggered": "New", "updated": "Update", "acknowledged": "Acknowledged",
           "resolved": "Resolved"}


def _headline(esc: dict) -> str:
    return f"{_STATUS.get(esc['status'], esc['status'])} [{esc['severity']}] {esc['title']}"


def _facts(esc: dict) -> list[tuple[str, str]]:
    ev = esc.get("evidence") or {}
    facts = [("Community", f"{esc['community']} ({esc['platform']})"),
             ("Occurrences", str(esc["occurrence_count"])),
             ("First seen", esc["first_seen"]), ("Last seen", esc["last_seen"])]
    if ev.get("category"):
        facts.append(("Category", str(ev["category"])))
    return facts


def _snippets(esc: dict) -> list[str]:
    return [str(s)[:300] for s in (esc.get("evidence") or {}).get("snippets", [])[:3]]


class SlackSink(NotifierSink):
    name = "slack"

    def __init__(self, route: str, settings: dict):
        self.url = secret_from_env(route, settings, "webhook_url_env")

    def request(self, esc: dict) -> tuple[str, bytes, dict]:
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": _headline(esc)[:150]}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"{_EMOJI.get(esc['severity'], '')} {esc['summary']}"},
             "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in _facts(esc)]},
        ]
        for snip in _snippets(esc):
            blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": snip}]})
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"*Recommended:* {esc['recommended_action']}\n"
                                      f"<{esc['runbook_url']}|Runbook>"}})
        # "text" is the notification fallback; blocks are what people see
        return self.url, dumps({"text": _headline(esc), "blocks": blocks}), {}


class DiscordSink(NotifierSink):
    name = "discord"

    def __init__(self, route: str, settings: dict):
        self.url = secret_from_env(route, settings, "webhook_url_env")

    def request(self, esc: dict) -> tuple[str, bytes, dict]:
        embed = {
            "title": _headline(esc)[:256], "description": esc["summary"][:4096],
            "url": esc["runbook_url"], "color": _COLOUR.get(esc["severity"], 0),
            "timestamp": esc["last_seen"],
            "fields": [{"name": k, "value": v[:1024], "inline": True} for k, v in _facts(esc)]
            + [{"name": "Recommended", "value": esc["recommended_action"][:1024]}]
            + [{"name": "Evidence", "value": s[:1024]} for s in _snippets(esc)],
            "footer": {"text": f"Vigil · {esc['dedup_key'][:200]}"},
        }
        # allowed_mentions: post text in an embed must never ping @everyone
        return self.url, dumps({"embeds": [embed], "allowed_mentions": {"parse": []}}), {}
