"""Drop posts already seen: same (platform, post id) within an event-time window.

Connectors retry, platforms redeliver webhooks, and a polling cursor can overlap; a
duplicate must not be scored or counted twice. Memory is bounded twice over: keys
older than ``window_s`` behind the newest event time are evicted, and so is the oldest
key once ``max_keys`` is reached.

>>> d = DedupWindow(window_s=60, max_keys=1000)
>>> d.seen("reddit", "1", 0.0), d.seen("reddit", "1", 30.0), d.seen("discord", "1", 31.0)
(False, True, False)
>>> d.seen("reddit", "2", 200.0), d.seen("reddit", "1", 201.0)  # "1" expired
(False, False)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["DedupWindow"]


@dataclass
class DedupWindow:
    window_s: float
    max_keys: int
    _keys: "OrderedDict[tuple[str, str], float]" = field(default_factory=OrderedDict, repr=False)
    _watermark: float = float("-inf")

    def seen(self, platform: str, post_id: str, ts: float) -> bool:
        """True if this post was already seen; records it otherwise."""
        if ts > self._watermark:
            self._watermark = ts
            self._expire()
        key = (platform, post_id)
        if key in self._keys:
            return True
        self._keys[key] = ts
        if len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return False

    def _expire(self) -> None:
        horizon = self._watermark - self.window_s
        keys = self._keys
        # Arrival order follows event time closely, so expiry stops at the first fresh key.
        while keys:
            oldest_ts = next(iter(keys.values()))
            if oldest_ts >= horizon:
                break
            keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)
