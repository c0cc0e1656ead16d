"""Sends the broker acknowledged, or sent again: the worker's only way to produce.

A record counts as sent when the broker acknowledged it (acks=all), not when the
producer queued it: the worker commits an input's offset only after every record that
input caused was acknowledged (:mod:`agents.transport`), so a crash can repeat an
output (same id: a consumer upserting on it sees one) but never lose one.

When a send fails (the broker is down, a topic is gone, a timeout) everything from the
first failed record on is sent again, in order, so a key's records never overtake each
other; the call retries with backoff until the broker acknowledges or the worker stops
(:class:`DeliveryStopped`, nothing committed past it). Meanwhile ``vigil_broker_up`` is
0 and the log says why, at most one line per ``log_every_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import structlog
from aiokafka.partitioner import DefaultPartitioner

from streams import metrics

__all__ = ["OutRecord", "DeliveryStopped", "RateLimitedLog", "deliver", "outage"]

log = structlog.get_logger("vigil.delivery")

#: how ``send()`` places a keyed record (the worker configures no other partitioner)
_PARTITIONER = DefaultPartitioner()


@dataclass(frozen=True)
class OutRecord:
    topic: str
    key: Optional[bytes]
    value: Optional[bytes]
    partition: Optional[int] = None
    headers: Optional[list[tuple[str, bytes]]] = None


class DeliveryStopped(RuntimeError):
    """The worker is stopping while records are still unacknowledged."""


class RateLimitedLog:
    """One warning per ``every_s`` for a repeating failure, with how many were held back."""

    def __init__(self, every_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.every_s, self.clock = every_s, clock
        self._last = float("-inf")
        self._held = 0

    def warning(self, event: str, **fields: Any) -> bool:
        now = self.clock()
        if now - self._last < self.every_s:
            self._held += 1
            return False
        log.warning(event, suppressed=self._held, **fields)
        self._last, self._held = now, 0
        return True


_outage_log = RateLimitedLog()


class Outage:
    """Whether this process's last send failed; ``vigil_broker_up`` follows it (and the
    broker watch's reachability, :mod:`agents.broker_watch`)."""

    def __init__(self) -> None:
        self.since: Optional[float] = None

    def failed(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
        metrics.BROKER_UP.set(0)

    def clear(self) -> None:
        self.since = None

    @property
    def active(self) -> bool:
        return self.since is not None


outage = Outage()
#: no acknowledgement for this long: the broker counts as down (a healthy one takes ms)
SLOW_ACK_S = 5.0


async def deliver(producer: Any, records: Sequence[OutRecord], *,
                  stopping: Callable[[], bool], max_backoff_s: float = 5.0) -> None:
    """Send ``records`` in order and wait until the broker acknowledged every one.
    ``producer``: Faust's (``app.producer``) or aiokafka's own."""
    pending = list(records)
    backoff = 0.2
    while pending:
        failed_at, error = await _send_in_order(_aiokafka(producer), pending)
        done = pending if failed_at is None else pending[:failed_at]
        for topic, n in Counter(record.topic for record in done).items():
            metrics.RECORDS_ACKNOWLEDGED.labels(topic=topic).inc(n)
        if failed_at is None:
            outage.clear()
            metrics.BROKER_UP.set(1)
            return
        pending = pending[failed_at:]
        outage.failed()
        for record in pending:
            metrics.PRODUCE_RETRIES.labels(topic=record.topic).inc()
        _outage_log.warning("broker_unacknowledged", topic=pending[0].topic,
                            unacknowledged=len(pending), error=_describe(error),
                            retry_in_s=round(backoff, 2))
        deadline = time.monotonic() + backoff
        while time.monotonic() < deadline:
            if stopping():
                raise DeliveryStopped(f"{len(pending)} records unacknowledged at shutdown")
            await asyncio.sleep(min(0.1, backoff))
        backoff = min(backoff * 2, max_backoff_s)


async def _send_in_order(producer: Any, records: Sequence[OutRecord]
                         ) -> tuple[Optional[int], Optional[BaseException]]:
    """Queue every record in order, then wait for the acks; (index of the first record
    not acknowledged, its error), or (None, None) when all were."""
    futures, error = await _queue(producer, records)
    waiting = asyncio.ensure_future(asyncio.gather(*set(futures), return_exceptions=True))
    started = time.monotonic()
    while not waiting.done():
        await asyncio.wait([waiting], timeout=SLOW_ACK_S)
        if not waiting.done():  # the producer retries on its own: say the broker is away
            outage.failed()
            _outage_log.warning("broker_slow_to_acknowledge", topic=records[0].topic,
                                waiting=len(futures),
                                waited_s=round(time.monotonic() - started, 1))
    for i, result in enumerate(_outcome(f) for f in futures):
        if result is not None:
            return i, result
    if error is not None:
        return len(futures), error
    return None, None


async def _queue(producer: Any, records: Sequence[OutRecord]
                 ) -> tuple[list[asyncio.Future], Optional[BaseException]]:
    """Append the records to one batch per topic partition and queue the batches:
    per record queued, its batch's future, and the error that stopped the queueing.

    One future per batch instead of one per record, as ``send()`` makes: with two
    outputs a post, the producer's per-record bookkeeping was most of the worker's
    sending time. Keys go to partitions as ``send()`` sends them (aiokafka's default
    partitioner: Kafka's murmur2), and the records of a topic partition keep their
    order, in one batch or in batches queued one after another."""
    futures: list[asyncio.Future] = []
    open_: dict[tuple[str, int], Any] = {}    # topic partition -> its batch being filled
    records_of: dict[int, list[int]] = {}     # id(batch) -> the records in it
    partitions: dict[str, list[int]] = {}
    placed: dict[tuple[str, Optional[bytes]], int] = {}  # keys repeat: hash each once
    try:
        for i, record in enumerate(records):
            if record.topic not in partitions:
                partitions[record.topic] = sorted(await producer.partitions_for(record.topic))
            partition = record.partition
            if partition is None:
                partition = placed.get((record.topic, record.key))
                if partition is None:
                    partition = _PARTITIONER(record.key, partitions[record.topic],
                                             partitions[record.topic])
                    if record.key is not None:
                        placed[(record.topic, record.key)] = partition
            elif partition not in partitions[record.topic]:
                raise ValueError(f"{record.topic} has no partition {partition}")
            tp = (record.topic, partition)
            batch = open_.get(tp)
            if batch is None or not _append(batch, record):
                if batch is not None:  # full: queued now, the rest goes to a new one
                    await _submit(producer, batch, tp, records_of, futures)
                batch = open_[tp] = producer.create_batch()
                records_of[id(batch)] = []
                if not _append(batch, record):
                    raise ValueError(f"a record of {len(record.value or b'')} bytes does "
                                     f"not fit one batch of {record.topic}")
            records_of[id(batch)].append(i)
            futures.append(None)
        for tp, batch in open_.items():
            await _submit(producer, batch, tp, records_of, futures)
        return futures, None
    except Exception as exc:  # not even queued: the rest waits for the retry
        done = futures.index(None) if None in futures else len(futures)
        # batches queued past the first unqueued record go again with the rest (a
        # repeat, same ids); their outcome is read so that none goes unretrieved
        for future in set(futures[done:]) - {None}:
            future.add_done_callback(_outcome)
        return futures[:done], exc


def _outcome(future: asyncio.Future) -> Optional[BaseException]:
    return asyncio.CancelledError() if future.cancelled() else future.exception()


def _append(batch: Any, record: OutRecord) -> bool:
    return batch.append(timestamp=None, key=record.key, value=record.value,
                        headers=record.headers or []) is not None


async def _submit(producer: Any, batch: Any, tp: tuple[str, int],
                  records_of: dict[int, list[int]], futures: list) -> None:
    future = await producer.send_batch(batch, tp[0], partition=tp[1])
    for i in records_of.pop(id(batch)):
        futures[i] = future


def _aiokafka(producer: Any) -> Any:
    # Faust's producer wraps aiokafka's; its send() is the per-record path
    ensure = getattr(producer, "_ensure_producer", None)
    return ensure() if ensure is not None else producer


def _describe(error: Optional[BaseException]) -> str:
    if error is None:
        return ""
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:300]
