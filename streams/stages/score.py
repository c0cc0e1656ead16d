"""score: a batch of ``Post`` -> one ``ScoredPost`` each, same order.

Shapes::

    [Post] -> [ScoredPost]   toxicity (learnt per community), sentiment, explanation,
                             terms, the community's threshold, the decision
                             (none | escalate | safety), the online topic the post
                             joined (with embeddings), and its language: the platform's
                             or detected, with whether the English-only scorers read it

CPU-bound (MiniLM, the lexical model): runners call it in their inference thread, never
on an event loop, and in batches. State (soft): the online topics per community
(checkpointed to a file by the Faust runner) and the evidence of recent posts, which a
moderator's later label on one of them teaches from (:mod:`streams.stages.learn`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, Optional, Sequence

from config.settings import Settings
from models.community_topics import CommunityTopics, TopicParams
from models.embeddings import SentenceEmbedder
from models.eventtime import parse_event_time, to_iso
from models.language import is_supported
from models.text_reading import TextReader, TextReading
from models.toxicity_model import Evidence, ToxicityModel
from streams.records import Post, ScoredPost
from streams.stages.communities import Communities

__all__ = ["ScoreStage"]


class ScoreStage:
    def __init__(self, settings: Settings, communities: Communities):
        self.communities = communities
        self.evidence_limit = settings.evidence_store_size
        embedder = (SentenceEmbedder(batch_size=settings.embedding_batch_size,
                                     backend=settings.embedding_backend,
                                     bf16=settings.embedding_bf16,
                                     onnx_dir=settings.embedding_onnx_dir)
                    if settings.embeddings else None)
        self.toxicity = ToxicityModel(embedder=embedder,
                                      policy_for=communities.toxicity_policy)
        # community -> online topics; only where there are embeddings to cluster
        self.topics = CommunityTopics(TopicParams()) if embedder else None
        # one copy of the lexical model's weights, one rule scorer per community
        self.reader = TextReader(self.toxicity.rules_for, prior=self.toxicity.prior)
        # (texts, platform languages, communities) -> readings: in this thread by
        # default; the Faust runner may read in a child process (agents.text_process,
        # VIGIL_TEXT_READER_PROCESS)
        self.read: Callable[[Sequence[str], Sequence[Optional[str]], Sequence[str]],
                            list[TextReading]] = self.reader.read
        # (community, post_id) -> Evidence: what a later moderator label teaches from
        self.evidence: "OrderedDict[tuple[str, str], Evidence]" = OrderedDict()
        self.model_version = (f"{self.toxicity.version}"
                              f"{'+minilm' if embedder else ''}+{self.reader.sentiment.version}")

    def load(self) -> None:
        """Load weights up front so the first batch does not pay for it."""
        self.toxicity.load()
        self.reader.load()  # also where a child reads: small batches are read here

    def score(self, posts: Sequence[Post]) -> list[ScoredPost]:
        if not posts:
            return []
        texts = [p.text for p in posts]
        times = [parse_event_time(p.created_at) for p in posts]
        communities = [p.community for p in posts]
        readings = self.read(texts, [p.lang for p in posts], communities)
        scores = self.toxicity.score_batch(texts, communities, times,
                                           priors=[r.prior for r in readings],
                                           rules=[r.rules for r in readings])
        now = to_iso(time.time())
        out = []
        for p, ts, t, r in zip(posts, times, scores, readings):
            s, lang = r.sentiment, r.lang
            self._remember(p, t.evidence)
            topic_id = topic_label = None
            if self.topics is not None and t.evidence.vector is not None:
                topic_id, topic_label = self.topics.assign(p.community, ts, t.evidence.vector,
                                                           p.text, p.post_id)
            exempt = self.communities.exempt(p)
            decision = ("none" if exempt else "safety" if t.severe
                        else "escalate" if t.flagged else "none")
            explanation = t.explanation + (["author is exempt by community config"]
                                           if exempt else [])
            supported = is_supported(lang)
            if not supported:
                explanation.append(f"language {lang}: the lexical prior, rules and sentiment "
                                   "read English only, so these scores are a lower bound")
            out.append(ScoredPost(
                post=p, toxicity=round(t.toxicity, 4), sentiment=round(s, 4),
                model_version=self.model_version, decision=decision, scored_at=now,
                categories=t.categories, explanation=explanation, terms=t.terms,
                threshold=round(t.threshold, 4), severe=list(t.severe), exempt=exempt,
                topic_id=topic_id, topic_label=topic_label, lang=lang,
                lang_supported=supported))
        return out

    def evidence_for(self, community: str, post_id: str,
                     text: Optional[str]) -> Optional[Evidence]:
        """What scoring saw of a post, for learning from a label on it. A post scored on
        another worker, or long ago, is rebuilt from the text the label carries."""
        evidence = self.evidence.get((community, post_id))
        if evidence is None and text:
            evidence = self.toxicity.score_batch([text], [community])[0].evidence
        return evidence

    def _remember(self, post: Post, evidence: Evidence) -> None:
        key = (post.community, post.post_id)
        self.evidence[key] = evidence
        self.evidence.move_to_end(key)
        while len(self.evidence) > self.evidence_limit:
            self.evidence.popitem(last=False)
