"""What every polling connector shares: polite HTTP, and the fetch → produce → cursor loop.

:class:`PoliteHttp` is the only way a source talks HTTP. It waits when the platform
says so before being told twice (``X-RateLimit-Remaining`` at 0 until the reset the
headers name: Reddit's ``X-Ratelimit-*``, the ``X-RateLimit-*`` family, ``Retry-After``),
and on 429, 5xx and network errors backs off exponentially with full jitter, never
sooner than ``Retry-After``, for as long as it takes. Other 4xx raise
:class:`PlatformError` (a bad token or a missing subreddit does not improve by waiting).

:class:`PollingSource` runs one connector instance: ``fetch`` one page from the cursor,
produce the page's new posts (oldest first, each once: ids already produced are in the
cursor), flush them to the broker, *then* save the cursor. See ``connectors/cursors.py``
for why that order makes restarts safe.
"""

from __future__ import annotations

import asyncio
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Optional

import aiohttp
import structlog

from connectors.backoff import Backoff, retry_after_s
from connectors.base import AsyncRawSink
from connectors.cursors import CursorStore, RecentIds
from streams import metrics

__all__ = ["PlatformError", "PoliteHttp", "RawPost", "Page", "PollingSource", "rate_limit_wait_s",
           "zero_series", "secret_from_env"]

log = structlog.get_logger("vigil.connect")


class PlatformError(Exception):
    """A request the platform refused for good (4xx other than 429)."""

    def __init__(self, message: str, status: int, body: bytes = b""):
        super().__init__(message)
        self.status, self.body = status, body  # the refusal's body: its reason, for the source


def rate_limit_wait_s(headers: Any, now: Optional[float] = None) -> Optional[float]:
    """Seconds the platform asks us to wait before the next request, if it says so.

    >>> rate_limit_wait_s({"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"})
    42.0
    >>> rate_limit_wait_s({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.5"})
    1.5
    >>> rate_limit_wait_s({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000000060"},
    ...                   now=1000000000.0)
    60.0
    >>> rate_limit_wait_s({"X-Ratelimit-Remaining": "12", "X-Ratelimit-Reset": "42"}) is None
    True
    """
    h = {k.lower(): v for k, v in dict(headers).items()}
    remaining = h.get("x-ratelimit-remaining")
    try:
        if remaining is None or float(remaining) >= 1:
            return None
    except ValueError:
        return None
    for key in ("x-ratelimit-reset-after", "x-ratelimit-reset"):
        if key in h:
            try:
                value = float(h[key])
            except ValueError:
                continue
            # a reset above ~10 years of seconds is an epoch timestamp (X's, GitHub's style)
            if value > 3e8:
                value -= time.time() if now is None else now
            return max(0.0, value)
    return retry_after_s(h.get("retry-after"))


class PoliteHttp:
    def __init__(self, platform: str, session: aiohttp.ClientSession, *,
                 backoff: Optional[Backoff] = None, stop: Optional[asyncio.Event] = None):
        self.platform, self.session = platform, session
        self.backoff = backoff or Backoff(base_s=1.0, cap_s=300.0)
        self.stop = stop or asyncio.Event()
        self._resume_at = 0.0

    async def request(self, method: str, url: str, **kw: Any) -> tuple[int, dict, bytes]:
        """Status, headers and body of the first answer that is not 429/5xx/network."""
        self.backoff.reset()
        while True:
            await self._wait(self._resume_at - time.monotonic())
            try:
                async with self.session.request(method, url, **kw) as resp:
                    body = await resp.read()
                    status, headers = resp.status, dict(resp.headers)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                kind, retry_after, detail = "network", None, type(exc).__name__
            else:
                ask = rate_limit_wait_s(headers)
                if ask:
                    self._resume_at = time.monotonic() + ask
                if status < 400:
                    return status, headers, body
                if status != 429 and status < 500:
                    metrics.CONNECTOR_ERRORS.labels(platform=self.platform, kind="client_error").inc()
                    raise PlatformError(f"{self.platform}: HTTP {status} from {_host(url)}", status,
                                        body)
                kind = "rate_limited" if status == 429 else "server_error"
                retry_after, detail = retry_after_s(headers.get("Retry-After")) or ask, f"HTTP {status}"
            metrics.CONNECTOR_ERRORS.labels(platform=self.platform, kind=kind).inc()
            wait = self.backoff.next(retry_after)
            log.warning("platform_retry", platform=self.platform, host=_host(url), error=detail,
                        wait_s=round(wait, 2), attempt=self.backoff.attempt)
            await self._wait(wait)

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        metrics.CONNECTOR_RATE_LIMIT_WAIT_SECONDS.labels(platform=self.platform).inc(seconds)
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise asyncio.CancelledError("stopping")


