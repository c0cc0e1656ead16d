"""``vigil eval toxicity``: how good is the score, as shipped and after moderator feedback?

As shipped, every row is scored with no labels (lexical prior + rules). With
``--feedback-fraction F`` a random fraction F of the rows is streamed to the model as
moderator feedback, each scored *before* it is learnt (prequential, test-then-train),
and the remaining rows are a holdout scored before and after that learning. The holdout
never teaches the model, so ``roc_auc_after`` is an honest out-of-sample figure.

Keys printed with ``--json`` are stable: n, roc_auc, pr_auc, f1, threshold,
posts_per_s; with feedback also roc_auc_before, roc_auc_after, prequential_auc, and
per-component AUCs (prior alone, learner alone, combined). Added with the exact learner:
``learning_curve`` (at 25, 50, 100, 250, 500, 1,000, 2,000 labels and all: holdout AUC
of Vigil, of a batch logistic regression refitted on the same labels with the same
features as the reference — MiniLM embedding + the prior's logit, scikit-learn defaults —
and of the prior; on the labels seen so far, Vigil's prequential AUC, the prior's and
the as-shipped score's (not learning at all);
the guard's blend β and the threshold), ``best_f1_after`` (the best F1 any threshold
reaches on the holdout), ``threshold_mode``, ``flip_fraction``, ``update_ms`` (mean
and max time to learn one label) and ``checks`` (the curve's promises, point by point:
:mod:`agents.eval_checks`). ``--flip-fraction`` flips that share of the feedback
labels at random (the holdout keeps the true ones): bad labels must not break learning.
"""

from __future__ import annotations

import csv
import random
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from agents.eval_checks import curve_checks
from models.embeddings import SentenceEmbedder
from models.combiner import logit
from models.toxicity_model import CommunityPolicy, ToxicityModel

__all__ = ["evaluate_toxicity", "prepare", "read_labelled"]

COMMUNITY = "eval"
BATCH = 256
CURVE = (25, 50, 100, 250, 500, 1000, 2000)


def read_labelled(path: Path, text_col: str, label_col: str, positive: set[str],
                  limit: Optional[int] = None) -> tuple[list[str], np.ndarray]:
    csv.field_size_limit(sys.maxsize)
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for col in (text_col, label_col):
            if col not in (reader.fieldnames or []):
                raise SystemExit(f"vigil eval: {path} has no column {col!r}; columns are "
                                 f"{', '.join(reader.fieldnames or [])}")
        for row in reader:
            text = (row[text_col] or "").strip()
            if not text:
                continue
            texts.append(text)
            labels.append(row[label_col].strip() in positive)
            if limit and len(texts) >= limit:
                break
    if not texts:
        raise SystemExit(f"vigil eval: no rows with text in {path}")
    return texts, np.array(labels, dtype=bool)


