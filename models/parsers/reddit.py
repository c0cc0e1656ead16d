"""Reddit's payload: a Listing child (``{"kind": "t3"|"t1", "data": {...}}``: a post or
a comment; ``"modaction"``: an entry of a subreddit's moderation log), as
``connectors.reddit`` produces it byte for byte.

Moderators teach through two doors. The moderation log (``/r/<sub>/about/log``, readable
by a moderator account with the ``modlog`` scope) names the moderator: removals and
spam markings of posts and comments, approvals, bans. A listed item whose
``removed_by_category`` is ``moderator`` was removed by one (no name given); ``deleted``
or ``author`` is its author withdrawing it, and ``automod_filtered``, ``reddit``,
``anti_evil_ops``, ``copyright_takedown``, ``content_takedown`` and ``community_ops``
are filters and Reddit's own staff, not the community's moderators. AutoModerator's
entries in the log are automatic too, and its posts and comments are a bot's
(``non_post``, ``meta.reason = "bot"``).

Text: ``body`` and ``selftext`` are Markdown whose ``& < >`` Reddit escapes, read as
words with quotes dropped; an image, gallery or video post is its title and
``[image]``/``[video]``. Ids are fullnames (``t1_…``, ``t3_…``), as ``parent_id`` and
``link_id`` name them. The community is ``r/<subreddit>`` from the item itself."""

from __future__ import annotations

import re
from typing import Any, Mapping

from models.plain_text import markdown_to_text, media_placeholder, unescape_entities

__all__ = ["parse_reddit", "community_name"]

#: modlog action -> Vigil's name for it (other entries, e.g. "sticky", teach nothing)
MODLOG_ACTIONS = {"removelink": "remove", "removecomment": "remove", "spamlink": "remove",
                  "spamcomment": "remove", "approvelink": "approve",
                  "approvecomment": "approve", "banuser": "ban", "muteuser": "timeout"}
#: accounts whose log entries are automatic: filters and Reddit itself
AUTOMATIC_MODS = frozenset({"AutoModerator", "reddit", "Anti-Evil Operations"})
#: Reddit's spoiler ``>!text!<``: at a line's start, Markdown would read it as a quote
_SPOILER = re.compile(r">!(.+?)!<", re.DOTALL)
#: a body or selftext that is no longer the author's words
GONE = ("[deleted]", "[removed]")
#: accounts the platform itself runs: their posts are a bot's (the payload names them)
BOTS = frozenset({"AutoModerator"})
#: removed_by_category -> who removed it
REMOVED_BY = {"moderator": "moderator", "deleted": "author", "author": "author"}


def parse_reddit(obj: Mapping[str, Any]) -> dict:
    """A Listing child (t3 post or t1 comment) as canonical post fields.

    >>> f = parse_reddit({"kind": "t1", "data": {"name": "t1_c1", "body": "Same here",
    ...     "author": "sam", "created_utc": 1793606400.0, "link_id": "t3_p1",
    ...     "parent_id": "t3_p1", "subreddit_name_prefixed": "r/acmegames",
    ...     "permalink": "/r/acmegames/comments/p1/x/c1/", "edited": 1793606460.0}})
    >>> f["post_id"], f["thread_id"], f["community"], f["meta"]["edited"]
    ('t1_c1', 't3_p1', 'r/acmegames', True)
    """
    data = obj.get("data")
    if not isinstance(data, Mapping):
        return {}
    kind = obj.get("kind")
    if kind == "modaction":
        return _modlog_entry(data)
    removed_by = data.get("removed_by_category")
    if removed_by and data.get("name"):
        return _removed_item(kind, data, removed_by)
    name = data.get("name") or (f"{kind}_{data['id']}" if kind and data.get("id") else None)
    gone = data.get("body") if kind == "t1" else data.get("selftext")
    if gone in GONE:  # "[deleted]" by its author, "[removed]" by someone else
        return _gone_item(kind, {**data, "name": name}, gone)
    if data.get("author") in BOTS:
        return {"event": "non_post", "platform": "reddit", "community": community_name(data),
                "post_id": name, "created_at": data.get("created_utc"),
                "meta": {"reason": "bot", "kind": kind}}
    if kind == "t3":
        title = unescape_entities(data.get("title") or "")
        text = "\n\n".join(t for t in (title, _markdown(data.get("selftext")), _media(data)) if t)
        thread, parent = name, None
    else:
        body = data.get("body")
        text = _markdown(body) if isinstance(body, str) else body
        thread, parent = data.get("link_id"), data.get("parent_id")
    edited = data.get("edited")  # false, or when it was last edited
    return {
        "platform": "reddit", "community": community_name(data),
        "post_id": name, "author": data.get("author"), "text": text,
        "created_at": data.get("created_utc"), "thread_id": thread, "parent_id": parent,
        "url": _url(kind, data),
        "meta": {"kind": kind, "edited": bool(edited), "score": data.get("score"),
                 "revision": edited if edited and not isinstance(edited, bool) else None,
                 "distinguished": data.get("distinguished"),
                 "link_url": data.get("url") if kind == "t3" and not data.get("is_self") else None},
    }


