"""``vigil connect PLATFORM --config FILE``: build a platform's source from its TOML
table and run it until SIGINT/SIGTERM.

The config file has one table per platform (``[reddit]``, ...); secrets are named by
``*_env`` keys and read from the environment, never from the file.
"""

from __future__ import annotations

import asyncio
import signal
import tomllib
from pathlib import Path
from typing import Any, Callable

import structlog

from connectors.base import AsyncRawSink
from connectors.cursors import CursorStore

__all__ = ["POLLING_SOURCES", "load_platform_config", "run_polling"]

log = structlog.get_logger("vigil.connect")


def _reddit(name: str, cfg: dict, sink: AsyncRawSink, cursors: CursorStore):
    from connectors.reddit import RedditSource

    return RedditSource.from_config(name, cfg, sink, cursors)


#: platform -> factory(name, config table, sink, cursors)
POLLING_SOURCES: dict[str, Callable[..., Any]] = {"reddit": _reddit}


def load_platform_config(path: Path, platform: str) -> dict:
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    table = doc.get(platform)
    if not isinstance(table, dict):
        raise ValueError(f"{path}: no [{platform}] table")
    for key, value in table.items():
        if key.endswith(("secret", "token", "password")) and isinstance(value, str):
            raise ValueError(f"{path}: [{platform}].{key}: secrets go in the environment; "
                             f"name the variable with {key}_env")
    return table


def run_polling(platform: str, config: Path, bootstrap: str) -> int:
    cfg = load_platform_config(config, platform)
    cursors = CursorStore(bootstrap)
    sink = AsyncRawSink(bootstrap)
    source = POLLING_SOURCES[platform](cfg.get("name", "default"), cfg, sink, cursors)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, source.stop.set)
        await sink.start()
        try:
            await source.run()
        finally:
            await sink.stop()
            cursors.close()

    asyncio.run(main())
    return 0
