"""The buttons on a chat alert, and what a click on one means.

A button carries everything its click needs (the verb, the community, what it acts
on), so a click is understood without any state on the receiving side: Slack gives a
button a ``value`` of up to 2,000 characters, Discord a ``custom_id`` of up to 100.
Encoded as a compact JSON list ``[version, verb, community, ref]``.

Verbs: ``ack`` and ``resolve`` act on the incident (``ref`` = dedup_key) through
``incidents.actions``; ``toxic``/``not_toxic`` label a post (``ref`` = post id) and
``real``/``false_alarm`` a trend (``ref`` = trend id) on ``moderation.feedback``.

>>> b = encode("ack", "r/acme", "moderation:reddit:r/acme:a_1")
>>> decode(b)
('ack', 'r/acme', 'moderation:reddit:r/acme:a_1')
>>> [v for _, v, _ in buttons_for({"type": "trend", "status": "triggered", "community": "c",
...     "dedup_key": "trend:t1", "evidence": {"trend_id": "t1"}})]
['ack', 'real', 'false_alarm']
"""

from __future__ import annotations

import json
from typing import Optional

__all__ = ["VERBS", "INCIDENT_VERBS", "LABEL_VERBS", "encode", "decode", "buttons_for",
           "Unreadable", "DONE"]

VERSION = 1
INCIDENT_VERBS = {"ack": "acknowledge", "resolve": "resolve"}
LABEL_VERBS = {"toxic": "toxic", "not_toxic": "not_toxic", "real": "real",
               "false_alarm": "false_alarm"}
VERBS = (*INCIDENT_VERBS, *LABEL_VERBS)
#: what a message says once a verb was applied
DONE = {"ack": "Acknowledged", "resolve": "Resolved", "toxic": "Marked toxic",
        "not_toxic": "Marked not toxic", "real": "Confirmed real", "false_alarm": "Marked a false alarm"}
_TEXT = {"ack": "Acknowledge", "resolve": "Resolve", "toxic": "Toxic", "not_toxic": "Not toxic",
         "real": "Real", "false_alarm": "False alarm"}


class Unreadable(ValueError):
    """Not a button Vigil made (or one from a newer version)."""


def encode(verb: str, community: str, ref: str) -> str:
    return json.dumps([VERSION, verb, community, ref], separators=(",", ":"), ensure_ascii=False)


def decode(value: str) -> tuple[str, str, str]:
    try:
        version, verb, community, ref = json.loads(value)
    except (TypeError, ValueError):
        raise Unreadable("not a Vigil button") from None
    if version != VERSION or verb not in VERBS or not all(
            isinstance(x, str) and x for x in (community, ref)):
        raise Unreadable("not a Vigil button of this version")
    return verb, community, ref


def buttons_for(esc: dict, max_len: Optional[int] = None) -> list[tuple[str, str, str]]:
    """(button text, verb, encoded value) for an escalation's message. Nothing for a
    resolved incident; no resolve for a trend (it resolves with its trend); a post's
    verdict for the first evidence post of a moderation or safety incident. Buttons whose
    value would exceed ``max_len`` are left out rather than cut."""
    if esc.get("status") == "resolved":
        return []
    community, key = esc["community"], esc["dedup_key"]
    ev = esc.get("evidence") or {}
    refs: list[tuple[str, str]] = []
    if not (ev.get("acknowledged_by") or esc.get("status") == "acknowledged"):
        refs.append(("ack", key))
    if esc.get("type") == "trend":
        if ev.get("trend_id"):
            refs += [("real", ev["trend_id"]), ("false_alarm", ev["trend_id"])]
    else:
        refs.append(("resolve", key))
        posts = ev.get("post_ids") or []
        if esc.get("type") in ("moderation", "safety") and posts:
            refs += [("toxic", str(posts[0])), ("not_toxic", str(posts[0]))]
    out = []
    for verb, ref in refs:
        value = encode(verb, community, ref)
        if max_len is None or len(value) <= max_len:
            out.append((_TEXT[verb], verb, value))
    return out
