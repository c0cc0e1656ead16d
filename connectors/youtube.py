"""YouTube: comments on configured videos and channels, from the YouTube Data API v3.

API shape (developers.google.com/youtube/v3/docs/commentThreads/list): ``GET
https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies&videoId=<id>``
(or ``allThreadsRelatedToChannelId=<channel id>``) ``&order=time&maxResults=100&
textFormat=plainText&pageToken=<nextPageToken>``, authorised by an API key. The key goes
in the ``X-Goog-Api-Key`` header, which Google APIs accept in place of ``key=``, so it is
never part of a URL that a proxy, a trace or an error message could record. The answer:
``items`` [commentThread {``id``, ``snippet`` {``channelId``, ``videoId``,
``topLevelComment`` (a comment), ``totalReplyCount``}, ``replies`` {``comments``
[comment]}}] and ``nextPageToken``; a comment is {``kind``, ``id``, ``snippet``
{``videoId``, ``channelId``, ``textDisplay``, ``textOriginal``, ``authorDisplayName``,
``authorChannelId`` {``value``}, ``parentId`` (replies), ``likeCount``, ``publishedAt``,
``updatedAt``}}. ``replies`` holds only some of a thread's replies (all of them would
take a comments.list call per thread), and threads are ordered by their top-level
comment, so a new reply to an old thread is seen only while that thread is on a page read.
Errors are ``{"error": {"code", "message", "errors": [{"reason", "domain"}]}}``.

Each feed's cursor is the newest top-level ``publishedAt`` produced; a poll pages back
until it reaches it (at most ``max_pages``); the first run reads one page. Every comment
(top-level and the replies the thread carries) is produced as its own payload: the
comment resource as sent, with its thread's ``videoId`` added when the comment lacks it.
An edited comment (``updatedAt`` after ``publishedAt``) is a new revision
(``<id>@<updatedAt>``). The API shows no deletions or moderation to an API key.

**Moderation** (``moderation = true``, opt-in): the channel owner's held-for-review
queue, its approvals and rejections; :mod:`connectors.youtube_held` tells how.

**Quota.** Each commentThreads.list or comments.list call costs 1 unit of the
project's daily quota (10,000 by default), which Google resets at midnight Pacific time.
The cursor keeps the units spent per Pacific day; before spending more than
``daily_quota_units`` the connector stops and waits for the reset (log
``youtube_quota_wait``, counted in ``vigil_connector_rate_limit_wait_seconds_total``). A
poll costs one call per feed and page: 5 feeds every 120 s take 3,600 units a day
(``moderation`` costs more). Retries of a 429/5xx happen inside PoliteHttp and are not counted.
Google's own count (shared by every client of the project) answers 403
``quotaExceeded``: wait for the reset, or ``quota_exceeded_retry_s``. 403
``rateLimitExceeded``: wait a minute. 403 ``commentsDisabled`` or 404 (video or channel
gone): that feed is skipped for ``skip_recheck_s``, the others go on. Other 4xx (400
``keyInvalid``, 401, 403 ``forbidden``/``accessNotConfigured``) stop the connector.

    [youtube]
    name = "acme"                        # cursor/metrics name: youtube:acme
    api_key_env = "YOUTUBE_API_KEY"      # an API key with the YouTube Data API v3 enabled
    # a video/channel id, or a table naming its community (default "youtube:<channelId>")
    videos = [{id = "dQw4w9WgXcQ", community = "youtube:acme/launch-trailer"}, "9bZkp7q19f0"]
    channels = [{id = "UC_x5XG1OV2P6uZZ5FSM9Ttw", community = "youtube:acme"}]
    poll_interval_s = 120
    max_pages = 5
    daily_quota_units = 10000
    # quota_exceeded_retry_s = 3600      # default: wait until the Pacific midnight reset
    # skip_recheck_s = 21600
    # api_url = "https://www.googleapis.com"
    # moderation = true                 # and the owner's OAuth keys: connectors.youtube_held
"""

from __future__ import annotations

import asyncio
import calendar
import json
import time
from typing import Any, Callable, Mapping, Optional

