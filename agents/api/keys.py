"""API keys for ``vigil serve``: stored hashed, created and revoked with ``vigil keys``,
each with its own rate limit.

A key is 32 random bytes (``vk_`` + URL-safe base64), shown once at creation; the file
(``<data_dir>/api_keys.json``) keeps only its SHA-256, which is enough for a secret with
that much entropy (a slow password hash protects guessable secrets, not random ones).
``vigil serve`` rereads the file when it changes, so a revoke takes effect at the next
request. Clients send a key as Perspective's take it, ``?key=``, or as
``Authorization: Bearer``.

>>> import tempfile, pathlib
>>> store = KeyStore(pathlib.Path(tempfile.mkdtemp()) / "keys.json")
>>> key = store.create("forum-bot", qps=2.0)
>>> store.check(key).name, store.check("vk_wrong") is None
('forum-bot', True)
>>> store.revoke("forum-bot"), store.check(key) is None
(1, True)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

__all__ = ["ApiKey", "KeyStore", "RateLimiter"]


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    qps: float
    created: float
    revoked: bool = False


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._mtime: Optional[tuple] = None
        self._by_digest: dict[str, ApiKey] = {}

    def _load(self) -> list[ApiKey]:
        if not self.path.is_file():
            return []
        return [ApiKey(**k) for k in json.loads(self.path.read_text()).get("keys", [])]

    def _save(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [asdict(k) for k in keys]}, indent=2) + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)  # readers never see half a file

    def create(self, name: str, qps: float = 1.0) -> str:
        keys = self._load()
        if any(k.name == name and not k.revoked for k in keys):
            raise ValueError(f"a key named {name!r} exists; revoke it first")
        if not (qps > 0 and math.isfinite(qps)):
            raise ValueError("qps must be a positive number")
        key = "vk_" + secrets.token_urlsafe(32)
        keys.append(ApiKey(name, _digest(key), float(qps), time.time()))
        self._save(keys)
        return key

    def revoke(self, name: str) -> int:
        keys = self._load()
        hit = sum(k.name == name and not k.revoked for k in keys)
        self._save([ApiKey(**{**asdict(k), "revoked": True}) if k.name == name else k
                    for k in keys])
        return hit

    def list(self) -> list[ApiKey]:
        return self._load()

    def check(self, key: Optional[str]) -> Optional[ApiKey]:
        """The live key this secret is, or None."""
        if not key:
            return None
        try:
            st = self.path.stat()
            mtime = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._by_digest = {k.sha256: k for k in self._load() if not k.revoked}
            self._mtime = mtime
        return self._by_digest.get(_digest(key))


class RateLimiter:
    """A token bucket per key: ``qps`` requests a second, bursts up to one second's worth.

    >>> r = RateLimiter(); r.take("k", 2.0, now=0.0), r.take("k", 2.0, now=0.0), r.take("k", 2.0, now=0.0)
    (0.0, 0.0, 0.5)
    """

    def __init__(self):
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, qps: float, now: Optional[float] = None) -> float:
        """0 if the request may go, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        capacity = max(1.0, qps)
        tokens, at = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * qps)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / qps
