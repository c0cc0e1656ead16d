"""YouTube's payload: a comment resource (top-level or reply) as ``connectors.youtube``
produces it, with its thread's ``videoId`` added when the comment lacks it. An edited
comment (``updatedAt`` after ``publishedAt``) is a revision."""

from __future__ import annotations

from typing import Any, Mapping

from models.eventtime import EventTimeError, parse_event_time

__all__ = ["parse_youtube"]


def _ts(value: Any) -> float:
    try:
        return parse_event_time(value)
    except EventTimeError:
        return 0.0


def parse_youtube(obj: Mapping[str, Any]) -> dict:
    """A comment resource (top-level or reply) as canonical post fields.

    >>> f = parse_youtube({"kind": "youtube#comment", "id": "UgzR.8x", "snippet": {
    ...     "videoId": "dQw4w9WgXcQ", "parentId": "UgzR", "textOriginal": "so true",
    ...     "authorChannelId": {"value": "UCa"}, "publishedAt": "2026-11-02T08:00:00Z",
    ...     "updatedAt": "2026-11-02T08:05:00Z", "likeCount": 3}})
    >>> f["thread_id"], f["parent_id"], f["meta"]["edited"], f["meta"]["revision"]
    ('UgzR', 'UgzR', True, '2026-11-02T08:05:00Z')
    >>> f["url"]
    'https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzR.8x'
    """
    s = obj.get("snippet")
    if not isinstance(s, Mapping):
        return {}
    cid, parent, video = obj.get("id"), s.get("parentId"), s.get("videoId")
    author = s.get("authorChannelId")
    author = author.get("value") if isinstance(author, Mapping) else None
    published, updated = s.get("publishedAt"), s.get("updatedAt")
    edited = bool(updated) and _ts(updated) > _ts(published)
    return {
        "platform": "youtube", "community": None,  # the key: configured name or youtube:<channel>
        "post_id": cid, "author": author or s.get("authorDisplayName"),
        # textOriginal is what the author typed; the API may withhold it from a key
        "text": s.get("textOriginal") or s.get("textDisplay"), "created_at": published,
        "thread_id": parent or cid, "parent_id": parent, "lang": None,
        "url": f"https://www.youtube.com/watch?v={video}&lc={cid}" if video and cid else None,
        "meta": {"video_id": video, "channel_id": s.get("channelId"),
                 "like_count": s.get("likeCount"), "reply": bool(parent),
                 "edited": edited, "revision": updated if edited else None},
    }
