"""The Faust runner: one agent reads ``posts.raw`` and ``incidents.actions`` in batches,
runs :meth:`streams.pipeline.Pipeline.process` in the inference thread, publishes every
output topic and writes the changed state to the tables.

A post is received once and sent twice (``posts.normalized`` and ``posts.scored``, for
downstream consumers; Vigil never reads them back), plus its dead letter, trend signals
or escalations when it has any. Offsets are acknowledged after the batch's outputs were
handed to the producer and its state written, so a crash replays the batch onto the
state it started from, and the ledger's source ids keep the replay from emitting twice.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Sequence, Union

from agents import recording
from agents.app import app, pipeline_input, tables
from agents.runtime import (learning_restored, pipeline, pipeline_lock, run_blocking, state,
                            topics_restored)
from streams.events import Input, Outputs, Tick

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


async def run(inputs: Sequence[Union[Input, Tick]]) -> Outputs:
    """One whole call: process, publish, write the state, then record."""
    async with pipeline_lock:
        if _reassigned.is_set():
            _reassigned.clear()
            state.forget()
            pipeline.detect.forget()
        out = await run_blocking(pipeline.process, inputs, state)
        await publish(out)
        write_state()
    recording.record(inputs, out)
    return out


async def publish(out: Outputs) -> None:
    # Straight to the producer: Faust's Topic.send adds a callback, a future and a
    # channel lookup per record, a sixth of the worker's time at two sends per post.
    # The topics exist beforehand: `vigil topics create` makes them from the topology.
    send = app.producer.send
    for dead in out.dead_letters:
        await send("posts.dlq", dead.source_topic.encode(), dead.dumps(), None, None, None)
    for post in out.normalized:
        await send("posts.normalized", post.community.encode(), post.dumps(), None, None, None)
    for scored in out.scored:
        await send("posts.scored", scored.post.community.encode(), scored.dumps(), None,
                   None, None)
    for trend in out.trends:
        await send("signals.trends", trend.community.encode(), trend.dumps(), None, None, None)
    for esc in out.escalations:
        await send("escalations", esc.dedup_key.encode(), esc.dumps(), None, None, None)
    for label in out.labels:  # learnt from there by every worker, this one included
        await send("moderation.feedback", label.community.encode(), label.dumps(), None, None,
                   None)


def write_state() -> None:
    # A batch spans partitions, so each entry's changelog partition is named: the one
    # of the events that changed it (a community's own, as a per-event write would use).
    for store in state.stores:
        table = tables[store.name]
        for key, partition in store.take_changed():
            value = store.encoded(key)
            table.data[key] = value
            table.send_changelog(partition, key, value)


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
        await run([to_input(e) for e in events])


@app.timer(interval=_settings.incident_sweep_interval_s)
async def resolve_quiet_incidents() -> None:
    await run([Tick(time.time())])


# Set when partitions are revoked: a community may move to another worker, and if it
# ever comes back its state must come from the table, not from what this worker last
# saw of it. The next call forgets, under the lock, so the rebalance never waits for a
# batch in flight and a batch never sees its state change under it.
_reassigned = asyncio.Event()


@app.on_partitions_revoked.connect
async def _forget_state(app_: Any, revoked: Any, **_: Any) -> None:
    _reassigned.set()
