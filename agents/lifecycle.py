"""The worker's start and stop: models warmed up, online topics restored before the
first post is scored, saved on a timer and at shutdown (:mod:`agents.checkpoints`)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import structlog

from agents.app import app
from agents.checkpoints import load_topics, save_topics
from agents.runtime import pipeline, run_blocking, topics_restored
from agents.text_pool import TextReaderPool
from streams import metrics

log = structlog.get_logger("vigil.worker")
_settings = app.vigil_settings
_reader: TextReaderPool | None = None
if _settings.text_reader_children:
    _reader = TextReaderPool(pipeline.score.reader, processes=_settings.text_reader_children,
                             log=log, lost_counter=metrics.TEXT_READER_LOST)
    pipeline.score.read = _reader  # the children start in the inference thread, before a call


def topics_path() -> Path:
    return Path(_settings.data_dir) / "models" / "topics.json"


@app.task
async def warm_up_models() -> None:
    # Off the loop: loading the lexical model unpickles ~1 s of scikit-learn.
    await run_blocking(pipeline.load_models)
    if _reader is not None:
        await run_blocking(_reader.start)
    # What start-up made (models, libraries: ~170,000 objects) lives as long as the
    # worker; frozen, the cyclic collector stops walking it on every full collection.
    # Measured on a non-ML worker draining 10,000 posts: full collections 0.63 -> 0.12 s,
    # all collections 0.91 -> 0.36 s of ~7 s CPU, and no more ~0.12 s pauses of the loop.
    gc.collect()
    gc.freeze()
    if _settings.uses_dev_pseudonym_key:
        log.warning("pseudonym_key_not_set",
                    hint="set VIGIL_PSEUDONYM_KEY to a long random secret in production; "
                         "author pseudonyms now use a public development key")
    log.info("worker_ready", broker=_settings.broker, web_port=_settings.web_port,
             model_version=pipeline.model_version, batch=_settings.worker_batch,
             text_reader=(f"{len(_reader.children)} child processes" if _reader is not None
                          else "inference thread"),
             event_loop=type(asyncio.get_running_loop()).__module__.split(".")[0])


@app.task
async def restore_topics() -> None:
    path = topics_path()
    try:
        n = await run_blocking(load_topics, pipeline.score, path)
        if n:
            log.info("topics_restored", path=str(path), communities=n)
    except Exception as exc:  # a damaged file must not stop the worker: topics regrow
        log.warning("topics_checkpoint_ignored", path=str(path), error=str(exc))
    finally:
        topics_restored.set()  # scoring may start


@app.timer(interval=_settings.topics_checkpoint_interval_s)
async def checkpoint_topics() -> None:
    size = await run_blocking(save_topics, pipeline.score, topics_path())
    if size:
        log.debug("topics_saved", bytes=size)


@app.on_before_shutdown.connect
async def _stop_text_reader(app_: Any, **_: Any) -> None:
    if _reader is not None:  # waits (<= 5 s) for the child's exit: off the event loop
        await asyncio.get_running_loop().run_in_executor(None, _reader.stop)


@app.on_before_shutdown.connect
async def _save_topics_at_shutdown(app_: Any, **_: Any) -> None:
    try:
        save_topics(pipeline.score, topics_path())
    except Exception as exc:
        log.warning("topics_checkpoint_failed", error=str(exc))
