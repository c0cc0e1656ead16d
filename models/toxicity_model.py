"""Vigil's toxicity model: every signal, one calibrated score, learning from moderators.

    text ──▶ lexical prior (profanity-check) ──┐
        ├──▶ rules (categories, spans) ────────┼──▶ combiner ──▶ score ──▶ community threshold
        └──▶ MiniLM embedding ──▶ learner ─────┘        ▲                      ▲
                                   ▲                     └──── moderator labels ┘
                                   └──────────────────────────── (online, river)

As shipped (no labels yet) the score is the lexical prior plus the rules; each label a
community's moderators give moves the learner, the combiner and that community's
threshold. :meth:`snapshot` / :meth:`restore` carry that learnt state across restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from models.combiner import ScoreCombiner
from models.embeddings import SentenceEmbedder
from models.learner import EmbeddingLearner
from models.rules import CATEGORIES, RuleScorer
from models.thresholds import AdaptiveThreshold
from models.toxicity import LexicalToxicityScorer

__all__ = ["Evidence", "ToxicityScore", "ToxicityModel", "CommunityPolicy", "SNAPSHOT_FORMAT"]

SNAPSHOT_FORMAT = 1

# Personal data is a harm when it points at a person (doxxing), not when it is a
# service's number: crisis streams are full of emergency lines and donation addresses.
_TARGETING = re.compile(
    r"\bdox+\w*|\b(?:his|her|their|your|ur)\s+(?:home\s+|real\s+|personal\s+)?"
    r"(?:number|phone|address|email|e-mail|ip|location)\b|\blives\s+(?:at|on|in)\b"
    r"|\bhome\s+address\b|\bhere'?s\s+where\b", re.I)
_SERVICE = re.compile(
    r"\b(?:emergenc\w*|emergenz\w*|hotline|help\s?line|support|customer\s+service|"
    r"info\s?line|informa\w*|donat\w*|relief|red\s+cross|cruz\s+roja|croce\s+rossa|"
    r"official|helpdesk|numer[io]\s+di|n[uú]meros?\s+de|t[eé]l[eé]phone\s+d)", re.I)
_MENTION = 0.3


def contextualize_personal_data(text: str, scores: dict) -> dict:
    """Downgrade personal data to a mention when it reads as a public service notice.

    >>> contextualize_personal_data("emergency line: 0532-771546", {"personal_data": 0.9})
    {'personal_data': 0.3}
    >>> contextualize_personal_data("his home address is 12 Elm Street", {"personal_data": 0.9})
    {'personal_data': 0.9}
    """
    pd = scores.get("personal_data", 0.0)
    if pd > _MENTION and _SERVICE.search(text) and not _TARGETING.search(text):
        return {**scores, "personal_data": _MENTION}
    return scores


@dataclass(frozen=True)
class CommunityPolicy:
    """What the model needs to know about a community (from config/communities.toml)."""

    toxicity_threshold: float = 0.8
    target_precision: float = 0.9
    severe_threshold: float = 0.7
    deny_terms: tuple = ()
    allow_terms: tuple = ()


@dataclass(frozen=True)
class Evidence:
    """A scored post's features, kept so that a later moderator label can teach the model."""

    prior: float
    rules: dict
    vector: Optional[np.ndarray] = None

    def combiner_input(self, learner: Optional[float]) -> dict:
        x = {"prior": self.prior}
        if learner is not None:
            x["learner"] = learner
        x.update({f"rule_{k}": v for k, v in self.rules.items() if v})
        return x


@dataclass(frozen=True)
class ToxicityScore:
    toxicity: float
    threshold: float
    categories: dict
    explanation: list
    terms: list
    severe: tuple  # severe categories at or above the community's severe threshold
    evidence: Evidence = field(repr=False)

    @property
    def flagged(self) -> bool:
        return self.toxicity >= self.threshold


