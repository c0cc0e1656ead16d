"""What a verified request asks for, as the records every other path writes.

Each function takes the parsed payload and returns ``(topic, key, record)`` tuples (or
says why there is nothing to do), plus for chat the message to show in place of the
clicked one. Who acted is a pseudonym (``pseudonymize(tool, user id)``), never a name;
the chat message names them with the tool's own mention syntax (``<@U123>``), which the
tool renders and Vigil never stores. Idempotency keys come from what the tool repeats on
a retry (Slack's ``action_ts``, Discord's interaction id, PagerDuty's event id).

>>> from streams.records import IncidentAction
>>> event = {"event": {"id": "01E", "event_type": "incident.acknowledged",
...          "occurred_at": "2026-11-02T09:00:00Z", "agent": {"id": "PUSER1"},
...          "data": {"incident_key": "moderation:reddit:r/x:a_1"}}}
>>> [(topic, rec.action, rec.source) for topic, _, rec in
...  pagerduty_event(event, lambda k: "r/x", lambda tool, u: "p_" + u)]
[('incidents.actions', 'acknowledge', 'pagerduty')]
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Optional

from connectors.callbacks.buttons import DONE, INCIDENT_VERBS, decode
from models.eventtime import to_iso
from models.moderator_labels import idempotency_key
from streams.records import IncidentAction, ModerationFeedback

__all__ = ["click_records", "slack_click", "discord_click", "pagerduty_event", "Ignored",
           "PAGERDUTY_ACTIONS"]

Pseudonymize = Callable[[str, str], str]
Out = list[tuple[str, bytes, Any]]  # (topic, key, record)

PAGERDUTY_ACTIONS = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve",
                     "incident.reassigned": "reassign"}


class Ignored(Exception):
    """A well-signed request that asks for nothing Vigil does (a reason, for the metric)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def click_records(value: str, *, tool: str, user: str, click_id: str, text: Optional[str],
                  pseudonymize: Pseudonymize, now: Optional[float] = None) -> Out:
    """One button click as its record: an incident action or a label."""
    verb, community, ref = decode(value)
    who, when = pseudonymize(tool, user), to_iso(now or time.time())
    key = idempotency_key(tool, click_id, user, value)
    if verb in INCIDENT_VERBS:
        return [("incidents.actions", community.encode(), IncidentAction(
            dedup_key=ref, community=community, action=INCIDENT_VERBS[verb], actor=who,
            time=when, source=tool, idempotency_key=key))]
    trend = verb in ("real", "false_alarm")
    return [("moderation.feedback", community.encode(), ModerationFeedback(
        post_id=ref, community=community, label=verb, action="none", moderator_id=who,
        time=when, trend_id=ref if trend else None, text=None if trend else text,
        source=tool, idempotency_key=key))]


def slack_click(payload: dict, pseudonymize: Pseudonymize) -> tuple[Out, dict]:
    """A ``block_actions`` payload -> its records, and the message to put in place of the
    clicked one (through the payload's ``response_url``)."""
    if payload.get("type") != "block_actions" or not payload.get("actions"):
        raise Ignored("not_a_click")
    action, user = payload["actions"][0], (payload.get("user") or {}).get("id") or "?"
    value = action.get("value") or ""
    verb = decode(value)[0]
    records = click_records(value, tool="slack", user=user,
                            click_id=str(action.get("action_ts")), pseudonymize=pseudonymize,
                            text=_slack_evidence(payload.get("message") or {}))
    message = payload.get("message") or {}
    blocks = [b for b in copy.deepcopy(message.get("blocks") or [])
              if not (b.get("type") == "actions" and verb in ("ack", "resolve")
                      and _only_done(b, verb))]
    blocks.append({"type": "context", "elements": [{
        "type": "mrkdwn", "text": f"{DONE[verb]} by <@{user}> · {to_iso(time.time())[11:16]} UTC"}]})
    return records, {"replace_original": True, "text": message.get("text") or DONE[verb],
                     "blocks": blocks}


def _only_done(block: dict, verb: str) -> bool:
    # after a resolve no button is left to press; after an acknowledge, drop just that one
    if verb == "resolve":
        return True
    block["elements"] = [e for e in block.get("elements") or [] if e.get("action_id") != "vigil_ack"]
    return not block["elements"]


def _slack_evidence(message: dict) -> Optional[str]:
    for block in message.get("blocks") or []:
        if block.get("block_id") == "vigil_evidence_0":
            return ((block.get("elements") or [{}])[0]).get("text")
    return None


def discord_click(interaction: dict, pseudonymize: Pseudonymize) -> tuple[Out, dict]:
    """A MESSAGE_COMPONENT interaction -> its records, and the type-7 answer that
    updates the message in place."""
    data, message = interaction.get("data") or {}, interaction.get("message") or {}
    value = data.get("custom_id") or ""
    verb = decode(value)[0]
    user = ((interaction.get("member") or {}).get("user") or interaction.get("user") or {}).get("id") or "?"
    embeds = copy.deepcopy(message.get("embeds") or [])
    evidence = next((f.get("value") for e in embeds for f in e.get("fields") or []
                     if f.get("name") == "Evidence"), None)
    records = click_records(value, tool="discord", user=user, click_id=str(interaction.get("id")),
                            text=evidence, pseudonymize=pseudonymize)
    if embeds:
        embeds[0].setdefault("fields", []).append(
            {"name": DONE[verb], "value": f"by <@{user}> · {to_iso(time.time())[11:16]} UTC"})
    components = [] if verb == "resolve" else _without(message.get("components") or [], verb)
    return records, {"type": 7, "data": {"embeds": embeds, "components": components,
                                         "allowed_mentions": {"parse": []}}}


def _without(rows: list, verb: str) -> list:
    if verb != "ack":
        return rows
    out = []
    for row in copy.deepcopy(rows):
        row["components"] = [c for c in row.get("components") or []
                             if (decode(c["custom_id"])[0] if c.get("custom_id") else "") != "ack"]
        if row["components"]:
            out.append(row)
    return out


def pagerduty_event(body: dict, community_of: Callable[[str], Optional[str]],
                    pseudonymize: Pseudonymize) -> Out:
    """A v3 webhook event -> an incident action on the incident Vigil raised."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    action = PAGERDUTY_ACTIONS.get(event.get("event_type") or "")
    if action is None:
        raise Ignored("event_type")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    dedup_key = data.get("incident_key")
    if not dedup_key:
        raise Ignored("not_from_vigil")
    community = community_of(dedup_key)
    if community is None:
        raise Ignored("unknown_incident")
    agent = (event.get("agent") or {}).get("id") or "pagerduty"
    return [("incidents.actions", community.encode(), IncidentAction(
        dedup_key=dedup_key, community=community, action=action,
        actor=pseudonymize("pagerduty", agent), time=event.get("occurred_at") or to_iso(time.time()),
        note="in PagerDuty", source="pagerduty",
        idempotency_key=idempotency_key("pagerduty", str(event.get("id"))))) ]
