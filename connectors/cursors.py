"""Where each connector resumes: a compacted Kafka topic, ``connectors.cursors``.

One record per connector instance (key ``<platform>:<name>``), the latest value wins.
A cursor is whatever the platform pages by (an ``after`` fullname, a since-id, a page
token, a gateway sequence, an update offset) plus the ids of the most recent posts, so
that a page fetched again after a restart is recognised post by post.

The order of writes is what makes a restart neither skip nor repeat: a page's posts are
produced and flushed (acks=all) *before* its cursor is saved. A crash between the two
re-fetches that one page, and the post ids saved with the previous cursor, plus the
pipeline's dedup window on (platform, post id), drop what was already sent.

Loading reads the topic from the beginning up to the high watermark named by the first
fetch answer, not "to the end offset" (the embedded broker reports end offsets wrongly)
and not "until idle" (other connectors save their cursors every few seconds, so the
topic may never be idle).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any, Iterable, Optional

from streams.assigned import assign_every_partition

__all__ = ["CursorStore", "RecentIds", "TOPIC"]

TOPIC = "connectors.cursors"


class RecentIds:
    """The last ``size`` post ids a connector produced, oldest first.

    >>> ids = RecentIds(size=2)
    >>> ids.add("a"); ids.add("b"); ids.add("c")
    >>> "a" in ids, "c" in ids, ids.to_list()
    (False, True, ['b', 'c'])
    """

    def __init__(self, ids: Iterable[str] = (), size: int = 2000):
        self.size = size
        self._ids: "OrderedDict[str, None]" = OrderedDict((str(i), None) for i in ids)
        self._trim()

    def __contains__(self, post_id: object) -> bool:
        return str(post_id) in self._ids

    def add(self, post_id: str) -> None:
        self._ids[str(post_id)] = None
        self._ids.move_to_end(str(post_id))
        self._trim()

    def to_list(self) -> list[str]:
        return list(self._ids)

    def _trim(self) -> None:
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)


class CursorStore:
    """Cursors in the compacted topic; ``await load`` once at start, ``await save`` after
    each page. asyncio (aiokafka) like the connectors themselves: kafka-python 3.0's
    ``poll`` was seen to hang past its timeout when two connectors loaded at once."""

    def __init__(self, bootstrap: str, *, topic: str = TOPIC, idle_s: float = 1.0):
        self.bootstrap, self.topic, self.idle_s = bootstrap, topic, idle_s
        self._producer = None

    async def load(self, key: str, *, attempts: int = 5,
                   timeout_s: float = 30.0) -> Optional[dict[str, Any]]:
        """The latest cursor saved under ``key``, or None. A read that does not finish
        within ``timeout_s`` is abandoned and tried again with a new client: a connector
        must not wait silently for ever on a broker that lost a request."""
        import asyncio

        import structlog

        for attempt in range(1, attempts + 1):
            try:
                return await asyncio.wait_for(self._load(key), timeout_s)
            except asyncio.TimeoutError:
                structlog.get_logger("vigil.connect").warning(
                    "cursor_load_timeout", key=key, attempt=attempt, timeout_s=timeout_s)
        raise TimeoutError(f"could not read {self.topic} for {key} in {attempts} attempts")

    async def _load(self, key: str) -> Optional[dict[str, Any]]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    fetch_max_wait_ms=100, client_id="vigil-cursor-reader")
        await consumer.start()
        try:
            tps = await assign_every_partition(consumer, self.topic)
            if not tps:
                return None
            latest: Optional[dict] = None
            # Read up to the high watermark of the first fetch answer: fixed, so that other
            # connectors saving their cursors meanwhile cannot keep us reading for ever.
            # (Fetch answers carry the right watermark even where ListOffsets does not.)
            target: dict = {}
            idle_since = time.monotonic()
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                if any(batch.values()):
                    idle_since = time.monotonic()
                for messages in batch.values():
                    for m in messages:
                        if m.key is not None and m.key.decode() == key:
                            latest = json.loads(m.value) if m.value else None
                for tp in tps:
                    if tp not in target and consumer.highwater(tp) is not None:
                        target[tp] = consumer.highwater(tp)
                if len(target) == len(tps):
                    positions = [await consumer.position(tp) for tp in tps]
                    if all(pos >= target[tp] for pos, tp in zip(positions, tps)):
                        break
                elif time.monotonic() - idle_since >= self.idle_s:
                    break  # no fetch answer named a watermark: an empty, idle topic
            return latest
        finally:
            await consumer.stop()

    async def save(self, key: str, cursor: dict[str, Any]) -> None:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                              client_id="vigil-cursor-writer")
            await self._producer.start()
        value = json.dumps({**cursor, "saved_at": time.time()}, separators=(",", ":"))
        await self._producer.send_and_wait(self.topic, key=key.encode(), value=value.encode())

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
