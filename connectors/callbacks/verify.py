"""Is this request really from Slack, Discord or PagerDuty? Checked on the raw bytes
before anything is parsed; a request that fails never reaches a topic.

- **Slack** signs ``v0:<X-Slack-Request-Timestamp>:<body>`` with the app's signing secret
  (HMAC-SHA256, ``X-Slack-Signature: v0=<hex>``) and asks receivers to refuse requests
  more than five minutes old, so a captured request cannot be replayed later.
- **Discord** signs ``<X-Signature-Timestamp><body>`` with the application's Ed25519 key
  (``X-Signature-Ed25519``, hex); the public key is on the application's page, and
  Discord checks that a bad signature gets a 401 before it accepts an endpoint.
- **PagerDuty** (webhooks v3) signs the body with the subscription's secret
  (HMAC-SHA256) in ``X-PagerDuty-Signature: v1=<hex>``, several comma-separated while a
  secret is being rotated; any one matching is enough. There is no timestamp: a
  delivery repeated is recognised by its event id instead.

Within the window a request replayed byte for byte is refused too (``ReplayGuard``).

>>> import hashlib, hmac
>>> body, ts = b"payload=%7B%7D", "1793606400"
>>> sig = "v0=" + hmac.new(b"s3cret", b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
>>> verify_slack(b"s3cret", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}, body,
...              now=1793606460.0)
>>> try:
...     verify_slack(b"s3cret", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig},
...                  body, now=1793607000.0)
... except Refused as exc:
...     print(exc.reason)
expired
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from typing import Mapping, Sequence

__all__ = ["Refused", "verify_slack", "verify_discord", "verify_pagerduty", "ReplayGuard",
           "WINDOW_S"]

WINDOW_S = 300.0  # Slack's five minutes; Discord's requests are answered within seconds


class Refused(Exception):
    """Why a request was refused: ``forged``, ``expired``, ``replayed`` (the metric's
    ``outcome``); never says which part of a signature was wrong."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _timestamp(value: str | None, now: float) -> float:
    try:
        ts = float(value or "")
    except ValueError:
        raise Refused("forged") from None
    if abs(now - ts) > WINDOW_S:
        raise Refused("expired")
    return ts


def verify_slack(secret: bytes, headers: Mapping[str, str], body: bytes, *, now: float) -> None:
    ts = headers.get("X-Slack-Request-Timestamp")
    _timestamp(ts, now)
    want = "v0=" + hmac.new(secret, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want.encode(), (headers.get("X-Slack-Signature") or "").encode()):
        raise Refused("forged")


def verify_discord(public_key_hex: str, headers: Mapping[str, str], body: bytes, *,
                   now: float) -> None:
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    ts = headers.get("X-Signature-Timestamp") or ""
    try:
        signature = bytes.fromhex(headers.get("X-Signature-Ed25519") or "")
        VerifyKey(bytes.fromhex(public_key_hex)).verify(ts.encode() + body, signature)
    except (BadSignatureError, ValueError):
        raise Refused("forged") from None
    _timestamp(ts, now)  # after the signature: a forged timestamp is a forgery


def verify_pagerduty(secrets: Sequence[bytes], headers: Mapping[str, str], body: bytes) -> None:
    given = [s.strip()[3:] for s in (headers.get("X-PagerDuty-Signature") or "").split(",")
             if s.strip().startswith("v1=")]
    for secret in secrets:
        want = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        if any(hmac.compare_digest(want, g.encode()) for g in given):
            return
    raise Refused("forged")


class ReplayGuard:
    """Signatures (or event ids) seen in the last ``window_s``: the second is a replay."""

    def __init__(self, window_s: float = WINDOW_S, max_entries: int = 100_000):
        self.window_s, self.max_entries = window_s, max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, token: str, now: float | None = None) -> None:
        """Refuse a token seen before; remember this one."""
        if self.seen(token, now):
            raise Refused("replayed")
        self.add(token, now)

    def seen(self, token: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        while self._seen and (next(iter(self._seen.values())) < now - self.window_s
                              or len(self._seen) > self.max_entries):
            self._seen.popitem(last=False)
        return token in self._seen

    def add(self, token: str, now: float | None = None) -> None:
        self._seen[token] = time.time() if now is None else now
