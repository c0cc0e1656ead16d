"""Telegram's payload: a Bot API Update as sent (``update_id`` and one of ``message``,
``edited_message``, ``channel_post``, ``edited_channel_post``, ``chat_member``), as
``connectors.telegram`` produces it. Other updates (``my_chat_member``,
``message_reaction``...) are ``non_post`` events: they hold no post.

Moderators' actions: the Bot API sends bots no deletion events at all, so a message an
admin deleted is never seen to go and teaches nothing. What it does send, to a bot that
is an administrator and asks for ``chat_member`` updates, is a member's status changed
by someone (``from``): to ``kicked`` (banned), to ``restricted`` without
``can_send_messages`` (muted) or, in a basic group, to ``left`` while a member (removed).
These are ``ban``, ``timeout`` and ``kick`` of that member (``target_author``: the id a
post's author has), labelling what they wrote in the minutes before. Done by another bot
they are ``automatic`` (an anonymous admin shows as @GroupAnonymousBot: a moderator);
other status changes (joins, leaving, promotions, a ban lifted) are ``non_post`` events."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from models.parsers.telegram_text import entity_types, message_text

__all__ = ["parse_telegram", "KINDS", "UPDATES"]

KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
MEMBER = "chat_member"
#: what the connector asks Telegram for (``allowed_updates``)
UPDATES = (*KINDS, MEMBER)
#: anonymous admins act as this bot (@GroupAnonymousBot): a person, not a filter
ANONYMOUS_ADMIN = 1087968824
#: service messages (members, pins, titles, migrations, payments, giveaways; also
#: forum_topic_*, general_forum_topic_*, video_chat_*, checklist_tasks_*)
SERVICE = ("new_chat_members", "left_chat_member", "pinned_message", "new_chat_title",
           "new_chat_photo", "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
           "channel_chat_created", "migrate_to_chat_id", "migrate_from_chat_id", "boost_added",
           "message_auto_delete_timer_changed", "chat_background_set", "write_access_allowed",
           "users_shared", "chat_shared", "connected_website", "proximity_alert_triggered",
           "successful_payment", "refunded_payment", "web_app_data", "passport_data",
           "giveaway_created", "giveaway", "giveaway_winners", "giveaway_completed", "gift",
           "unique_gift", "paid_message_price_changed", "direct_message_price_changed")
_SERVICE_PREFIXES = ("forum_topic_", "general_forum_topic_", "video_chat_", "checklist_tasks_")


def _message(update: Mapping[str, Any]) -> tuple[Optional[str], Mapping[str, Any]]:
    """The update's kind and its object (a Message, or a ChatMemberUpdated)."""
    for kind in UPDATES:
        if isinstance(update.get(kind), Mapping):
            return kind, update[kind]
    return None, {}


def _other_update(update: Mapping[str, Any]) -> dict:
    """An Update of a kind that holds no post (my_chat_member: the bot's own membership;
    message_reaction, poll_answer, callback_query, chat_join_request...), or ``{}`` (a
    dead letter) for an object that is no Update at all."""
    # an empty object is no update of any kind: nothing to count, a dead letter
    kinds = [k for k in update if k not in UPDATES and isinstance(update[k], Mapping)
             and update[k]]
    if "update_id" not in update or not kinds:
        return {}
    chat = _mapping(update[kinds[0]].get("chat"))
    return {"event": "non_post", "platform": "telegram", "community": None,
            "post_id": f"update:{update['update_id']}", "created_at": update[kinds[0]].get("date"),
            "meta": {"update_id": update["update_id"], "kind": kinds[0], "reason": "update_type",
                     "chat_id": chat.get("id")}}


