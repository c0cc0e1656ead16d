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

__all__ = ["configure_logging", "logging_dict_config", "get_logger"]

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
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "structlog",
                       "stream": "ext://sys.stderr"},
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
