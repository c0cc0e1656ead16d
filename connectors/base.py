"""The contract every connector follows.

A ``{Platform}Source`` reads posts from a platform and hands each raw payload, as the
platform sent it, to a :class:`RawSink`, which produces it to ``posts.raw`` keyed by
community with headers naming the format and the connector. Normalisation happens in
the pipeline, so a connector never decides what is valid: bad payloads reach the
dead-letter topic with their original bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional

__all__ = ["RawSink", "KafkaRawSink", "AsyncRawSink", "Source", "OptionalDependencyError",
           "require", "raw_headers"]

CONNECTOR_VERSION = "1"


class OptionalDependencyError(ImportError):
    pass


def require(module: str, extra: str):
    """Import an optional platform library or explain which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OptionalDependencyError(
            f"this connector needs the {module!r} package: pip install 'vigil[{extra}]'"
        ) from None


class RawSink(ABC):
    @abstractmethod
    def produce(self, community: Optional[str], payload: bytes, *, fmt: str,
                platform: str, connector: str) -> None: ...

    @abstractmethod
    def flush(self) -> None: ...

    def close(self) -> None:
        self.flush()


def raw_headers(fmt: str, platform: str, connector: str) -> list[tuple[str, bytes]]:
    return [("vigil-format", fmt.encode()), ("vigil-platform", platform.encode()),
            ("vigil-connector", f"{connector}/{CONNECTOR_VERSION}".encode())]


class AsyncRawSink:
    """``posts.raw`` for asyncio connectors (aiokafka, acks=all): ``flush`` returns once
    every post sent so far is on the broker, which is when a cursor may move or a
    webhook may answer 202."""

    def __init__(self, bootstrap: str, topic: str = "posts.raw"):
        self.bootstrap, self.topic = bootstrap, topic
        self._producer = None
        self._pending: list = []

    async def start(self, *, attempts: Optional[int] = None, timeout_s: float = 5.0) -> None:
        """Connect, saying within ``timeout_s`` when the broker does not answer and
        trying again every few seconds (for ever unless ``attempts`` is given): a
        connector started before its broker waits for it, and says so."""
        import asyncio

        import structlog
        from aiokafka import AIOKafkaProducer

        log = structlog.get_logger("vigil.connect")
        attempt = 0
        while attempts is None or attempt < attempts:
            attempt += 1
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                        linger_ms=5, client_id="vigil-connector")
            try:
                await asyncio.wait_for(producer.start(), timeout_s)
            except Exception as exc:  # noqa: BLE001 - timeout, refused, unresolvable
                log.warning("broker_unreachable", broker=self.bootstrap, attempt=attempt,
                            error=f"{type(exc).__name__}: {exc}"[:200] or "timeout",
                            retry_in_s=timeout_s)
                try:
                    await asyncio.wait_for(producer.stop(), 5)
                except Exception:  # noqa: BLE001 - a half-started client; drop it
                    pass
                await asyncio.sleep(timeout_s if not isinstance(exc, asyncio.TimeoutError) else 0)
                continue
            if attempt > 1:
                log.info("broker_reachable", broker=self.bootstrap, attempts=attempt)
            self._producer = producer
            return
        raise TimeoutError(f"could not connect to {self.bootstrap} in {attempts} attempts")

    async def produce(self, community: Optional[str], payload: bytes, *, fmt: str,
                      platform: str, connector: str) -> None:
        key = community.encode() if community else None
        self._pending.append(await self._producer.send(
            self.topic, value=payload, key=key, headers=raw_headers(fmt, platform, connector)))

    async def flush(self) -> None:
        import asyncio

        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)  # raises if any post did not make it

    async def stop(self) -> None:
        if self._producer is not None:
            await self.flush()
            await self._producer.stop()
            self._producer = None


class KafkaRawSink(RawSink):
    """Produces to ``posts.raw`` with kafka-python; acks=all so a post is on the broker
    before ``flush`` returns."""

    def __init__(self, bootstrap: str, topic: str = "posts.raw", *,
                 say=None, retry_s: float = 5.0):
        """Waits for the broker, saying every ``retry_s`` that it does not answer
        (``say``: a line for the user; default: a structlog warning)."""
        from kafka import KafkaProducer

        from streams.broker import BrokerError, wait_for_kafka

        self.topic = topic
        while True:
            try:
                wait_for_kafka(bootstrap, timeout_s=retry_s)
                break
            except BrokerError as exc:
                message = f"broker {bootstrap} unreachable ({exc}); retrying"
                if say is not None:
                    say(message)
                else:
                    import structlog
                    structlog.get_logger("vigil.connect").warning(
                        "broker_unreachable", broker=bootstrap, error=str(exc)[:200])
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                       client_id="vigil-connector")

    def produce(self, community, payload, *, fmt, platform, connector):
        headers = raw_headers(fmt, platform, connector)
        key = community.encode() if community else None
        self._producer.send(self.topic, key=key, value=payload, headers=headers)

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()


@dataclass
class SourceStats:
    read: int = 0
    produced: int = 0


class Source(ABC):
    """Reads a platform and produces raw payloads to a sink until done or stopped."""

    platform: str = "unknown"

    def __init__(self, sink: RawSink):
        self.sink = sink
        self.stats = SourceStats()
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    @abstractmethod
    def run(self) -> SourceStats: ...
