"""Vigil's topology, top to bottom: what comes in, the stages a post goes through, what
goes out, and the state each stage keeps. Everything else derives from this module:
``vigil topics create`` (:mod:`streams.admin`), the Faust runner's topics and tables
(:mod:`agents.app`), the replay runner (:mod:`agents.replay`) and the README diagram.

::

    posts.raw ─┐                           one pure function per partition
               │   ┌─────────────────────────────────────────────────────────────┐
               ├──▶│ normalize ─▶ score (batch) ─▶ escalate ◀─ detect            │
               │   │     │            │             ▲   │          │             │
    incidents. ┘   │     │ feed health└─▶ detect ───┘   │          │             │
    actions ──────▶│     ▼            ▼                 ▼          ▼             │
                   └─ posts.dlq  posts.normalized  escalations  signals.trends ──┘
                                 posts.scored
    moderation.feedback ──▶ learn (every worker reads every partition)
          ▲
          └── moderator_labels ◀─ normalize (a moderator's action on the platform)

Every input topic is keyed by community with the same partition count, so one
community's posts, incident actions and state live on one partition of one worker: the
pipeline needs no repartitioning and no hop between workers. A post is read once; its
outputs are published for downstream consumers and never read back by Vigil.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TopicSpec", "StoreSpec", "StageSpec", "TOPICS", "STORES", "STAGES",
           "INPUT_TOPICS", "spec"]

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


@dataclass(frozen=True)
class StoreSpec:
    """Keyed state kept by a stage: a changelog-backed table in the Faust runner, a
    dict in replay. Keys embed the community, so a store's entries live on the
    partition of the events that update them."""
    name: str
    key: str
    value: str  # the models/ class whose to_dict() is stored
    owner: str  # the stage that reads and writes it
    description: str


@dataclass(frozen=True)
class StageSpec:
    name: str
    module: str  # streams.stages.<module>: the stage's class and its data shapes
    consumes: str
    produces: tuple[str, ...]
    state: tuple[str, ...]  # stores (durable) and, in words, soft state in memory


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("posts.raw", "community", "bytes",
              "Platform payloads exactly as connectors produced them; header vigil-platform names the format. "
              "Records with header vigil-clock (no payload) are the worker's idle clock for that partition."),
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

#: What the worker's pipeline agent consumes, in one stream (co-partitioned by community).
INPUT_TOPICS = ("posts.raw", "incidents.actions")
#: Read by every worker in full (an assigned consumer, not the group): models learn.
BROADCAST_TOPICS = ("moderation.feedback",)

STORES: tuple[StoreSpec, ...] = (
    StoreSpec("burst-state", "community", "models.community_watch.WatchState", "detect",
              "Per-community volume baseline and the burst in progress."),
    StoreSpec("raid-state", "community", "models.raids.RaidState", "detect",
              "Per-community author recency and near-duplicate clusters (an author map: "
              "written every 100 posts and on every raid signal, not per post)."),
    StoreSpec("conduct", "community|author_id", "models.conduct.ConductState", "escalate",
              "Each author's violations per community, for the conduct ladder."),
    StoreSpec("incidents", "dedup_key", "models.escalation.IncidentState", "escalate",
              "Open and recent incidents: what was triggered, updated, resolved."),
    StoreSpec("clocks", "partition", "models.watermarks.PartitionClock", "escalate",
              "Each input partition's event time, which decides when incidents went quiet."),
)

STAGES: tuple[StageSpec, ...] = (
    StageSpec("normalize", "normalize", "posts.raw: bytes",
              ("Post", "DeadLetter -> posts.dlq", "feed-health Draft -> escalate"),
              ("soft: dedup window", "soft: feed health per community")),
    StageSpec("score", "score", "[Post] (a batch, in the inference thread)",
              ("ScoredPost",), ("soft: online topics (checkpointed to a file)",
                                "soft: evidence of recent posts, for labels")),
    StageSpec("detect", "detect", "ScoredPost", ("TrendSignal",),
              ("burst-state", "raid-state")),
    StageSpec("escalate", "escalate",
              "ScoredPost | TrendSignal | feed Draft | IncidentAction | partition clock",
              ("Escalation",), ("conduct", "incidents", "clocks")),
    StageSpec("moderator_labels", "moderator_labels",
              "NotAPost(moderation_action) from normalize | ScoredPost (remembered)",
              ("ModerationFeedback -> moderation.feedback",),
              ("soft: posts scored in the last moderator_label_window_s",)),
    StageSpec("learn", "learn", "moderation.feedback: ModerationFeedback",
              ("model updates",), ("soft: learnt models (checkpointed to a file)",)),
)


def spec(name: str) -> TopicSpec:
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(name)
