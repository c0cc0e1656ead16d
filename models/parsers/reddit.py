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
entries in the log are automatic too."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["parse_reddit"]

#: modlog action -> Vigil's name for it (other entries, e.g. "sticky", teach nothing)
MODLOG_ACTIONS = {"removelink": "remove", "removecomment": "remove", "spamlink": "remove",
                  "spamcomment": "remove", "approvelink": "approve",
                  "approvecomment": "approve", "banuser": "ban", "muteuser": "timeout"}
#: accounts whose log entries are automatic: filters and Reddit itself
AUTOMATIC_MODS = frozenset({"AutoModerator", "reddit", "Anti-Evil Operations"})
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
    if kind == "t3":
        title, body = data.get("title") or "", data.get("selftext") or ""
        text = f"{title}\n\n{body}".strip() if body else title
        thread, parent = data.get("name"), None
    else:
        text, thread, parent = data.get("body"), data.get("link_id"), data.get("parent_id")
    permalink = data.get("permalink")
    return {
        "platform": "reddit", "community": data.get("subreddit_name_prefixed"),
        "post_id": data.get("name"), "author": data.get("author"), "text": text,
        "created_at": data.get("created_utc"), "thread_id": thread, "parent_id": parent,
        "url": f"https://www.reddit.com{permalink}" if permalink else None,
        "meta": {"kind": kind, "edited": bool(data.get("edited")), "score": data.get("score"),
                 "link_url": data.get("url") if kind == "t3" and not data.get("is_self") else None},
    }


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
            "community": d.get("subreddit_name_prefixed"), "post_id": d.get("id"),
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
    base = {"platform": "reddit", "community": d.get("subreddit_name_prefixed"),
            "post_id": d.get("name"), "created_at": d.get("created_utc"),
            "meta": {"removed_by_category": removed_by}}
    if by == "author":
        return {**base, "event": "deletion"}
    return {**base, "event": "moderation_action", "moderation": {
        "action": "remove", "by": by, "post_ids": [d.get("name")],
        # a moderator account still sees what was removed; others see "[removed]"
        "text": text if text not in (None, "", "[removed]", "[deleted]") else None,
        "source": "reddit:removed_by_category", "event_id": f"removed:{d.get('name')}"}}
