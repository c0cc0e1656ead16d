"""The contract every notifier sink follows, and the HTTP call they share.

A ``{Tool}Sink`` turns one escalation (the JSON of ``streams.records.Escalation``) into
the tool's request and sends it. It raises :class:`DeliveryError` when the tool did not
take it: ``retryable`` for 429, 5xx and network errors (with the ``Retry-After`` the tool
asked for, if any), not retryable for other 4xx (a bad key or payload will not get better
by waiting; the delivery loop logs it loudly and moves on). Secrets (routing keys,
webhook URLs, signing keys) come from environment variables named in the route's
configuration, never from files, and never appear in logs or errors: URLs are reduced
to their host.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from typing import Optional
from urllib.parse import urlsplit

import aiohttp

from connectors.backoff import retry_after_s

__all__ = ["NotifierSink", "DeliveryError", "post_json", "secret_from_env", "retry_after_s"]


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: Optional[float] = None,
                 kind: str = "http"):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind  # low-cardinality, for vigil_notifications_failed_total{reason}


def secret_from_env(route: str, settings: dict, key: str) -> str:
    """The secret named by ``settings[key]`` (an environment variable name)."""
    var = settings.get(key)
    if not var:
        raise ValueError(f"route {route}: set {key} to the name of an environment variable")
    value = os.environ.get(var)
    if not value:
        raise ValueError(f"route {route}: environment variable {var} (from {key}) is not set")
    return value


def _host(url: str) -> str:
    return urlsplit(url).netloc or "?"


async def post_json(session: aiohttp.ClientSession, url: str, body: bytes,
                    headers: Optional[dict] = None, timeout_s: float = 10.0) -> int:
    """POST ``body``; the status on 2xx, else DeliveryError. Never echoes the URL's path
    or query (webhook URLs carry their secret there)."""
    try:
        async with session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=timeout_s),
                                headers={"Content-Type": "application/json",
                                         **(headers or {})}) as resp:
            if 200 <= resp.status < 300:
                return resp.status
            retryable = resp.status == 429 or resp.status >= 500
            raise DeliveryError(f"{_host(url)} answered {resp.status}", retryable=retryable,
                                retry_after=retry_after_s(resp.headers.get("Retry-After")),
                                kind=f"http_{resp.status // 100}xx" if resp.status != 429
                                else "http_429")
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"{_host(url)}: {type(exc).__name__}", retryable=True,
                            kind="network") from None
    except TimeoutError:
        raise DeliveryError(f"{_host(url)}: timed out after {timeout_s}s", retryable=True,
                            kind="timeout") from None


class NotifierSink(ABC):
    """One route's destination."""

    name: str = "sink"

    @abstractmethod
    def request(self, esc: dict) -> tuple[str, bytes, dict]:
        """(url, body, headers) for one escalation; pure, so tests can inspect it."""

    async def send(self, session: aiohttp.ClientSession, esc: dict) -> int:
        url, body, headers = self.request(esc)
        return await post_json(session, url, body, headers)


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
