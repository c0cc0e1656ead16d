"""The pipeline: one pure function from a batch of inputs and the partition's state to
everything Vigil emits. Both runners call it: the Faust worker (:mod:`agents.worker`)
and ``vigil replay`` (:mod:`agents.replay`); neither has any logic of its own.

::

    process(inputs, state) -> Outputs
      posts.raw          ─ normalize ─▶ Post ─ score (batch) ─▶ ScoredPost ─┬▶ escalate (conduct, safety)
                              │ dead letter, feed health                     └▶ detect ─▶ TrendSignal ─▶ escalate
                              └ a moderator's action ─ moderator_labels ─▶ ModerationFeedback (moderation.feedback)
      incidents.actions  ─────────────────────────────────────────────────────▶ escalate
      moderation.feedback ─ learn
      partition clock    ─────────────────────────────────────────────────────▶ escalate (quiet resolves)

Inputs are handled in order. Consecutive posts are scored together (one model call per
run of posts); anything else in between (an action, a label, a clock record) first
finishes the posts before it, so it sees their effects, exactly as it would one at a
time. Each post moves its partition's event clock before it is escalated, and an
incident that went quiet by then resolves first (:meth:`EscalateStage.advance`): the
outcome depends on the inputs and their order per partition, never on how they were
batched, on wall time, or on a restart.

State lives in two places, both explicit: the durable stores of
:class:`~streams.state.PipelineState` (passed in; the runner persists what changed) and
each stage's soft state (dedup window, feed health, topics, learnt models) on the
:class:`Pipeline` object, which a runner keeps for its lifetime.
"""

from __future__ import annotations

import math
import time
from typing import Optional, Sequence, Union

from config.settings import Settings
from models.eventtime import parse_event_time
from models.moderator_labels import ACTIONS, ACTORS
from models.normalize import NotAPost
from models.pseudonym import Pseudonymizer
from streams.events import CLOCK_HEADER, EndOfInput, Input, Outputs
from streams.metrics import platform_label  # the label's vocabulary: known, or "other"
from streams.records import DeadLetter, IncidentAction, ModerationFeedback, Post
from streams.stages.communities import Communities
from streams.stages.detect import DetectStage
from streams.stages.escalate import EscalateStage
from streams.stages.learn import LearnStage
from streams.stages.moderator_labels import ModeratorLabelStage
from streams.stages.normalize import NormalizeStage
from streams.stages.score import ScoreStage
from streams.state import PipelineState

__all__ = ["Pipeline"]


