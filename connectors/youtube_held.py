"""YouTube's held-for-review queue, read as the channel's owner (``moderation = true``).

YouTube shows the held-for-review queue only to the channel's owner: these calls carry a
bearer token that an OAuth client of the same project gets from ``token_url`` for the
owner's refresh token (scope ``youtube.force-ssl``). After its published comments, each
feed's queue is read (``moderationStatus=heldForReview``, same paging; a listed thread's
held comments are those whose ``snippet.moderationStatus`` says so). A held comment is
produced once, as an ordinary post under its own id: the author wrote it, and its score
helps whoever reviews the queue. The cursor remembers it (``held``: the latest 2,000, with
feed, community, video and thread time; its text stays in memory only). When a poll no
longer finds a remembered comment held (the queue was read to its end, or the comment's
thread is newer than the oldest one read), ``comments.list?id=`` (50 ids a call) says what
became of it:

- published: an approval, the comment marked ``"vigil_moderation": {"from":
  "heldForReview", "to": "published"}`` (RawPost id ``mod:<id>:approved``);
- rejected, or not returned (YouTube hides rejected comments, so one its author deleted
  while held counts as rejected too): a rejection marked ``"to": "rejected"``
  (``mod:<id>:rejected``), the comment, or when nothing came back ``{"kind":
  "youtube#comment", "id", "snippet": {"moderationStatus": "rejected", "videoId",
  "textOriginal" (if still in memory)}}`` with ``"gone": true`` in the marker;
- held again: it waits on; ``likelySpam``: forgotten (the filter's guess is no verdict).

:mod:`models.parsers.youtube` turns approvals and rejections into a moderator's action.

Every call here goes through the source's ``_call``: the same daily quota, pauses and feed
skips as the published comments (see :mod:`connectors.youtube`). ``moderation`` adds a
call per feed and queue page and one per 50 comments looked up (7,200 units a day and
more for 5 feeds every 120 s). A refresh token Google refuses, or one not the owner's
(403 on the queue), stops the connector. In the ``[youtube]`` table:

    # moderators teach: watch the held-for-review queue (an OAuth client of the same
    # project and the channel owner's refresh token, scope youtube.force-ssl)
    moderation = true
    oauth_client_id_env = "YOUTUBE_CLIENT_ID"
    oauth_client_secret_env = "YOUTUBE_CLIENT_SECRET"
    oauth_refresh_token_env = "YOUTUBE_REFRESH_TOKEN"
    # token_url = "https://oauth2.googleapis.com/token"
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Mapping, Optional

import structlog

from connectors.polling import PlatformError, PoliteHttp, RawPost
from models.parsers.youtube import _ts

if TYPE_CHECKING:
    from connectors.youtube import YouTubeSource

__all__ = ["HeldQueue", "TOKEN_URL"]

log = structlog.get_logger("vigil.connect")

HELD_MAX = 2000  # remembered held comments; the oldest are forgotten first
LOOKUP_IDS = 50  # comments.list ids per call
TOKEN_URL = "https://oauth2.googleapis.com/token"


class HeldQueue:
    """The held-for-review side of a :class:`~connectors.youtube.YouTubeSource`.

    ``held`` is the cursor's map of remembered comment ids to ``[feed key, community,
    video, thread time]``; the methods update it, ``posts`` and ``ids`` in place, so
    what was read before a quota pause is still produced and remembered.
    """

    def __init__(self, source: "YouTubeSource"):
        # the source, not copies of its settings: they may change after construction
        self.source = source
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._texts: dict[str, str] = {}  # held comment id -> its text, for a vanished one

    async def owner_get(self, http: PoliteHttp, url: str, params: dict,
                        retry: bool = True) -> bytes:
        """GET ``url`` as the channel's owner."""
        headers = await self._owner_headers(http)  # a refused refresh token is not retried
        try:
            return (await http.request("GET", url, params=params, headers=headers))[2]
        except PlatformError as exc:
            if not (retry and exc.status == 401):
                raise
        self._token = None  # expired or revoked before its time: a new one, once
        return await self.owner_get(http, url, params, retry=False)

    async def _owner_headers(self, http: PoliteHttp) -> dict:
        """Headers that act as the channel's owner (a bearer token, refreshed as needed)."""
        if not self._token or time.time() >= self._token_expires - 60:
            client_id, secret, refresh = self.source.oauth or ("", "", "")
            _, _, body = await http.request(
                "POST", self.source.token_url, headers={"User-Agent": "vigil/1.0"},
                data={"client_id": client_id, "client_secret": secret, "refresh_token": refresh,
                      "grant_type": "refresh_token"})
            reply = json.loads(body)
            self._token = reply["access_token"]
            self._token_expires = time.time() + float(reply.get("expires_in", 3600))
        return {"Authorization": f"Bearer {self._token}", "User-Agent": "vigil/1.0"}

    async def read(self, http: PoliteHttp, feed: tuple, held: dict, posts: list,
                   ids: set) -> list[str]:
        """Read the feed's held-for-review queue: a comment seen held for the first time is
        produced and remembered. The remembered ones it no longer holds are returned."""
        src = self.source
        param, fid, community = feed
        key, now_held, oldest, token = f"{param}:{fid}", set(), None, None
        for _ in range(src.max_pages):
            params = {"part": "snippet,replies", param: fid, "moderationStatus": "heldForReview",
                      "order": "time", "maxResults": "100", "textFormat": "plainText",
                      **({"pageToken": token} if token else {})}
            data = await src._call(http, params, owner=True)
            for thread in data.get("items") or []:
                ts = thread.get("snippet") or {}
                first = ts.get("topLevelComment") or {}
                when = _ts((first.get("snippet") or {}).get("publishedAt"))
                oldest = when if oldest is None else min(oldest, when)
                where = community or f"youtube:{ts.get('channelId') or fid}"
                for comment in _held_comments(first, thread):
                    made, cid = src._raw(comment, ts, where), str(comment.get("id"))
                    if not made:
                        continue
                    now_held.add(cid)
                    if cid in held:
                        continue
                    snippet = comment["snippet"]
                    held[cid] = [key, where, ts.get("videoId") or snippet.get("videoId"), when]
                    if isinstance(snippet.get("textOriginal"), str):
                        self._texts[cid] = snippet["textOriginal"]
                    if made[0].post_id not in ids:
                        ids.add(made[0].post_id)
                        posts.append(made[0])
            token = data.get("nextPageToken")
            if not token:
                break
        # ordered by thread: one newer than the oldest read would have been on a page
        return [cid for cid, (k, _, _, when) in held.items() if k == key and cid not in now_held
                and (not token or (oldest is not None and when > oldest))]

    async def settle(self, http: PoliteHttp, held: dict, gone: list[str], posts: list,
                     ids: set) -> None:
        """Ask what became of comments that left the queue: approved or rejected."""
        # connectors.youtube imports this module, so its exception is only reachable here
        from connectors.youtube import _Skip
        for start in range(0, len(gone), LOOKUP_IDS):
            batch = gone[start:start + LOOKUP_IDS]
            try:
                data = await self.source._call(http, {"part": "snippet", "id": ",".join(batch),
                                                      "textFormat": "plainText"},
                                               path="comments", owner=True)
            except _Skip as skip:  # asked again next poll
                log.warning("youtube_moderation_lookup_skipped", connector=self.source.key,
                            reason=skip.reason, comments=len(batch))
                return
            found = {str(c.get("id")): c for c in data.get("items") or [] if isinstance(c, dict)}
            for cid in batch:
                status, made = self._outcome(cid, held[cid], found.get(cid))
                if status == "heldForReview":
                    continue  # back in the queue, or listed late: it waits on
                del held[cid]
                self._texts.pop(cid, None)
                if made and made.post_id not in ids:
                    ids.add(made.post_id)
                    posts.append(made)

    def keep(self, held: dict) -> dict:
        """Trim ``held`` to the latest ``HELD_MAX`` for the cursor; texts of the forgotten go."""
        for cid in list(held)[:-HELD_MAX]:
            del held[cid]
        self._texts = {cid: text for cid, text in self._texts.items() if cid in held}
        return held

    def _outcome(self, cid: str, remembered: list, comment: Any) -> tuple[str, Optional[RawPost]]:
        """What became of a held comment, and the action to produce (none while it is
        still held, or when YouTube's spam filter took it: no one's verdict)."""
        _, community, video, _ = remembered
        snippet = comment.get("snippet") if isinstance(comment, dict) else None
        gone = not isinstance(snippet, dict)
        if gone:  # YouTube shows no rejected comment to most callers
            comment, snippet, status = {"kind": "youtube#comment", "id": cid}, {}, "rejected"
        else:  # the id filter may leave the status out: shown, and not in the queue
            status = snippet.get("moderationStatus") or "published"
        if status not in ("published", "rejected"):
            return status, None
        snippet = {**snippet, "moderationStatus": status}
        if video and not snippet.get("videoId"):
            snippet["videoId"] = video
        if cid in self._texts and not snippet.get("textOriginal"):
            snippet["textOriginal"] = self._texts[cid]
        marker = {"from": "heldForReview", "to": status, **({"gone": True} if gone else {})}
        payload = json.dumps({**comment, "snippet": snippet, "vigil_moderation": marker},
                             ensure_ascii=False, separators=(",", ":")).encode()
        done = "approved" if status == "published" else "rejected"
        return status, RawPost(f"mod:{cid}:{done}", community, payload, time.time())


def _held_comments(first: Any, thread: Mapping) -> list:
    """The comments of a queue's thread that are held (the top-level one when the API
    said no comment's status)."""
    comments = [c for c in [first, *((thread.get("replies") or {}).get("comments") or [])]
                if isinstance(c, dict)]
    status = [(c.get("snippet") or {}).get("moderationStatus") for c in comments]
    if not any(status):
        return comments[:1]
    return [c for c, s in zip(comments, status) if s == "heldForReview"]
