"""``moderation.feedback`` -> the pipeline's learn stage, on every worker.

Every worker must learn from every label (one model per community, whichever worker
scores its posts next), which a group-partitioned Faust agent cannot express; so this
task reads with its own consumer *assigned* every partition, like a Faust GlobalTable
reads a whole changelog, and hands each batch of labels to the same pipeline call as
everything else (:func:`agents.worker.run`). It commits nothing to the broker: its
position is the checkpoint (:mod:`agents.checkpoints`), restored at start; without one,
all feedback still on the topic is replayed.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from pathlib import Path

import structlog

from agents import worker
from agents.app import app
from agents.checkpoints import read_checkpoint, write_checkpoint
from agents.runtime import learning_restored, pipeline, run_blocking
from streams import metrics
from streams.assigned import assign_every_partition
from streams.events import inputs_from_batch

log = structlog.get_logger("vigil.feedback")
_settings = app.vigil_settings
TOPIC = "moderation.feedback"


def checkpoint_path() -> Path:
    return Path(_settings.data_dir) / "models" / "toxicity.ckpt"


async def _restore(path: Path) -> dict[int, int]:
    try:
        snap = await run_blocking(read_checkpoint, path)
        if snap is None:
            return {}
        await run_blocking(pipeline.learn.restore, snap)
        offsets = {int(p): int(o) for p, o in snap["feedback_offsets"].items()}
        metrics.LEARNER_LABELS.set(pipeline.learn.labels_learned)
        log.info("checkpoint_restored", path=str(path), labels=snap["labels_learned"],
                 offsets=offsets)
        return offsets
    except Exception as exc:  # an old or damaged checkpoint must not stop the worker
        log.warning("checkpoint_ignored", path=str(path), error=str(exc))
        return {}
    finally:
        learning_restored.set()  # scoring may start


@app.task
async def learn_from_feedback() -> None:
    from aiokafka import AIOKafkaConsumer

    path = checkpoint_path()
    offsets = await _restore(path)
    consumer = AIOKafkaConsumer(bootstrap_servers=_settings.bootstrap_servers,
                                enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=_settings.fetch_max_wait_ms,
                                client_id=f"{_settings.app_id}-feedback")
    await consumer.start()
    last_write, dirty = time.monotonic(), False
    try:
        await assign_every_partition(consumer, TOPIC, offsets)
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=200)
            inputs = inputs_from_batch(TOPIC, batch)
            if inputs:
                await worker.run(inputs, wait=True)
                for item in inputs:
                    offsets[item.partition] = item.offset + 1
                metrics.LEARNER_LABELS.set(pipeline.learn.labels_learned)
                dirty = True
            now = time.monotonic()
            if dirty and now - last_write >= _settings.checkpoint_interval_s:
                try:
                    snapshot = await run_blocking(pipeline.learn.snapshot)
                    await run_blocking(write_checkpoint, path, snapshot, dict(offsets))
                    dirty = False
                except (OSError, RuntimeError, pickle.PicklingError) as exc:
                    # a full disk or a model changing under the pickler: learning goes
                    # on, and the next interval tries again
                    metrics.STAGE_ERRORS.labels(stage="checkpoint").inc()
                    log.warning("checkpoint_failed", path=str(path), error=repr(exc))
                last_write = now
    except asyncio.CancelledError:
        if dirty:  # shutting down: keep what was learnt
            write_checkpoint(path, pipeline.learn.snapshot(), offsets)
        raise
    finally:
        await consumer.stop()
