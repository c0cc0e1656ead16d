"""Micro-batching: concurrent requests share one model call.

Each request puts its texts on a queue; the collector takes what is there, waits up to
``window_s`` (a few milliseconds) for more, and sends at most ``max_texts`` to the model in
one call on the inference thread (one worker thread, which the learning loop shares, so
a label is never learnt while a batch is being scored). The event loop never runs the
model; a request waits on its future only.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from typing import Any, Callable, Sequence

from streams import metrics

__all__ = ["MicroBatcher"]


class MicroBatcher:
    def __init__(self, score: Callable[[list[str], list[str]], list[Any]], executor: Executor, *,
                 max_texts: int = 64, window_s: float = 0.004):
        self.score, self.executor = score, executor
        self.max_texts, self.window_s = max_texts, window_s
        self._queue: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._collect(), name="api-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, texts: Sequence[str], community: str) -> list[Any]:
        """The model's results for ``texts`` (in order), scored with others' texts."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((list(texts), community, future))
        return await future

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0])
            deadline = time.monotonic() + self.window_s
            while size < self.max_texts:
                left = deadline - time.monotonic()
                try:
                    item = (self._queue.get_nowait() if left <= 0
                            else await asyncio.wait_for(self._queue.get(), left))
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
                batch.append(item)
                size += len(item[0])
            texts = [t for ts, _, _ in batch for t in ts]
            communities = [c for ts, c, _ in batch for _ in ts]
            metrics.API_BATCH_TEXTS.observe(len(texts))
            try:
                results = await loop.run_in_executor(self.executor, self.score, texts,
                                                     communities)
            except Exception as exc:  # every waiting request learns of it, none hangs
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            at = 0
            for ts, _, future in batch:
                if not future.done():
                    future.set_result(results[at:at + len(ts)])
                at += len(ts)
