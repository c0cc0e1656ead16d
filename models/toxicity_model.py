"""Vigil's toxicity model: every signal, one calibrated score, learning from moderators.

    text ──▶ lexical prior (profanity-check) ──┐
        ├──▶ rules (categories, spans) ────────┼──▶ shipped logit ──┬──▶ guard ──▶ score ──▶ threshold
        └──▶ MiniLM ──▶ prototypes ────────────┘        │ (feature) │ β           ▲
                  └───────────────────────────────▶ community learner ┘             │
                                              ▲ exact refits on a label buffer      │
                                              └──────── moderator labels ───────────┘

As shipped (no labels yet) the score is the shipped logit (:mod:`models.combiner`).
Each label a community's moderators give is (1) recorded with the score the post had
before it (the threshold's labelled, out-of-sample scores), then (2) learnt by the
community's logistic regression (:mod:`models.learner`). The guard blends the learnt
score in only as far as out-of-sample evidence on the community's labels says it ranks better
than the shipped one. :meth:`snapshot` / :meth:`restore` carry the learnt state across restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from models.combiner import PriorGuard, meaning_probability, shipped_logit
from models.embeddings import SentenceEmbedder
from models.learner import SHARED, CommunityLearner
from models.prototypes import PrototypeScorer
from models.rules import CATEGORIES, RuleResult, RuleScorer
from models.thresholds import LabelledThreshold
from models.toxicity import LexicalToxicityScorer, ToxicityResult

__all__ = ["Evidence", "ToxicityScore", "ToxicityModel", "CommunityPolicy", "SNAPSHOT_FORMAT"]

SNAPSHOT_FORMAT = 2

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
    """What the model needs to know about a community (from config/communities.toml).

    ``target_precision``: the share of flags that should be right, where the labels show
    it is reachable with useful recall (``None``: always the best F1);
    ``review_budget_per_day``: at most this many flags a day (``None``: no budget)."""

    toxicity_threshold: float = 0.8
    target_precision: Optional[float] = 0.9
    severe_threshold: float = 0.7
    deny_terms: tuple = ()
    allow_terms: tuple = ()
    review_budget_per_day: Optional[float] = None


@dataclass(frozen=True)
class Evidence:
    """A scored post's features, kept so that a later moderator label can teach the model."""

    prior: float
    rules: dict
    vector: Optional[np.ndarray] = None
    prototypes: Optional[np.ndarray] = None  # margins per prototype kind

    @property
    def shipped_logit(self) -> float:
        margin = float(self.prototypes.max()) if self.prototypes is not None else None
        return shipped_logit(self.prior, self.rules, margin)

    def features(self) -> np.ndarray:
        """The learner's input: the embedding and the shipped logit (without an embedding,
        the shipped logit and the rule scores). Holdout AUC against the batch reference
        (6 seeds, TweetEval train, 50 / 100 labels; stop 41): these, fitted free, +0.017 /
        +0.013 (worst +0.015 / +0.006); the learner until then (the prior's logit, 7 rule
        scores, 5 prototype margins and the meaning's lift beside the embedding, on the
        shipped logit as offset) −0.013 / −0.002 (worst −0.068 / −0.041), those 13 fitted
        free +0.001 / +0.005 (worst −0.034 / −0.018): strong hand-made features at the
        embedding's penalty fit the first labels' noise; the embedding reads them too."""
        z = np.float32(self.shipped_logit)  # last: the learner keeps its weight >= 0
        if self.vector is None:
            return np.array([float(self.rules.get(c, 0.0)) for c in CATEGORIES] + [z],
                            np.float32)
        return np.append(np.asarray(self.vector, np.float32), z)


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


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + float(np.exp(-max(-30.0, min(30.0, z)))))


