"""X's payload: one tweet in the filtered stream's line shape, ``{"data": tweet,
"includes": {"users": [author]}, "matching_rules": [...]}`` (recent search results are
produced in the same shape by ``connectors.x``).

Retweets are ``non_post`` events: their text is a truncated copy of someone else's
words, scored on the original. An edit is a new id whose ``edit_history_tweet_ids``
starts with the original: post_id = the original, revision = the new id.

There are no ``moderation_action`` events: X's API reports no moderator's action (no
moderation log; a hidden reply is not an event), see ``connectors.x``."""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["parse_x"]

NO_LANG = {"und", "zxx", "qme", "qht", "qam", "qct", "qst", "art"}  # X's "no language" codes


def _first_tag(rules: Any) -> Optional[str]:
    return next((str(r["tag"]) for r in _list(rules) if isinstance(r, Mapping) and r.get("tag")),
                None)


def parse_x(obj: Mapping[str, Any]) -> dict:
    """A stream line (or a search result in the same shape) as canonical post fields.

    >>> f = parse_x({"data": {"id": "1852", "text": "gg ez 🎮", "author_id": "9",
    ...     "created_at": "2026-11-02T08:00:00.000Z", "conversation_id": "1850", "lang": "en",
    ...     "referenced_tweets": [{"type": "replied_to", "id": "1851"}],
    ...     "edit_history_tweet_ids": ["1849", "1852"]},
    ...     "includes": {"users": [{"id": "9", "username": "sam"}]},
    ...     "matching_rules": [{"id": "7", "tag": "acme"}]})
    >>> f["post_id"], f["community"], f["parent_id"], f["thread_id"], f["meta"]["revision"]
    ('1849', 'x:acme', '1851', '1850', '1852')
    >>> f["url"], f["author"]
    ('https://x.com/sam/status/1852', '9')
    """
    tweet = obj.get("data")
    if not isinstance(tweet, Mapping):
        return {}
    tid = tweet.get("id")
    community = f"x:{tag}" if (tag := _first_tag(obj.get("matching_rules"))) else None
    refs = {r.get("type"): r.get("id") for r in _list(tweet.get("referenced_tweets"))
            if isinstance(r, Mapping)}
    if "retweeted" in refs:
        return {"event": "non_post", "platform": "x", "post_id": tid, "community": community,
                "meta": {"kind": "retweet", "retweeted_id": refs["retweeted"]}}
    username = (_users(obj).get(tweet.get("author_id")) or {}).get("username")
    history = [str(i) for i in _list(tweet.get("edit_history_tweet_ids"))]
    note = tweet.get("note_tweet")  # a long post: ``text`` holds only its first 280 chars
    long_text = note.get("text") if isinstance(note, Mapping) else None
    entities = tweet.get("entities") if isinstance(tweet.get("entities"), Mapping) else {}
    lang = tweet.get("lang")
    return {
        "platform": "x", "community": community, "post_id": history[0] if history else tid,
        "author": tweet.get("author_id") or username, "text": long_text or tweet.get("text"),
        "created_at": tweet.get("created_at"), "thread_id": tweet.get("conversation_id"),
        "parent_id": refs.get("replied_to"),
        "lang": None if isinstance(lang, str) and lang in NO_LANG else lang,
        "url": f"https://x.com/{username or 'i/web'}/status/{tid}" if tid else None,
        "meta": {"edited": len(history) > 1, "revision": str(tid) if len(history) > 1 else None,
                 "quoted_id": refs.get("quoted"), "long_post": bool(long_text),
                 "urls": [u.get("expanded_url") for u in _list(entities.get("urls"))
                          if isinstance(u, Mapping)]},  # t.co links, media's included
    }


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _users(obj: Mapping[str, Any]) -> dict:
    includes = obj.get("includes")
    users = includes.get("users") if isinstance(includes, Mapping) else None
    return {u.get("id"): u for u in _list(users) if isinstance(u, dict)}
