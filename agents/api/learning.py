"""``vigil serve`` learns what the worker learns: every label on ``moderation.feedback``.

Like the worker's feedback task (:mod:`agents.feedback`), a consumer assigned every
partition feeds labels to the pipeline's learn stage, on the inference thread. It starts
from the worker's checkpoint when one is in the shared data directory (read, never
written: the worker owns it), else from the start of the topic. Labels that
``comments:suggestscore`` writes come back this way too, so a correction teaches the
API and every worker the same lesson.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from pathlib import Path

import structlog

from agents.checkpoints import read_checkpoint
from streams.assigned import assign_every_partition
from streams.events import inputs_from_batch
from streams.pipeline import Pipeline
from streams.state import PipelineState

__all__ = ["FeedbackLearner"]

log = structlog.get_logger("vigil.serve")
TOPIC = "moderation.feedback"


class FeedbackLearner:
    def __init__(self, pipeline: Pipeline, executor: Executor, bootstrap: str, checkpoint: Path):
        self.pipeline, self.executor, self.bootstrap = pipeline, executor, bootstrap
        self.checkpoint = checkpoint
        self.state = PipelineState()  # learning keeps no durable state of its own
        self.learned = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        offsets: dict[int, int] = {}
        try:
            snap = await loop.run_in_executor(self.executor, read_checkpoint, self.checkpoint)
            if snap is not None:
                await loop.run_in_executor(self.executor, self.pipeline.learn.restore, snap)
                offsets = {int(p): int(o) for p, o in snap["feedback_offsets"].items()}
                log.info("checkpoint_restored", labels=snap.get("labels_learned"))
        except Exception as exc:  # the worker's file, maybe mid-write or from another version
            log.warning("checkpoint_ignored", error=str(exc))
        self._task = asyncio.create_task(self._run(offsets), name="api-learning")

    async def _run(self, offsets: dict[int, int]) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    enable_auto_commit=False, client_id="vigil-serve-feedback")
        await consumer.start()
        loop = asyncio.get_running_loop()
        try:
            while not await assign_every_partition(consumer, TOPIC, offsets, wait_s=30.0):
                log.warning("feedback_topic_missing")  # `vigil topics create`
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=200)
                inputs = inputs_from_batch(TOPIC, batch)
                if inputs:
                    out = await loop.run_in_executor(self.executor, self.pipeline.process,
                                                     inputs, self.state)
                    self.learned += sum(x.outcome == "learned" for x in out.learned)
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
