"""X's payload: one tweet in the filtered stream's line shape, ``{"data": tweet,
"includes": {"users": [author]}, "matching_rules": [...]}`` (recent search results are
produced in the same shape by ``connectors.x``).

Retweets are ``non_post`` events: their text is a truncated copy of someone else's
words, scored on the original. An edit is a new id whose ``edit_history_tweet_ids``
starts with the original: post_id = the original, revision = the new id; the reply
target and the conversation root are named by their original ids too (``x_tweet``), so
a reply's ``parent_id`` is a ``post_id`` Vigil carries. Text: ``x_tweet.tweet_text``.
A recorded API v1.1 tweet object is read too (``x_v1``).

There are no ``moderation_action`` events: X's API reports no moderator's action (no
moderation log; a hidden reply is not an event), see ``connectors.x``."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from models.plain_text import QUOTE, media_placeholder
from models.parsers.x_tweet import media_types, original_ids, resolve, tweet_text
from models.parsers.x_v1 import is_v1, parse_v1

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

    A reply to a revision of an edited post names the post by its original id:

    >>> r = parse_x({"data": {"id": "1862", "text": "@sam no &gt;:(", "conversation_id": "1860",
    ...     "referenced_tweets": [{"type": "replied_to", "id": "1861"}],
    ...     "edit_history_tweet_ids": ["1862"], "created_at": "2026-11-02T08:00:00.000Z"},
    ...     "includes": {"tweets": [{"id": "1861", "edit_history_tweet_ids": ["1860", "1861"],
    ...     "conversation_id": "1861"}]}})
    >>> r["parent_id"], r["thread_id"], r["text"]
    ('1860', '1860', '@sam no >:(')
    """
    if is_v1(obj):  # a recording of the older API
        fields = parse_v1(obj)
        if fields.get("lang") in NO_LANG:
            fields["lang"] = None
        return fields
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
    text, links, media = tweet_text(tweet, media_types(obj))
    if text == media_placeholder("link") and "quoted" in refs:
        text = QUOTE  # only a quote of another post: its words are not this author's
    ids = original_ids(obj)  # a revision's id -> its original's: the id Vigil carries
    lang = tweet.get("lang")
    return {
        "platform": "x", "community": community, "post_id": history[0] if history else tid,
        "author": tweet.get("author_id") or username, "text": text,
        "created_at": tweet.get("created_at"),
        "thread_id": resolve(ids, tweet.get("conversation_id")),
        "parent_id": resolve(ids, refs.get("replied_to")),
        "lang": None if isinstance(lang, str) and lang in NO_LANG else lang,
        "url": f"https://x.com/{username or 'i/web'}/status/{tid}" if tid else None,
        "meta": {"edited": len(history) > 1, "revision": str(tid) if len(history) > 1 else None,
                 "quoted_id": resolve(ids, refs.get("quoted")),
                 "long_post": bool(_text_of(tweet.get("note_tweet"))),
                 "urls": links, "media": media},
    }


def _text_of(note: Any) -> Optional[str]:
    return note.get("text") if isinstance(note, Mapping) else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _users(obj: Mapping[str, Any]) -> dict:
    includes = obj.get("includes")
    users = includes.get("users") if isinstance(includes, Mapping) else None
    return {u.get("id"): u for u in _list(users) if isinstance(u, dict)}
