"""What the Faust runner's agents, tasks and timers share: one pipeline, its state over
the tables, the inference thread, and the lock that keeps each call whole.

Every call of the pipeline runs in one inference thread (the models are CPU-bound and a
2-core machine also runs the broker; what matters is that nothing blocks the event
loop) under :data:`pipeline_lock`; its outputs and changed state are taken under the
lock and published behind the previous call's, in call order (the next call may be
computed meanwhile, :func:`agents.worker.run`): an escalation is always on its way
before the ledger that says it was sent is written.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, Iterable, Optional, TypeVar

from agents.app import app, tables
from streams.pipeline import Pipeline
from streams.state import PipelineState

T = TypeVar("T")

pipeline = Pipeline(app.vigil_settings)


def _load(store: str, key: str) -> Optional[dict]:
    # read by the inference thread; only this runner writes, between its calls
    return tables[store].data.get(key)


def _scan(store: str) -> Iterable[tuple[str, dict]]:
    # "__vigil_sync__", "__vigil_applied__|<p>": the worker's markers (agents.worker)
    return [(k, v) for k, v in tables[store].data.items() if not k.startswith("__vigil_")]


state = PipelineState(load=_load, scan=_scan)

# Set once each start-up restore (learnt toxicity state, online topics) has finished or
# failed: processing waits for both, or the first posts after a restart would be scored
# by an untaught model (with ONNX the model is ready in 0.6 s, before the restore was).
learning_restored = asyncio.Event()
topics_restored = asyncio.Event()
pipeline_lock = asyncio.Lock()

_inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-inference")


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_inference, partial(fn, *args))


@app.on_before_shutdown.connect
async def _stop_executor(app_: Any, **_: Any) -> None:
    _inference.shutdown(wait=False, cancel_futures=True)
