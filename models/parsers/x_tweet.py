"""What X's tweet object says, read as a person reads the post, and the one payload per
tweet that ``connectors.x`` produces (so a recorded answer replays as the live one).

Text: X sends ``& < >`` as ``&amp; &lt; &gt;``; every link is a ``t.co`` address
(``entities.urls`` holds what it stands for), a photo or a video is one more ``t.co``
link at the end of ``text``, and a long post's ``text`` is only its first 280
characters (``note_tweet.text`` is all of it). The address is not words the author
wrote: links are dropped (``meta.urls`` keeps where they lead) and media read as
placeholders, so a photo posted alone is the post ``[photo]``.

Ids: an edit is a new tweet id, ``edit_history_tweet_ids`` lists every revision's id,
the first the original's. Vigil carries a post under its original id, so every id a
tweet names (its reply target, its conversation's root) is mapped to the original id
of that tweet wherever the payload shows its history (``includes.tweets``, expanded
with ``referenced_tweets.id``).

>>> tweet_text({"text": "Tom &amp; Jerry &lt;3 https://t.co/a1 https://t.co/m2",
...     "entities": {"urls": [{"url": "https://t.co/a1", "expanded_url": "https://acme.test/p"},
...     {"url": "https://t.co/m2", "media_key": "3_9"}]}}, {})
('Tom & Jerry <3 [photo]', ['https://acme.test/p'], ['photo'])
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from models.plain_text import media_placeholder, unescape_entities

__all__ = ["tweet_text", "original_ids", "resolve", "media_types", "tweet_payload", "MEDIA_KINDS"]

#: includes.media ``type`` -> the placeholder's word
MEDIA_KINDS = {"photo": "photo", "video": "video", "animated_gif": "gif"}
#: a media key's prefix says its type when ``includes.media`` is absent (3_ photo,
#: 7_ video, 13_ amplify video, 16_ animated GIF)
_KEY_PREFIX = {"3": "photo", "7": "video", "13": "video", "16": "gif"}
_TCO = re.compile(r"https?://t\.co/\w+")
_SPACES = re.compile(r"[ \t]+")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _kind(key: str, media_types: Mapping[str, str]) -> str:
    kind = media_types.get(key) or _KEY_PREFIX.get(key.partition("_")[0], "media")
    return MEDIA_KINDS.get(kind, kind)


def tweet_text(tweet: Mapping[str, Any],
               media_types: Mapping[str, str]) -> tuple[Any, list, list]:
    """(text, link targets, media kinds). ``media_types``: media key -> ``type`` from
    ``includes.media``. A text that is not a string is returned as it is (dead-lettered)."""
    note = _map(tweet.get("note_tweet"))
    if isinstance(note.get("text"), str) and note["text"].strip():
        text, entities = note["text"], _map(note.get("entities"))
    else:
        text, entities = tweet.get("text"), _map(tweet.get("entities"))
    if not isinstance(text, str):
        return text, [], []
    links, linked = [], []
    for url in _list(entities.get("urls")):
        url = _map(url)
        key, display = url.get("media_key"), str(url.get("display_url") or "")
        if key or display.startswith(("pic.x.com", "pic.twitter.com")):
            linked.append(str(key or ""))
        elif url.get("expanded_url") and url["expanded_url"] not in links:
            links.append(url["expanded_url"])
    # attachments name every media once; the media link in the text, once per post
    keys = [str(k) for k in _list(_map(tweet.get("attachments")).get("media_keys"))]
    kinds = [_kind(k, media_types) for k in keys or linked[:1]]
    words = unescape_entities(_TCO.sub(" ", text))
    words = "\n".join(s for s in (_SPACES.sub(" ", line).strip() for line in words.split("\n"))
                      if s)
    text = " ".join(([words] if words else []) + [media_placeholder(k) for k in kinds])
    if not text and links:  # only a link: the post exists, its words are an address
        text = media_placeholder("link")
    return text, links, kinds


def original_ids(obj: Mapping[str, Any]) -> dict:
    """Every tweet id the payload shows a history for -> the original's id.

    >>> original_ids({"data": {"id": "5", "edit_history_tweet_ids": ["4", "5"]},
    ...     "includes": {"tweets": [{"id": "3", "edit_history_tweet_ids": ["2", "3"]}]}})
    {'4': '4', '5': '4', '2': '2', '3': '2'}
    """
    tweets = [obj.get("data")] + _list(_map(obj.get("includes")).get("tweets"))
    out: dict = {}
    for t in tweets:
        history = [str(i) for i in _list(_map(t).get("edit_history_tweet_ids"))]
        out.update({i: history[0] for i in history})
    return out


def tweet_payload(tweet: Mapping[str, Any], includes: Any, rules: Any) -> dict:
    """The payload of one tweet of a stream line or a search answer: the tweet, its
    author, its media and the tweets it references (their edit history links ids).

    >>> p = tweet_payload({"id": "5", "author_id": "9", "attachments": {"media_keys": ["3_1"]},
    ...     "referenced_tweets": [{"type": "replied_to", "id": "4"}]},
    ...     {"users": [{"id": "9"}, {"id": "8"}], "media": [{"media_key": "3_1", "type": "photo"},
    ...     {"media_key": "3_2"}], "tweets": [{"id": "4"}, {"id": "1"}]}, [])
    >>> p["includes"]
    {'users': [{'id': '9'}], 'media': [{'media_key': '3_1', 'type': 'photo'}], 'tweets': [{'id': '4'}]}
    """
    includes = _map(includes)
    refs = {str(_map(r).get("id")) for r in _list(tweet.get("referenced_tweets"))}
    keys = {str(k) for k in _list(_map(tweet.get("attachments")).get("media_keys"))}
    picked = {"users": [u for u in _list(includes.get("users"))
                        if _map(u).get("id") == tweet.get("author_id")][:1],
              "media": [m for m in _list(includes.get("media"))
                        if str(_map(m).get("media_key")) in keys],
              "tweets": [t for t in _list(includes.get("tweets")) if str(_map(t).get("id")) in refs]}
    return {"data": tweet, "includes": {k: v for k, v in picked.items() if v or k == "users"},
            "matching_rules": [r for r in _list(rules) if isinstance(r, Mapping)]}


def media_types(obj: Mapping[str, Any]) -> dict:
    """``includes.media``: media key -> type."""
    return {str(m.get("media_key")): str(m.get("type"))
            for m in _list(_map(obj.get("includes")).get("media")) if isinstance(m, Mapping)}


def resolve(ids: Mapping[str, str], tid: Any) -> Any:
    """The original id of the tweet ``tid``; a value that is no id is left for the
    normaliser to refuse."""
    if not isinstance(tid, (str, int)) or isinstance(tid, bool):
        return tid
    return ids.get(str(tid), str(tid))
