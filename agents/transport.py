"""The places Vigil bends Faust: the worker consumer's fetch wait, and what it commits.

faust-streaming 0.15.3 hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer
(``faust/transport/drivers/aiokafka.py``). A broker may hold a fetch that long when a
partition is idle, and Tansu always does (ENVIRONMENT.md): at low load every topic hop
then costs up to 1.5 s, which breaks the latency targets. We subclass the driver and
set the value from ``Settings.fetch_max_wait_ms`` on the consumer before it starts.
``tests/test_transport.py`` checks the value really reaches aiokafka, so an upgrade
that renames the attribute fails loudly instead of silently slowing Vigil down.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import structlog
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams import metrics

log = structlog.get_logger("vigil.commits")


class ProcessedOffsets:
    """Per input partition, which offset comes next (admitted in order, nothing skipped)
    and the offset after the last input whose outputs and state the broker acknowledged:
    the only offset the consumer may commit.

    Faust commits the offsets of events its stream acked, and acks a ``take()`` batch
    when the batch's body ends, even when it ended by cancellation; its consumer has
    also been seen to skip records after a restart (offsets 16..112 of every partition
    never delivered while recovery ran: faust-streaming #596, #606). Vigil does not
    depend on that bookkeeping. An input is processed only if it is the next offset of
    its partition (:meth:`admit`); an input beyond a gap is dropped and the consumer
    sent back to the gap (:data:`GAP`), an input already processed is dropped
    (:data:`OLD`). The commit of an input partition is what :mod:`agents.worker`
    marked here after the producer's acknowledgements (:meth:`mark`), so a crash at any
    moment re-reads every input whose effects the broker may not have.

    >>> done = ProcessedOffsets()
    >>> [done.admit(TP("posts.raw", 0), o, committed=10) for o in (10, 11, 13, 9, 12)]
    ['take', 'take', 'gap', 'old', 'take']
    >>> done.mark([("posts.raw", 0, 10), ("posts.raw", 0, 11)])
    >>> done.next_offset(TP("posts.raw", 0))  # 12 admitted, not yet acknowledged
    12
    >>> done.next_offset(TP("posts.raw", 2)) is None  # nothing processed there: no commit
    True
    """

    def __init__(self) -> None:
        self._next: Dict[TP, int] = {}  # acknowledged: may be committed
        self._admitted: Dict[TP, int] = {}  # handed to the pipeline, in order

    def admit(self, tp: TP, offset: int, committed: Optional[int]) -> str:
        """TAKE (the next offset), OLD (processed already) or GAP (records before it
        were skipped). ``committed``: the group's offset, for the first input seen."""
        expected = self._admitted.get(tp)
        if expected is None:
            expected = committed if committed is not None and committed >= 0 else offset
        if offset == expected:
            self._admitted[tp] = offset + 1
            return TAKE
        if offset < expected:
            return OLD
        self._admitted.setdefault(tp, expected)
        return GAP

    def expected(self, tp: TP) -> Optional[int]:
        return self._admitted.get(tp)

    def mark(self, processed: Iterable[tuple[str, int, int]]) -> None:
        """(topic, partition, offset) of inputs fully handled, in the order read."""
        for topic, partition, offset in processed:
            tp = TP(topic, partition)
            if offset + 1 > self._next.get(tp, -1):
                self._next[tp] = offset + 1

    def next_offset(self, tp: TP) -> Optional[int]:
        return self._next.get(tp)

    def partitions(self) -> list[TP]:
        return list(self._next)

    def forget(self, tps: Iterable[TP]) -> None:
        for tp in tps:
            self._next.pop(tp, None)
            self._admitted.pop(tp, None)


TAKE, OLD, GAP = "take", "old", "gap"


#: the worker's processed offsets (one consumer per process)
processed = ProcessedOffsets()


class FetchWaitConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this attribute when it builds its Fetcher in start().
        consumer._fetch_max_wait_ms = int(self.app.vigil_settings.fetch_max_wait_ms)
        return consumer


class VigilConsumer(driver.Consumer):
    def _new_consumer_thread(self) -> FetchWaitConsumerThread:
        return FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> Dict[TP, int]:
        # Input partitions: exactly what the worker processed, never Faust's acked
        # offsets (its bookkeeping still runs, so its acked lists stay small, and its
        # offsets for anything else, if any, pass through).
        from streams.topology import INPUT_TOPICS

        tps = set(tps) | set(processed.partitions())
        offsets = {tp: offset for tp, offset in super()._filter_committable_offsets(tps).items()
                   if tp.topic not in INPUT_TOPICS}
        for tp in tps:
            if tp.topic in INPUT_TOPICS:
                done = processed.next_offset(tp)
                if done is not None and self._should_commit(tp, done):
                    offsets[tp] = done
        return offsets


class VigilTransport(driver.Transport):
    Consumer = VigilConsumer
