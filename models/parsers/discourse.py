"""Discourse's payload: a post object, a ``/posts.json`` item or a webhook body
``{"post": {...}}``, as ``connectors.discourse`` produces it.

Text is the post's ``raw`` Markdown (inline HTML, BBCode quotes) as a person reads it,
quoted posts (others' words) left out and uploads as placeholders (``[image]``), else its
``cooked`` HTML as text (:mod:`models.parsers.discourse_text`).

Ids: a reply names the post it answers by number (``reply_to_post_number``), never by
id, so every Discourse post, and every event about one (deletion, staff's removal, a
flag's verdict), is identified as ``"<topic_id>/<post_number>"``: a reply's
``parent_id`` is its topic and that number, its ``thread_id`` the topic, and an edit
(``version`` > 1) keeps all three. The numeric ``id`` is in meta. ``url`` is built
when the connector marked the body with the forum's base URL (``discourse_instance``:
the poller's ``base_url``, a webhook's ``X-Discourse-Instance``), else it is None.

Not posts: ``post_type`` 2 (moderator_action: "closed this topic") is a moderator's
action, 3 (small_action: "split this topic") a ``non_post`` event, and 4 (a whisper: a
note only staff see) a ``non_post`` event too: Vigil watches what the community reads,
and staff discussing a flagged post would be scored as its author. A deleted post
(``deleted_at``, or ``user_deleted`` for a post its author withdrew), or a body the
connector marked ``{"discourse_event": "post_destroyed", ...}`` (Discourse before 3.2
serialised ``post_destroyed`` before trashing the post), is a deletion event; when its
``deleted_by`` (sent to staff-scoped webhooks) is someone other than the author, it is a
moderator's removal. A flag webhook body ``{"flag": {...}}`` marked ``flag_agreed`` or
``flag_disagreed`` is staff's verdict on a flagged post."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from models.parsers.discourse_text import cooked_text, quote_count, raw_text

__all__ = ["parse_discourse", "post_key"]

#: flag types whose verdict is about how people treat each other (spam and off-topic
#: flags are about something else, and teach the toxicity model nothing)
CONDUCT_FLAGS = frozenset({"inappropriate", "notify_moderators", "illegal"})
#: X-Discourse-Event of a flag's resolution -> Vigil's action
FLAG_RESOLUTIONS = {"flag_agreed": "remove", "flag_disagreed": "approve"}

#: post_type -> the event it is (see the module's docstring)
NOT_POSTS = {2: ("moderation_action", "moderator_action"), 3: ("non_post", "small_action"),
             4: ("non_post", "whisper")}


def post_key(post: Mapping[str, Any]) -> Any:
    """The id Vigil gives a post: ``"<topic_id>/<post_number>"``, what a reply can name;
    the numeric id for a post object without them (validation judges it).

    >>> post_key({"id": 812, "topic_id": 77, "post_number": 4}), post_key({"id": 9})
    ('77/4', 9)
    """
    topic, number = _int(post.get("topic_id")), _int(post.get("post_number"))
    return f"{topic}/{number}" if topic is not None and number is not None else post.get("id")


def parse_discourse(obj: Mapping[str, Any]) -> dict:
    """A /posts.json item or a webhook body ``{"post": {...}}`` as canonical fields.

    >>> f = parse_discourse({"post": {"id": 812, "topic_id": 77, "topic_slug": "saves",
    ...     "post_number": 4, "reply_to_post_number": 2, "username": "sam", "version": 2,
    ...     "created_at": "2026-11-02T08:00:00.000Z", "category_id": 5,
    ...     "raw": '[quote="alex, post:2, topic:77"]\\nrage\\n[/quote]\\nSame here 😡'}})
    >>> f["post_id"], f["parent_id"], f["thread_id"], f["text"], f["meta"]["revision"]
    ('77/4', '77/2', 77, 'Same here 😡', 2)
    >>> f["url"], f["meta"]["path"]
    (None, '/t/saves/77/4')
    >>> parse_discourse({"post": {"id": 9, "deleted_at": "2026-11-02T09:00:00Z"}})["event"]
    'deletion'
    >>> e = parse_discourse({"post": {"id": 9, "user_id": 4, "deleted_at": "2026-11-02T09:00:00Z",
    ...     "deleted_by": {"id": 1, "username": "staff"}, "raw": "you clown"}})
    >>> e["event"], e["moderation"]["action"], e["moderation"]["by"], e["moderation"]["text"]
    ('moderation_action', 'remove', 'moderator', 'you clown')
    """
    if isinstance(obj.get("flag"), Mapping):
        return _flag(obj["flag"], str(obj.get("discourse_event") or ""))
    post = obj.get("post") if "post" in obj else obj
    if not isinstance(post, Mapping):
        return {}
    pid, topic, number = post.get("id"), post.get("topic_id"), post.get("post_number")
    if _deleted(post) or obj.get("discourse_event") == "post_destroyed":
        return _deletion(post)
    if post.get("post_type") in NOT_POSTS:
        event, reason = NOT_POSTS[post["post_type"]]
        return {"event": event, "platform": "discourse", "post_id": post_key(post),
                "community": None, "action_code": post.get("action_code"),
                "created_at": post.get("created_at"),
                "meta": {"id": pid, "topic_id": topic, "reason": reason}}
    raw, cooked = post.get("raw"), post.get("cooked")
    if isinstance(raw, str) and raw.strip():
        text = raw_text(raw)
    elif isinstance(cooked, str):
        text = cooked_text(cooked)
    else:
        text = raw  # None: missing_field; any other type: wrong_type
    title = post.get("topic_title")
    if number == 1 and isinstance(title, str) and isinstance(text, str):
        text = f"{title}\n\n{text}"
    slug, version = post.get("topic_slug"), _int(post.get("version"))
    edited = version is not None and version > 1
    reply_to = _int(post.get("reply_to_post_number"))
    path = f"/t/{slug}/{topic}/{number}" if slug and topic and number else None
    base = obj.get("discourse_instance")
    return {
        "platform": "discourse", "community": None, "post_id": post_key(post),
        # the numeric user id, as a string (the canonical author is one), or the username
        "author": _id_str(post.get("user_id") or post.get("username")), "text": text,
        "created_at": post.get("created_at"), "thread_id": topic,
        "parent_id": f"{topic}/{reply_to}" if reply_to and topic is not None else None,
        "lang": None,
        "url": f"{base.rstrip('/')}{path}" if isinstance(base, str) and base and path else None,
        "meta": {"id": pid, "topic_id": topic, "post_number": number,
                 "reply_to_post_number": post.get("reply_to_post_number"),
                 "category_id": post.get("category_id"), "category_slug": post.get("category_slug"),
                 "path": path, "edited": edited, "revision": version if edited else None,
                 "updated_at": post.get("updated_at"), "hidden": bool(post.get("hidden")),
                 "quotes": quote_count(raw) if isinstance(raw, str) else 0,
                 "trust_level": post.get("trust_level")},
    }


def _deleted(post: Mapping[str, Any]) -> bool:
    return bool(post.get("deleted_at") or post.get("user_deleted"))


def _int(value: Any) -> Optional[int]:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _id_str(value: Any) -> Any:
    """An integer id as a string; anything else as it is (validation judges it)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _deletion(post: Mapping[str, Any]) -> dict:
    """A deleted post: the author's withdrawal, staff's removal, or unknown."""
    pid, key = post.get("id"), post_key(post)
    base = {"platform": "discourse", "post_id": key, "community": None,
            "thread_id": post.get("topic_id"), "created_at": post.get("deleted_at"),
            "meta": {"id": pid, "topic_id": post.get("topic_id")}}
    deleter = post.get("deleted_by") if isinstance(post.get("deleted_by"), Mapping) else {}
    author = post.get("user_id")
    if post.get("user_deleted") or not deleter.get("id") or deleter.get("id") == author:
        return {**base, "event": "deletion"}
    raw = post.get("raw")
    return {**base, "event": "moderation_action", "moderation": {
        "action": "remove", "by": "moderator", "moderator": deleter.get("id"),
        "post_ids": [str(key)] if key is not None else [],
        "text": raw_text(raw) if isinstance(raw, str) and raw.strip() else None,
        "source": "discourse:post_destroyed", "event_id": f"destroyed:{pid}"}}


def _flag(flag: Mapping[str, Any], event: str) -> dict:
    """A flag resolved by staff: agreed (removal) or disagreed (approval)."""
    post = flag.get("post") if isinstance(flag.get("post"), Mapping) else {}
    pid = post_key(post)
    action = FLAG_RESOLUTIONS.get(event, event or "flag")
    conduct = flag.get("flag_type") in CONDUCT_FLAGS
    raw = post.get("raw")
    return {"event": "moderation_action", "platform": "discourse", "community": None,
            "post_id": f"flag:{flag.get('id')}", "created_at": flag.get("resolved_at"),
            "meta": {"flag_type": flag.get("flag_type"), "resolution": event},
            "moderation": {
                # a spam or off-topic verdict is not about conduct: seen, not taught
                "action": action if conduct else f"{action}_{flag.get('flag_type')}",
                "by": "moderator" if flag.get("resolved_by") else "unknown",
                "moderator": flag.get("resolved_by"),
                "post_ids": [str(pid)] if pid is not None else [],
                "text": raw_text(raw) if isinstance(raw, str) and raw.strip() else None,
                "source": "discourse:" + (event or "flag"), "event_id": f"flag:{flag.get('id')}"}}
