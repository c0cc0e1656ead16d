"""A worker that stops within ``VIGIL_SHUTDOWN_TIMEOUT_S`` of SIGTERM or Ctrl-C, whatever
the broker does.

Faust's graceful stop commits offsets, flushes the producer and leaves the group; with
the broker away each of those waits on a request timeout, and a worker was seen to
ignore SIGTERM for 12 s (an orchestrator then kills it anyway, later). Stopping hard
after the timeout is safe: an input's offset is committed only once everything it
caused was acknowledged (:mod:`agents.delivery`), so what was in flight is read again
by the next worker. The exit says so in the log and returns code 1.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import structlog
from faust.worker import Worker

__all__ = ["BoundedShutdownWorker"]

log = structlog.get_logger("vigil.worker")


class BoundedShutdownWorker(Worker):
    def _schedule_shutdown(self, signum: signal.Signals) -> None:  # noqa: D401 - mode hook
        timeout = float(self.app.vigil_settings.shutdown_timeout_s)
        if not getattr(self, "_vigil_deadline_armed", False):
            self._vigil_deadline_armed = True
            threading.Thread(target=_exit_after, args=(timeout, signum), daemon=True,
                             name="vigil-shutdown-deadline").start()
        super()._schedule_shutdown(signum)


def _exit_after(timeout: float, signum: Any) -> None:
    threading.Event().wait(timeout)
    log.error("shutdown_timeout", signal=getattr(signum, "name", str(signum)),
              timeout_s=timeout,
              note="stopped hard; unacknowledged inputs were not committed and are read again")
    os._exit(1)