class Pipeline:
    """The stages of one runner and their soft state; :meth:`process` runs them."""

    def __init__(self, settings: Settings, communities=None):
        self.settings = settings
        pseudonymize = Pseudonymizer(settings.effective_pseudonym_key)
        self.communities = Communities(settings, pseudonymize, communities)
        self.normalize = NormalizeStage(settings, pseudonymize)
        self.score = ScoreStage(settings, self.communities)
        self.detect = DetectStage(settings)
        self.escalate = EscalateStage(settings, self.communities)
        self.learn = LearnStage(self.score, self.detect)
        self.moderator_labels = ModeratorLabelStage(settings, pseudonymize)

    @property
    def model_version(self) -> str:
        return self.score.model_version

    def load_models(self) -> None:
        self.score.load()

    def process(self, inputs: Sequence[Union[Input, EndOfInput]],
                state: PipelineState) -> Outputs:
        out = Outputs()
        pending: list[tuple[Post, int]] = []  # normalised posts waiting to be scored
        for item in inputs:
            if (isinstance(item, Input) and item.topic == "posts.raw"
                    and CLOCK_HEADER not in item.headers):
                result = self._normalize(item, state, out)
                if isinstance(result, Post):
                    pending.append((result, item.partition))
                elif result is not None:  # a moderator's action or a deletion: of the
                    self._score_and_route(pending, state, out)  # posts before it
                    pending = []
                    self._moderator_action(result, item, out)
                continue
            self._score_and_route(pending, state, out)
            pending = []
            if isinstance(item, EndOfInput):
                self.escalate.end_of_input(state, out)
            elif item.topic == "posts.raw":  # a partition's idle clock
                self._clock(item, state, out)
            elif item.topic == "incidents.actions":
                act = self._decode(IncidentAction, item, out)
                if act is not None:
                    self.escalate.action(act, state, item.partition, out)
            elif item.topic == "moderation.feedback":
                fb = self._decode(ModerationFeedback, item, out)
                if fb is not None:
                    out.learned.append(self.learn.learn(fb))
            else:
                out.note("input_ignored", "warning", topic=item.topic)
        self._score_and_route(pending, state, out)
        return out

    # -- the steps ------------------------------------------------------------------------
    def _normalize(self, item: Input, state: PipelineState,
                   out: Outputs) -> Union[Post, NotAPost, None]:
        """The post, a moderator's action or a deletion (for :meth:`_moderator_action`),
        or None."""
        started = time.perf_counter()
        platform = platform_label(item.headers.get("vigil-platform"))
        result = self.normalize.normalize(item)
        out.timed("normalize", time.perf_counter() - started)
        if isinstance(result, DeadLetter):
            out.dead_letters.append(result)
            out.note("dead_lettered", "warning", reason=result.reason, detail=result.detail,
                     source_partition=item.partition, source_offset=item.offset)
        elif isinstance(result, NotAPost):
            # a deletion or a moderator's action: well-formed, so the feed is healthy
            out.platform_events.append((platform, result.kind))
            out.note("platform_event", kind=result.kind, post_id=result.fields.get("post_id"),
                     community=result.fields.get("community"))
        elif result is None:
            out.duplicates.append(platform)
        else:
            out.normalized.append(result)
        ok = not isinstance(result, DeadLetter)
        feed = self.normalize.watch_feed(item, platform, ok=ok,
                                         reason="" if ok else result.reason)
        if feed is not None:
            draft, source_id = feed
            out.note("feed_" + ("recovered" if draft.resolve else "failing"), "warning",
                     community=draft.community, dead=draft.evidence["dead_lettered"],
                     payloads=draft.evidence["payloads"])
            self.escalate.apply(draft, source_id, state, item.partition, out)
        if isinstance(result, NotAPost) and result.kind in ("moderation_action", "deletion"):
            return result
        return result if isinstance(result, Post) else None

    def _clock(self, item: Input, state: PipelineState, out: Outputs) -> None:
        try:
            event_time = float(item.headers[CLOCK_HEADER])
        except ValueError:
            event_time = math.nan
        # A clock moves every incident of its partition: one that is not a time, or is
        # ahead of when the broker received it (beyond the skew posts are allowed), would
        # resolve them all at once. Judged by the record's own broker time, so a replay
        # of the topic judges it the same way.
        if not math.isfinite(event_time) or (
                item.timestamp and event_time > item.timestamp + self.settings.max_clock_skew_s):
            out.invalid.append((item.topic, f"{CLOCK_HEADER}: not a time before its arrival: "
                                             f"{item.headers[CLOCK_HEADER][:40]!r}"))
            return
        out.clock_records += 1
        started = time.perf_counter()
        self.escalate.advance(item.partition, event_time, state, out)
        out.timed("escalate", time.perf_counter() - started)

    def _moderator_action(self, event: NotAPost, item: Input, out: Outputs) -> None:
        if event.kind == "deletion":
            self.moderator_labels.deleted(event)
            return
        started = time.perf_counter()
        action, labels = self.moderator_labels.labels(event, item.timestamp)
        moderation = event.fields.get("moderation")
        moderation = moderation if isinstance(moderation, dict) else {}
        name = moderation.get("action") if moderation.get("action") in ACTIONS else "other"
        by = moderation.get("by") if moderation.get("by") in ACTORS else "unknown"
        out.moderator_actions.append((platform_label(event.fields.get("platform")), name, by))
        out.labels.extend(labels)
        if labels:
            out.note("moderator_labels", community=labels[0].community, source=action.source,
                     action=action.action, labels=len(labels))
        out.timed("moderator_labels", time.perf_counter() - started)

    def _score_and_route(self, pending: list[tuple[Post, int]], state: PipelineState,
                         out: Outputs) -> None:
        if not pending:
            return
        started = time.perf_counter()
        scored = self.score.score([post for post, _ in pending])
        out.timed("score", time.perf_counter() - started)
        communities: set[str] = set()
        for s, (post, partition) in zip(scored, pending):
            communities.add(post.community)
            out.scored.append(s)
            self.moderator_labels.remember(s)
            if s.decision != "none":
                out.note("toxic_post", post_id=post.post_id, community=post.community,
                         toxicity=s.toxicity, terms=s.terms)
            started = time.perf_counter()
            self.escalate.advance(partition, parse_event_time(post.created_at), state, out)
            self.escalate.post(s, state, partition, out)
            mid = time.perf_counter()
            trends = self.detect.detect(s, state, partition)
            done = time.perf_counter()
            out.timed("detect", done - mid)
            for trend in trends:
                out.trends.append(trend)
                out.note("trend", community=trend.community, trend_id=trend.trend_id,
                         state=trend.state, kind=trend.kind, topic=trend.topic_id,
                         volume=trend.volume, baseline=trend.baseline)
                self.escalate.trend(trend, state, partition, out)
            out.timed("escalate", (mid - started) + (time.perf_counter() - done))
        for community in communities:  # for the gauges: once per community, not per post
            watch = state.watch.get(community)
            out.watch[community] = (self.detect.burst_zscore(watch), watch.active_trends())

    @staticmethod
    def _decode(cls, item: Input, out: Outputs):
        try:
            return cls.loads(item.value)
        except Exception as exc:  # a bad record must not stop the partition
            out.invalid.append((item.topic, f"{type(exc).__name__}: {exc}"))
            out.note("input_invalid", "warning", topic=item.topic, error=str(exc)[:200])
            return None