def community_name(d: Mapping[str, Any]) -> Any:
    """``r/<subreddit>``: older answers and some endpoints send no ``subreddit_name_prefixed``."""
    sub = d.get("subreddit")
    return d.get("subreddit_name_prefixed") or (f"r/{sub}" if isinstance(sub, str) and sub else None)


def _markdown(body: Any) -> str:
    """A body or selftext as its words: Reddit sends its Markdown with ``& < >`` escaped
    (a quote's ``>`` is ``&gt;``), so entities first; quoted lines are dropped.

    >>> _markdown("&gt; you are wrong\\n\\nNo, **you** are &amp; [here](https://r.test)")
    'No, you are & here'
    >>> _markdown("&gt;!the boss dies!&lt; sorry")  # a spoiler, not a quote
    'the boss dies sorry'
    """
    if not isinstance(body, str) or not body:
        return ""
    return markdown_to_text(_SPOILER.sub(r"\1", unescape_entities(body)))


def _media(d: Mapping[str, Any]) -> str:
    """An image, a gallery or a video post: its title plus what it shows."""
    if d.get("is_gallery"):
        items = (d.get("gallery_data") or {}).get("items") or [None]
        return " ".join(media_placeholder("image") for _ in items)
    if d.get("is_video"):
        return media_placeholder("video")
    return media_placeholder("image") if d.get("post_hint") == "image" else ""


def _url(kind: Any, d: Mapping[str, Any]) -> Any:
    if d.get("permalink"):
        return f"https://www.reddit.com{d['permalink']}"
    link, sub = str(d.get("link_id") or ""), d.get("subreddit")
    if kind == "t1" and link.startswith("t3_") and sub and d.get("id"):  # older answers
        return f"https://www.reddit.com/r/{sub}/comments/{link[3:]}/_/{d['id']}/"
    return None


def _gone_item(kind: Any, d: Mapping[str, Any], gone: str) -> dict:
    """A listed item whose text is ``[deleted]`` (its author) or ``[removed]`` (a
    moderator, a filter or Reddit: the listing does not say which)."""
    base = {"platform": "reddit", "community": community_name(d), "post_id": d.get("name"),
            "created_at": d.get("created_utc"), "meta": {"kind": kind, "body": gone}}
    if gone == "[deleted]":
        return {**base, "event": "deletion"}
    return {**base, "event": "moderation_action", "moderation": {
        "action": "remove", "by": "unknown", "post_ids": [d.get("name")], "text": None,
        "source": "reddit:removed", "event_id": f"removed:{d.get('name')}"}}


def _modlog_entry(d: Mapping[str, Any]) -> dict:
    """A moderation log entry as a ``moderation_action`` event.

    >>> e = parse_reddit({"kind": "modaction", "data": {"id": "ModAction_9", "action":
    ...     "removecomment", "mod": "ana_mod", "mod_id36": "k1", "created_utc": 1793606400.0,
    ...     "subreddit_name_prefixed": "r/acmegames", "target_fullname": "t1_c1",
    ...     "target_author": "sam", "target_body": "you are a clown"}})
    >>> e["event"], e["moderation"]["action"], e["moderation"]["by"], e["moderation"]["post_ids"]
    ('moderation_action', 'remove', 'moderator', ['t1_c1'])
    """
    action, mod = MODLOG_ACTIONS.get(str(d.get("action"))), d.get("mod")
    target = d.get("target_fullname")
    text = "\n\n".join(str(d[k]) for k in ("target_title", "target_body") if d.get(k)) or None
    by = "automatic" if mod in AUTOMATIC_MODS else "moderator" if mod else "unknown"
    return {"event": "moderation_action", "platform": "reddit",
            "community": community_name(d), "post_id": d.get("id"),
            "created_at": d.get("created_utc"),
            "meta": {"modlog_action": d.get("action"), "details": d.get("details")},
            "moderation": {
                "action": action or str(d.get("action")), "by": by,
                "moderator": d.get("mod_id36") or mod,
                # a post or comment acted on; a ban names the member instead
                "post_ids": [target] if target and action != "ban" else [],
                "target_author": d.get("target_author") if action in ("ban", "timeout") else None,
                "text": text if text not in ("[removed]", "[deleted]") else None,
                "source": "reddit:modlog", "event_id": d.get("id")}}


def _removed_item(kind: Any, d: Mapping[str, Any], removed_by: str) -> dict:
    """A listed post or comment that was already removed: who removed it decides."""
    by = REMOVED_BY.get(str(removed_by), "automatic")
    text = d.get("body") if kind == "t1" else d.get("selftext") or d.get("title")
    base = {"platform": "reddit", "community": community_name(d), "post_id": d.get("name"),
            "created_at": d.get("created_utc"), "meta": {"removed_by_category": removed_by}}
    if by == "author":
        return {**base, "event": "deletion"}
    return {**base, "event": "moderation_action", "moderation": {
        "action": "remove", "by": by, "post_ids": [d.get("name")],
        # a moderator account still sees what was removed; others see "[removed]"
        "text": text if text not in (None, "", "[removed]", "[deleted]") else None,
        "source": "reddit:removed_by_category", "event_id": f"removed:{d.get('name')}"}}
