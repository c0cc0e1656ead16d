"""Telegram's payload: a Bot API Update as sent (``update_id`` and one of ``message``,
``edited_message``, ``channel_post``, ``edited_channel_post``), as ``connectors.telegram``
produces it."""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["parse_telegram", "KINDS"]

KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
#: service messages (members, pins, titles, migrations; also forum_topic_*, video_chat_*)
SERVICE = ("new_chat_members", "left_chat_member", "pinned_message", "new_chat_title",
           "new_chat_photo", "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
           "channel_chat_created", "migrate_to_chat_id", "migrate_from_chat_id", "boost_added",
           "message_auto_delete_timer_changed", "chat_background_set", "write_access_allowed")
MEDIA = ("photo", "video", "animation", "document", "audio", "voice", "video_note", "sticker",
         "poll", "location", "contact", "dice")


def _message(update: Mapping[str, Any]) -> tuple[Optional[str], Mapping[str, Any]]:
    for kind in KINDS:
        if isinstance(update.get(kind), Mapping):
            return kind, update[kind]
    return None, {}


def parse_telegram(update: Mapping[str, Any]) -> dict:
    """An Update as canonical post fields, or a service message as a platform event.

    Text is ``text`` or ``caption``; without either a sticker is its emoji and a poll its
    question and options, and a photo or file is "" (dead-lettered as empty_text: nothing
    to score). Service messages are ``non_post`` events, except a member removed by
    someone else (an admin's kick or ban): ``moderation_action``. post_id is
    "<chat id>:<message_id>"; the author is the sender's numeric id (usernames change).

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
    """
    kind, msg = _message(update)
    chat = msg.get("chat") if isinstance(msg.get("chat"), Mapping) else {}
    chat_id, mid = chat.get("id"), msg.get("message_id")
    post_id = f"{chat_id}:{mid}" if chat_id is not None and mid is not None else None
    sender = msg.get("sender_chat") or msg.get("from")  # sender_chat: channel / anonymous admin
    author = sender.get("id") if isinstance(sender, Mapping) else None
    meta = {"update_id": update.get("update_id"), "kind": kind, "chat_id": chat_id,
            "chat_type": chat.get("type"), "chat_title": chat.get("title")}
    service = next((k for k in msg if k in SERVICE or k.startswith(
        ("forum_topic_", "general_forum_topic_", "video_chat_"))), None)
    if service:
        left, actor = msg.get("left_chat_member"), msg.get("from")
        # a member removed by someone else was kicked or banned by an admin
        removed = (isinstance(left, Mapping) and isinstance(actor, Mapping)
                   and left.get("id") != actor.get("id"))
        return {"event": "moderation_action" if removed else "non_post", "platform": "telegram",
                "post_id": post_id, "community": None, "action": service,
                "author": author, "created_at": msg.get("date"), "meta": meta}
    text = msg["text"] if "text" in msg else msg.get("caption")
    media = next((k for k in MEDIA if k in msg), None)
    sticker, poll = msg.get("sticker"), msg.get("poll")
    if text is None and isinstance(sticker, Mapping):  # the emoji is what a sticker says
        text = sticker.get("emoji") or ""
    elif text is None and isinstance(poll, Mapping):
        text = "\n".join(str(o.get("text", "")) if isinstance(o, Mapping) else "" for o in
                         [{"text": poll.get("question", "")}, *(poll.get("options") or [])])
    elif text is None:  # a photo/file without caption: nothing to score -> empty_text
        text = ""
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
                is_bot=bool(sender.get("is_bot")) if isinstance(sender, Mapping) else None)
    return {"platform": "telegram", "community": None, "post_id": post_id, "author": author,
            "text": text, "created_at": msg.get("date"), "parent_id": parent,
            "thread_id": f"{chat_id}:{thread}" if thread is not None else None,
            "lang": None, "url": url, "meta": meta}
