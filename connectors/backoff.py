"""Waiting politely: exponential backoff with full jitter, floored by the server's
``Retry-After``. Shared by the notifiers and the platform sources."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Optional

__all__ = ["Backoff", "retry_after_s"]


def retry_after_s(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Retry-After as seconds: delta-seconds or an HTTP date.

    >>> retry_after_s("7")
    7.0
    >>> retry_after_s("Sun, 01 Nov 2026 00:00:10 GMT", now=1793491200.0)
    10.0
    >>> retry_after_s("soon") is None
    True
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class Backoff:
    """Exponential backoff with full jitter, floored by the server's Retry-After.

    >>> b = Backoff(base_s=1.0, cap_s=60.0, rng=random.Random(1))
    >>> [round(b.next(None), 2) for _ in range(4)]
    [0.13, 1.69, 3.06, 2.04]
    >>> b.next(30.0) >= 30.0
    True
    """

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0,
                 rng: Optional[random.Random] = None):
        self.base_s, self.cap_s, self.attempt = base_s, cap_s, 0
        self.rng = rng or random.Random()

    def next(self, retry_after: Optional[float]) -> float:
        wait = self.rng.uniform(0, min(self.cap_s, self.base_s * 2 ** self.attempt))
        self.attempt += 1
        return max(wait, retry_after or 0.0)

    def reset(self) -> None:
        self.attempt = 0
