"""The console's incidents: ``escalations`` read from the start by a consumer assigned
every partition, folded into an :class:`~models.incident_board.IncidentBoard`, and each
change pushed to the open pages (server-sent events) that may see its community. A
second consumer reads ``posts.scored`` into the :class:`~models.review_queue.ReviewQueue`
(from the start of the topic, bounded per community)."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Optional

import structlog

from models.incident_board import Incident, IncidentBoard
from models.review_queue import ReviewQueue
from streams.assigned import assign_every_partition

__all__ = ["BoardFeed"]

log = structlog.get_logger("vigil.console")
MAX_POSTS, MAX_TRENDS, MAX_POINTS = 200_000, 20_000, 200


class BoardFeed:
    def __init__(self, bootstrap: str, board: Optional[IncidentBoard] = None):
        self.bootstrap = bootstrap
        self.board = board or IncidentBoard()
        self.queue = ReviewQueue()
        # what an incident page shows beside its escalation: the posts as scored (text,
        # score, threshold, what fired) and each trend's volume and sentiment over time
        self.posts: OrderedDict = OrderedDict()
        self.trends: dict[str, list] = {}
        self.listeners: set[asyncio.Queue] = set()
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        # in the background: a topic not created yet must not hold up the server's start
        for topic, handle in (("escalations", self._escalation), ("posts.scored", self._scored),
                              ("signals.trends", self._trend)):
            self._tasks.append(asyncio.create_task(self._run(topic, handle),
                                                   name=f"console:{topic}"))

    async def _consumer(self, topic: str):
        from aiokafka import AIOKafkaConsumer

        # earliest: an empty topic's partitions must not reset to "latest" past the first
        # records (Tansu answers offsets of empty partitions oddly; ENVIRONMENT.md)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    enable_auto_commit=False, client_id="vigil-console",
                                    auto_offset_reset="earliest",
                                    fetch_max_wait_ms=100, max_partition_fetch_bytes=4 << 20)
        await consumer.start()
        while not await assign_every_partition(consumer, topic, wait_s=30.0):
            log.warning("console_topic_missing", topic=topic)  # `vigil topics create`
        return consumer

    def _scored(self, scored: dict) -> None:
        self.queue.add(scored)
        post = scored.get("post") or {}
        key = (post.get("community"), post.get("post_id"))
        self.posts[key] = {"text": post.get("text"), "toxicity": scored.get("toxicity"),
                           "threshold": scored.get("threshold"), "created_at": post.get("created_at"),
                           "explanation": scored.get("explanation") or [], "url": post.get("url")}
        self.posts.move_to_end(key)
        while len(self.posts) > MAX_POSTS:
            self.posts.popitem(last=False)

    def _trend(self, signal: dict) -> None:
        series = self.trends.setdefault(signal["trend_id"], [])
        series.append((signal.get("window_end"), signal.get("volume"), signal.get("sentiment")))
        del series[:-MAX_POINTS]
        while len(self.trends) > MAX_TRENDS:
            self.trends.pop(next(iter(self.trends)))

    def _escalation(self, esc: dict) -> None:
        inc = self.board.apply(esc)
        if inc is not None:
            self._notify(inc)

    async def _run(self, topic: str, handle) -> None:
        consumer = await self._consumer(topic)
        try:
            while True:
                for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                    for r in records:
                        try:
                            handle(json.loads(r.value))
                        except (ValueError, KeyError, TypeError):
                            continue
        finally:
            await consumer.stop()

    def _notify(self, inc: Incident) -> None:
        for q in list(self.listeners):
            if q.qsize() < 1000:  # a stalled page misses updates, never holds the feed
                q.put_nowait(inc)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
