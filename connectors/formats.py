"""Registers every platform's payload parser with ``models.normalize`` (import for the
side effect; nothing here does I/O). The worker imports it so that a payload with
header ``vigil-format: reddit`` is parsed by ``connectors.reddit.parse_reddit``."""

from connectors import reddit  # noqa: F401

PLATFORM_FORMATS = ("reddit",)
