"""Logging: structlog everywhere, JSON by default, a readable console on a TTY.

Vigil's own code logs through structlog with the post and community bound as context
(``structlog.contextvars.bound_contextvars``). Faust, mode and aiokafka log through the
standard library; :func:`logging_dict_config` sends those records through the same
structlog processors, so one process writes one format.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any

import structlog

__all__ = ["configure_logging", "logging_dict_config", "get_logger", "RepeatFilter"]


class RepeatFilter(logging.Filter):
    """At most one record per ``every_s`` for each (logger, message template) of the
    broker client libraries, with a count of what was held back.

    With the broker away, aiokafka and Faust log every reconnect attempt of every
    connection (over a hundred lines a second); one line every few seconds says the same.
    Vigil's own records (through structlog) are never held back here.

    >>> f = RepeatFilter(every_s=5.0, clock=iter([0.0, 1.0, 2.0, 6.0]).__next__)
    >>> r = lambda: logging.LogRecord("aiokafka", logging.ERROR, "", 0, "lost %s", ("x",), None)
    >>> [f.filter(r()) for _ in range(4)]
    [True, False, False, True]
    """

    LIBRARIES = ("aiokafka", "kafka", "faust", "mode")

    def __init__(self, every_s: float = 5.0, clock: Any = None):
        super().__init__()
        import time

        self.every_s = every_s
        self.clock = clock or time.monotonic
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.LIBRARIES):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        if now - self._last.get(key, float("-inf")) < self.every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} [{held} like this held back]"
        if len(self._last) > 10_000:  # templates are few; bound the memory regardless
            self._last.clear()
        return True

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _renderer(fmt: str) -> Any:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return structlog.processors.JSONRenderer()


def logging_dict_config(level: str = "info", fmt: str = "auto") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that renders stdlib records with structlog."""
    lvl = _LEVELS.get(level.lower(), logging.INFO)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _renderer(fmt),
                ],
                "foreign_pre_chain": _shared_processors(),
            },
        },
        "filters": {"repeats": {"()": RepeatFilter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "structlog",
                       "stream": "ext://sys.stderr", "filters": ["repeats"]},
        },
        "root": {"handlers": ["stderr"], "level": lvl},
        "loggers": {
            # Chatty at INFO on every rebalance and fetch; their warnings still show.
            "aiokafka": {"level": max(lvl, logging.WARNING)},
            "kafka": {"level": max(lvl, logging.WARNING)},
        },
    }


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    logging.config.dictConfig(logging_dict_config(level, fmt))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
