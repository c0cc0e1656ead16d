"""The framework limit: a Faust agent that forwards records unchanged.

    BENCH_BROKER=kafka://127.0.0.1:9092 python -m bench.faust_forward worker -l warn

Same broker settings as Vigil's worker (fetch wait, session timeout for Tansu), raw
bytes in and out, no records or tables: what Faust itself costs per event. Where
``BENCH_ASSIGNED_FILE`` is set, the worker keeps the number of ``bench.forward.in``
partitions it owns in that file (twice a second, off the event path), so that a bench of
several workers starts once their group has settled.
"""

from __future__ import annotations

import os
from pathlib import Path

import faust

app = faust.App("vigil-bench-forward", broker=os.environ.get("BENCH_BROKER", "kafka://localhost:9092"),
                value_serializer="raw", key_serializer="raw", topic_partitions=4,
                broker_session_timeout=10, broker_heartbeat_interval=3,
                consumer_auto_offset_reset="earliest", producer_linger_ms=5)
source = app.topic("bench.forward.in", value_serializer="raw", key_serializer="raw")
sink = app.topic("bench.forward.out", value_serializer="raw", key_serializer="raw")
ASSIGNED_FILE = os.environ.get("BENCH_ASSIGNED_FILE")


@app.agent(source)
async def forward(stream):
    async for event in stream.events():
        # event.value: the record's bytes, unchanged
        await sink.send(key=event.key, value=event.value)


if ASSIGNED_FILE:
    @app.timer(0.5)
    async def report_assignment() -> None:
        owned = sum(1 for tp in app.consumer.assignment() if tp.topic == source.get_topic_name())
        Path(ASSIGNED_FILE).write_text(str(owned))


if __name__ == "__main__":
    app.main()