def parse_telegram(update: Mapping[str, Any]) -> dict:
    """An Update as canonical post fields, or a service message as a platform event.

    Text is ``text``, else the caption and a placeholder for the media
    (:mod:`models.parsers.telegram_text`: ``[photo]``, ``[sticker: 😂]``; a poll is its
    question and options). A message from a bot account (``from.is_bot``, not an anonymous
    admin nor a channel speaking through ``sender_chat``) is a ``non_post`` event with
    ``meta.reason = "bot"``. Service messages are ``non_post`` events, except a member
    removed by someone else (an admin's kick or ban): ``moderation_action``, counted but
    labelling nothing (its ``chat_member`` update does). post_id is
    "<chat id>:<message_id>", the same for every edit; a reply's parent_id and a
    thread's (``message_thread_id``: a forum topic or a reply thread) thread_id use it
    too. The author is the sender's numeric id, as a string (usernames change);
    ``sender_chat`` (a channel, or a group's anonymous admin) when there is one. The
    community is the connector's, from its chats: the chat's ``username`` and ``title``
    are in meta (they change; the configured name does not).

    >>> f = parse_telegram({"update_id": 9, "edited_message": {"message_id": 42,
    ...     "from": {"id": 7, "is_bot": False, "first_name": "Sam"}, "date": 1793606400,
    ...     "edit_date": 1793606460, "chat": {"id": -1001, "type": "supergroup",
    ...     "username": "acme"}, "text": "fixed typo", "message_thread_id": 40,
    ...     "reply_to_message": {"message_id": 41, "chat": {"id": -1001}, "date": 1}}})
    >>> f["post_id"], f["parent_id"], f["thread_id"], f["url"], f["meta"]["revision"]
    ('-1001:42', '-1001:41', '-1001:40', 'https://t.me/acme/42', 1793606460)
    >>> parse_telegram({"message": {"message_id": 5, "chat": {"id": -1001}, "date": 1,
    ...     "from": {"id": 7}, "new_chat_members": [{"id": 8}]}})["event"]
    'non_post'
    >>> b = parse_telegram({"message": {"message_id": 6, "chat": {"id": -1001}, "date": 1,
    ...     "from": {"id": 9, "is_bot": True, "first_name": "Shop"}, "text": "buy now"}})
    >>> b["event"], b["meta"]["reason"]
    ('non_post', 'bot')
    """
    kind, msg = _message(update)
    if kind == MEMBER:
        return _member_update(update.get("update_id"), msg)
    if kind is None and (other := _other_update(update)):
        return other
    chat = msg.get("chat") if isinstance(msg.get("chat"), Mapping) else {}
    chat_id, mid = chat.get("id"), msg.get("message_id")
    post_id = f"{chat_id}:{mid}" if chat_id is not None and mid is not None else None
    sender = msg.get("sender_chat") or msg.get("from")  # sender_chat: channel / anonymous admin
    author = sender.get("id") if isinstance(sender, Mapping) else None
    meta = {"update_id": update.get("update_id"), "kind": kind, "chat_id": chat_id,
            "chat_type": chat.get("type"), "chat_title": chat.get("title"),
            "chat_username": chat.get("username")}
    service = next((k for k in msg if k in SERVICE or k.startswith(_SERVICE_PREFIXES)), None)
    if service:
        left, actor = msg.get("left_chat_member"), msg.get("from")
        # a member removed by someone else was kicked or banned by an admin; no label here:
        # the chat_member update of the same removal says which and teaches once
        removed = (isinstance(left, Mapping) and isinstance(actor, Mapping)
                   and left.get("id") != actor.get("id"))
        return {"event": "moderation_action" if removed else "non_post", "platform": "telegram",
                "post_id": post_id, "community": None, "action": service,
                "author": author, "created_at": msg.get("date"),
                "meta": {**meta, "reason": "service", "service": service}}
    person = _mapping(msg.get("from"))
    if person.get("is_bot") and "sender_chat" not in msg and person.get("id") != ANONYMOUS_ADMIN:
        return {"event": "non_post", "platform": "telegram", "post_id": post_id,
                "community": None, "created_at": msg.get("date"),
                "meta": {**meta, "reason": "bot"}}
    text, media = message_text(msg)
    reply, thread = msg.get("reply_to_message"), msg.get("message_thread_id")
    parent = None
    # in forum topics every message "replies" to the topic's creation message
    if isinstance(reply, Mapping) and "forum_topic_created" not in reply:
        parent = f"{chat_id}:{reply.get('message_id')}"
    url = (f"https://t.me/{chat['username']}/{mid}" if chat.get("username") else
           # a private supergroup or channel: the link works for its members
           f"https://t.me/c/{str(chat_id)[4:]}/{mid}" if str(chat_id).startswith("-100") else None)
    edit = msg.get("edit_date")
    meta.update(media=media, edited=edit is not None, revision=edit,
                forwarded="forward_origin" in msg or "forward_date" in msg,
                automatic_forward=bool(msg.get("is_automatic_forward")),
                entities=entity_types(msg),
                is_bot=bool(sender.get("is_bot")) if isinstance(sender, Mapping) else None)
    return {"platform": "telegram", "community": None, "post_id": post_id,
            # the numeric id as a string: the canonical author is one
            "author": str(author) if isinstance(author, int) and not isinstance(author, bool)
            else author, "text": text, "created_at": msg.get("date"), "parent_id": parent,
            "thread_id": f"{chat_id}:{thread}" if thread is not None else None,
            "lang": None, "url": url, "meta": meta}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def member_event_id(change: Mapping[str, Any]) -> str:
    """One id per status change, the same however often (or to whichever bot) it is sent."""
    chat, new = _mapping(change.get("chat")), _mapping(change.get("new_chat_member"))
    user = _mapping(new.get("user"))
    return f"{chat.get('id')}:member:{user.get('id')}:{new.get('status')}@{change.get('date')}"


