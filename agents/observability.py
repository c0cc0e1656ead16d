"""``/metrics`` for Prometheus on the worker's web port, and consumer lag."""

from __future__ import annotations

from typing import Any

from agents.app import app
from agents.runtime import pipeline
from agents.transport import processed
from models.normalize import DLQ_REASONS
from streams import metrics
from streams.topology import INPUT_TOPICS

STAGES = ("normalize", "score", "detect", "escalate", "checkpoint")
LAG_INTERVAL_S = 5.0

metrics.community_label.configure(pipeline.communities.config.communities,
                                  limit=app.vigil_settings.metrics_community_limit)
metrics.initialise_zero_series(dead_letter_reasons=DLQ_REASONS, stages=STAGES)


@app.page("/metrics")
async def prometheus_metrics(web, request):
    return web.bytes(metrics.render(), content_type="text/plain; version=0.0.4")


def consumer_lag() -> dict[str, int]:
    """Messages not yet processed per input topic on this worker's partitions.

    The high watermark comes from fetch responses (right on Tansu too, whose
    ListOffsets end offsets are wrong); the position is what the worker processed and
    the broker acknowledged (what it may commit), or, before its first batch on a
    partition, Faust's last read offset. A read but unprocessed message counts as lag.
    """
    consumer = app.consumer
    lag: dict[str, int] = {}
    for tp in consumer.assignment():
        if tp.topic not in INPUT_TOPICS:
            continue
        high = consumer.highwater(tp)
        if high is None or high < 0:
            continue
        done = processed.next_offset(tp)
        if done is None:
            read = consumer._read_offset.get(tp)  # Faust keeps no public read position
            done = read + 1 if read is not None else 0
        behind = high - done
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, behind)
    return lag


@app.timer(interval=LAG_INTERVAL_S)
async def report_consumer_lag() -> None:
    lag = consumer_lag()
    for topic in INPUT_TOPICS:
        metrics.CONSUMER_LAG.labels(topic=topic).set(lag.get(topic, 0))


@app.on_partitions_revoked.connect
async def _forget_community_gauges(app_: Any, revoked: Any, **_: Any) -> None:
    # Gauges about communities this worker may no longer own; the new owner sets them
    # at its next post, and this worker does again for those it keeps.
    metrics.TRENDS_ACTIVE.clear()
    metrics.BURST_ZSCORE.clear()
