"""X's older API v1.1 tweet object (``statuses/show``, timelines, search, the retired
streaming API; recorded 2016-2023), read as the v2 reader reads a post.

Vigil's connector reads API v2 only; a v1.1 tweet comes from replaying a recording. Its
text is ``full_text`` (``tweet_mode=extended``), ``extended_tweet.full_text`` (a stream's
long post) or ``text``, escaped like v2's; media are ``extended_entities.media``. v1.1
has no conversation id and no edit history: ``thread_id`` is the tweet's own id for a
post that replies to none, and unknown for a reply.

>>> f = parse_v1({"id_str": "1050118621198921728", "created_at": "Wed Oct 10 20:19:24 +0000 2018",
...     "full_text": "@acme fish &amp; chips https://t.co/p1", "lang": "en",
...     "in_reply_to_status_id_str": "1050118000000000000", "user": {"id_str": "6253282",
...     "screen_name": "sam"}, "extended_entities": {"media": [{"url": "https://t.co/p1",
...     "type": "photo"}]}})
>>> f["text"], f["parent_id"], f["thread_id"], f["created_at"]
('@acme fish & chips [photo]', '1050118000000000000', None, '2018-10-10T20:19:24+00:00')
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any, Mapping

from models.parsers.x_tweet import tweet_text

__all__ = ["parse_v1", "is_v1"]


def is_v1(obj: Mapping[str, Any]) -> bool:
    """A v1.1 tweet object: ``id_str`` and ``user`` at the top, no v2 ``data``."""
    return "data" not in obj and isinstance(obj.get("id_str"), str) and "user" in obj


def _created(value: Any) -> Any:
    """v1.1's ``Wed Oct 10 20:19:24 +0000 2018`` as ISO 8601 (anything else as it is)."""
    try:
        return parsedate_to_datetime(value).isoformat() if isinstance(value, str) else value
    except (TypeError, ValueError):
        return value


def parse_v1(t: Mapping[str, Any]) -> dict:
    tid = t.get("id_str")
    user = t.get("user") if isinstance(t.get("user"), Mapping) else {}
    if isinstance(t.get("retweeted_status"), Mapping):
        return {"event": "non_post", "platform": "x", "post_id": tid, "community": None,
                "meta": {"kind": "retweet", "retweeted_id": t["retweeted_status"].get("id_str")}}
    extended = t.get("extended_tweet") if isinstance(t.get("extended_tweet"), Mapping) else {}
    text = extended.get("full_text") or t.get("full_text") or t.get("text")
    source = extended or t
    entities = source.get("entities") if isinstance(source.get("entities"), Mapping) else {}
    media = (source.get("extended_entities") or {}).get("media") or entities.get("media") or []
    media = [m for m in media if isinstance(m, Mapping)]
    # as v2 sends it: the media's t.co link once, their kinds as attachments
    media_keys = [f"v1_{i}" for i in range(len(media))]
    shaped = {"text": text, "entities": {"urls": list(entities.get("urls") or []) + [
        {"url": m.get("url"), "media_key": key} for m, key in zip(media[:1], media_keys)]},
        "attachments": {"media_keys": media_keys}}
    text, links, kinds = tweet_text(shaped, {k: str(m.get("type")) for k, m in zip(media_keys, media)})
    parent = t.get("in_reply_to_status_id_str")
    name = user.get("screen_name")
    return {
        "platform": "x", "community": None, "post_id": tid, "author": user.get("id_str") or name,
        "text": text, "created_at": _created(t.get("created_at")),
        "thread_id": None if parent else tid, "parent_id": parent,
        "lang": t.get("lang"),
        "url": f"https://x.com/{name or 'i/web'}/status/{tid}" if tid else None,
        "meta": {"api": "v1.1", "edited": False, "revision": None,
                 "quoted_id": t.get("quoted_status_id_str"), "long_post": bool(extended),
                 "urls": links, "media": kinds},
    }
