"""Chat webhooks: Slack (Block Kit) and Discord (embed).

Both take an incoming-webhook URL whose path is the secret, so it comes from an
environment variable (``webhook_url_env``) and is never logged. With ``buttons = true``
a message carries Acknowledge / Resolve, Toxic / Not toxic on its post, Real / False
alarm on a trend (:mod:`connectors.callbacks.buttons`); clicks reach ``vigil notify``'s
callback server, which needs the Slack app's interactivity Request URL, or the Discord
application's Interactions Endpoint URL (and an application-owned webhook), pointed at
it. Without it, leave buttons off: a button nobody answers shows an error.
"""

from __future__ import annotations

from connectors.callbacks.buttons import buttons_for
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


_SLACK_STYLE = {"ack": "primary", "toxic": "danger", "real": "danger"}
_DISCORD_STYLE = {"ack": 1, "resolve": 3, "toxic": 4, "not_toxic": 2, "real": 4, "false_alarm": 2}


class SlackSink(NotifierSink):
    name = "slack"

    def __init__(self, route: str, settings: dict):
        self.url = secret_from_env(route, settings, "webhook_url_env")
        self.buttons = bool(settings.get("buttons", False))

    def request(self, esc: dict) -> tuple[str, bytes, dict]:
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": _headline(esc)[:150]}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"{_EMOJI.get(esc['severity'], '')} {esc['summary']}"},
             "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in _facts(esc)]},
        ]
        for i, snip in enumerate(_snippets(esc)):
            # block ids let a click find the post's words again (a label carries them)
            blocks.append({"type": "context", "block_id": f"vigil_evidence_{i}",
                           "elements": [{"type": "plain_text", "text": snip}]})
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"*Recommended:* {esc['recommended_action']}\n"
                                      f"<{esc['runbook_url']}|Runbook>"}})
        if self.buttons and (buttons := buttons_for(esc, max_len=2000)):
            blocks.append({"type": "actions", "block_id": "vigil_actions", "elements": [
                {"type": "button", "action_id": f"vigil_{verb}", "value": value,
                 "text": {"type": "plain_text", "text": text},
                 **({"style": _SLACK_STYLE[verb]} if verb in _SLACK_STYLE else {})}
                for text, verb, value in buttons]})
        # "text" is the notification fallback; blocks are what people see
        return self.url, dumps({"text": _headline(esc), "blocks": blocks}), {}


class DiscordSink(NotifierSink):
    name = "discord"

    def __init__(self, route: str, settings: dict):
        self.url = secret_from_env(route, settings, "webhook_url_env")
        self.buttons = bool(settings.get("buttons", False))

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
        body: dict = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        url = self.url
        if self.buttons and (buttons := buttons_for(esc, max_len=100)):  # custom_id: 100
            body["components"] = [{"type": 1, "components": [
                {"type": 2, "style": _DISCORD_STYLE[verb], "label": text, "custom_id": value}
                for text, verb, value in buttons[:5]]}]
            url += ("&" if "?" in url else "?") + "with_components=true"
        return url, dumps(body), {}
