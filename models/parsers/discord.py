"""Discord's payload: a Gateway dispatch as ``connectors.discord`` produces it,
``{"t": <type>, "d": <the dispatch's d as sent>}`` (plus ``parent_channel_id`` when the
message is in a thread). MESSAGE_CREATE/_UPDATE are posts; MESSAGE_DELETE is a deletion,
MESSAGE_DELETE_BULK a moderator's action and system messages (joins, pins, boosts)
``non_post`` events."""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["parse_discord", "snowflake_time"]

POST_TYPES = (0, 19)  # DEFAULT, REPLY; the rest are system messages (joins, pins, boosts)
DISCORD_EPOCH_MS = 1420070400000


def snowflake_time(snowflake: Any) -> Optional[float]:
    """Creation time (epoch s) a Discord id encodes.

    >>> snowflake_time("175928847299117063")
    1462015105.796
    """
    try:
        return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000.0
    except (TypeError, ValueError):
        return None


def _text(d: Mapping[str, Any]) -> tuple[Any, str]:
    """The words of a message and where they came from. Without ``content`` an embed's
    title/description, a forward's content, or the attachments' and stickers' names
    (``[attachment: cat.png]``) stand for it: an image posted alone is still a post."""
    content = d.get("content")
    if not isinstance(content, str) or content.strip():
        return content, "content"
    embeds = [e for e in d.get("embeds") or () if isinstance(e, Mapping)]
    parts = [str(e[k]) for e in embeds for k in ("title", "description") if e.get(k)]
    if parts:
        return "\n\n".join(parts), "embed"
    for snap in d.get("message_snapshots") or ():
        forwarded = ((snap or {}).get("message") or {}).get("content")
        if isinstance(forwarded, str) and forwarded.strip():
            return forwarded, "forward"
    names = [f"[attachment: {a.get('filename')}]" for a in d.get("attachments") or ()
             if isinstance(a, Mapping)]
    names += [f"[sticker: {s.get('name')}]" for s in d.get("sticker_items") or ()
              if isinstance(s, Mapping)]
    return (" ".join(names), "attachment") if names else (content, "content")


def parse_discord(obj: Mapping[str, Any]) -> dict:
    """A produced dispatch (``{"t", "d"}``; a bare message object reads as a create).

    >>> f = parse_discord({"t": "MESSAGE_UPDATE", "d": {"id": "1300000000000000001",
    ...     "channel_id": "12", "guild_id": "11", "content": "fixed typo",
    ...     "author": {"id": "9", "username": "sam"}, "timestamp": "2026-11-02T08:00:00+00:00",
    ...     "edited_timestamp": "2026-11-02T08:01:00+00:00",
    ...     "message_reference": {"message_id": "1299", "channel_id": "12"}}})
    >>> f["post_id"], f["parent_id"], f["meta"]["edited"], f["url"]
    ('1300000000000000001', '1299', True, 'https://discord.com/channels/11/12/1300000000000000001')
    >>> parse_discord({"t": "MESSAGE_DELETE", "d": {"id": "5", "channel_id": "12"}})["event"]
    'deletion'
    """
    t = obj.get("t", "MESSAGE_CREATE")
    d = obj.get("d", obj)
    if not isinstance(d, Mapping):
        return {}
    base = {"platform": "discord", "community": None, "post_id": d.get("id")}
    where = {"guild_id": d.get("guild_id"), "channel_id": d.get("channel_id")}
    if t == "MESSAGE_DELETE":
        return {**base, "event": "deletion", "meta": where}
    if t == "MESSAGE_DELETE_BULK":  # only moderators (Manage Messages) and bots purge
        ids = list(d.get("ids") or ())
        return {**base, "event": "moderation_action", "action": "bulk_delete",
                "post_id": ids[0] if ids else None, "post_ids": ids, "meta": where}
    if d.get("type", 0) not in POST_TYPES:
        return {**base, "event": "non_post", "meta": {**where, "message_type": d.get("type")}}
    author = d.get("author") if isinstance(d.get("author"), Mapping) else {}
    ref = d.get("message_reference") if isinstance(d.get("message_reference"), Mapping) else {}
    thread = d.get("thread") if isinstance(d.get("thread"), Mapping) else {}
    text, source = _text(d)
    edited = d.get("edited_timestamp")
    guild, channel = d.get("guild_id"), d.get("channel_id")
    return {
        **base, "author": author.get("id") or author.get("username"), "text": text,
        "created_at": d.get("timestamp") or snowflake_time(d.get("id")),
        "thread_id": channel if obj.get("parent_channel_id") else thread.get("id"),
        "parent_id": ref.get("message_id") if ref.get("type", 0) == 0 else None,
        "url": f"https://discord.com/channels/{guild or '@me'}/{channel}/{d.get('id')}"
        if channel and d.get("id") else None,
        "meta": {**where, "kind": t, "edited": bool(edited), "revision": edited,
                 "text_from": source, "parent_channel_id": obj.get("parent_channel_id"),
                 "mention_everyone": bool(d.get("mention_everyone")),
                 **{k: len(d.get(k) or ()) for k in ("attachments", "embeds", "mentions")}},
    }
