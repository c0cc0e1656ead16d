"""Generic signed webhook: any system that can sign an HTTP request can post to Vigil.

The sender POSTs one post in Vigil's JSON format (the sample stream's shape:
``platform``, ``community``, ``id``, ``author``, ``text``, ``created_at``, optional
``thread_id``, ``parent_id``, ``lang``, ``url``, ``meta``), or several as JSON Lines with
``Content-Type: application/x-ndjson``, and signs it:

    X-Vigil-Timestamp: 1793606400
    X-Vigil-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The signature covers the timestamp, and a timestamp more than ``tolerance_s`` (300 s)
from our clock is refused, so a captured request cannot be replayed later; within the
window a repeated post is dropped by its id. Several ``v1=`` values (comma-separated)
and a ``previous_secret_env`` let a sender rotate its secret without downtime.

Answers: **202** once every post of the body is on the broker (acks=all); 401 for a
missing, wrong or stale signature (nothing is produced); 413 over ``max_body_bytes``;
503 with ``Retry-After`` when the broker did not take the posts (the sender retries).
A signed body that is not valid Vigil JSON is produced as sent and dead-lettered by the
pipeline with its reason, so the sender's mistake is visible in ``posts.dlq``.

    [webhook]
    name = "helpdesk"                 # cursor/metrics name: webhook:helpdesk
    secret_env = "VIGIL_WEBHOOK_SECRET"
    # previous_secret_env = "VIGIL_WEBHOOK_SECRET_OLD"
    host = "0.0.0.0"
    port = 8090
    path = "/posts"
    tolerance_s = 300
    max_body_bytes = 262144

Signing, in a shell::

    ts=$(date +%s); body='{"platform":"helpdesk","community":"acme-support","id":"T-1",...}'
    sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | cut -d' ' -f2)
    curl -H "X-Vigil-Timestamp: $ts" -H "X-Vigil-Signature: v1=$sig" -d "$body" http://host:8090/posts
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional

from connectors.push import PushSource, Rejected
from connectors.polling import RawPost, secret_from_env
from models.eventtime import EventTimeError, parse_event_time

__all__ = ["WebhookSource", "sign"]


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Vigil-Signature`` value for a body sent at ``timestamp``.

    >>> sign(b"s3cret", "1793606400", b'{"id":"1"}')[:11]
    'v1=55c375ce'
    """
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class WebhookSource(PushSource):
    platform = "webhook"
    fmt = "vigil"  # the body is Vigil's own post format

    def __init__(self, name: str, sink, *, secrets: list[bytes], tolerance_s: float = 300.0,
                 **kw: Any):
        super().__init__(name, sink, **kw)
        if not secrets:
            raise ValueError("webhook: a secret is required")
        self.secrets, self.tolerance_s = secrets, tolerance_s

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors=None) -> "WebhookSource":
        secrets = [secret_from_env("webhook", cfg, "secret_env").encode()]
        old = secret_from_env("webhook", cfg, "previous_secret_env", required=False)
        if old:
            secrets.append(old.encode())
        return cls(name, sink, secrets=secrets, tolerance_s=float(cfg.get("tolerance_s", 300)),
                   host=cfg.get("host", "127.0.0.1"), port=int(cfg.get("port", 8090)),
                   path=cfg.get("path", "/posts"),
                   max_body_bytes=int(cfg.get("max_body_bytes", 256 * 1024)))

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        ts, given = headers.get("X-Vigil-Timestamp"), headers.get("X-Vigil-Signature")
        if not ts or not given:
            raise Rejected(401, "missing X-Vigil-Timestamp or X-Vigil-Signature")
        try:
            age = now - float(ts)
        except ValueError:
            raise Rejected(401, "X-Vigil-Timestamp is not a number") from None
        if abs(age) > self.tolerance_s:
            raise Rejected(401, f"timestamp {age:+.0f}s from now, outside ±{self.tolerance_s:.0f}s")
        candidates = [v.strip() for v in given.split(",") if v.strip().startswith("v1=")]
        for secret in self.secrets:
            expected = sign(secret, ts, body)
            if any(hmac.compare_digest(expected, c) for c in candidates):
                return
        raise Rejected(401, "signature does not match")

    def posts(self, headers: Mapping[str, str], body: bytes) -> list[RawPost]:
        ndjson = "ndjson" in (headers.get("Content-Type") or "") or "jsonl" in (
            headers.get("Content-Type") or "")
        chunks = [line for line in body.splitlines() if line.strip()] if ndjson else [body]
        return [_raw_post(chunk) for chunk in chunks]


def _raw_post(payload: bytes) -> RawPost:
    """Read just enough to key and dedupe it; validation is the pipeline's."""
    community: Optional[str] = None
    post_id = "sha256:" + hashlib.sha256(payload).hexdigest()
    created = time.time()
    try:
        obj = json.loads(payload)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        if isinstance(obj.get("community"), str):
            community = obj["community"]
        pid = obj.get("id", obj.get("post_id"))
        if isinstance(pid, (str, int)) and not isinstance(pid, bool):
            post_id = f"{obj.get('platform')}:{pid}"
            meta = obj.get("meta")
            revision = meta.get("revision") if isinstance(meta, dict) else None
            if revision is not None:
                post_id += f"@{revision}"
        try:
            created = parse_event_time(obj.get("created_at"))
        except (EventTimeError, TypeError, ValueError):
            pass
    return RawPost(post_id, community or "", payload, created)