class ToxicityModel:
    version = "vigil-tox-6"

    def __init__(self, *, embedder: Optional[SentenceEmbedder] = None,
                 policy_for: Callable[[str], CommunityPolicy] = lambda c: CommunityPolicy(),
                 learner: Optional[CommunityLearner] = None,
                 guard: Optional[PriorGuard] = None):
        self.prior = LexicalToxicityScorer()
        self.embedder = embedder
        self.policy_for = policy_for
        self.learner = learner or CommunityLearner()
        self.guard = guard or PriorGuard()
        self.prototypes: Optional[PrototypeScorer] = None
        self.thresholds: dict[str, LabelledThreshold] = {}
        self._rules: dict[str, RuleScorer] = {}
        self.labels_learned = 0
        self.cv_every_label_below = 100
        self._anonymous = 0

    def load(self) -> "ToxicityModel":
        self.prior.load()
        if self.embedder is not None:
            self.embedder.load()
            if self.prototypes is None:
                self.prototypes = PrototypeScorer.build(self.embedder.embed)
        return self

    # -- scoring --------------------------------------------------------------------
    def rules_for(self, community: str) -> RuleScorer:
        scorer = self._rules.get(community)
        if scorer is None:
            policy = self.policy_for(community)
            scorer = self._rules[community] = RuleScorer(policy.deny_terms, policy.allow_terms)
        return scorer

    def threshold_for(self, community: str) -> LabelledThreshold:
        t = self.thresholds.get(community)
        if t is None:
            p = self.policy_for(community)
            t = self.thresholds[community] = LabelledThreshold(
                p.toxicity_threshold, target_precision=p.target_precision,
                review_budget_per_day=p.review_budget_per_day)
        return t

    def logits(self, evidence: Evidence, community: str) -> tuple[float, Optional[float], float]:
        """(shipped, learnt or None, final) logits for one post in one community."""
        z_ship = evidence.shipped_logit
        key = self.learner.scored_by(community)  # the community, the shared model, or None
        z_learnt = None if key is None else self.learner.logit(key, evidence.features())
        if z_learnt is None:
            return z_ship, None, z_ship
        return z_ship, z_learnt, self.guard.blend(key, z_ship, z_learnt, self.learner.level(key))

    def trust(self, community: str) -> float:
        """How far the community's scores follow what was learnt (β of its model)."""
        return self.guard.beta(self.learner.scored_by(community) or community)

    def score_evidence(self, evidence: Evidence, community: str) -> float:
        return _sigmoid(self.logits(evidence, community)[2])

    def score_batch(self, texts: Sequence[str], communities: Sequence[str],
                    times: Optional[Sequence[float]] = None, *,
                    priors: Optional[Sequence[ToxicityResult]] = None,
                    rules: Optional[Sequence[RuleResult]] = None) -> list[ToxicityScore]:
        """``priors``, ``rules``: the lexical prior's and :meth:`rules_for`'s results for
        ``texts`` where the caller has read them already (:mod:`models.text_reading`,
        perhaps in another process)."""
        if not texts:
            return []
        if priors is None:
            priors = self.prior.score_batch(texts)
        if rules is None:
            rules = [self.rules_for(c).score(t) for t, c in zip(texts, communities)]
        vectors = self.embedder.embed(texts) if self.embedder is not None else None
        if vectors is not None and self.prototypes is None:
            self.load()
        margins = self.prototypes.features(vectors) if vectors is not None else None
        out = []
        for i, (text, community) in enumerate(zip(texts, communities)):
            prior, hits = priors[i], rules[i]
            rule_scores = contextualize_personal_data(text, dict(hits.scores))
            evidence = Evidence(prior.toxicity, rule_scores,
                                vectors[i] if vectors is not None else None,
                                margins[i] if margins is not None else None)
            _, z_learnt, z = self.logits(evidence, community)
            score = _sigmoid(z)
            policy = self.policy_for(community)
            threshold = self.threshold_for(community)
            if times is not None:
                threshold.observe_post(score, times[i])
            categories = {"profanity": round(prior.toxicity, 4),
                          **{k: round(v, 4) for k, v in rule_scores.items()}}
            if z_learnt is not None:
                categories["learned"] = round(_sigmoid(z_learnt), 4)
            explanation = [f"combined p={score:.2f} from profanity-check {prior.toxicity:.2f}"
                           + (f", learner {_sigmoid(z_learnt):.2f}"
                              f" (trusted {self.trust(community):.2f})"
                              if z_learnt is not None else "")
                           + (", rules " + ", ".join(f"{k} {v:.2f}" for k, v in rule_scores.items() if v)
                              if any(rule_scores.values()) else "")]
            if margins is not None and meaning_probability(margins[i].max()) >= 0.5:
                # said only where the meaning alone makes the post likely toxic: a small
                # positive margin (most posts have one) explains nothing
                kind = self.prototypes.kinds[int(np.argmax(margins[i]))]
                explanation.append(f"reads like {kind.replace('_', ' ')} "
                                   f"(prototype margin {float(margins[i].max()):.2f})")
            if prior.terms:
                explanation.append("profanity terms: " + ", ".join(prior.terms))
            explanation.extend(hits.explanation(text))
            severe = tuple(c for c in hits.severe if rule_scores[c] >= policy.severe_threshold)
            out.append(ToxicityScore(
                toxicity=score, threshold=threshold.threshold,
                categories=categories, explanation=explanation,
                terms=list(prior.terms) + [text[s.start:s.end] for s in hits.spans],
                severe=severe, evidence=evidence))
        return out

    def meaning(self, evidence: Evidence) -> dict[str, float]:
        """Per prototype kind, the probability the post's meaning alone gives it (empty
        without embeddings): what Perspective's IDENTITY_ATTACK, THREAT and INSULT add."""
        if evidence.prototypes is None or self.prototypes is None:
            return {}
        return {kind: round(meaning_probability(m), 4)
                for kind, m in zip(self.prototypes.kinds, evidence.prototypes)}

    # -- learning -------------------------------------------------------------------
    def learn(self, evidence: Evidence, community: str, toxic: bool, *,
              key: Optional[str] = None, time: float = 0.0) -> float:
        """Test, then train: returns the score the model gave *before* learning this label.

        ``key`` names the post: a second label with the same key (an appeal, a reversed
        removal) replaces the first. ``time`` (epoch seconds) is the label's, for fading."""
        if key is None:
            self._anonymous += 1
            key = f"\x00{self._anonymous}"
        z_ship, z_learnt, z = self.logits(evidence, community)
        before = _sigmoid(z)
        self.threshold_for(community).observe(key, before, bool(toxic))
        n, refits = self.learner.n_learned, self.learner.refits
        shared = self.learner.fits.get(SHARED)
        self.learner.learn(community, key, evidence.features(), z_ship, int(bool(toxic)), time)
        self.labels_learned += self.learner.n_learned - n
        # The guard's evidence: out-of-sample logits, after every label while the
        # community has few (where each label moves the model most) and at each exact
        # refit after that (a few O(n·d²) products, bounded by the buffer like the refit).
        if self.learner.buffer.count(community) < self.cv_every_label_below or \
                self.learner.refits != refits:
            self.guard.update(community, *self.learner.out_of_sample(community),
                              level=self.learner.level(community))
        if self.learner.fits.get(SHARED) is not shared:  # refitted: its own evidence, over
            # every community's labels, sets how far communities without labels follow it
            self.guard.update(SHARED, *self.learner.out_of_sample(SHARED),
                              level=self.learner.level(SHARED))
        return before

    # -- persistence ----------------------------------------------------------------
    def snapshot(self) -> dict:
        """Everything learnt, as plain picklable objects (the caller adds offsets)."""
        return {"format": SNAPSHOT_FORMAT, "version": self.version,
                "learner": self.learner, "guard": self.guard, "thresholds": self.thresholds,
                "labels_learned": self.labels_learned}

    def restore(self, snap: dict) -> None:
        if snap.get("format") != SNAPSHOT_FORMAT or snap.get("version") != self.version:
            raise ValueError(f"checkpoint is {snap.get('version')}/format {snap.get('format')}, "
                             f"this model is {self.version}/format {SNAPSHOT_FORMAT}")
        self.learner, self.guard = snap["learner"], snap["guard"]
        self.thresholds = dict(snap["thresholds"])
        self.labels_learned = snap["labels_learned"]


CATEGORY_NAMES = ("profanity",) + tuple(CATEGORIES)
