"""Consumers *assigned* every partition of a topic (no consumer group to join): for
readers that need the whole topic, e.g. every worker learning every label, a
connector reading the cursors, a tool printing escalations, replay of a topic range.

One helper for aiokafka and one for kafka-python, so the four steps are written once:
wait until the topic has partitions (it may be created after the reader starts),
assign all of them in order, then seek each to a known offset or to the beginning.
Positions are never taken from end offsets, which Tansu reports wrongly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Mapping, Optional

__all__ = ["assign_every_partition", "assign_every_partition_sync"]


async def assign_every_partition(consumer: Any, topic: str,
                                 offsets: Optional[Mapping[int, int]] = None, *,
                                 from_beginning: bool = True, wait_s: float = 0.0,
                                 stop: Optional[asyncio.Event] = None) -> list:
    """aiokafka: assign every partition of ``topic``; [] if it has none within ``wait_s``
    (or when ``stop`` is set). Each partition starts at ``offsets[p]`` when given, else at
    the beginning (``from_beginning``) or where the consumer would (its group's commit)."""
    from aiokafka import TopicPartition

    deadline = time.monotonic() + wait_s
    while True:
        parts = None
        if topic in await consumer.topics():  # refreshes the cluster's metadata
            parts = consumer.partitions_for_topic(topic)
        if parts or time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            break
        await asyncio.sleep(0.5)
    if not parts:
        return []
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    for tp in tps:
        if offsets is not None and tp.partition in offsets:
            consumer.seek(tp, offsets[tp.partition])
        elif from_beginning:
            await consumer.seek_to_beginning(tp)
    return tps


def assign_every_partition_sync(consumer: Any, topic: str,
                                offsets: Optional[Mapping[int, int]] = None, *,
                                from_beginning: bool = True, wait_s: float = 0.0) -> list:
    """kafka-python: the same as :func:`assign_every_partition`."""
    from kafka import TopicPartition

    deadline = time.monotonic() + wait_s
    while True:
        parts = consumer.partitions_for_topic(topic)
        if parts or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if not parts:
        return []
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    for tp in tps:
        if offsets is not None and tp.partition in offsets:
            consumer.seek(tp, offsets[tp.partition])
        elif from_beginning:
            consumer.seek_to_beginning(tp)
    return tps
