"""Reddit's payload: a Listing child (``{"kind": "t3"|"t1", "data": {...}}``: a post or
a comment), as ``connectors.reddit`` produces it byte for byte."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["parse_reddit"]


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
