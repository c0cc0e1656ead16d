"""Discourse's payload: a post object, a ``/posts.json`` item or a webhook body
``{"post": {...}}``, as ``connectors.discourse`` produces it.

Text is the post's ``raw`` markdown without quoted posts (others' words) and with
uploads reduced to their names, else its ``cooked`` HTML as text. A deleted post
(``deleted_at``, or ``user_deleted`` for a post its author withdrew), or a body the
connector marked ``{"discourse_event": "post_destroyed", ...}`` (Discourse before 3.2
serialised ``post_destroyed`` before trashing the post), is a deletion event."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, Mapping, Optional

__all__ = ["parse_discourse"]

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
    """
    post = obj.get("post") if "post" in obj else obj
    if not isinstance(post, Mapping):
        return {}
    pid, topic, number = post.get("id"), post.get("topic_id"), post.get("post_number")
    if _deleted(post) or obj.get("discourse_event") == "post_destroyed":
        return {"event": "deletion", "platform": "discourse", "post_id": pid, "community": None,
                "thread_id": topic}
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
        "author": post.get("user_id") or post.get("username"), "text": text, "created_at": post.get("created_at"),
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
