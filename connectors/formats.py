"""Registers every platform's payload parser with ``models.normalize`` (import for the
side effect; nothing here does I/O). The worker imports it so that a payload with
header ``vigil-format: reddit`` is parsed by ``connectors.reddit.parse_reddit``."""

from connectors import (discord, discourse, reddit, steam, telegram, twitch,  # noqa: F401
                        webhook, x, youtube)

#: the formats platform connectors produce (the generic webhook produces Vigil's own)
PLATFORM_FORMATS = ("reddit", "discourse", "discord", "x", "steam", "youtube", "twitch",
                    "telegram")
