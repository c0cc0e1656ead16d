"""A generic HTTPS webhook, signed so the receiver can trust it.

The body is the escalation's JSON. Headers: ``X-Vigil-Timestamp`` (unix seconds) and
``X-Vigil-Signature: v1=<hex>`` where hex = HMAC-SHA256(key, "<timestamp>.<body>").
Receivers recompute it, compare in constant time and reject timestamps outside their
replay window (:func:`verify` does exactly that). Settings: ``url`` (or ``url_env``),
``signing_key_env``. ``X-Vigil-Delivery`` carries the escalation id for idempotency.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Optional

from connectors.notifiers.base import NotifierSink, dumps, secret_from_env

__all__ = ["WebhookSink", "sign", "verify"]


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(key: bytes, timestamp: str, signature: str, body: bytes, *,
           now: Optional[float] = None, window_s: float = 300.0) -> bool:
    """What a receiver does.

    >>> ts = "1793491200"; sig = sign(b"k", ts, b"{}")
    >>> verify(b"k", ts, sig, b"{}", now=1793491260.0)
    True
    >>> verify(b"k", ts, sig, b"{}", now=1793491900.0)  # outside the replay window
    False
    >>> verify(b"other", ts, sig, b"{}", now=1793491260.0)
    False
    """
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= window_s and hmac.compare_digest(sign(key, timestamp, body), signature)


class WebhookSink(NotifierSink):
    name = "webhook"

    def __init__(self, route: str, settings: dict):
        self.url = (secret_from_env(route, settings, "url_env") if settings.get("url_env")
                    else settings.get("url") or "")
        if not self.url:
            raise ValueError(f"route {route}: set url or url_env")
        self.key = secret_from_env(route, settings, "signing_key_env").encode()

    def request(self, esc: dict) -> tuple[str, bytes, dict]:
        body = dumps(esc)
        ts = str(int(time.time()))  # signed at send time: a retry gets a fresh timestamp
        return self.url, body, {"X-Vigil-Timestamp": ts, "X-Vigil-Signature": sign(self.key, ts, body),
                                "X-Vigil-Delivery": esc["id"]}
