"""What a Discord message says, as a person reads it in the client.

``content`` is what the author typed, with mentions as markup: ``<@123>`` (a member),
``<@&456>`` (a role), ``<#789>`` (a channel), ``<:name:id>`` (a custom emoji),
``<t:1700000000:R>`` (a timestamp), ``</cmd:id>`` (a slash command). The client shows
them as ``@name``, ``#channel``, ``:name:``; scored as they come, the ids are words.
A member or role mention reads as ``@user``/``@role``: the id is no word, and the name
would put someone's identity into the text.

A message without words is still a post: an embed's title and description, the
attachments' and stickers' names (``[attachment: cat.png]``, ``[sticker: wave]``), or
for a forward (``message_snapshots``) the forwarded message read the same way.

>>> render_mentions("<@80351110224678912> see <#1101> <:rage:123456> <a:party:99> <@&42>")
'@user see #channel :rage: :party: @role'
>>> render_mentions("at <t:1793606400:R>, run </report:1234>")
'at 2026-11-02 08:00 UTC, run /report'
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

__all__ = ["render_mentions", "message_words", "forwarded"]

_MENTION = re.compile(r"<(?:@!?(?P<user>\d+)|@&(?P<role>\d+)|#(?P<channel>\d+)"
                      r"|a?:(?P<emoji>\w+):\d+|t:(?P<time>-?\d+)(?::[tTdDfFR])?"
                      r"|/(?P<command>[\w -]+):\d+)>")


def _mention(m: re.Match) -> str:
    if m.group("user"):
        return "@user"
    if m.group("role"):
        return "@role"
    if m.group("channel"):
        return "#channel"
    if m.group("emoji"):
        return f":{m.group('emoji')}:"
    if m.group("command"):
        return f"/{m.group('command')}"
    try:
        when = datetime.fromtimestamp(int(m.group("time")), timezone.utc)
    except (OverflowError, OSError, ValueError):
        return m.group(0)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def render_mentions(content: str) -> str:
    """Discord's mention markup as the client shows it (ids never become words)."""
    return _MENTION.sub(_mention, content) if "<" in content else content


def _files(m: Mapping[str, Any]) -> list[str]:
    names = [f"[attachment: {a.get('filename')}]" for a in m.get("attachments") or ()
             if isinstance(a, Mapping)]
    return names + [f"[sticker: {s.get('name')}]" for s in m.get("sticker_items") or
                    m.get("stickers") or () if isinstance(s, Mapping)]


def _embeds(m: Mapping[str, Any]) -> str:
    embeds = [e for e in m.get("embeds") or () if isinstance(e, Mapping)]
    return "\n\n".join(render_mentions(str(e[k])) for e in embeds
                       for k in ("title", "description") if e.get(k))


def forwarded(d: Mapping[str, Any]) -> Mapping[str, Any]:
    """The forwarded message of a forward (``message_snapshots[0].message``), or ``{}``."""
    for snap in d.get("message_snapshots") or ():
        message = snap.get("message") if isinstance(snap, Mapping) else None
        if isinstance(message, Mapping):
            return message
    return {}


def message_words(d: Mapping[str, Any]) -> tuple[Any, str]:
    """(text, where it came from) of a message object: its ``content`` with its files
    after it, else an embed's words, else a forward's, else the files alone. A
    ``content`` of another type than a string is returned as it is, for validation.

    >>> message_words({"content": "<@1> look", "attachments": [{"filename": "a.png"}]})
    ('@user look [attachment: a.png]', 'content')
    >>> message_words({"content": "", "message_snapshots": [{"message": {"content": "",
    ...     "attachments": [{"filename": "meme.jpg"}]}}]})
    ('[attachment: meme.jpg]', 'forward')
    """
    content = d.get("content")
    if content is not None and not isinstance(content, str):
        return content, "content"
    files = _files(d)
    if content and content.strip():
        return " ".join([render_mentions(content), *files]), "content"
    if embed := _embeds(d):
        return " ".join([embed, *files]), "embed"
    snapshot = forwarded(d)
    if snapshot:
        text, _ = message_words(snapshot)
        if isinstance(text, str) and text.strip():
            return text, "forward"
    return (" ".join(files), "attachment") if files else (content, "content")
