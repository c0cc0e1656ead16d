"""moderation.feedback -> the toxicity model learns, and its state is checkpointed.

Every worker must learn from every label (one shared model per community, whichever
worker scores its posts next), which a group-partitioned Faust agent cannot express;
so this is a task with its own consumer that is *assigned* every partition of
``moderation.feedback``, like a Faust GlobalTable reads a whole changelog. It commits
nothing to the broker: its position is the checkpoint.

The checkpoint (``<data_dir>/models/toxicity.ckpt``: model snapshot + the next offset
per feedback partition) is written atomically at most every
``VIGIL_CHECKPOINT_INTERVAL_S`` and at shutdown. On start it is restored and only
feedback newer than it is replayed; without one, all feedback still on the topic is
replayed. A crash can make the model re-learn at most one interval of labels.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from pathlib import Path
from typing import Optional

import structlog

from agents.runtime import learning_restored, run_blocking, steps
from streams import metrics
from streams.app import app
from streams.records import ModerationFeedback

log = structlog.get_logger("vigil.feedback")
_settings = app.vigil_settings
TOPIC = "moderation.feedback"


def checkpoint_path() -> Path:
    return Path(_settings.data_dir) / "models" / "toxicity.ckpt"


def write_checkpoint(path: Path, snapshot: dict, offsets: dict[int, int]) -> None:
    data = _dumps({**snapshot, "feedback_offsets": dict(offsets), "written_at": time.time()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # atomic: a crash leaves the old checkpoint or the new one


def _dumps(obj: object, attempts: int = 5) -> bytes:
    """Pickle live models, trying again if another thread changed one meanwhile.

    The trend classifier is read on the event loop (detect) while the snapshot is
    pickled on the inference thread; a river model adds weight keys as it meets new
    features, and pickling a dict that grows raises RuntimeError."""
    for attempt in range(attempts):
        try:
            return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def read_checkpoint(path: Path) -> Optional[dict]:
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return pickle.load(fh)


@app.task
async def learn_from_feedback() -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    path = checkpoint_path()
    offsets: dict[int, int] = {}
    try:
        snap = await run_blocking(read_checkpoint, path)
        if snap is not None:
            await run_blocking(steps.restore_learning, snap)
            offsets = {int(p): int(o) for p, o in snap["feedback_offsets"].items()}
            metrics.LEARNER_LABELS.set(steps.toxicity.labels_learned)
            log.info("checkpoint_restored", path=str(path), labels=snap["labels_learned"],
                     offsets=offsets)
    except Exception as exc:  # an old or damaged checkpoint must not stop the worker
        log.warning("checkpoint_ignored", path=str(path), error=str(exc))
        offsets = {}
    finally:
        learning_restored.set()  # scoring may start

    consumer = AIOKafkaConsumer(bootstrap_servers=_settings.bootstrap_servers,
                                enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=_settings.fetch_max_wait_ms,
                                client_id=f"{_settings.app_id}-feedback")
    await consumer.start()
    last_write, dirty = time.monotonic(), False
    try:
        parts = consumer.partitions_for_topic(TOPIC) or set()
        tps = [TopicPartition(TOPIC, p) for p in sorted(parts)]
        consumer.assign(tps)
        for tp in tps:
            if tp.partition in offsets:
                consumer.seek(tp, offsets[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=200)
            for tp, messages in batch.items():
                for msg in messages:
                    await _learn(msg.value)
                    offsets[tp.partition] = msg.offset + 1
                    dirty = True
            now = time.monotonic()
            if dirty and now - last_write >= _settings.checkpoint_interval_s:
                try:
                    snapshot = await run_blocking(steps.learning_snapshot)
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
            write_checkpoint(path, steps.learning_snapshot(), offsets)
        raise
    finally:
        await consumer.stop()


async def _learn(raw: bytes) -> None:
    try:
        fb = ModerationFeedback.loads(raw)
    except Exception as exc:
        metrics.FEEDBACK.labels(label="invalid", outcome="invalid").inc()
        log.warning("feedback_invalid", error=str(exc))
        return
    with structlog.contextvars.bound_contextvars(post_id=fb.post_id, community=fb.community):
        outcome, before = await run_blocking(steps.learn_feedback, fb)
        metrics.FEEDBACK.labels(label=fb.label if fb.label in metrics.FEEDBACK_LABELS else "other",
                                outcome=outcome).inc()
        metrics.LEARNER_LABELS.set(steps.toxicity.labels_learned)
        if before is not None and fb.label in ("toxic", "not_toxic"):
            auc = steps.online_auc.update(before, fb.label == "toxic")
            if auc is not None:
                metrics.LEARNER_AUC.set(auc)
        log.info("feedback", label=fb.label, action=fb.action, outcome=outcome,
                 score_before=before)