def _metrics(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    if y.all() or not y.any():
        return {"roc_auc": None, "pr_auc": None, "f1": None}
    return {"roc_auc": round(float(roc_auc_score(y, scores)), 4),
            "pr_auc": round(float(average_precision_score(y, scores)), 4),
            "f1": round(float(f1_score(y, scores >= threshold)), 4)}


def _auc(y: np.ndarray, scores: np.ndarray) -> Optional[float]:
    return _metrics(y, scores, 0.5)["roc_auc"]


def _best_f1(y: np.ndarray, scores: np.ndarray) -> Optional[float]:
    from sklearn.metrics import precision_recall_curve

    if y.all() or not y.any():
        return None
    p, r, _ = precision_recall_curve(y, scores)
    return round(float(np.max(2 * p * r / np.maximum(p + r, 1e-12))), 4)


def _reference_auc(features: np.ndarray, y_train: np.ndarray, holdout_features: np.ndarray,
                   y_holdout: np.ndarray) -> Optional[float]:
    """The batch reference: scikit-learn's LogisticRegression, defaults, refitted."""
    from sklearn.linear_model import LogisticRegression

    if y_train.all() or not y_train.any():
        return None
    ref = LogisticRegression(max_iter=2000).fit(features, y_train)
    return _auc(y_holdout, ref.decision_function(holdout_features))


def evaluate_toxicity(path: Path, *, text_col: str, label_col: str, positive: set[str],
                      feedback_fraction: float = 0.0, seed: int = 0,
                      embeddings: bool = True, limit: Optional[int] = None,
                      threshold: float = 0.8, curve_points: int = 20,
                      backend: str = "onnx-int8", onnx_dir: Optional[str] = None,
                      flip_fraction: float = 0.0, target_precision: Optional[float] = 0.9,
                      progress=None, _prepared=None) -> dict:
    if not 0.0 <= feedback_fraction < 1.0:
        raise SystemExit("vigil eval: --feedback-fraction must be in [0, 1)")
    if not 0.0 <= flip_fraction < 0.5:
        raise SystemExit("vigil eval: --flip-fraction must be in [0, 0.5)")
    policy = CommunityPolicy(toxicity_threshold=threshold, target_precision=target_precision)
    if _prepared is None:
        _prepared = prepare(path, text_col=text_col, label_col=label_col, positive=positive,
                            embeddings=embeddings, limit=limit, backend=backend,
                            onnx_dir=onnx_dir, policy=policy)
    texts, y, scored, elapsed = _prepared
    model = ToxicityModel(embedder=None, policy_for=lambda c: policy)
    shipped = np.array([s.toxicity for s in scored])
    prior = np.array([s.evidence.prior for s in scored])
    result = {"n": len(texts), "positives": int(y.sum()),
              **_metrics(y, shipped, threshold), "threshold": threshold,
              "posts_per_s": round(len(texts) / elapsed, 1),
              "embeddings": embeddings, "backend": backend if embeddings else None,
              "model_version": model.version,
              "components": {"prior_roc_auc": _auc(y, prior), "combined_roc_auc": _auc(y, shipped)}}
    if feedback_fraction <= 0:
        return result

    # split: a random fraction streams in as feedback, the rest is the holdout
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    n_fb = int(round(feedback_fraction * len(texts)))
    feedback, holdout = order[:n_fb], np.array(sorted(order[n_fb:]))
    taught = y.copy()  # what moderators said: flipped at random where asked
    for idx in feedback:
        if rng.random() < flip_fraction:
            taught[idx] = not taught[idx]
    before = _metrics(y[holdout], shipped[holdout], threshold)

    evidence = [s.evidence for s in scored]
    feats = np.stack([ev.features() for ev in evidence]).astype(np.float64)
    z_ship = np.array([ev.shipped_logit for ev in evidence])
    # the reference's features: the embedding and the prior's logit, nothing of Vigil's
    ref_x = np.column_stack(([np.stack([ev.vector for ev in evidence])] if embeddings else [])
                            + [np.array([logit(ev.prior) for ev in evidence])])
    h_feats, h_ship, h_y = feats[holdout], z_ship[holdout], y[holdout]

    def holdout_scores() -> tuple[np.ndarray, np.ndarray]:
        learnt = model.learner.predict(COMMUNITY, h_feats)
        if learnt is None:
            return h_ship, h_ship
        level = model.learner.level(COMMUNITY)
        return model.guard.blend(COMMUNITY, h_ship, learnt, level), learnt

    # stream the feedback: test (score) then train (learn), in random order
    preq_scores, preq_labels, curve, learning_curve, costs = [], [], [], [], []
    every = max(1, n_fb // curve_points)
    points = sorted({p for p in CURVE if p < n_fb} | {n_fb})
    for k, idx in enumerate(feedback, 1):
        t0 = time.perf_counter()
        preq_scores.append(model.learn(evidence[idx], COMMUNITY, bool(taught[idx]),
                                       key=str(idx), time=0.0))
        costs.append(time.perf_counter() - t0)
        preq_labels.append(bool(taught[idx]))
        if k % every == 0 or k == n_fb:
            window = slice(max(0, k - every * 2), k)  # recent labels: is it still improving?
            curve.append({"labels": k,
                          "auc_cumulative": _auc(np.array(preq_labels), np.array(preq_scores)),
                          "auc_recent": _auc(np.array(preq_labels[window]),
                                             np.array(preq_scores[window]))})
        if k in points:
            seen = np.array(feedback[:k])
            final, learnt = holdout_scores()
            learning_curve.append({
                "labels": k, "label": "all" if k == n_fb else str(k),
                "vigil_roc_auc": _auc(h_y, final),
                "learner_roc_auc": _auc(h_y, learnt),
                "batch_roc_auc": _reference_auc(ref_x[seen], taught[seen], ref_x[holdout], h_y),
                "prior_roc_auc": _auc(h_y, prior[holdout]),
                "vigil_seen_roc_auc": _auc(np.array(preq_labels), np.array(preq_scores)),
                "prior_seen_roc_auc": _auc(taught[seen], prior[seen]),
                "shipped_seen_roc_auc": _auc(taught[seen], shipped[seen]),
                "beta": model.guard.beta(COMMUNITY),
                "threshold": round(model.threshold_for(COMMUNITY).threshold, 4)})
            if progress:
                progress(learning_curve[-1])

    after_scores, learnt_scores = holdout_scores()
    adapted = model.threshold_for(COMMUNITY)
    after = _metrics(h_y, after_scores, _logit(adapted.threshold))
    result.update({
        "feedback_fraction": feedback_fraction, "seed": seed, "flip_fraction": flip_fraction,
        "n_feedback": n_fb, "n_holdout": int(len(holdout)),
        "roc_auc_before": before["roc_auc"], "roc_auc_after": after["roc_auc"],
        "pr_auc_before": before["pr_auc"], "pr_auc_after": after["pr_auc"],
        "f1_before": before["f1"], "f1_after": after["f1"],
        "best_f1_after": _best_f1(h_y, after_scores),
        "threshold_after": round(adapted.threshold, 4), "threshold_mode": adapted.mode,
        "target_precision": target_precision,
        "prequential_auc": curve, "learning_curve": learning_curve,
        "checks": curve_checks(learning_curve),
        "update_ms": {"mean": round(1000 * float(np.mean(costs)), 3),
                      "max": round(1000 * float(np.max(costs)), 3),
                      "refits": model.learner.refits},
    })
    result["components"].update({
        "holdout_prior_roc_auc": _auc(h_y, prior[holdout]),
        "holdout_learner_roc_auc": _auc(h_y, learnt_scores),
        "holdout_combined_roc_auc_before": before["roc_auc"],
        "holdout_combined_roc_auc_after": after["roc_auc"],
    })
    return result


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


def prepare(path: Path, *, text_col: str, label_col: str, positive: set[str],
            embeddings: bool = True, limit: Optional[int] = None, backend: str = "onnx-int8",
            onnx_dir: Optional[str] = None, policy: Optional[CommunityPolicy] = None,
            progress=None):
    """Read and score every row once, as shipped: (texts, labels, scores, seconds).

    Several seeds reuse it, so embedding a large set is paid once. ``progress(done,
    total)`` is called after each batch: embedding is the slow part of an evaluation."""
    texts, y = read_labelled(path, text_col, label_col, positive, limit)
    policy = policy or CommunityPolicy()
    embedder = SentenceEmbedder(backend=backend, onnx_dir=onnx_dir) if embeddings else None
    model = ToxicityModel(embedder=embedder, policy_for=lambda c: policy).load()
    started = time.perf_counter()
    scored = []
    for i in range(0, len(texts), BATCH):
        chunk = texts[i:i + BATCH]
        scored.extend(model.score_batch(chunk, [COMMUNITY] * len(chunk)))
        if progress:
            progress(len(scored), len(texts))
    return texts, y, scored, time.perf_counter() - started