class ToxicityModel:
    version = "vigil-tox-2"

    def __init__(self, *, embedder: Optional[SentenceEmbedder] = None,
                 policy_for: Callable[[str], CommunityPolicy] = lambda c: CommunityPolicy(),
                 learner: Optional[EmbeddingLearner] = None,
                 combiner: Optional[ScoreCombiner] = None):
        self.prior = LexicalToxicityScorer()
        self.embedder = embedder
        self.policy_for = policy_for
        self.learner = learner or EmbeddingLearner()
        self.combiner = combiner or ScoreCombiner()
        self.thresholds: dict[str, AdaptiveThreshold] = {}
        self._rules: dict[str, RuleScorer] = {}
        self.labels_learned = 0

    def load(self) -> "ToxicityModel":
        self.prior.load()
        if self.embedder is not None:
            self.embedder.load()
        return self

    # -- scoring --------------------------------------------------------------------
    def rules_for(self, community: str) -> RuleScorer:
        scorer = self._rules.get(community)
        if scorer is None:
            policy = self.policy_for(community)
            scorer = self._rules[community] = RuleScorer(policy.deny_terms, policy.allow_terms)
        return scorer

    def threshold_for(self, community: str) -> AdaptiveThreshold:
        t = self.thresholds.get(community)
        if t is None:
            policy = self.policy_for(community)
            t = self.thresholds[community] = AdaptiveThreshold(policy.toxicity_threshold,
                                                               policy.target_precision)
        return t

    def score_batch(self, texts: Sequence[str], communities: Sequence[str]) -> list[ToxicityScore]:
        if not texts:
            return []
        priors = self.prior.score_batch(texts)
        vectors = self.embedder.embed(texts) if self.embedder is not None else None
        out = []
        for i, (text, community) in enumerate(zip(texts, communities)):
            prior = priors[i]
            rules = self.rules_for(community).score(text)
            rule_scores = contextualize_personal_data(text, dict(rules.scores))
            vector = vectors[i] if vectors is not None else None
            learned = (self.learner.predict_one(vector, community)
                       if vector is not None and self.learner.n_learned else None)
            evidence = Evidence(prior.toxicity, rule_scores, vector)
            score = self.combiner.score_one(evidence.combiner_input(learned), community)
            policy = self.policy_for(community)
            categories = {"profanity": round(prior.toxicity, 4),
                          **{k: round(v, 4) for k, v in rule_scores.items()}}
            if learned is not None:
                categories["learned"] = round(learned, 4)
            explanation = [f"combined p={score:.2f} from profanity-check {prior.toxicity:.2f}"
                           + (f", learner {learned:.2f}" if learned is not None else "")
                           + (", rules " + ", ".join(f"{k} {v:.2f}" for k, v in rule_scores.items() if v)
                              if any(rule_scores.values()) else "")]
            if prior.terms:
                explanation.append("profanity terms: " + ", ".join(prior.terms))
            explanation.extend(rules.explanation(text))
            severe = tuple(c for c in rules.severe if rule_scores[c] >= policy.severe_threshold)
            out.append(ToxicityScore(
                toxicity=score, threshold=self.threshold_for(community).threshold,
                categories=categories, explanation=explanation,
                terms=list(prior.terms) + [text[s.start:s.end] for s in rules.spans],
                severe=severe, evidence=evidence))
        return out

    # -- learning -------------------------------------------------------------------
    def learn(self, evidence: Evidence, community: str, toxic: bool) -> float:
        """Test, then train: returns the score the model gave *before* learning this label."""
        learned = (self.learner.predict_one(evidence.vector, community)
                   if evidence.vector is not None and self.learner.n_learned else None)
        x = evidence.combiner_input(learned)
        before = self.combiner.score_one(x, community)
        self.threshold_for(community).observe(before, toxic)
        self.combiner.learn_one(x, toxic, community)
        if evidence.vector is not None:
            self.learner.learn_one(evidence.vector, community, toxic)
        self.labels_learned += 1
        return before

    # -- persistence ----------------------------------------------------------------
    def snapshot(self) -> dict:
        """Everything learnt, as plain picklable objects (the caller adds offsets)."""
        return {"format": SNAPSHOT_FORMAT, "version": self.version,
                "learner": self.learner, "combiner": self.combiner,
                "thresholds": {c: t.to_dict() for c, t in self.thresholds.items()},
                "labels_learned": self.labels_learned}

    def restore(self, snap: dict) -> None:
        if snap.get("format") != SNAPSHOT_FORMAT or snap.get("version") != self.version:
            raise ValueError(f"checkpoint is {snap.get('version')}/format {snap.get('format')}, "
                             f"this model is {self.version}/format {SNAPSHOT_FORMAT}")
        self.learner, self.combiner = snap["learner"], snap["combiner"]
        self.thresholds = {c: AdaptiveThreshold(**d) for c, d in snap["thresholds"].items()}
        self.labels_learned = snap["labels_learned"]


CATEGORY_NAMES = ("profanity",) + tuple(CATEGORIES)
