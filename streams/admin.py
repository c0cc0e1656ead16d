"""Idempotent topic creation against any Kafka-protocol broker."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings
from streams.topology import TOPICS, TopicSpec

__all__ = ["TopicResult", "create_topics", "list_topics"]


@dataclass(frozen=True)
class TopicResult:
    name: str
    partitions: int
    created: bool  # False: it already existed


def list_topics(bootstrap: str) -> set[str]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="vigil-admin")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def create_topics(settings: Settings, specs: tuple[TopicSpec, ...] = TOPICS) -> list[TopicResult]:
    """Create every topic in ``specs`` that does not exist yet; existing ones are left alone."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                             client_id="vigil-admin")
    try:
        existing = set(admin.list_topics())
        results: list[TopicResult] = []
        for spec in specs:
            partitions = spec.partitions(settings.partitions)
            if spec.name in existing:
                results.append(TopicResult(spec.name, partitions, created=False))
                continue
            new = NewTopic(name=spec.name, num_partitions=partitions,
                           replication_factor=settings.replication_factor,
                           topic_configs=spec.topic_config())
            try:
                admin.create_topics([new])
                results.append(TopicResult(spec.name, partitions, created=True))
            except TopicAlreadyExistsError:  # created concurrently by another process
                results.append(TopicResult(spec.name, partitions, created=False))
        return results
    finally:
        admin.close()
