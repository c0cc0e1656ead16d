"""What every agent in a worker shares: the pipeline steps and the inference executor."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, TypeVar

from agents.steps import Steps
from streams.app import app

T = TypeVar("T")

steps = Steps(app.vigil_settings)

# Set once each start-up restore (learnt toxicity state, online topics) has finished or
# failed: scoring waits for both, or the first posts after a restart would be scored by
# an untaught model (with ONNX the model is ready in 0.6 s, before the restore was).
learning_restored = asyncio.Event()
topics_restored = asyncio.Event()

# One thread: the models are CPU-bound and a 2-core machine also runs the broker.
# What matters is that inference never runs on the event loop.
_inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-inference")


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_inference, partial(fn, *args))


@app.on_before_shutdown.connect
async def _stop_executor(app_: Any, **_: Any) -> None:
    _inference.shutdown(wait=False, cancel_futures=True)
