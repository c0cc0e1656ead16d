"""Keyed pseudonyms for authors and moderators.

A platform user id must not leave normalisation: downstream topics, logs and
dashboards see only ``HMAC-SHA256(key, platform:user)``, truncated. The same author
maps to the same pseudonym (so repeat offenders are still tracked), and without the key
nobody can test a guessed user id against it.

>>> p = Pseudonymizer(b"secret")
>>> p("reddit", "spez") == p("reddit", "spez"), p("reddit", "spez") == p("discord", "spez")
(True, False)
>>> len(p("reddit", "spez"))
20
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

__all__ = ["Pseudonymizer"]


class Pseudonymizer:
    def __init__(self, key: bytes, length: int = 20):
        if not key:
            raise ValueError("a pseudonym key must not be empty")
        self._key = key
        self.length = length
        # Active authors repeat constantly; the cache makes them free.
        self._cached = lru_cache(maxsize=65536)(self._compute)

    def _compute(self, platform: str, user: str) -> str:
        mac = hmac.new(self._key, f"{platform}:{user}".encode(), hashlib.sha256)
        return "a_" + mac.hexdigest()[: self.length - 2]

    def __call__(self, platform: str, user: str) -> str:
        return self._cached(platform, user)
