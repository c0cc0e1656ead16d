"""What every streaming connector shares: reconnect with jitter, produce as posts
arrive, checkpoint the cursor after the broker has them.

A streaming platform (Discord's Gateway, X's filtered stream, Twitch chat) pushes
events over one long-lived connection. A :class:`StreamingSource` implements
``session``: connect once, hand each post to ``emit``, keep ``self.cursor`` up to date
(a gateway sequence, a since-id), and return or raise when the connection ends. The
base class:

- reconnects after any network or protocol failure with exponential backoff and full
  jitter (a healthy session resets the backoff; ``Reconnect(after_s)`` asks for a
  specific wait, as a gateway's "reconnect" opcode or a 429 does);
- drops posts whose id it produced recently (a resumed session replays a few events);
- every ``checkpoint_s``, when something new was produced, snapshots the cursor and the
  recent ids, flushes the sink (acks=all) and only then saves that snapshot: a crash
  re-delivers at most the last interval, and the saved ids drop those repeats;
- stops on :class:`~connectors.polling.PlatformError` (a revoked token, a forbidden
  intent: waiting does not help) with the reason in the log.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from typing import Optional

import aiohttp
import structlog

from connectors.backoff import Backoff
from connectors.base import AsyncRawSink
from connectors.cursors import CursorStore, RecentIds
from connectors.polling import PlatformError, RawPost, zero_series
from streams import metrics

__all__ = ["StreamingSource", "Reconnect", "ProtocolError"]

log = structlog.get_logger("vigil.connect")


class Reconnect(Exception):
    """The platform asked us to reconnect (optionally not before ``after_s``)."""

    def __init__(self, reason: str, after_s: Optional[float] = None):
        super().__init__(reason)
        self.after_s = after_s


class ProtocolError(Exception):
    """The platform sent something the protocol does not allow (counted, reconnects)."""


class StreamingSource(ABC):
    platform: str = "unknown"
    fmt: str = "unknown"
    #: a session that lasted this long was healthy: the next failure starts backoff afresh
    healthy_after_s: float = 30.0

    def __init__(self, name: str, sink: AsyncRawSink, cursors: CursorStore, *,
                 checkpoint_s: float = 0.5, backoff: Optional[Backoff] = None):
        self.name, self.sink, self.cursors = name, sink, cursors
        self.checkpoint_s = checkpoint_s
        self.backoff = backoff or Backoff(base_s=1.0, cap_s=120.0)
        self.stop = asyncio.Event()
        self.cursor: dict = {}
        self.recent = RecentIds()
        self.produced = 0
        self.sessions = 0
        self._dirty = False

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.name}"

    @abstractmethod
    async def session(self, http: aiohttp.ClientSession) -> None:
        """Connect once and deliver posts with ``await self.emit(post)`` until the
        connection ends or ``self.stop`` is set."""

    async def emit(self, post: RawPost) -> bool:
        """Produce one post unless it was produced recently. True if produced."""
        metrics.CONNECTOR_FETCHED.labels(platform=self.platform).inc()
        if post.post_id in self.recent:
            metrics.CONNECTOR_SKIPPED.labels(platform=self.platform, reason="duplicate").inc()
            return False
        await self.sink.produce(post.community, post.payload, fmt=self.fmt,
                                platform=self.platform, connector=self.platform)
        self.recent.add(post.post_id)
        self.produced += 1
        self._dirty = True
        metrics.CONNECTOR_PRODUCED.labels(platform=self.platform).inc()
        metrics.CONNECTOR_LAG_SECONDS.labels(platform=self.platform).set(
            max(0.0, time.time() - post.created_ts))
        return True

    def skipped(self, reason: str = "deleted") -> None:
        metrics.CONNECTOR_SKIPPED.labels(platform=self.platform, reason=reason).inc()

    def touch(self) -> None:
        """The cursor moved without a post (a heartbeat's sequence): save it soon."""
        self._dirty = True

    async def checkpoint(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        # snapshot first: ids emitted while the flush is awaited are not confirmed yet
        snapshot = {**self.cursor, "recent": self.recent.to_list()}
        await self.sink.flush()
        await self.cursors.save(self.key, snapshot)

    async def _checkpoints(self) -> None:
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=self.checkpoint_s)
            except asyncio.TimeoutError:
                pass
            await self.checkpoint()

    async def wait_or_stop(self, seconds: float) -> bool:
        """Sleep, waking early on stop. True if stopping."""
        if seconds > 0:
            metrics.CONNECTOR_RATE_LIMIT_WAIT_SECONDS.labels(platform=self.platform).inc(seconds)
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=seconds)
            except asyncio.TimeoutError:
                pass
        return self.stop.is_set()

    async def run(self) -> None:
        zero_series(self.platform)
        saved = await self.cursors.load(self.key) or {}
        resumed = bool(saved)
        self.recent = RecentIds(saved.pop("recent", ()))
        saved.pop("saved_at", None)
        self.cursor = saved
        log.info("connector_started", connector=self.key, resumed=resumed)
        checkpoints = asyncio.create_task(self._checkpoints())
        try:
            async with aiohttp.ClientSession() as http:
                while not self.stop.is_set():
                    started = time.monotonic()
                    self.sessions += 1
                    session = asyncio.create_task(self.session(http))
                    stopping = asyncio.create_task(self.stop.wait())
                    await asyncio.wait({session, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    stopping.cancel()
                    if not session.done():
                        session.cancel()
                    try:
                        await session
                        kind, detail, after = None, "closed by the platform", None
                    except asyncio.CancelledError:
                        if self.stop.is_set():
                            break
                        raise
                    except Reconnect as exc:
                        kind, detail, after = None, str(exc), exc.after_s
                    except ProtocolError as exc:
                        kind, detail, after = "protocol", str(exc), None
                    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
                        kind, detail, after = "network", f"{type(exc).__name__}: {exc}", None
                    if self.stop.is_set():
                        break
                    if kind:
                        metrics.CONNECTOR_ERRORS.labels(platform=self.platform, kind=kind).inc()
                    if time.monotonic() - started >= self.healthy_after_s:
                        self.backoff.reset()
                    wait = self.backoff.next(after)
                    log.warning("stream_reconnect", connector=self.key, reason=detail,
                                wait_s=round(wait, 2), attempt=self.backoff.attempt)
                    if await self.wait_or_stop(wait):
                        break
        except PlatformError as exc:
            log.error("connector_refused", connector=self.key, error=str(exc), status=exc.status)
            raise
        finally:
            self.stop.set()
            await checkpoints
            self._dirty = True
            await self.checkpoint()
            log.info("connector_stopped", connector=self.key, produced=self.produced)
