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
from typing import Any

import structlog

from connectors.base import AsyncRawSink
from connectors.cursors import CursorStore

__all__ = ["CONNECTORS", "source_class", "load_platform_config", "run_source"]

log = structlog.get_logger("vigil.connect")


#: platform -> "module:Class"; each class has ``from_config(name, table, sink, cursors)``,
#: an ``async run()`` and a ``stop`` event. Imported only when asked for, so a platform
#: whose optional library is missing does not stop the others.
CONNECTORS: dict[str, str] = {
    "reddit": "connectors.reddit:RedditSource",
    "discourse": "connectors.discourse:DiscourseSource",
    "discord": "connectors.discord:DiscordSource",
    "x": "connectors.x:XSource",
    "steam": "connectors.steam:SteamSource",
    "youtube": "connectors.youtube:YouTubeSource",
    "twitch": "connectors.twitch:TwitchSource",
    "telegram": "connectors.telegram:TelegramSource",
    "webhook": "connectors.webhook:WebhookSource",
}


def source_class(platform: str) -> Any:
    import importlib

    module, cls = CONNECTORS[platform].split(":")
    return getattr(importlib.import_module(module), cls)


def load_platform_config(path: Path, platform: str) -> dict:
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    table = doc.get(platform)
    if not isinstance(table, dict):
        raise ValueError(f"{path}: no [{platform}] table")
    for key, value in table.items():
        if key.endswith(("secret", "token", "password", "key")) and isinstance(value, str):
            raise ValueError(f"{path}: [{platform}].{key}: secrets go in the environment; "
                             f"name the variable with {key}_env")
    return table


def run_source(platform: str, config: Path, bootstrap: str) -> int:
    """Run one platform connector until SIGINT/SIGTERM. 0 when stopped, 1 when the
    platform refused it for good (a bad token, a missing permission)."""
    from connectors.polling import PlatformError

    cfg = load_platform_config(config, platform)
    cursors = CursorStore(bootstrap)
    sink = AsyncRawSink(bootstrap)
    source = source_class(platform).from_config(cfg.get("name", "default"), cfg, sink, cursors)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, source.stop.set)
        log.info("connector_starting", platform=platform, name=source.name)
        await sink.start()
        try:
            await source.run()
        finally:
            await sink.stop()
            await cursors.close()

    try:
        asyncio.run(main())
    except PlatformError as exc:
        log.error("connector_refused", platform=platform, error=str(exc), status=exc.status)
        return 1
    return 0
