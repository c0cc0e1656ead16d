"""What every push connector shares: an HTTP endpoint that a platform calls.

A :class:`PushSource` serves one path. For each request it reads the body (refusing
more than ``max_body_bytes`` with 413 before reading it all), asks the subclass to
``verify`` it (a signature, a secret-token header, a timestamp window: 401 when it
fails, and nothing reaches the broker), then to split it into ``posts``, produces them,
**waits until the broker has them** (acks=all) and only then answers 2xx. A platform
retries what it did not get a 2xx for, so a post is never acknowledged and lost; what a
retry repeats is dropped by the post ids produced recently here and by the pipeline's
dedup window.

A signed body that Vigil cannot parse is still the platform's post: it is produced as
sent and dead-lettered by the pipeline with its reason (``posts`` returns it as one
``RawPost`` whose payload is the body).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from typing import Mapping, Optional

import structlog
from aiohttp import web

from connectors.base import AsyncRawSink
from connectors.cursors import RecentIds
from connectors.polling import RawPost, zero_series
from streams import metrics

__all__ = ["PushSource", "Rejected"]

log = structlog.get_logger("vigil.connect")


class Rejected(Exception):
    """A request that is not from the platform, too old, or not acceptable."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class PushSource(ABC):
    platform: str = "unknown"
    fmt: str = "unknown"
    #: the status a platform expects for "accepted" (webhooks: 202; some want 200)
    accepted_status: int = 202

    def __init__(self, name: str, sink: AsyncRawSink, *, host: str = "127.0.0.1",
                 port: int = 8090, path: str = "/", max_body_bytes: int = 256 * 1024):
        self.name, self.sink = name, sink
        self.host, self.port, self.path = host, port, path
        self.max_body_bytes = max_body_bytes
        self.stop = asyncio.Event()
        self.recent = RecentIds(size=10_000)
        self.produced = 0
        self.bound_port: Optional[int] = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.name}"

    @abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        """Raise :class:`Rejected` unless the request comes from the platform."""

    @abstractmethod
    def posts(self, headers: Mapping[str, str], body: bytes) -> list[RawPost]:
        """The posts (and platform events) a verified body carries; [] for a ping."""

    async def handle(self, request: web.Request) -> web.Response:
        try:
            if request.content_length is not None and request.content_length > self.max_body_bytes:
                raise Rejected(413, f"body of {request.content_length} bytes is over the limit")
            body = await _read_limited(request, self.max_body_bytes)
            self.verify(request.headers, body, time.time())
        except Rejected as exc:
            metrics.CONNECTOR_ERRORS.labels(platform=self.platform, kind="rejected").inc()
            log.warning("push_rejected", connector=self.key, status=exc.status, reason=exc.reason,
                        remote=request.remote)
            return web.json_response({"error": exc.reason}, status=exc.status)
        posts = self.posts(request.headers, body)
        metrics.CONNECTOR_FETCHED.labels(platform=self.platform).inc(len(posts))
        new = [p for p in posts if p.post_id not in self.recent]
        if len(new) < len(posts):
            metrics.CONNECTOR_SKIPPED.labels(platform=self.platform, reason="duplicate").inc(
                len(posts) - len(new))
        try:
            for post in new:
                await self.sink.produce(post.community, post.payload, fmt=self.fmt,
                                        platform=self.platform, connector=self.platform)
            await self.sink.flush()
        except Exception as exc:  # the platform retries what we did not accept
            metrics.CONNECTOR_ERRORS.labels(platform=self.platform, kind="server_error").inc()
            log.error("push_not_stored", connector=self.key, error=f"{type(exc).__name__}: {exc}")
            return web.json_response({"error": "not stored, retry"}, status=503,
                                     headers={"Retry-After": "5"})
        for post in new:
            self.recent.add(post.post_id)
        if new:
            self.produced += len(new)
            metrics.CONNECTOR_PRODUCED.labels(platform=self.platform).inc(len(new))
            metrics.CONNECTOR_LAG_SECONDS.labels(platform=self.platform).set(
                max(0.0, time.time() - max(p.created_ts for p in new)))
        return web.json_response({"accepted": len(new), "duplicates": len(posts) - len(new)},
                                 status=self.accepted_status)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.path, self.handle)]

    async def run(self) -> None:
        zero_series(self.platform)
        app = web.Application(client_max_size=self.max_body_bytes + 1)
        app.add_routes(self.routes())
        app.router.add_get("/healthz", _healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.bound_port = site._server.sockets[0].getsockname()[1]
        log.info("connector_started", connector=self.key, listen=f"{self.host}:{self.bound_port}",
                 path=self.path)
        try:
            await self.stop.wait()
        finally:
            await runner.cleanup()  # finishes requests in flight: their 2xx follow a flush
            log.info("connector_stopped", connector=self.key, produced=self.produced)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _read_limited(request: web.Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