import structlog

from connectors.polling import (Page, PlatformError, PoliteHttp, PollingSource, RawPost,
                                secret_from_env)
from connectors.youtube_held import TOKEN_URL, HeldQueue
from models.eventtime import to_iso
from models.parsers.youtube import _ts
from streams import metrics

__all__ = ["YouTubeSource", "pacific_day"]

log = structlog.get_logger("vigil.connect")

QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
SKIP_REASONS = {"commentsDisabled", "videoNotFound", "channelNotFound"}


def _sunday(year: int, month: int, nth: int) -> float:
    first = calendar.timegm((year, month, 1, 0, 0, 0))
    return first + ((6 - calendar.weekday(year, month, 1)) % 7 + 7 * (nth - 1)) * 86400


def _pacific_offset(ts: float) -> int:
    """UTC offset of US Pacific time: PDT from the 2nd Sunday of March 02:00 PST to the
    1st Sunday of November 02:00 PDT (tz rules since 2007; no tzdata in slim images)."""
    year = time.gmtime(ts).tm_year
    dst = _sunday(year, 3, 2) + 10 * 3600 <= ts < _sunday(year, 11, 1) + 9 * 3600
    return -7 * 3600 if dst else -8 * 3600


def pacific_day(ts: float) -> tuple[str, float]:
    """The Pacific date of ``ts`` (Google's quota day) and when the next one starts.

    >>> pacific_day(1793606399.0), pacific_day(1793606400.0)   # 2026-11-02 08:00Z = 00:00 PST
    (('2026-11-01', 1793606400.0), ('2026-11-02', 1793692800.0))
    >>> pacific_day(1772962200.0)  # 2026-03-08, the day PDT starts: the day is 23 hours
    ('2026-03-08', 1773039600.0)
    """
    local = ts + _pacific_offset(ts)
    midnight = (local // 86400 + 1) * 86400  # the next local midnight, as local "epoch"
    reset = midnight - _pacific_offset(midnight + 8 * 3600)
    return time.strftime("%Y-%m-%d", time.gmtime(local)), float(reset)


class _Pause(Exception):
    def __init__(self, until: float, reason: str):
        self.until, self.reason = until, reason


class _Skip(Exception):
    def __init__(self, reason: str, for_s: float):
        self.reason, self.for_s = reason, for_s


def _reasons(body: bytes) -> set[str]:
    try:
        err = json.loads(body).get("error") or {}
        return {e.get("reason") for e in (err.get("errors") or []) + (err.get("details") or [])
                if isinstance(e, dict)} - {None}
    except (ValueError, AttributeError, TypeError):
        return set()


class YouTubeSource(PollingSource):
    platform = fmt = "youtube"

    def __init__(self, name: str, sink, cursors, *, api_key: str,
                 feeds: list[tuple[str, str, Optional[str]]], interval_s: float = 120.0,
                 max_pages: int = 5, daily_quota_units: int = 10_000,
                 quota_exceeded_retry_s: Optional[float] = None, skip_recheck_s: float = 21600.0,
                 api_url: str = "https://www.googleapis.com", clock: Callable[[], float] = time.time,
                 moderation: bool = False, oauth: Optional[tuple[str, str, str]] = None,
                 token_url: str = TOKEN_URL):
        super().__init__(name, sink, cursors, interval_s=interval_s)
        if not feeds:
            raise ValueError("youtube: list at least one video or channel")
        if moderation and not oauth:
            raise ValueError("youtube: moderation = true needs oauth_client_id_env, "
                             "oauth_client_secret_env and oauth_refresh_token_env (the "
                             "channel owner's refresh token)")
        self.feeds, self.max_pages, self.budget = feeds, max_pages, daily_quota_units
        self.quota_retry_s, self.skip_recheck_s = quota_exceeded_retry_s, skip_recheck_s
        self.clock = clock  # Pacific days are wall-clock days; tests move it
        self.api = api_url.rstrip("/") + "/youtube/v3"
        self.headers = {"X-Goog-Api-Key": api_key, "User-Agent": "vigil/1.0"}
        self.moderation, self.oauth, self.token_url = moderation, oauth, token_url
        self.quota: dict = {}
        self._skip_until: dict[str, float] = {}
        self.held_queue = HeldQueue(self)

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors) -> "YouTubeSource":
        feeds = []
        for kind, param in (("videos", "videoId"), ("channels", "allThreadsRelatedToChannelId")):
            for item in cfg.get(kind) or []:
                table = item if isinstance(item, Mapping) else {"id": item}
                feeds.append((param, str(table["id"]), table.get("community")))
        retry = cfg.get("quota_exceeded_retry_s")
        moderation = bool(cfg.get("moderation", False))
        oauth = tuple(secret_from_env("youtube", cfg, f"oauth_{part}_env") for part in (
            "client_id", "client_secret", "refresh_token")) if moderation else None
        return cls(name, sink, cursors, api_key=secret_from_env("youtube", cfg, "api_key_env"),
                   feeds=feeds, interval_s=float(cfg.get("poll_interval_s", 120)),
                   max_pages=int(cfg.get("max_pages", 5)),
                   daily_quota_units=int(cfg.get("daily_quota_units", 10_000)),
                   quota_exceeded_retry_s=None if retry is None else float(retry),
                   skip_recheck_s=float(cfg.get("skip_recheck_s", 21600)),
                   api_url=cfg.get("api_url", "https://www.googleapis.com"),
                   moderation=moderation, oauth=oauth, token_url=cfg.get("token_url", TOKEN_URL))

    # -- quota ----------------------------------------------------------------------
    def _roll(self) -> None:
        day = pacific_day(self.clock())[0]
        if self.quota.get("day") != day:  # a new Pacific day: Google's count starts again
            self.quota = {"day": day, "used": 0, "paused_until": self.quota.get("paused_until", 0)}
        metrics.CONNECTOR_QUOTA_USED.labels(platform="youtube").set(
            self.quota["used"] / self.budget if self.budget else 1.0)

    def _spend(self) -> None:
        self._roll()
        if self.quota["used"] + 1 > self.budget:
            raise _Pause(pacific_day(self.clock())[1], "daily_quota_units")
        self.quota["used"] += 1
        metrics.CONNECTOR_QUOTA_USED.labels(platform="youtube").set(self.quota["used"] / self.budget)

    async def _await_quota(self) -> None:
        while True:
            self._roll()
            now = self.clock()
            until = self.quota.get("paused_until") or 0
            if self.quota["used"] >= self.budget:
                until = max(until, pacific_day(now)[1])
            if until <= now:
                return
            log.warning("youtube_quota_wait", connector=self.key, used=self.quota["used"],
                        budget=self.budget, until=to_iso(until), wait_s=round(until - now, 1))
            metrics.CONNECTOR_RATE_LIMIT_WAIT_SECONDS.labels(platform=self.platform).inc(until - now)
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=until - now)
            except asyncio.TimeoutError:
                continue
            raise asyncio.CancelledError("stopping")

    # -- requests -------------------------------------------------------------------
    async def _get(self, http: PoliteHttp, path: str, params: dict, owner: bool) -> bytes:
        url = f"{self.api}/{path}"
        if owner:
            return await self.held_queue.owner_get(http, url, params)
        return (await http.request("GET", url, params=params, headers=self.headers))[2]

    async def _call(self, http: PoliteHttp, params: dict, *, path: str = "commentThreads",
                    owner: bool = False) -> dict:
        self._spend()
        try:
            return json.loads(await self._get(http, path, params, owner))
        except PlatformError as exc:
            if exc.status not in (403, 404):
                raise  # 400 (bad key or request), 401: no use retrying
            status, body = exc.status, exc.body  # Google's reason (quotaExceeded...)
        reasons = _reasons(body)
        now = self.clock()
        if reasons & QUOTA_REASONS:
            reset = pacific_day(now)[1]
            raise _Pause(min(reset, now + self.quota_retry_s) if self.quota_retry_s else reset,
                         "quotaExceeded")
        if reasons & RATE_REASONS:
            raise _Pause(now + 60, "rateLimitExceeded")
        if reasons & SKIP_REASONS or status == 404:
            raise _Skip(",".join(sorted(reasons)) or f"HTTP {status}", self.skip_recheck_s)
        raise PlatformError(f"youtube: HTTP {status} ({', '.join(sorted(reasons)) or 'no reason'})",
                            status)

    async def fetch(self, http: PoliteHttp, cursor: dict) -> Page:
        self.quota = dict(cursor.get("quota") or {})
        await self._await_quota()
        feeds, posts, ids = dict(cursor.get("feeds", {})), [], set()
        held, gone = dict(cursor.get("held") or {}), []
        try:
            for feed in self.feeds:
                key = f"{feed[0]}:{feed[1]}"
                if self._skip_until.get(key, 0) > self.clock():
                    continue
                try:
                    await self._poll(http, feed, feeds, posts, ids)
                    if self.moderation:
                        gone += await self.held_queue.read(http, feed, held, posts, ids)
                except _Skip as skip:
                    log.warning("youtube_feed_skipped", connector=self.key, feed=key,
                                reason=skip.reason, recheck_s=skip.for_s)
                    self._skip_until[key] = self.clock() + skip.for_s
            await self.held_queue.settle(http, held, gone, posts, ids)
        except _Pause as pause:  # what was read so far is produced; the rest waits
            self.quota["paused_until"] = pause.until
            log.warning("youtube_quota_pause", connector=self.key, reason=pause.reason,
                        used=self.quota.get("used"), until=to_iso(pause.until))
        cursor = {"feeds": feeds, "quota": self.quota}
        if self.moderation:
            cursor["held"] = self.held_queue.keep(held)
        return Page(posts, cursor)

    async def _poll(self, http: PoliteHttp, feed: tuple, feeds: dict, posts: list, ids: set) -> None:
        param, fid, community = feed
        key = f"{param}:{fid}"
        newest: Optional[float] = feeds.get(key)
        top, token = newest, None
        for _ in range(self.max_pages):
            params = {"part": "snippet,replies", param: fid, "order": "time", "maxResults": "100",
                      "textFormat": "plainText", **({"pageToken": token} if token else {})}
            data = await self._call(http, params)
            reached = False
            for thread in data.get("items") or []:
                ts = thread.get("snippet") or {}
                first = ts.get("topLevelComment") or {}
                when = _ts((first.get("snippet") or {}).get("publishedAt"))
                if newest is not None and when < newest:
                    reached = True  # older than what we produced; its new replies still count
                else:
                    top = max(top or when, when)
                where = community or f"youtube:{ts.get('channelId') or fid}"
                for comment in [first, *((thread.get("replies") or {}).get("comments") or [])]:
                    made = self._raw(comment, ts, where)
                    # new since the cursor: written or edited (an old comment on a page read)
                    if made and made[0].post_id not in ids and (newest is None or made[1] >= newest):
                        ids.add(made[0].post_id)
                        posts.append(made[0])
            token = data.get("nextPageToken")
            if reached or not token or newest is None:  # first run: one page only
                break
        if top is not None:
            feeds[key] = top  # only once the feed was read to the end of this poll

    @staticmethod
    def _raw(comment: Any, thread: Mapping, community: str) -> Optional[tuple[RawPost, float]]:
        """The comment's RawPost and when it last changed (written or edited)."""
        if not isinstance(comment, dict) or not isinstance(comment.get("snippet"), dict):
            return None
        snippet = dict(comment["snippet"])
        if thread.get("videoId") and not snippet.get("videoId"):
            snippet["videoId"] = thread["videoId"]
        created, updated = _ts(snippet.get("publishedAt")), snippet.get("updatedAt")
        pid, changed = str(comment.get("id")), created
        if updated and _ts(updated) > created:
            pid, changed = f"{pid}@{updated}", _ts(updated)  # an edit: a new revision
        payload = json.dumps({**comment, "snippet": snippet}, ensure_ascii=False,
                             separators=(",", ":")).encode()
        return RawPost(pid, community, payload, created), changed

