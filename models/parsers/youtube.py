"""YouTube's payload: a comment resource (top-level or reply) as ``connectors.youtube``
produces it, with its thread's ``videoId`` added when the comment lacks it. An edited
comment (``updatedAt`` after ``publishedAt``) is a revision.

Moderators teach through the held-for-review queue (``moderation = true`` in the
connector): a held comment a moderator rejected arrives as the comment resource with
``snippet.moderationStatus`` ``"rejected"`` (when YouTube no longer shows it, a minimal
resource: id, video, that status, and the text if the connector still had it), one
approved as the comment marked by the connector
``"vigil_moderation": {"from": "heldForReview", "to": "published"}``; both are a
moderator's action on the post keyed by the comment id. A held comment (status
``heldForReview``) and one YouTube's filter called ``likelySpam`` are ordinary posts:
the author wrote them, and the filter's guess is no moderator's verdict."""

from __future__ import annotations

from typing import Any, Mapping

from models.eventtime import EventTimeError, parse_event_time
from models.plain_text import html_to_text

__all__ = ["parse_youtube"]

#: where a held comment went -> Vigil's action and what it is called in ``source``
OUTCOMES = {"rejected": ("remove", "rejected"), "published": ("approve", "approved")}


def _ts(value: Any) -> float:
    try:
        return parse_event_time(value)
    except EventTimeError:
        return 0.0


def _text(s: Mapping[str, Any]) -> Any:
    """``textOriginal`` is what the author typed; the API may withhold it (it is
    promised only to the comment's author), and ``textDisplay`` is then HTML
    (``textFormat=html``, the default: links, ``<br>``, ``&#39;``) or plain text.

    >>> _text({"textOriginal": "", "textDisplay": "it&#39;s <a href=\\"https://y.test\\">here</a><br>ok"})
    "it's here\\nok"
    """
    original, display = s.get("textOriginal"), s.get("textDisplay")
    if original is not None and not isinstance(original, str) or original and original.strip():
        return original  # (one that is not a string is dead-lettered as it is)
    return html_to_text(display) if isinstance(display, str) else original or display


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
    if isinstance(obj.get("vigil_moderation"), Mapping) or s.get("moderationStatus") == "rejected":
        return _moderated(obj, s)
    cid, video = obj.get("id"), s.get("videoId")
    # a reply's id is "<top-level id>.<its own>": its parent even where parentId is absent
    parent = s.get("parentId") or (cid.partition(".")[0] if isinstance(cid, str)
                                   and "." in cid else None)
    author = s.get("authorChannelId")
    author = author.get("value") if isinstance(author, Mapping) else None
    published, updated = s.get("publishedAt"), s.get("updatedAt")
    edited = bool(updated) and _ts(updated) > _ts(published)
    return {
        "platform": "youtube", "community": None,  # the key: configured name or youtube:<channel>
        "post_id": cid, "author": author or s.get("authorDisplayName"),
        "text": _text(s), "created_at": published,
        "thread_id": parent or cid, "parent_id": parent, "lang": None,
        "url": f"https://www.youtube.com/watch?v={video}&lc={cid}" if video and cid else None,
        "meta": {"video_id": video, "channel_id": s.get("channelId"),
                 "like_count": s.get("likeCount"), "reply": bool(parent),
                 # the channel's owner answering on their own channel (no bot flag exists)
                 "by_channel_owner": bool(author) and author == s.get("channelId"),
                 "edited": edited, "revision": updated if edited else None,
                 "moderation_status": s.get("moderationStatus")},
    }


def _moderated(obj: Mapping[str, Any], s: Mapping[str, Any]) -> dict:
    """A held comment the channel's owner or a moderator rejected or approved.

    >>> e = parse_youtube({"kind": "youtube#comment", "id": "UgzH", "snippet": {
    ...     "videoId": "dQw4w9WgXcQ", "moderationStatus": "rejected", "textOriginal": "u clown"}})
    >>> e["event"], e["moderation"]["action"], e["moderation"]["by"], e["moderation"]["post_ids"]
    ('moderation_action', 'remove', 'moderator', ['UgzH'])
    >>> a = parse_youtube({"kind": "youtube#comment", "id": "UgzK", "snippet": {
    ...     "moderationStatus": "published", "textOriginal": "fair point"},
    ...     "vigil_moderation": {"from": "heldForReview", "to": "published"}})
    >>> a["moderation"]["action"], a["moderation"]["source"], a["moderation"]["event_id"]
    ('approve', 'youtube:approved', 'moderation:UgzK:approved')
    """
    marker = obj.get("vigil_moderation") if isinstance(obj.get("vigil_moderation"), Mapping) else {}
    status = str(marker.get("to") or s.get("moderationStatus"))
    action, called = OUTCOMES.get(status, (status, status))
    cid, text = obj.get("id"), s.get("textOriginal")
    event = f"moderation:{cid}:{called}"
    return {"event": "moderation_action", "platform": "youtube", "community": None,
            "post_id": event, "created_at": None,  # YouTube does not say when it was decided
            "meta": {"video_id": s.get("videoId"), "from": marker.get("from"), "to": status,
                     "gone": bool(marker.get("gone"))},
            "moderation": {
                # only the channel's owner and its moderators review the held queue
                "action": action, "by": "moderator", "moderator": None,
                "post_ids": [str(cid)] if cid not in (None, "") else [],
                "text": text if isinstance(text, str) and text.strip() else None,
                "source": f"youtube:{called}", "event_id": event}}