def _sanction(old: Mapping[str, Any], new: Mapping[str, Any]) -> Optional[str]:
    """The action a status change is, if it puts the member under one they were not."""
    def muted(m: Mapping[str, Any]) -> bool:
        return m.get("status") == "restricted" and m.get("can_send_messages") is False

    was, now = old.get("status"), new.get("status")
    if now == "kicked" and was != "kicked":
        return "ban"
    if muted(new) and not muted(old):
        return "timeout"
    # kicked -> left is a ban lifted, and a restricted non-member "leaves" when lifted too
    present = was in ("member", "administrator") or (was == "restricted" and old.get("is_member"))
    return "kick" if now == "left" and present else None


def _member_update(update_id: Any, change: Mapping[str, Any]) -> dict:
    """A ChatMemberUpdated: a ban, mute or removal as a ``moderation_action`` event.

    >>> e = parse_telegram({"update_id": 3, "chat_member": {"chat": {"id": -1001},
    ...     "from": {"id": 1, "is_bot": False}, "date": 1793606400,
    ...     "old_chat_member": {"status": "member", "user": {"id": 7}},
    ...     "new_chat_member": {"status": "restricted", "user": {"id": 7},
    ...                         "can_send_messages": False, "until_date": 1793610000}}})
    >>> m = e["moderation"]; e["event"], m["action"], m["by"], m["moderator"], m["target_author"]
    ('moderation_action', 'timeout', 'moderator', 1, 7)
    >>> parse_telegram({"chat_member": {"chat": {"id": -1001}, "from": {"id": 7},
    ...     "old_chat_member": {"status": "member", "user": {"id": 7}},
    ...     "new_chat_member": {"status": "left", "user": {"id": 7}}}})["event"]
    'non_post'
    """
    chat, actor = _mapping(change.get("chat")), _mapping(change.get("from"))
    old, new = _mapping(change.get("old_chat_member")), _mapping(change.get("new_chat_member"))
    target, actor_id = _mapping(new.get("user")).get("id"), actor.get("id")
    action = _sanction(old, new) if actor_id != target else None  # a member leaving
    event_id = member_event_id(change)
    fields = {"platform": "telegram", "community": None, "post_id": event_id,
              "created_at": change.get("date"),
              "meta": {"update_id": update_id, "kind": MEMBER, "chat_id": chat.get("id"),
                       "chat_type": chat.get("type"), "chat_title": chat.get("title"),
                       "old_status": old.get("status"), "new_status": new.get("status"),
                       "until_date": new.get("until_date")}}
    if action is None:
        return {**fields, "event": "non_post"}
    anonymous = actor_id == ANONYMOUS_ADMIN
    by = ("unknown" if actor_id is None else
          "moderator" if anonymous or not actor.get("is_bot") else "automatic")
    return {**fields, "event": "moderation_action", "moderation": {
        "action": action, "by": by, "moderator": None if anonymous else actor_id,
        "post_ids": [], "target_author": target, "text": None,
        "source": f"telegram:chat_member_{new.get('status')}", "event_id": event_id}}
