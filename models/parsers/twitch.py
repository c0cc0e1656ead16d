r"""Twitch's payload: Twitch sends IRC lines, not JSON, so what ``connectors.twitch``
produces is Vigil's JSON rendering of one parsed line (:func:`parse_irc`),
``{"command": "PRIVMSG", "channel": "#acme", "tags": {<name>: <unescaped value>},
"prefix": "nick!nick@nick.tmi.twitch.tv", "params": [...], "text": <trailing parameter
or null>, "raw": <the line as received>}``.

``PRIVMSG`` is a post, and so is a ``USERNOTICE`` carrying text the user typed
(``meta.notice`` = its ``msg-id``: ``resub``, ``announcement``, ``viewermilestone``...);
``CLEARCHAT`` (a ban, a timeout, the whole chat cleared) and ``CLEARMSG`` (one message
removed) are ``moderation_action`` events; a ``USERNOTICE`` without text (a raid, a gift)
is a ``non_post`` event. Tag values arrive unescaped (``\s``, ``\:``, ``\\``:
:func:`parse_irc`); a ``/me`` message (``\x01ACTION …\x01``) reads as its words.
IRC says nothing of bots (no tag marks one; a channel's bots are known only by name), so
no chat message is taken for a bot's."""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["parse_twitch", "parse_irc"]

_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def _unescape(value: str) -> str:
    """IRCv3 tag value escapes; an unknown ``\\x`` is ``x``, a trailing ``\\`` dropped."""
    out, chars = [], iter(value)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "")
            ch = _ESCAPES.get(ch, ch)
        out.append(ch)
    return "".join(out)


def parse_irc(line: str) -> dict:
    r"""One IRC line as Vigil's JSON rendering (the ``twitch`` payload).

    >>> m = parse_irc(r"@id=a1;display-name=Ana\sB;reply-parent-msg-id= "
    ...               r":ana!ana@ana.tmi.twitch.tv PRIVMSG #acme :gg :)")
    >>> m["command"], m["channel"], m["tags"]["display-name"], m["text"], m["params"]
    ('PRIVMSG', '#acme', 'Ana B', 'gg :)', ['#acme', 'gg :)'])
    >>> parse_irc("PING :tmi.twitch.tv")["text"]
    'tmi.twitch.tv'
    """
    rest, tags, prefix = line, {}, None
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        for item in raw_tags.split(";"):
            if item:
                name, _, value = item.partition("=")
                tags[name] = _unescape(value)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    head, trailing_sep, trailing = rest.partition(" :")
    words = head.split()
    params = words[1:] + ([trailing] if trailing_sep else [])
    channel = params[0] if params and params[0].startswith("#") else None
    return {"command": words[0].upper() if words else "", "channel": channel, "tags": tags,
            "prefix": prefix, "params": params, "text": trailing if trailing_sep else None,
            "raw": line}


