"""Registers every platform's payload parser with ``models.normalize`` (import for the
side effect; nothing here does I/O). The worker imports it so that a payload with
header ``vigil-format: reddit`` is parsed by ``connectors.reddit.parse_reddit``."""

import importlib

PLATFORM_FORMATS = ("reddit", "discourse", "discord", "x", "steam", "youtube", "twitch",
                    "telegram", "webhook")

for _name in PLATFORM_FORMATS:
    try:
        importlib.import_module(f"connectors.{_name}")
    except ModuleNotFoundError as _exc:  # TEMPORARY while issue 6 lands platform by platform
        if _exc.name != f"connectors.{_name}":
            raise
