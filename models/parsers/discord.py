"""Discord's payload: a Gateway dispatch as ``connectors.discord`` produces it,
``{"t": <type>, "d": <the dispatch's d as sent>}`` (plus ``parent_channel_id`` when the
message is in a thread; ``include_bots`` when the operator asked for bots' messages).
MESSAGE_CREATE/_UPDATE are posts, their text as the client shows it
(:mod:`models.parsers.discord_text`: mentions as ``@user``/``#channel``/``:emoji:``, a
message without words as its embed, forward or files). MESSAGE_DELETE is a deletion,
MESSAGE_DELETE_BULK a moderator's action; system messages (joins, pins, boosts, a slash
command's answer), a bot's or a webhook's message (``author.bot``, ``webhook_id``:
``meta.reason = "bot"``, decided here so a replayed recording reads as the live stream
did) and a MESSAGE_UPDATE the author did not make (no ``edited_timestamp``: an embed
resolved, a pin) or without ``content`` (a partial update) are ``non_post`` events. A
reply (``message_reference`` of type 0) has its parent's id; a forward (type 1) has none
and reads as the forwarded message (``meta.forwarded``).

Moderators' actions (intents GUILD_MODERATION and AUTO_MODERATION_EXECUTION; the bot
needs View Audit Log and Manage Server): an ``AUTO_MODERATION_ACTION_EXECUTION`` of a
keyword rule (the words the moderators listed, or a preset list they switched on) is a
removal of that message, carrying its content; spam, mention-spam and profile rules are
Discord's automatic filters and teach nothing. A ``GUILD_AUDIT_LOG_ENTRY_CREATE`` names
the moderator: 72 (a member's message deleted by someone else: Discord does not say
which message, so the label goes to that member's post deleted just before), 22 (ban),
20 (kick) and 24 with ``communication_disabled_until`` set (timeout) label what that
member wrote in the minutes before."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, Optional

from models.parsers.discord_text import forwarded, message_words

__all__ = ["parse_discord", "snowflake_time"]

#: AutoMod rule trigger types that are the moderators' own norms: KEYWORD, KEYWORD_PRESET
AUTOMOD_TAUGHT = (1, 4)
#: audit log action types -> Vigil's action
AUDIT_ACTIONS = {72: "remove", 22: "ban", 20: "kick", 24: "timeout"}
POST_TYPES = (0, 19)  # DEFAULT, REPLY; the rest are system messages (joins, pins, boosts)
#: message flag IS_CROSSPOST: a copy of an announcement from a followed channel elsewhere
IS_CROSSPOST = 1 << 1
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
    if t == "AUTO_MODERATION_ACTION_EXECUTION":
        return _automod(d)
    if t == "GUILD_AUDIT_LOG_ENTRY_CREATE":
        return _audit_entry(d)
    where = {"guild_id": d.get("guild_id"), "channel_id": d.get("channel_id")}
    if t == "MESSAGE_DELETE":
        return {**base, "event": "deletion", "meta": where}
    if t == "MESSAGE_DELETE_BULK":  # only moderators (Manage Messages) and bots purge
        ids = list(d.get("ids") or ())
        return {**base, "event": "moderation_action", "action": "bulk_delete",
                "post_id": ids[0] if ids else None, "post_ids": ids, "meta": where}
    if d.get("type", 0) not in POST_TYPES:
        return {**base, "event": "non_post",
                "meta": {**where, "message_type": d.get("type"), "reason": "system"}}
    author = d.get("author") if isinstance(d.get("author"), Mapping) else {}
    if (author.get("bot") or d.get("webhook_id")) and not obj.get("include_bots"):
        return {**base, "event": "non_post", "meta": {**where, "reason": "bot", "kind": t,
                                                       "webhook": bool(d.get("webhook_id"))}}
    edited = d.get("edited_timestamp")
    # an update the author did not make (an embed unfurled, a pin, a flag) or a partial
    # one without the words: the post as scored stands
    if t == "MESSAGE_UPDATE" and (not edited or "content" not in d):
        return {**base, "event": "non_post", "meta": {
            **where, "kind": t, "reason": "not_edited" if not edited else "partial_update"}}
    ref = d.get("message_reference") if isinstance(d.get("message_reference"), Mapping) else {}
    thread = d.get("thread") if isinstance(d.get("thread"), Mapping) else {}
    text, source = message_words(d)
    guild, channel = d.get("guild_id"), d.get("channel_id")
    # type 0 (DEFAULT) is a reply; 1 (FORWARD) is no reply; a crosspost's reference is
    # the announcement it copies, in another server
    reply = ref.get("type", 0) == 0 and not (_int(d.get("flags")) & IS_CROSSPOST)
    return {
        **base, "author": author.get("id") or author.get("username"), "text": text,
        "created_at": d.get("timestamp") or snowflake_time(d.get("id")),
        "thread_id": channel if obj.get("parent_channel_id") else thread.get("id"),
        "parent_id": ref.get("message_id") if reply else None,
        "url": f"https://discord.com/channels/{guild or '@me'}/{channel}/{d.get('id')}"
        if channel and d.get("id") else None,
        "meta": {**where, "kind": t, "edited": bool(edited), "revision": edited,
                 "text_from": source, "parent_channel_id": obj.get("parent_channel_id"),
                 "forwarded": bool(forwarded(d)) or ref.get("type") == 1,
                 "mention_everyone": bool(d.get("mention_everyone")),
                 **{k: len(d.get(k) or ()) for k in ("attachments", "embeds", "mentions")}},
    }


def _automod(d: Mapping[str, Any]) -> dict:
    """An AutoMod rule acting on a message (one event per action of the rule: block,
    alert, timeout share the idempotency key, so the label counts once).

    >>> e = parse_discord({"t": "AUTO_MODERATION_ACTION_EXECUTION", "d": {"guild_id": "11",
    ...     "rule_id": "77", "rule_trigger_type": 1, "action": {"type": 1}, "user_id": "9",
    ...     "channel_id": "12", "content": "buy my scam", "matched_keyword": "scam"}})
    >>> m = e["moderation"]; m["action"], m["by"], m["text"], m["post_ids"][0].startswith("automod:")
    ('remove', 'moderator', 'buy my scam', True)
    """
    content = d.get("content") if isinstance(d.get("content"), str) else None
    mid = d.get("message_id")
    # a blocked message was never posted: its own id, from the rule and what was typed
    digest = hashlib.sha1(f"{d.get('user_id')}\x1f{content}".encode()).hexdigest()[:16]
    post_id = str(mid) if mid else f"automod:{d.get('rule_id')}:{digest}"
    taught = d.get("rule_trigger_type") in AUTOMOD_TAUGHT
    return {"event": "moderation_action", "platform": "discord", "community": None,
            "post_id": f"automod:{d.get('rule_id')}:{mid or digest}", "created_at": None,
            "meta": {"guild_id": d.get("guild_id"), "channel_id": d.get("channel_id"),
                     "rule_trigger_type": d.get("rule_trigger_type"),
                     "action_type": (d.get("action") or {}).get("type")},
            "moderation": {"action": "remove", "by": "moderator" if taught else "automatic",
                           "moderator": None, "post_ids": [post_id], "text": content,
                           "source": "discord:automod",
                           "event_id": f"automod:{d.get('rule_id')}:{mid or digest}"}}


def _audit_entry(d: Mapping[str, Any]) -> dict:
    """An audit log entry: a moderator deleting a member's message, banning, kicking or
    timing them out.

    >>> e = parse_discord({"t": "GUILD_AUDIT_LOG_ENTRY_CREATE", "d": {"id": "5", "guild_id": "11",
    ...     "action_type": 24, "user_id": "1", "target_id": "9", "changes": [{"key":
    ...     "communication_disabled_until", "new_value": "2026-11-02T09:10:00+00:00"}]}})
    >>> m = e["moderation"]; m["action"], m["target_author"], m["moderator"]
    ('timeout', '9', '1')
    """
    kind = d.get("action_type")
    action = AUDIT_ACTIONS.get(kind) if isinstance(kind, int) else None
    if kind == 24 and not any(
            isinstance(c, Mapping) and c.get("key") == "communication_disabled_until"
            and c.get("new_value") for c in d.get("changes") or ()):
        action = None  # a nickname or role change, or a timeout lifted
    options = d.get("options") if isinstance(d.get("options"), Mapping) else {}
    moderator, target = d.get("user_id"), d.get("target_id")
    return {"event": "moderation_action", "platform": "discord", "community": None,
            "post_id": f"audit:{d.get('id')}", "created_at": snowflake_time(d.get("id")),
            "meta": {"guild_id": d.get("guild_id"), "channel_id": options.get("channel_id"),
                     "action_type": kind, "reason_given": bool(d.get("reason"))},
            "moderation": {
                "action": action or f"audit_{kind}",
                # the author deleting their own message leaves no entry; a bot's is automatic
                "by": "moderator" if moderator and moderator != target else "unknown",
                "moderator": moderator, "target_author": target,
                "deleted_only": kind == 72, "limit": _count(options.get("count")),
                "source": f"discord:audit_{action or kind}", "event_id": f"audit:{d.get('id')}"}}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _count(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1
