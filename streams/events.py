"""What the pipeline takes in and gives out: plain data, no Kafka or Faust types.

A runner turns each consumed message into an :class:`Input` (the Faust runner from a
Kafka message, replay from a file row) and hands a batch of them, plus the partition's
state, to :meth:`streams.pipeline.Pipeline.process`, which returns one
:class:`Outputs`. The runner publishes the records, writes the changed state, records
the metrics and logs the notes; the stages themselves do none of that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from streams.records import DeadLetter, Escalation, ModerationFeedback, Post, ScoredPost, TrendSignal

__all__ = ["Input", "CLOCK_HEADER", "EndOfInput", "Decision", "Learned", "Note", "Outputs", "inputs_from_batch"]


@dataclass(frozen=True)
class Input:
    """One consumed message. ``topic`` says what ``value`` holds: ``posts.raw`` (a
    platform payload, bytes as produced), ``incidents.actions`` or
    ``moderation.feedback`` (JSON records)."""

    topic: str
    value: bytes
    key: Optional[bytes] = None
    headers: Mapping[str, str] = field(default_factory=dict)
    partition: int = 0
    offset: int = 0
    timestamp: float = 0.0  # broker time (s): when the payload was ingested
    origin: str = ""  # where it was read, for a dead letter: a file in replay (default: topic)

    @property
    def community(self) -> Optional[str]:
        """Every input topic is keyed by community (see streams.topology)."""
        return None if self.key is None else self.key.decode("utf-8", "replace")


#: header of a ``posts.raw`` record that is not a post but a partition's idle clock: its
#: value is the event time (seconds) the partition has reached. The worker writes one
#: into a partition that had no input for a while, so its quiet incidents still resolve;
#: being in the log, it is read back identically after a restart and by a topic replay.
CLOCK_HEADER = "vigil-clock"


@dataclass(frozen=True)
class EndOfInput:
    """A replay's input ended: every partition is taken to stay silent from now on."""


@dataclass(frozen=True)
class Decision:
    """The conduct ladder's recommendation for one violating post (for metrics)."""

    community: str
    action: str  # none | warn | timeout | ban ...
    category: str
    repeat: bool  # the author's second or later violation in the ladder's window


@dataclass(frozen=True)
class Learned:
    """One moderator label, and what learning from it did."""

    feedback: ModerationFeedback
    outcome: str  # learned | no_features | not_for_toxicity | duplicate
    score_before: Optional[float]
    online_auc: Optional[float] = None  # of the scores before the latest labels


@dataclass(frozen=True)
class Note:
    """A structured log line for the runner to emit (the stages do not log)."""

    event: str
    level: str = "info"
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Outputs:
    """Everything one call of the pipeline produced, in the order it was produced."""

    normalized: list[Post] = field(default_factory=list)
    scored: list[ScoredPost] = field(default_factory=list)
    trends: list[TrendSignal] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    # per escalation, when the post that caused it was ingested (None: no post did)
    escalation_ingested_at: list[Optional[str]] = field(default_factory=list)
    # per escalation, the post that caused it (a trend's trigger post; None: no post did)
    escalation_post_ids: list[Optional[str]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # platform of each duplicate
    platform_events: list[tuple[str, str]] = field(default_factory=list)  # (platform, kind)
    # moderators' actions on the platforms, as labels for moderation.feedback
    labels: list[ModerationFeedback] = field(default_factory=list)
    # (platform, action, by) of every moderator action seen (models.moderator_labels)
    moderator_actions: list[tuple[str, str, str]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    learned: list[Learned] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (topic, error): bad records
    clock_records: int = 0  # partitions' idle clocks read (not posts)
    # community -> (burst z-score, active trends per kind) after this call
    watch: dict[str, tuple[float, dict[str, int]]] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def note(self, event: str, level: str = "info", **fields: Any) -> None:
        self.notes.append(Note(event, level, fields))

    def timed(self, stage: str, seconds: float) -> None:
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds


def inputs_from_batch(topic: str, batch: Mapping) -> list[Input]:
    """An aiokafka ``getmany`` answer (partition -> records) as pipeline inputs."""
    return [Input(topic, m.value or b"", m.key, partition=tp.partition, offset=m.offset,
                  timestamp=m.timestamp / 1000.0)
            for tp, messages in batch.items() for m in messages]
