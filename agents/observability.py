"""``/metrics`` for Prometheus on the worker's web port, and model warm-up at start."""

from __future__ import annotations

import structlog

from agents.runtime import run_blocking, steps
from streams import metrics
from streams.app import app

log = structlog.get_logger("vigil.worker")


@app.page("/metrics")
async def prometheus_metrics(web, request):
    return web.bytes(metrics.render(), content_type="text/plain; version=0.0.4")


@app.task
async def warm_up_models() -> None:
    # Off the loop: loading the lexical model unpickles ~1 s of scikit-learn.
    await run_blocking(steps.load_models)
    settings = app.vigil_settings
    if settings.uses_dev_pseudonym_key:
        log.warning("pseudonym_key_not_set",
                    hint="set VIGIL_PSEUDONYM_KEY to a long random secret in production; "
                         "author pseudonyms now use a public development key")
    log.info("worker_ready", broker=settings.broker, web_port=settings.web_port,
             model_version=steps.model_version)
