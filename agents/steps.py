"""The pipeline's steps, shared by the Faust agents and ``vigil replay``.

Each step turns one record shape into the next by calling the pure logic in
``models/``; nothing here touches Kafka, so the live path and the offline replay run
exactly the same code. The Faust agents add only I/O, batching and state storage.

    raw bytes ──normalize──▶ Post ──score (batch)──▶ ScoredPost ──detect──▶ TrendSignal
                                                        │                       │
                                                        └───────escalate────────┘──▶ Escalation
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from typing import Optional, Sequence

from config.communities import CommunitiesConfig, load_communities
from config.settings import Settings
import math

from models.bursts import BurstParams, BurstSignal
from models.community_topics import CommunityTopics, TopicParams
from models.community_watch import TOPICS, CommunityWatcher, WatchState
from models.topic_bursts import TopicBurstSignal
from models.raids import RaidDetector, RaidParams, RaidSignal, RaidState
from models.spikes import ShareParams, ShareSignal
from models.conduct import ConductPolicy, ConductState, Violation, severity_for
from models.dedup import DedupWindow
from models.embeddings import SentenceEmbedder
from models.escalation import (Draft, IncidentLedger, IncidentState, escalation_id,
                               moderation_draft, safety_draft, trend_draft)
from models.eventtime import parse_event_time, to_iso
from models.normalize import NotAPost, MalformedPost, NormalizeLimits, Normalizer
from models.online_auc import RollingAUC
from models.pseudonym import Pseudonymizer
from models.sentiment import SentimentScorer
from models.toxicity_model import CommunityPolicy, Evidence, ToxicityModel
from models.trend_classifier import TrendClassifier
from streams.records import (DeadLetter, Escalation, ModerationFeedback, Post, ScoredPost,
                             TrendSignal)

__all__ = ["Steps", "MalformedPost"]


class Steps:
    """All model state for one worker (or one replay). Not shared across threads,
    except :meth:`score_batch`, which only reads loaded models."""

    def __init__(self, settings: Settings, communities: Optional[CommunitiesConfig] = None):
        self.settings = settings
        pseudonymize = Pseudonymizer(settings.effective_pseudonym_key)
        self.normalizer = Normalizer(
            pseudonymize,
            NormalizeLimits(settings.max_payload_bytes, settings.max_text_chars,
                            settings.max_clock_skew_s))
        self.dedup = DedupWindow(settings.dedup_window_s, settings.dedup_max_keys)
        # Validated now, so a bad file stops the worker at start with a clear error.
        self.communities = communities or load_communities(
            settings.communities_file or None, pseudonymize=pseudonymize)
        embedder = (SentenceEmbedder(batch_size=settings.embedding_batch_size,
                                     backend=settings.embedding_backend,
                                     bf16=settings.embedding_bf16,
                                     onnx_dir=settings.embedding_onnx_dir)
                    if settings.embeddings else None)
        self.toxicity = ToxicityModel(embedder=embedder, policy_for=self._policy_for)
        # community -> online topics; only where there are embeddings to cluster
        self.topics = CommunityTopics(TopicParams()) if embedder else None
        self.sentiment = SentimentScorer()
        # (community, post_id) -> Evidence: what a later moderator label teaches from
        self.evidence: "OrderedDict[tuple[str, str], Evidence]" = OrderedDict()
        self.online_auc = RollingAUC(500)
        self._conduct: dict[str, ConductPolicy] = {}
        self._configs: dict = {}
        self._policies: dict[str, CommunityPolicy] = {}
        self.watcher = CommunityWatcher(
            BurstParams(window_s=settings.burst_window_s, z=settings.burst_z,
                        min_count=settings.burst_min_count,
                        min_history=settings.burst_min_history, alpha=settings.burst_alpha,
                        max_p=settings.burst_max_p),
            ShareParams(window_s=settings.burst_window_s, min_posts=settings.burst_min_count,
                        min_history=settings.burst_min_history))
        self.raids = RaidDetector(RaidParams())
        self.classifier = TrendClassifier()  # cues validated now: a bad file stops the start
        # trend_id -> (TrendClass, features): what an on-call verdict on a trend teaches
        self.trend_features: "OrderedDict[str, tuple]" = OrderedDict()
        self.ledger = IncidentLedger()
        self.model_version = (f"{self.toxicity.version}"
                              f"{'+minilm' if embedder else ''}+{self.sentiment.version}")

    def _config_for(self, community: str):
        # The file is read once at start, so a community's merged config never changes:
        # build it once, not once per post.
        cfg = self._configs.get(community)
        if cfg is None:
            cfg = self._configs[community] = self.communities.for_community(community)
        return cfg

    def _policy_for(self, community: str) -> CommunityPolicy:
        policy = self._policies.get(community)
        if policy is None:
            c = self._config_for(community)
            policy = self._policies[community] = CommunityPolicy(
                c.toxicity_threshold, c.target_precision or None, c.severe_threshold,
                tuple(c.deny_terms), tuple(c.allow_terms),
                getattr(c, "review_budget_per_day", None) or None)
        return policy

    def learning_snapshot(self) -> dict:
        """Everything learnt from feedback, for the checkpoint."""
        return {**self.toxicity.snapshot(), "trend_classifier": self.classifier}

    def restore_learning(self, snap: dict) -> None:
        self.toxicity.restore(snap)
        if snap.get("trend_classifier") is not None:
            self.classifier = snap["trend_classifier"]

    def conduct_policy(self, community: str) -> ConductPolicy:
        policy = self._conduct.get(community)
        if policy is None:
            policy = self._conduct[community] = ConductPolicy(self._config_for(community).ladder)
        return policy

    def load_models(self) -> None:
        """Load weights up front so the first batch does not pay for it."""
        self.toxicity.load()
        self.sentiment.load()

    # -- normalize: bytes -> Post | None (duplicate) | MalformedPost | NotAPost --------
    def normalize(self, raw: bytes, *, fmt: Optional[str], ingested_ts: float,
                  now: Optional[float] = None, community: Optional[str] = None) -> Optional[Post]:
        try:
            fields, ts = self.normalizer.normalize(raw, fmt=fmt, now=now or time.time(),
                                                   community=community)
        except (MalformedPost, NotAPost):
            raise
        except Exception as exc:  # a bug in a format parser must not lose the post
            raise MalformedPost("internal_error", f"{type(exc).__name__}: {exc}") from exc
        # an edit is a new revision of the same post: scored again, not a duplicate
        revision = fields["meta"].get("revision")
        dedup_id = fields["post_id"] if revision is None else f"{fields['post_id']}@{revision}"
        if self.dedup.seen(fields["platform"], dedup_id, ts):
            return None
        return Post(ingested_at=to_iso(ingested_ts), **fields)

    @staticmethod
    def dead_letter(exc: MalformedPost, raw: bytes, *, key: Optional[bytes],
                    headers: dict[str, str], topic: str, partition: int, offset: int,
                    now: Optional[float] = None) -> DeadLetter:
        return DeadLetter(
            reason=exc.reason, detail=exc.detail, source_topic=topic,
            source_partition=partition, source_offset=offset,
            value_b64=base64.b64encode(raw).decode(),
            key_b64=base64.b64encode(key).decode() if key is not None else None,
            headers=headers, failed_at=to_iso(now or time.time()))

    # -- score: [Post] -> [ScoredPost]; CPU-bound, run it in an executor ---------------
    def score_batch(self, posts: Sequence[Post]) -> list[ScoredPost]:
        texts = [p.text for p in posts]
        scores = self.toxicity.score_batch(texts, [p.community for p in posts],
                                           [parse_event_time(p.created_at) for p in posts])
        sent = self.sentiment.score_batch(texts)
        now = to_iso(time.time())
        out = []
        for p, t, s in zip(posts, scores, sent):
            self._remember(p, t.evidence)
            topic_id = topic_label = None
            if self.topics is not None and t.evidence.vector is not None:
                topic_id, topic_label = self.topics.assign(
                    p.community, parse_event_time(p.created_at), t.evidence.vector, p.text,
                    p.post_id)
            exempt = self._exempt(p)
            decision = ("none" if exempt else "safety" if t.severe
                        else "escalate" if t.flagged else "none")
            explanation = t.explanation + (["author is exempt by community config"] if exempt else [])
            out.append(ScoredPost(
                post=p, toxicity=round(t.toxicity, 4), sentiment=round(s, 4),
                model_version=self.model_version, decision=decision, scored_at=now,
                categories=t.categories, explanation=explanation, terms=t.terms,
                threshold=round(t.threshold, 4), severe=list(t.severe), exempt=exempt,
                topic_id=topic_id, topic_label=topic_label))
        return out

    def _exempt(self, post: Post) -> bool:
        cfg = self._config_for(post.community)
        roles = post.meta.get("author_roles") or []
        return (post.author_id in cfg.exempt_author_ids
                or (isinstance(roles, list) and any(r in cfg.exempt_roles for r in roles)))

    def _remember(self, post: Post, evidence: Evidence) -> None:
        key = (post.community, post.post_id)
        self.evidence[key] = evidence
        self.evidence.move_to_end(key)
        while len(self.evidence) > self.settings.evidence_store_size:
            self.evidence.popitem(last=False)

    # -- learn: ModerationFeedback -> the model learns (same executor as scoring) -----
    def learn_feedback(self, fb: ModerationFeedback) -> tuple[str, Optional[float]]:
        """Outcome (learned | no_features | not_for_toxicity) and the score before learning:
        toxicity for toxic/not_toxic labels, the trend's confidence for real/false_alarm."""
        if fb.label in ("real", "false_alarm"):
            entry = self.trend_features.get(fb.trend_id or "")
            if entry is None:
                return "no_features", None
            trend_class, features = entry
            self.classifier.learn_one(trend_class, features, real=fb.label == "real")
            return "learned", trend_class.confidence
        if fb.label not in ("toxic", "not_toxic"):
            return "not_for_toxicity", None
        evidence = self.evidence.get((fb.community, fb.post_id))
        if evidence is None and fb.text:
            # Scored on another worker, or long ago: the label carries the text, so the
            # features can be rebuilt here.
            evidence = self.toxicity.score_batch([fb.text], [fb.community])[0].evidence
        if evidence is None:
            return "no_features", None
        # Keyed by post: a reversed decision (an appeal) replaces the first label.
        try:
            when = parse_event_time(fb.time)
        except (TypeError, ValueError):
            when = time.time()
        before = self.toxicity.learn(evidence, fb.community, fb.label == "toxic",
                                     key=fb.post_id, time=when)
        return "learned", before

    def violation(self, scored: ScoredPost) -> Optional[Violation]:
        if scored.decision not in ("escalate", "safety"):
            return None
        # The most specific evidence names the violation: a rule category that fired
        # ("insult", "threat" …) says more than the generic profanity prior.
        rules = {k: v for k, v in scored.categories.items()
                 if k not in ("learned", "profanity") and v >= 0.5}
        category = (max(rules, key=rules.get) if rules
                    else "profanity" if scored.categories.get("profanity", 0) >= 0.5
                    else "toxicity")
        return Violation(parse_event_time(scored.post.created_at), scored.post.post_id,
                         category, scored.toxicity, scored.decision == "safety")

    # -- detect: ScoredPost + community state -> [TrendSignal] -------------------------
    def detect(self, state: WatchState, scored: ScoredPost,
               raid: Optional[RaidState] = None) -> list[TrendSignal]:
        out = self._detect(state, scored, raid)
        for sig in out:
            state.note_reported(sig.trend_id, sig.kind, sig.state)
        return out

    def burst_zscore(self, state: WatchState) -> float:
        """The open volume window's z-score, once the baseline has its history."""
        volume = state.volume
        if volume.n_windows < self.settings.burst_min_history:
            return 0.0
        return round(volume.zscore(volume.count), 3)

    def _detect(self, state: WatchState, scored: ScoredPost,
                raid: Optional[RaidState]) -> list[TrendSignal]:
        post = scored.post
        ts = parse_event_time(post.created_at)
        signals = self.watcher.observe(state, ts, post.post_id, post.text, scored.sentiment,
                                       scored.decision != "none", scored.topic_id,
                                       scored.topic_label or "")
        out = []
        if raid is not None:
            for rsig in self.raids.observe(raid, ts, post.post_id, post.author_id, post.text):
                out.append(self._raid_record(post, rsig))
        for topic, sig in signals:
            if topic == "topic":
                out.append(self._topic_record(post, state, sig))
                continue
            if topic != "volume":
                out.append(self._share_record(post, topic, sig, state))
                continue
            if sig.state == "emerging":
                # A candidate: classified for the record, nothing remembered.
                c = self.classifier.classify(
                    texts=sig.sample, top_terms=sig.top_terms, sentiment=sig.sentiment,
                    toxicity_share=sig.toxicity_share, growth_rate=sig.growth_rate)
                out.append(self._trend_record(post, sig, {
                    "kind": c.kind, "category": c.category,
                    "confidence": round(c.confidence, 4), "reasons": list(c.reasons)}))
                continue
            if sig.state == "rising" or state.volume_class is None:
                trend_id = f"{post.community}:volume:{to_iso(sig.window_start)}"
                c = self._classify(trend_id, texts=sig.sample, top_terms=sig.top_terms,
                                   sentiment=sig.sentiment, toxicity_share=sig.toxicity_share,
                                   growth_rate=sig.growth_rate)
                top = state.dominant_topic()
                if top is not None:
                    c["topic_id"], c["topic_label"] = top[0], top[2]
                    c["reasons"].append(f"{top[1]:.0%} of its first window's posts are on "
                                        f"one topic: {top[2]}")
                state.volume_class = c
            out.append(self._trend_record(post, sig, state.volume_class))
            if sig.state == "resolved":
                state.volume_class = None
        return out

    def _classify(self, trend_id: str, **inputs) -> dict:
        """Classify a trend once, at its start, and remember what an on-call verdict on
        it will teach the classifier."""
        c = self.classifier.classify(**inputs)
        self.trend_features[trend_id] = (c, self.classifier.features(**inputs))
        while len(self.trend_features) > 10_000:
            self.trend_features.popitem(last=False)
        return {"kind": c.kind, "category": c.category, "confidence": round(c.confidence, 4),
                "reasons": list(c.reasons)}

    def _topic_record(self, post: Post, state: WatchState, sig: TopicBurstSignal) -> TrendSignal:
        trend_id = f"{post.community}:topic:{sig.topic_id}:{to_iso(sig.window_start)}"
        run = state.topics.active.get(sig.topic_id)
        cls = sig.annotation or (run.get("class") if run else None)
        if cls is None:  # classified at rising; kept on the running burst until it resolves
            terms = [t.strip() for t in sig.label.split(",") if t.strip()]
            cls = self._classify(trend_id, texts=sig.sample or tuple(s for _, s in sig.exemplars),
                                 top_terms=terms, sentiment=sig.sentiment,
                                 toxicity_share=sig.toxicity_share,
                                 growth_rate=sig.share / max(sig.baseline, 0.01))
            cls["reasons"].append(f"the topic took {sig.posts} of {sig.community_posts} posts "
                                  f"({sig.share:.0%}) against a usual {sig.baseline:.0%}")
            if run is not None:
                run["class"] = cls
        base = sig.baseline * sig.community_posts
        sd = math.sqrt(max(base * (1 - sig.baseline), 0.25))
        return TrendSignal(
            trend_id=trend_id, community=post.community, platform=post.platform,
            topic_id=sig.topic_id, topic_label=sig.label or sig.topic_id, kind=cls["kind"],
            severity=(("high" if sig.share >= 0.5 and sig.posts >= 2 * self.settings.burst_min_count
                       else "medium") if cls["kind"] == "threat" else "low"),
            state=sig.state, window_start=to_iso(sig.window_start),
            window_end=to_iso(sig.window_end), volume=sig.posts, baseline=round(base, 3),
            zscore=round((sig.posts - base) / sd, 3),
            growth_rate=round(sig.share / max(sig.baseline, 0.01), 3),
            sentiment=sig.sentiment, toxicity_share=sig.toxicity_share,
            first_seen=to_iso(sig.first_seen), emitted_at=to_iso(time.time()),
            top_terms=[t.strip() for t in sig.label.split(",") if t.strip()],
            exemplar_post_ids=[p for p, _ in sig.exemplars],
            exemplars=[s for _, s in sig.exemplars],
            category=cls["category"], confidence=cls["confidence"], reasons=cls["reasons"],
            trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)

    def _raid_record(self, post: Post, sig: RaidSignal) -> TrendSignal:
        last = sig.last_seen or sig.first_seen
        return TrendSignal(
            trend_id=f"{post.community}:raid:{sig.raid_id}", community=post.community,
            platform=post.platform, topic_id="raid",
            topic_label="near-duplicate posts from new or silent accounts",
            kind="threat", severity="high", state=sig.state,
            window_start=to_iso(sig.window_start), window_end=to_iso(max(last, sig.first_seen)),
            volume=sig.posts, baseline=0.0, zscore=0.0, growth_rate=0.0, sentiment=0.0,
            toxicity_share=0.0, first_seen=to_iso(sig.first_seen),
            emitted_at=to_iso(time.time()), exemplar_post_ids=list(sig.exemplar_post_ids),
            exemplars=[sig.exemplar_text[:160]], category="harassment_campaign",
            confidence=round(sig.similarity, 4),
            reasons=[f"{sig.posts} near-duplicate posts from {sig.authors} new or silent "
                     f"accounts", f"{sig.new_author_share:.0%} of the community's posts since "
                     f"it began", f"mean similarity {sig.similarity:.2f}"],
            trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)

    def _share_record(self, post: Post, topic: str, sig: ShareSignal,
                      state: WatchState) -> TrendSignal:
        base = sig.baseline
        sd = math.sqrt(max(base * (1 - base), 0.01) / max(sig.posts, 1))
        about = state.share_topics.get(topic) or {}
        terms = [t.strip() for t in about.get("label", "").split(",") if t.strip()]
        cls = about.get("class")
        if cls is None and about.get("topic_id"):
            # The spike rose while one topic dominated the window: say what it is about.
            window = state.topics.window.get(about["topic_id"])
            texts = [snip for _, snip in window[3]] if window else []
            trend_id = f"{post.community}:{topic}:{to_iso(sig.window_start)}"
            cls = self._classify(trend_id, texts=texts or [post.text], top_terms=terms,
                                 sentiment=-0.5 if topic == "negative-sentiment" else 0.0,
                                 toxicity_share=sig.share if topic == "toxicity-share" else 0.0,
                                 growth_rate=sig.share / max(base, 0.01))
            cls["reasons"].append(f"{about['share']:.0%} of the window's posts are on one "
                                  f"topic: {about['label']}")
            about["class"] = cls
        return TrendSignal(
            trend_id=f"{post.community}:{topic}:{to_iso(sig.window_start)}",
            community=post.community, platform=post.platform, topic_id=topic,
            topic_label=TOPICS[topic], kind="threat",
            severity="high" if topic == "toxicity-share" and sig.share >= 0.5 else "medium",
            state=sig.state, window_start=to_iso(sig.window_start),
            window_end=to_iso(sig.window_end), volume=sig.posts, baseline=base,
            zscore=round((sig.share - base) / sd, 3),
            growth_rate=round(sig.share / max(base, 0.01), 3),
            sentiment=0.0, toxicity_share=sig.share if topic == "toxicity-share" else 0.0,
            first_seen=to_iso(sig.first_seen), emitted_at=to_iso(time.time()),
            top_terms=terms, exemplar_post_ids=[post.post_id], exemplars=[post.text[:160]],
            # a share spike is a threat whatever its topic: only a threat category fits
            category=cls["category"] if cls and cls["kind"] == "threat" else None,
            confidence=cls["confidence"] if cls else None,
            reasons=cls["reasons"] if cls else [],
            trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)

    def _trend_record(self, post: Post, sig: BurstSignal, cls: dict) -> TrendSignal:
        trend_id = f"{post.community}:volume:{to_iso(sig.window_start)}"
        return TrendSignal(
            trend_id=trend_id, community=post.community, platform=post.platform,
            topic_id="volume", topic_label=cls.get("topic_label") or "all posts",
            kind=cls["kind"],
            severity=(("high" if sig.zscore >= 2 * self.settings.burst_z else "medium")
                      if cls["kind"] == "threat" else "low"),
            state=sig.state, window_start=to_iso(sig.window_start),
            window_end=to_iso(sig.window_end), volume=sig.volume, baseline=sig.baseline,
            zscore=sig.zscore, growth_rate=sig.growth_rate, sentiment=sig.sentiment,
            toxicity_share=sig.toxicity_share, first_seen=to_iso(sig.first_seen),
            emitted_at=to_iso(time.time()), top_terms=list(sig.top_terms),
            exemplar_post_ids=[p for p, _ in sig.exemplars],
            exemplars=[s for _, s in sig.exemplars],
            category=cls["category"], confidence=cls["confidence"], reasons=cls["reasons"],
            trigger_post_id=post.post_id, trigger_ingested_at=post.ingested_at)

    # -- escalate: drafts through the incident ledger -> Escalation | None -------------
    def moderation_drafts(self, scored: ScoredPost, conduct: ConductState) -> list[Draft]:
        """Drafts for a violating post: safety first when severe, else the conduct ladder.

        ``conduct`` (this author's record in this community) is updated in place."""
        v = self.violation(scored)
        if v is None:
            return []
        post = scored.post
        rec = self.conduct_policy(post.community).record(conduct, v)
        if scored.decision == "safety":
            return [safety_draft(
                platform=post.platform, community=post.community, post_id=post.post_id,
                author_id=post.author_id, text=post.text, categories=scored.categories,
                severe=tuple(scored.severe), url=post.url, event_ts=v.ts,
                explanation=scored.explanation)]
        if rec.action == "none":
            return []
        return [moderation_draft(
            platform=post.platform, community=post.community, post_id=post.post_id,
            author_id=post.author_id, text=post.text, toxicity=scored.toxicity,
            terms=tuple(scored.terms), url=post.url, event_ts=v.ts, action=rec.action,
            reason=rec.reason, severity=severity_for(rec.action), category=v.category,
            duration_s=rec.duration_s, history=rec.violations)]

    def trend_draft(self, trend: TrendSignal) -> Optional[Draft]:
        sig = BurstSignal(
            state=trend.state, kind=trend.kind, severity=trend.severity,
            window_start=parse_event_time(trend.window_start),
            window_end=parse_event_time(trend.window_end), volume=trend.volume,
            baseline=trend.baseline, zscore=trend.zscore, growth_rate=trend.growth_rate,
            sentiment=trend.sentiment, toxicity_share=trend.toxicity_share,
            first_seen=parse_event_time(trend.first_seen), top_terms=tuple(trend.top_terms),
            exemplars=tuple(zip(trend.exemplar_post_ids, trend.exemplars)))
        return trend_draft(community=trend.community, platform=trend.platform,
                           trend_id=trend.trend_id, signal=sig, topic_id=trend.topic_id,
                           topic_label=trend.topic_label, category=trend.category,
                           include_opportunities=self.settings.escalate_opportunities)

    @staticmethod
    def trend_source_id(trend: TrendSignal) -> str:
        """Identifies one lifecycle step of one trend: a redelivery repeats it exactly."""
        return f"trend:{trend.trend_id}:{trend.state}:{trend.window_end}"

    def escalate(self, state: Optional[IncidentState], draft: Draft, source_id: str,
                 ) -> tuple[Optional[IncidentState], Optional[Escalation]]:
        state, status = self.ledger.apply(state, draft, source_id)
        if status is None or state is None:
            return state, None
        return state, Escalation(
            id=escalation_id(draft.dedup_key, state.incident, state.occurrence_count, status),
            dedup_key=draft.dedup_key, type=draft.type, severity=state.severity,
            status=status, community=draft.community, platform=draft.platform,
            title=draft.title, summary=draft.summary,
            recommended_action=draft.recommended_action,
            runbook_url=f"{self.settings.runbook_base_url}-{draft.type}",
            first_seen=to_iso(state.first_seen), last_seen=to_iso(state.last_seen),
            occurrence_count=state.occurrence_count, created_at=to_iso(time.time()),
            evidence=draft.evidence)