def zero_series(platform: str) -> None:
    """Dashboards and alerts read "no errors yet" as 0, not as no data."""
    for kind in ("rate_limited", "server_error", "client_error", "network", "protocol", "rejected"):
        metrics.CONNECTOR_ERRORS.labels(platform=platform, kind=kind)
    for reason in ("duplicate", "deleted"):
        metrics.CONNECTOR_SKIPPED.labels(platform=platform, reason=reason)
    metrics.CONNECTOR_FETCHED.labels(platform=platform)
    metrics.CONNECTOR_PRODUCED.labels(platform=platform)
    metrics.CONNECTOR_RATE_LIMIT_WAIT_SECONDS.labels(platform=platform)


def secret_from_env(platform: str, cfg: Any, key: str, *, required: bool = True) -> Optional[str]:
    """The secret in the environment variable that ``cfg[key]`` names (``*_env`` keys)."""
    var = cfg.get(key)
    value = os.environ.get(var) if var else None
    if not value and required:
        raise ValueError(f"{platform}: set {key} to an environment variable holding the secret"
                         + (f" ({var} is not set)" if var else ""))
    return value or None


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or "?"


@dataclass(frozen=True)
class RawPost:
    post_id: str
    community: str
    payload: bytes  # exactly as the platform sent it
    created_ts: float


@dataclass
class Page:
    posts: list[RawPost]  # in any order; produced oldest first
    cursor: dict = field(default_factory=dict)
    more: bool = False  # fetch again at once (a backlog), rather than after the interval
    skipped: int = 0  # deleted/removed items the page held


class PollingSource(ABC):
    """One connector instance: ``<platform>:<name>`` polling one or more feeds."""

    platform: str = "unknown"
    fmt: str = "unknown"

    def __init__(self, name: str, sink: AsyncRawSink, cursors: CursorStore, *,
                 interval_s: float = 30.0):
        self.name, self.sink, self.cursors, self.interval_s = name, sink, cursors, interval_s
        self.stop = asyncio.Event()
        self.produced = 0

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.name}"

    @abstractmethod
    async def fetch(self, http: PoliteHttp, cursor: dict) -> Page: ...

    async def run(self) -> None:
        zero_series(self.platform)
        cursor = await self.cursors.load(self.key) or {}
        recent = RecentIds(cursor.get("recent", ()))
        log.info("connector_started", connector=self.key, resumed=bool(cursor))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            http = PoliteHttp(self.platform, session, stop=self.stop)
            while not self.stop.is_set():
                try:
                    page = await self.fetch(http, cursor)
                except asyncio.CancelledError:
                    if self.stop.is_set():
                        break
                    raise
                new = sorted((p for p in page.posts if p.post_id not in recent),
                             key=lambda p: (p.created_ts, p.post_id))
                metrics.CONNECTOR_FETCHED.labels(platform=self.platform).inc(len(page.posts))
                dupes = len(page.posts) - len(new)
                if dupes:
                    metrics.CONNECTOR_SKIPPED.labels(platform=self.platform, reason="duplicate").inc(dupes)
                if page.skipped:
                    metrics.CONNECTOR_SKIPPED.labels(platform=self.platform, reason="deleted").inc(page.skipped)
                for post in new:
                    await self.sink.produce(post.community, post.payload, fmt=self.fmt,
                                            platform=self.platform, connector=self.platform)
                await self.sink.flush()  # on the broker before the cursor moves past them
                for post in new:
                    recent.add(post.post_id)
                cursor = {**page.cursor, "recent": recent.to_list()}
                await self.cursors.save(self.key, cursor)
                if new:
                    self.produced += len(new)
                    metrics.CONNECTOR_PRODUCED.labels(platform=self.platform).inc(len(new))
                    metrics.CONNECTOR_LAG_SECONDS.labels(platform=self.platform).set(
                        max(0.0, time.time() - new[-1].created_ts))
                if not page.more:
                    try:
                        await asyncio.wait_for(self.stop.wait(), timeout=self.interval_s)
                    except asyncio.TimeoutError:
                        pass
        log.info("connector_stopped", connector=self.key, produced=self.produced)
