"""Vigil's topics: what each carries, how it is keyed and how it is kept.

The specs are plain data so that ``vigil topics create`` can create them on any broker
(the embedded Tansu, or Apache Kafka in docker-compose) without starting Faust.
Faust topic objects for the agents are built from the same specs in ``streams.channels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TopicSpec", "TOPICS", "spec"]

WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str  # what the message key is: the partitioning contract
    record: str  # record class in streams.records, or "bytes" for raw payloads
    description: str
    compacted: bool = False
    single_partition: bool = False
    config: dict[str, str] = field(default_factory=dict)

    def partitions(self, default: int) -> int:
        return 1 if self.single_partition else default

    def topic_config(self) -> dict[str, str]:
        cfg = {"cleanup.policy": "compact" if self.compacted else "delete",
               "retention.ms": str(WEEK_MS)}
        cfg.update(self.config)
        return cfg


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("posts.raw", "community", "bytes",
              "Platform payloads exactly as connectors produced them; header vigil-platform names the format."),
    TopicSpec("posts.normalized", "community", "Post",
              "Canonical posts: validated, deduplicated, author pseudonymised."),
    TopicSpec("posts.scored", "community", "ScoredPost",
              "Posts with toxicity, sentiment, explanation and decision."),
    TopicSpec("signals.trends", "community", "TrendSignal",
              "Bursts and trends per community, with lifecycle state."),
    TopicSpec("escalations", "dedup_key", "Escalation",
              "What a human should look at: trigger, update, resolve per dedup_key.",
              compacted=True, config={"min.compaction.lag.ms": str(WEEK_MS)}),
    TopicSpec("incidents.actions", "community", "IncidentAction",
              "On-call acknowledgements and manual resolves of incidents (vigil incident)."),
    TopicSpec("moderation.feedback", "community", "ModerationFeedback",
              "Moderator decisions and on-call verdicts that models learn from."),
    TopicSpec("connectors.cursors", "connector", "bytes",
              "Where each connector resumes: its platform cursor and recent post ids (JSON).",
              compacted=True, single_partition=True),
    TopicSpec("posts.dlq", "source topic", "DeadLetter",
              "Payloads that could not be processed: reason, source offset, original bytes.",
              single_partition=True),
)


def spec(name: str) -> TopicSpec:
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(name)