def parse_twitch(obj: Mapping[str, Any]) -> dict:
    """A parsed chat line as canonical post fields, or a platform event.

    >>> f = parse_twitch(parse_irc("@id=m2;user-id=42;tmi-sent-ts=1793606400000;"
    ...     "reply-parent-msg-id=m1;reply-thread-parent-msg-id=m0;badges=vip/1;bits=100 "
    ...     ":sam!sam@sam.tmi.twitch.tv PRIVMSG #acme :@ana same here"))
    >>> f["post_id"], f["author"], f["parent_id"], f["thread_id"], f["meta"]["bits"], f["community"]
    ('m2', '42', 'm1', 'm0', 100, None)
    >>> e = parse_twitch(parse_irc("@ban-duration=600;target-user-id=42;tmi-sent-ts=1793606400000 "
    ...     ":tmi.twitch.tv CLEARCHAT #acme :sam"))
    >>> e["meta"]["action"], e["moderation"]["action"], e["moderation"]["target_author"]
    ('timeout', 'timeout', '42')
    """
    command, tags = obj.get("command"), obj.get("tags")
    tags = tags if isinstance(tags, Mapping) else {}
    channel = obj.get("channel")
    meta: dict = {"channel": channel.lstrip("#") if isinstance(channel, str) else None,
                  "room_id": tags.get("room-id") or None}
    # community stays None: the message key carries the configured name
    base = {"platform": "twitch", "community": None, "created_at": tags.get("tmi-sent-ts") or None}
    text = obj.get("text")
    if command == "PRIVMSG" or command == "USERNOTICE" and isinstance(text, str) and text.strip():
        # a USERNOTICE's trailing text is what the user typed with it (a resub's or
        # a watch streak's message, an announcement): words to score like a message
        action = isinstance(text, str) and text.startswith("\x01ACTION ")  # a "/me" message
        if command == "USERNOTICE":
            meta.update(notice=tags.get("msg-id") or None)
        meta.update(action=action, badges=_pairs(tags.get("badges")),
                    emotes=_emotes(tags.get("emotes")),
                    bits=_int(tags.get("bits")) or 0, first_msg=tags.get("first-msg") == "1",
                    mod=tags.get("mod") == "1", subscriber=tags.get("subscriber") == "1")
        return {**base, "post_id": tags.get("id") or None,
                "author": tags.get("user-id") or _nick(obj.get("prefix")),
                "text": text[8:].rstrip("\x01") if action else text,
                "thread_id": tags.get("reply-thread-parent-msg-id") or None,
                "parent_id": tags.get("reply-parent-msg-id") or None, "lang": None,
                "url": f"https://www.twitch.tv/{meta['channel']}" if meta["channel"] else None,
                "meta": meta}
    if command == "CLEARCHAT":
        target, duration = tags.get("target-user-id") or None, _int(tags.get("ban-duration"))
        meta.update(action="timeout" if duration else "ban" if obj.get("text") else "clear_chat",
                    target_user_id=target, duration_s=duration)
        room = meta["room_id"] or meta["channel"]
        post_id = f"clearchat:{room}:{target or 'all'}:{base['created_at']}"
        # only the channel's moderators and broadcaster time out, ban or clear; IRC
        # does not say which of them did
        moderation = {"action": meta["action"], "by": "moderator", "target_author": target,
                      "source": f"twitch:{meta['action']}", "event_id": post_id}
        return {**base, "event": "moderation_action", "post_id": post_id, "meta": meta,
                "moderation": moderation}
    if command == "CLEARMSG":
        target = tags.get("target-msg-id") or None
        meta.update(action="delete_message", target_post_id=target)
        text = obj.get("text")  # CLEARMSG carries the removed message's text
        moderation = {"action": "remove", "by": "moderator", "post_ids": [target] if target else [],
                      "text": text if isinstance(text, str) else None,
                      "source": "twitch:clearmsg", "event_id": f"clearmsg:{target}"}
        return {**base, "event": "moderation_action", "target_post_id": target, "meta": meta,
                "post_id": f"clearmsg:{target}" if target else None, "moderation": moderation}
    if command == "USERNOTICE":
        params = {k[10:]: v for k, v in tags.items() if k.startswith("msg-param-")}
        meta.update(kind=tags.get("msg-id") or None, user_id=tags.get("user-id") or None,
                    params=params, raid_viewers=_int(params.get("viewerCount"))
                    if tags.get("msg-id") == "raid" else None)
        return {**base, "event": "non_post", "meta": meta,
                "post_id": f"usernotice:{tags['id']}" if tags.get("id") else None}
    return {}  # not a line the connector produces: dead-lettered as missing_field


def _nick(prefix: Any) -> Optional[str]:
    return prefix.partition("!")[0] or None if isinstance(prefix, str) and "!" in prefix else None


def _int(value: Any) -> Optional[int]:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _pairs(value: Any) -> dict:
    """``badges=moderator/1,subscriber/12`` as ``{"moderator": "1", "subscriber": "12"}``."""
    pairs = value.split(",") if isinstance(value, str) else ()
    return dict(p.partition("/")[::2] for p in pairs if p)


def _emotes(value: Any) -> dict:
    """``emotes=25:0-4,12-16/1902:6-10`` as ``{"25": [[0, 4], [12, 16]], "1902": [[6, 10]]}``."""
    out: dict = {}
    for item in value.split("/") if isinstance(value, str) else ():
        emote, _, spans = item.partition(":")
        try:
            out[emote] = [[int(a), int(b)]
                          for a, _, b in (s.partition("-") for s in spans.split(","))]
        except ValueError:
            continue
    return out
