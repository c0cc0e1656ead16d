"""The Faust runner: one agent reads ``posts.raw`` and ``incidents.actions`` in batches,
runs :meth:`streams.pipeline.Pipeline.process` in the inference thread, publishes every
output topic and writes the changed state to the tables.

A post is received once and sent twice (``posts.normalized`` and ``posts.scored``, for
downstream consumers; Vigil never reads them back), plus its dead letter, trend signals
or escalations when it has any. An input's offset may be committed only once the broker
acknowledged every record it caused, outputs and state changelog alike
(:mod:`agents.publication` makes the records, :mod:`agents.delivery` sends them,
:class:`agents.transport.ProcessedOffsets` keeps the offsets); the next batch is
computed while the broker acknowledges the last (:func:`run`), and taken from the
consumer while the one before it is computed (:func:`process`). A crash at any
moment replays the inputs whose effects may be missing onto the state they started
from, and the ledger's source ids keep the replay from emitting anything twice under a
new id.

A quiet partition still has a clock: :mod:`agents.idle_clocks`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Optional, Sequence, Union

import structlog

from agents import idle_clocks, recording
from agents.app import app, pipeline_input
from agents.delivery import DeliveryStopped, OutRecord, deliver
from agents.publication import (applied_offsets, applied_records, forget_applied,
                                output_records, state_records, sync_records)
from agents.runtime import (learning_restored, pipeline, pipeline_lock, run_blocking, state,
                            topics_restored)
from agents.stall_watch import StallWatch
from agents.transport import GAP, TAKE, processed
from faust.types import TP
from streams import metrics
from streams.events import EndOfInput, Input, Outputs
from streams.topology import INPUT_TOPICS

log = structlog.get_logger("vigil.worker")
_settings = app.vigil_settings


def _headers(message: Any) -> dict[str, str]:
    raw = message.headers or []
    items = raw.items() if isinstance(raw, dict) else raw
    return {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
            for k, v in items}


def to_input(event: Any) -> Input:
    msg = event.message
    return Input(topic=msg.topic, value=event.value if event.value is not None else b"",
                 key=msg.key if isinstance(msg.key, bytes) or msg.key is None
                 else str(msg.key).encode(),
                 headers=_headers(msg), partition=msg.partition, offset=msg.offset,
                 timestamp=msg.timestamp or time.time())  # Faust: broker time, seconds


def _stopping() -> bool:
    return bool(app.should_stop)


async def run(inputs: Sequence[Union[Input, EndOfInput]], *, wait: bool = False) -> Outputs:
    """Process one call, then publish it behind the previous call's publication.

    The pipeline's outputs and the state it changed are taken here, under the lock, so
    the next call may be processed while this one's records wait for the broker: the
    inference thread is never idle for a round trip of acknowledgements, and the event
    loop sends while it computes. Publications stay strictly in call order (each waits
    for the one before it), so a key's records never overtake each other and an
    input's offset is still marked processed only once everything it caused was
    acknowledged (:func:`_publish`). At most one publication runs ahead of the caller:
    this call returns once the previous one finished (``wait``: once its own did), and
    raises what stopped it (:class:`DeliveryStopped`)."""
    global _in_flight
    async with pipeline_lock:
        previous = _in_flight
        if _reassigned.is_set():
            if previous is not None:  # what the old assignment caused goes out first
                await previous
            _reassigned.clear()
            state.forget()
            pipeline.detect.forget()
            pipeline.escalate.forget()
        out = await run_blocking(pipeline.process, inputs, state)
        changelog = state_records()  # now: the next call changes the state again
        done = [(i.topic, i.partition, i.offset) for i in inputs
                if isinstance(i, Input) and i.topic in INPUT_TOPICS]
        task = asyncio.ensure_future(_publish(previous, inputs, out, changelog, done))
        task.add_done_callback(_retrieved)
        _in_flight = task
    waited = task if wait else previous
    if waited is not None:
        await waited
    return out


async def _publish(previous: Optional[asyncio.Future], inputs: Sequence[Any], out: Outputs,
                   changelog: list[OutRecord], done: list[tuple[str, int, int]]) -> None:
    """Outputs, then the state's changelog, then the applied-offset markers, each
    acknowledged before the next is sent; then the inputs count as processed."""
    if previous is not None:
        await previous  # raises what stopped it: nothing of this call goes out then
    await deliver(app.producer, output_records(out), stopping=_stopping)
    await deliver(app.producer, changelog, stopping=_stopping)
    markers = applied_records(done)
    await deliver(app.producer, markers + sync_records(changelog, markers),
                  stopping=_stopping)
    processed.mark(done)
    recording.record(inputs, out)


def _retrieved(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # raised to the next caller; not "never retrieved"


#: the publication of the last call, done or on its way
_in_flight: Optional[asyncio.Future] = None


async def published() -> None:
    """Wait until every call so far was published (or stopped)."""
    if _in_flight is not None:
        await asyncio.wait([_in_flight])


@app.agent(pipeline_input, name="vigil.pipeline")
async def process(stream):
    # The next call's inputs are taken while this one is computed: Faust's stream hands
    # a take() buffer no new event until the loop's body ends (about a quarter of a
    # millisecond per event), so a body that awaited the call kept the pipeline idle
    # for that long after every call. The call is still awaited before the next one's
    # inputs are admitted (in_order), so admission and processing keep their order.
    running: Optional[asyncio.Future] = None
    inputs: list[Input] = []
    try:
        async for events in stream.take_events(_settings.worker_batch,
                                               within=_settings.score_batch_within_s):
            # events: up to worker_batch messages of posts.raw and incidents.actions.
            # What was learnt before a restart first. Waited for here, inside the loop:
            # a stream first iterated after the worker's start-up (the restores finish
            # then) was seen to receive nothing after a restart with committed offsets.
            await learning_restored.wait()
            await topics_restored.wait()
            _last_delivery[0] = time.monotonic()
            if running is not None and not await _finished(running, len(inputs)):
                return
            inputs = await in_order([to_input(e) for e in events])
            idle_clocks.note_inputs(inputs)
            running = asyncio.ensure_future(run(inputs))
            running.add_done_callback(_report_failure)
        if running is not None:
            await _finished(running, len(inputs))
    finally:
        if running is not None and not running.done():
            running.cancel()  # stopping: as when the agent awaited the call itself


async def _finished(call: asyncio.Future, inputs: int) -> bool:
    """Wait for a call; False if its publication stopped (the worker is stopping)."""
    try:
        await call
    except DeliveryStopped as exc:
        log.warning("stopped_before_acknowledged", reason=str(exc), inputs=inputs,
                    note="not committed: read again at restart")
        return False
    return True


def _report_failure(call: asyncio.Future) -> None:
    # The agent sees a failed call only when it takes its next batch, which on a quiet
    # worker may be hours away: say so now. Nothing of the call was committed.
    exc = None if call.cancelled() else call.exception()
    if exc is not None and not isinstance(exc, DeliveryStopped):
        log.error("pipeline_call_failed", error=type(exc).__name__, exc_info=exc,
                  note="nothing of the call committed; the agent raises it at its next batch")


async def in_order(inputs: list[Input]) -> list[Input]:
    """The inputs that come next in their partitions; a skip sends the consumer back.

    Anything else is dropped: an input of a partition this worker no longer owns, an
    offset already processed (redelivered), or one beyond records the consumer
    skipped, which are then read again from the first skipped offset, so the pipeline
    sees every partition whole and in order."""
    consumer = app.consumer
    owned = consumer.assignment()
    taken, rewind = [], {}
    for i in inputs:
        tp = TP(i.topic, i.partition)
        if tp not in owned:
            continue  # taken before a rebalance moved its partition to another worker
        floor = consumer._committed_offset.get(tp)
        if processed.expected(tp) is None:  # first sight: what the state already has
            applied = applied_offsets(tp.partition).get(tp.topic)
            if applied is not None and (floor is None or applied > floor):
                floor = applied
        verdict = processed.admit(tp, i.offset, floor)
        if verdict == TAKE:
            taken.append(i)
        elif verdict == GAP and tp not in rewind:
            rewind[tp] = (processed.expected(tp), i.offset)
    for tp, (expected, got) in rewind.items():
        if _rewound.get(tp) == expected and time.monotonic() - _rewound_at.get(tp, 0) < 5:
            continue  # already sent back; what was queued before that still arrives
        metrics.INPUT_OFFSET_GAPS.labels(topic=tp.topic).inc(got - expected)
        log.error("input_offset_gap", topic=tp.topic, partition=tp.partition,
                  expected=expected, got=got, action="read again from the expected offset")
        _rewound[tp], _rewound_at[tp] = expected, time.monotonic()
        await consumer.seek(tp, expected)
    return taken


_rewound: dict = {}
_rewound_at: dict = {}
_last_delivery = [time.monotonic()]  # when the stream last handed the agent anything
STALL_S = 10.0
_stalls = StallWatch(STALL_S)


@app.timer(interval=1.0)
async def watch_for_a_stalled_consumer() -> None:
    await check_for_a_stalled_consumer()


async def check_for_a_stalled_consumer() -> None:
    """Input waiting on the broker at a position that has not moved for ``STALL_S`` of
    an idle pipeline: the consumer is stuck (seen in about one restart in ten, mostly
    right after a rewind past records Faust skipped: the first seek did not take).
    Send every such partition back to its next offset."""
    busy = pipeline_lock.locked() or (_in_flight is not None and not _in_flight.done())
    if busy:
        _stalls.forget()
        return
    consumer = app.consumer
    lagging = {}
    for tp in consumer.assignment():
        if tp.topic not in INPUT_TOPICS:
            continue
        high = consumer.highwater(tp)
        position = (processed.expected(tp) or processed.next_offset(tp)
                    or consumer._committed_offset.get(tp) or 0)
        if high is not None and high > position:
            lagging[tp] = position
    stalled = _stalls.observe(lagging, time.monotonic())
    if not stalled:
        return
    metrics.CONSUMER_STALLS.inc()
    log.error("consumer_stalled", partitions=len(stalled), idle_s=round(
        time.monotonic() - _last_delivery[0]), action="seek to the next offset to process")
    for tp, position in stalled.items():
        await consumer.seek(tp, position)


# Set when partitions are revoked: a community may move to another worker, and if it
# ever comes back its state must come from the table, not from what this worker last
# saw of it. The next call forgets, under the lock, so the rebalance never waits for a
# batch being computed (only, briefly, for the last one's publication) and a batch never
# sees its state change under it.
_reassigned = asyncio.Event()


async def _finish_last_call(when: str) -> None:
    """Wait (5 s at most: an absent broker must not hold a rebalance or a stop) for the
    last call's publication; what is not acknowledged by then is read again."""
    try:
        await asyncio.wait_for(published(), timeout=5.0)
    except asyncio.TimeoutError:
        log.warning("last_call_unpublished", when=when, note="its inputs are read again")


@app.on_before_shutdown.connect
async def _publish_the_last_call(app_: Any, **_: Any) -> None:
    # before Faust flushes and stops the producer
    await _finish_last_call("shutdown")


@app.on_partitions_revoked.connect
async def _forget_state(app_: Any, revoked: Any, **_: Any) -> None:
    # the last call's state reaches the changelog before the group moves on, so a
    # partition's next owner restores it
    await _finish_last_call("rebalance")
    _reassigned.set()
    processed.forget(revoked)
    forget_applied()  # the new owner's markers count; read them again if it comes back


@app.on_partitions_assigned.connect
async def _forget_offsets(app_: Any, assigned: Any, **_: Any) -> None:
    # Read again from the committed offset: what this worker once processed there
    # before losing the partition says nothing about it now.
    processed.forget(assigned)
