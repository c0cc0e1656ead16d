"""Discourse's payload: a post object, a ``/posts.json`` item or a webhook body
``{"post": {...}}``, as ``connectors.discourse`` produces it.

Text is the post's ``raw`` markdown without quoted posts (others' words) and with
uploads reduced to their names, else its ``cooked`` HTML as text. A deleted post
(``deleted_at``, or ``user_deleted`` for a post its author withdrew), or a body the
connector marked ``{"discourse_event": "post_destroyed", ...}`` (Discourse before 3.2
serialised ``post_destroyed`` before trashing the post), is a deletion event; when its
``deleted_by`` (sent to staff-scoped webhooks) is someone other than the author, it is a
moderator's removal. A flag webhook body ``{"flag": {...}}`` marked ``flag_agreed`` or
``flag_disagreed`` is staff's verdict on a flagged post."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, Mapping, Optional

__all__ = ["parse_discourse"]

#: flag types whose verdict is about how people treat each other (spam and off-topic
#: flags are about something else, and teach the toxicity model nothing)
CONDUCT_FLAGS = frozenset({"inappropriate", "notify_moderators", "illegal"})
#: X-Discourse-Event of a flag's resolution -> Vigil's action
FLAG_RESOLUTIONS = {"flag_agreed": "remove", "flag_disagreed": "approve"}

#: post_type 2 (moderator_action: "closed this topic") and 3 (small_action: "split
#: this topic") are the system's notes, not someone's words; 4 (whisper) is a post.
NOT_POSTS = {2: "moderation_action", 3: "non_post"}
# innermost [quote="user, post:3, topic:7"]...[/quote] first, so nested quotes go too
_QUOTE = re.compile(r"\[quote(?:=[^\]]*)?\](?:(?!\[quote).)*?\[/quote\]", re.S | re.I)
# ![alt|690x388](upload://x.png), [report.pdf|attachment](upload://y.pdf): keep the name
_UPLOAD = re.compile(r"!?\[([^\]|]*)(?:\|[^\]]*)?\]\(upload://[^)]*\)")


def parse_discourse(obj: Mapping[str, Any]) -> dict:
    """A /posts.json item or a webhook body ``{"post": {...}}`` as canonical fields.

    >>> f = parse_discourse({"post": {"id": 812, "topic_id": 77, "topic_slug": "saves",
    ...     "post_number": 4, "reply_to_post_number": 2, "username": "sam", "version": 2,
    ...     "created_at": "2026-11-02T08:00:00.000Z", "category_id": 5,
    ...     "raw": '[quote="alex, post:2, topic:77"]\\nrage\\n[/quote]\\nSame here 😡'}})
    >>> f["post_id"], f["thread_id"], f["text"], f["meta"]["revision"], f["meta"]["path"]
    (812, 77, 'Same here 😡', 2, '/t/saves/77/4')
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
        return {"event": NOT_POSTS[post["post_type"]], "platform": "discourse", "post_id": pid,
                "community": None, "action_code": post.get("action_code")}
    raw, cooked, quotes = post.get("raw"), post.get("cooked"), 0
    if isinstance(raw, str) and raw.strip():
        text, quotes = _QUOTE.subn("", raw)
        while quotes and _QUOTE.search(text):
            text, more = _QUOTE.subn("", text)
            quotes += more
        # only quoted words: an amplification, scored on what it repeats
        text = _UPLOAD.sub(lambda m: m.group(1) or "upload", text).strip() or raw
    elif isinstance(cooked, str):
        text = _strip_html(cooked)
    else:
        text = raw  # None: missing_field; any other type: wrong_type
    title = post.get("topic_title")
    if number == 1 and isinstance(title, str) and isinstance(text, str):
        text = f"{title}\n\n{text}"
    slug, version = post.get("topic_slug"), _int(post.get("version"))
    edited = version is not None and version > 1
    return {
        "platform": "discourse", "community": None, "post_id": pid,
        # the numeric user id, as a string (the canonical author is one), or the username
        "author": _id_str(post.get("user_id") or post.get("username")), "text": text,
        "created_at": post.get("created_at"),
        "thread_id": topic, "parent_id": None, "lang": None, "url": None,
        "meta": {"topic_id": topic, "post_number": number,
                 "reply_to_post_number": post.get("reply_to_post_number"),
                 "category_id": post.get("category_id"), "category_slug": post.get("category_slug"),
                 "path": f"/t/{slug}/{topic}/{number}" if slug and topic and number else None,
                 "edited": edited, "revision": version if edited else None,
                 "updated_at": post.get("updated_at"), "hidden": bool(post.get("hidden")),
                 "whisper": post.get("post_type") == 4, "quotes": quotes,
                 "trust_level": post.get("trust_level")},
    }


class _Text(HTMLParser):
    """``cooked`` HTML as text: quotes and oneboxes (``<aside>``) are others' words."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "aside":
            self.skip += 1
        elif not self.skip and tag == "img" and "emoji" in (dict(attrs).get("class") or ""):
            self.out.append(dict(attrs).get("alt") or "")
        elif not self.skip and tag in ("br", "p", "li", "div", "blockquote"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag == "aside" and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def _strip_html(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.out)).strip()


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
    pid = post.get("id")
    base = {"platform": "discourse", "post_id": pid, "community": None,
            "thread_id": post.get("topic_id"), "created_at": post.get("deleted_at")}
    deleter = post.get("deleted_by") if isinstance(post.get("deleted_by"), Mapping) else {}
    author = post.get("user_id")
    if post.get("user_deleted") or not deleter.get("id") or deleter.get("id") == author:
        return {**base, "event": "deletion"}
    raw = post.get("raw")
    return {**base, "event": "moderation_action", "moderation": {
        "action": "remove", "by": "moderator", "moderator": deleter.get("id"),
        "post_ids": [str(pid)] if pid is not None else [],
        "text": raw if isinstance(raw, str) else None,
        "source": "discourse:post_destroyed", "event_id": f"destroyed:{pid}"}}


def _flag(flag: Mapping[str, Any], event: str) -> dict:
    """A flag resolved by staff: agreed (removal) or disagreed (approval)."""
    post = flag.get("post") if isinstance(flag.get("post"), Mapping) else {}
    pid = post.get("id")
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
                "text": raw if isinstance(raw, str) else None,
                "source": "discourse:" + (event or "flag"), "event_id": f"flag:{flag.get('id')}"}}
