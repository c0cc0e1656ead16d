"""The Faust runner: one agent reads ``posts.raw`` and ``incidents.actions`` in batches,
runs :meth:`streams.pipeline.Pipeline.process` in the inference thread, publishes every
output topic and writes the changed state to the tables.

A post is received once and sent twice (``posts.normalized`` and ``posts.scored``, for
downstream consumers; Vigil never reads them back), plus its dead letter, trend signals
or escalations when it has any. An input's offset may be committed only once the broker
acknowledged every record it caused, outputs and state changelog alike
(:mod:`agents.delivery`, :class:`agents.transport.ProcessedOffsets`): a crash at any
moment replays the inputs whose effects may be missing onto the state they started
from, and the ledger's source ids keep the replay from emitting anything twice under a
new id.

A quiet partition still has a clock: every ``incident_sweep_interval_s`` the worker
writes an idle-clock record (header ``vigil-clock``, see :mod:`streams.events`) into
each of its ``posts.raw`` partitions that had no post for that long, at the event time
it estimates now (newest event time seen, plus the wall time since, less
``idle_clock_grace_s`` for posts still on their way). Being in the log, the record is
read back by this worker, by a restarted one and by ``vigil replay --topic`` alike.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Sequence, Union

import structlog

from agents import recording
from agents.app import app, pipeline_input, tables
from agents.delivery import DeliveryStopped, OutRecord, deliver
from agents.runtime import (learning_restored, pipeline, pipeline_lock, run_blocking, state,
                            topics_restored)
from agents.transport import GAP, TAKE, processed
from faust.types import TP
from streams import metrics
from streams.events import CLOCK_HEADER, EndOfInput, Input, Outputs
from streams.topology import INPUT_TOPICS

log = structlog.get_logger("vigil.worker")
_settings = app.vigil_settings
#: a key no store uses: a lone record after each batch's changelog writes (see below)
SYNC_KEY = "__vigil_sync__"


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


async def run(inputs: Sequence[Union[Input, EndOfInput]]) -> Outputs:
    """One whole call: process, publish and write the state until the broker
    acknowledged all of it, then mark the inputs processed, then record."""
    async with pipeline_lock:
        if _reassigned.is_set():
            _reassigned.clear()
            state.forget()
            pipeline.detect.forget()
            pipeline.escalate.forget()
        out = await run_blocking(pipeline.process, inputs, state)
        await deliver(app.producer.send, output_records(out), stopping=_stopping)
        changelog = state_records()
        await deliver(app.producer.send, changelog, stopping=_stopping)
        done = [(i.topic, i.partition, i.offset) for i in inputs
                if isinstance(i, Input) and i.topic in INPUT_TOPICS]
        markers = applied_records(done)
        await deliver(app.producer.send, markers + sync_records(changelog, markers),
                      stopping=_stopping)
        processed.mark(done)
    recording.record(inputs, out)
    return out


def output_records(out: Outputs) -> list[OutRecord]:
    # Straight to the producer: Faust's Topic.send adds a callback, a future and a
    # channel lookup per record, a sixth of the worker's time at two sends per post.
    # The topics exist beforehand: `vigil topics create` makes them from the topology.
    records = [OutRecord("posts.dlq", d.source_topic.encode(), d.dumps())
               for d in out.dead_letters]
    records += [OutRecord("posts.normalized", p.community.encode(), p.dumps())
                for p in out.normalized]
    records += [OutRecord("posts.scored", s.post.community.encode(), s.dumps())
                for s in out.scored]
    records += [OutRecord("signals.trends", t.community.encode(), t.dumps()) for t in out.trends]
    records += [OutRecord("escalations", e.dedup_key.encode(), e.dumps())
                for e in out.escalations]
    # learnt from there by every worker, this one included
    records += [OutRecord("moderation.feedback", label.community.encode(), label.dumps())
                for label in out.labels]
    return records


def state_records() -> list[OutRecord]:
    """The changed entries, as their tables' changelog records. A batch spans
    partitions, so each entry's changelog partition is named: the one of the events
    that changed it (a community's own, as a per-event write would use)."""
    records = []
    for store in state.stores:
        table = tables[store.name]
        topic = table.changelog_topic
        for key, partition in store.take_changed():
            value = store.encoded(key)
            table.data[key] = value
            records.append(OutRecord(
                topic.get_topic_name(), topic.prepare_key(key, table.key_serializer)[0],
                None if value is None else topic.prepare_value(value, table.value_serializer)[0],
                partition))
    return records


#: clocks-table key of an input partition's applied offsets: "__vigil_applied__|<p>"
APPLIED_KEY = "__vigil_applied__|{}"
_applied: dict[int, dict[str, int]] = {}  # input partition -> topic -> next offset


def applied_offsets(partition: int) -> dict[str, int]:
    """What the state restored for ``partition`` already reflects (topic -> next offset)."""
    value = tables["clocks"].data.get(APPLIED_KEY.format(partition))
    return dict(value) if isinstance(value, dict) else {}


def applied_records(done: Sequence[tuple[str, int, int]]) -> list[OutRecord]:
    """Per input partition of the batch, one record in the ``clocks`` changelog saying
    which input offsets its state now reflects, written after that state was
    acknowledged. A worker restarted after a crash skips the inputs the restored state
    already contains, though their offsets were never committed (the commit comes up to
    a second later), so no count is applied twice. (Left: a crash between the state's
    acknowledgement and this record's, a few milliseconds; Kafka transactions would
    close it, and neither Tansu nor aiokafka offers them.)"""
    table = tables["clocks"]
    topic = table.changelog_topic
    touched: dict[int, dict[str, int]] = {}
    for name, partition, offset in done:
        offsets = _applied.setdefault(partition, applied_offsets(partition))
        offsets[name] = max(offsets.get(name, 0), offset + 1)
        touched[partition] = offsets
    records = []
    for partition, offsets in sorted(touched.items()):
        key = APPLIED_KEY.format(partition)
        table.data[key] = dict(offsets)
        records.append(OutRecord(topic.get_topic_name(),
                                 topic.prepare_key(key, table.key_serializer)[0],
                                 topic.prepare_value(dict(offsets), table.value_serializer)[0],
                                 partition))
    return records


def sync_records(changelog: Sequence[OutRecord],
                 markers: Sequence[OutRecord] = ()) -> list[OutRecord]:
    """One lone record (key ``__vigil_sync__``, value ``{}``: an entry no store reads)
    per changelog partition just written, sent after the others were acknowledged, so
    it is the last batch of that partition on its own.

    Tansu reports a partition's end offset as its last batch's first offset + 1
    (ENVIRONMENT.md): a table restored after a restart reads "to the end" and would
    miss the last batch of state, diverging from the inputs its commit says were
    processed. With a one-record last batch that end is exact. On Apache Kafka the end
    offset is right anyway and the record costs a few bytes per partition written per
    batch (compaction keeps one per partition). Not a tombstone: Faust's recovery fails
    to decode an empty value."""
    seen = {(r.topic, r.partition) for r in changelog} - {(r.topic, r.partition)
                                                            for r in markers}  # lone already
    return [OutRecord(topic, b'"%s"' % SYNC_KEY.encode(), b"{}", partition)  # JSON keys
            for topic, partition in sorted(seen)]


# Wall time (monotonic) of the last post read per posts.raw partition, for idle clocks.
_last_post: dict[int, float] = {}


@app.agent(pipeline_input, name="vigil.pipeline")
async def process(stream):
    async for events in stream.take_events(_settings.score_batch_size,
                                           within=_settings.score_batch_within_s):
        # events: up to score_batch_size messages of posts.raw and incidents.actions.
        # What was learnt before a restart first. Waited for here, inside the loop: a
        # stream first iterated after the worker's start-up (the restores finish then)
        # was seen to receive nothing after a restart with committed offsets.
        await learning_restored.wait()
        await topics_restored.wait()
        _last_delivery[0] = time.monotonic()
        inputs = await in_order([to_input(e) for e in events])
        now = time.monotonic()
        for i in inputs:
            if i.topic == "posts.raw":
                if CLOCK_HEADER in i.headers:
                    metrics.CLOCK_RECORDS.labels(direction="read").inc()
                else:
                    _last_post[i.partition] = now
        try:
            await run(inputs)
        except DeliveryStopped as exc:
            log.warning("stopped_before_acknowledged", reason=str(exc),
                        inputs=len(inputs), note="not committed: read again at restart")
            return


async def in_order(inputs: list[Input]) -> list[Input]:
    """The inputs that come next in their partitions; a skip sends the consumer back.

    Anything else is dropped: an offset already processed (redelivered), or one
    beyond records the consumer skipped, which are then read again from the first
    skipped offset, so the pipeline sees every partition whole and in order."""
    consumer = app.consumer
    taken, rewind = [], {}
    for i in inputs:
        tp = TP(i.topic, i.partition)
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


@app.timer(interval=STALL_S / 2)
async def watch_for_a_stalled_consumer() -> None:
    """Input waiting on the broker, nothing delivered for ``STALL_S``, the pipeline idle:
    the consumer is stuck (seen in about one restart in ten, mostly right after a
    rewind past records Faust skipped: the first seek did not take). Send every lagging
    partition back to its next offset."""
    if pipeline_lock.locked() or time.monotonic() - _last_delivery[0] < STALL_S:
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
    if not lagging:
        return
    metrics.CONSUMER_STALLS.inc()
    log.error("consumer_stalled", partitions=len(lagging), idle_s=round(
        time.monotonic() - _last_delivery[0]), action="seek to the next offset to process")
    for tp, position in lagging.items():
        await consumer.seek(tp, position)
    _last_delivery[0] = time.monotonic()


@app.timer(interval=_settings.incident_sweep_interval_s)
async def write_idle_clocks() -> None:
    """An idle-clock record into each owned ``posts.raw`` partition without a post for
    an interval, so its quiet incidents resolve though its communities fell silent."""
    newest, seen_at = pipeline.escalate.newest
    if not seen_at:
        return  # no event time seen yet: nothing to estimate from
    event_now = newest + (time.time() - seen_at) - _settings.idle_clock_grace_s
    if event_now <= newest:
        return
    idle_after = time.monotonic() - _settings.incident_sweep_interval_s
    records = [OutRecord("posts.raw", None, b"", tp.partition,
                         [(CLOCK_HEADER, repr(round(event_now, 3)).encode())])
               for tp in sorted(app.consumer.assignment())
               if tp.topic == "posts.raw" and _last_post.get(tp.partition, 0.0) < idle_after]
    if records:
        await deliver(app.producer.send, records, stopping=_stopping)
        metrics.CLOCK_RECORDS.labels(direction="written").inc(len(records))


# Set when partitions are revoked: a community may move to another worker, and if it
# ever comes back its state must come from the table, not from what this worker last
# saw of it. The next call forgets, under the lock, so the rebalance never waits for a
# batch in flight and a batch never sees its state change under it.
_reassigned = asyncio.Event()


@app.on_partitions_revoked.connect
async def _forget_state(app_: Any, revoked: Any, **_: Any) -> None:
    _reassigned.set()
    processed.forget(revoked)
    _applied.clear()  # the new owner's markers count; read them again if it comes back


@app.on_partitions_assigned.connect
async def _forget_offsets(app_: Any, assigned: Any, **_: Any) -> None:
    # Read again from the committed offset: what this worker once processed there
    # before losing the partition says nothing about it now.
    processed.forget(assigned)
