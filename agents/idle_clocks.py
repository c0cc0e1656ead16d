"""Idle clocks: a quiet partition still has a clock.

Every ``incident_sweep_interval_s`` the worker writes an idle-clock record (header
``vigil-clock``, see :mod:`streams.events`) into each of its ``posts.raw`` partitions that
had no post for that long, at the event time it estimates now (newest event time seen,
plus the wall time since, less ``idle_clock_grace_s`` for posts still on their way), so
the quiet incidents of communities that fell silent still resolve. Being in the log,
the record is read back by this worker, by a restarted one and by ``vigil replay
--topic`` alike, and the pipeline treats it as any other input
(:meth:`streams.pipeline.Pipeline.process`).
"""

from __future__ import annotations

import time
from typing import Sequence

from agents.app import app
from agents.delivery import OutRecord, deliver
from agents.runtime import pipeline
from streams import metrics
from streams.events import CLOCK_HEADER, Input

_settings = app.vigil_settings

# Wall time (monotonic) of the last post read per posts.raw partition.
_last_post: dict[int, float] = {}


def note_inputs(inputs: Sequence[Input]) -> None:
    """What the worker is about to process: clock records read, partitions with posts."""
    now = time.monotonic()
    for i in inputs:
        if i.topic == "posts.raw":
            if CLOCK_HEADER in i.headers:
                metrics.CLOCK_RECORDS.labels(direction="read").inc()
            else:
                _last_post[i.partition] = now


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
        await deliver(app.producer, records,
                      stopping=lambda: bool(app.should_stop))
        metrics.CLOCK_RECORDS.labels(direction="written").inc(len(records))
