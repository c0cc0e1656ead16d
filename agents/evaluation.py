"""``vigil eval toxicity``: how good is the score, as shipped and after moderator feedback?

As shipped, every row is scored with no labels (lexical prior + rules). With
``--feedback-fraction F`` a random fraction F of the rows is streamed to the model as
moderator feedback, each scored *before* it is learnt (prequential, test-then-train),
and the remaining rows are a holdout scored before and after that learning. The holdout
never teaches the model, so ``roc_auc_after`` is an honest out-of-sample figure.

Keys printed with ``--json`` are stable: n, roc_auc, pr_auc, f1, threshold,
posts_per_s; with feedback also roc_auc_before, roc_auc_after, prequential_auc, and
per-component AUCs (prior alone, learner alone, combined).
"""

from __future__ import annotations

import csv
import random
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from models.embeddings import SentenceEmbedder
from models.toxicity_model import CommunityPolicy, ToxicityModel

__all__ = ["evaluate_toxicity", "read_labelled"]

COMMUNITY = "eval"
BATCH = 256


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


def evaluate_toxicity(path: Path, *, text_col: str, label_col: str, positive: set[str],
                      feedback_fraction: float = 0.0, seed: int = 0,
                      embeddings: bool = True, limit: Optional[int] = None,
                      threshold: float = 0.8, curve_points: int = 20,
                      backend: str = "onnx-int8", onnx_dir: Optional[str] = None) -> dict:
    if not 0.0 <= feedback_fraction < 1.0:
        raise SystemExit("vigil eval: --feedback-fraction must be in [0, 1)")
    texts, y = read_labelled(path, text_col, label_col, positive, limit)
    policy = CommunityPolicy(toxicity_threshold=threshold)
    embedder = SentenceEmbedder(backend=backend, onnx_dir=onnx_dir) if embeddings else None
    model = ToxicityModel(embedder=embedder,
                          policy_for=lambda c: policy).load()
    # score every row as shipped: no labels learnt yet
    started = time.perf_counter()
    scored = []
    for i in range(0, len(texts), BATCH):
        chunk = texts[i:i + BATCH]
        scored.extend(model.score_batch(chunk, [COMMUNITY] * len(chunk)))
    elapsed = time.perf_counter() - started
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
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_fb = int(round(feedback_fraction * len(texts)))
    feedback, holdout = order[:n_fb], np.array(sorted(order[n_fb:]))
    before = _metrics(y[holdout], shipped[holdout], threshold)

    # stream the feedback: test (score) then train (learn), in random order
    preq_scores, preq_labels, curve = [], [], []
    every = max(1, n_fb // curve_points)
    for k, idx in enumerate(feedback, 1):
        preq_scores.append(model.learn(scored[idx].evidence, COMMUNITY, bool(y[idx])))
        preq_labels.append(bool(y[idx]))
        if k % every == 0 or k == n_fb:
            window = slice(max(0, k - every * 2), k)  # recent labels: is it still improving?
            curve.append({"labels": k,
                          "auc_cumulative": _auc(np.array(preq_labels), np.array(preq_scores)),
                          "auc_recent": _auc(np.array(preq_labels[window]),
                                             np.array(preq_scores[window]))})

    # re-score the holdout with what was learnt (features are reused, not recomputed)
    after_scores, learner_scores = [], []
    for idx in holdout:
        ev = scored[idx].evidence
        learned = (model.learner.predict_one(ev.vector, COMMUNITY)
                   if ev.vector is not None and model.learner.n_learned else None)
        learner_scores.append(0.5 if learned is None else learned)
        after_scores.append(model.combiner.score_one(ev.combiner_input(learned), COMMUNITY))
    after_scores = np.array(after_scores)
    adapted = model.threshold_for(COMMUNITY).threshold
    after = _metrics(y[holdout], after_scores, adapted)
    result.update({
        "feedback_fraction": feedback_fraction, "seed": seed,
        "n_feedback": n_fb, "n_holdout": int(len(holdout)),
        "roc_auc_before": before["roc_auc"], "roc_auc_after": after["roc_auc"],
        "pr_auc_before": before["pr_auc"], "pr_auc_after": after["pr_auc"],
        "f1_before": before["f1"], "f1_after": after["f1"], "threshold_after": round(adapted, 4),
        "prequential_auc": curve,
    })
    result["components"].update({
        "holdout_prior_roc_auc": _auc(y[holdout], prior[holdout]),
        "holdout_learner_roc_auc": _auc(y[holdout], np.array(learner_scores)) if embeddings else None,
        "holdout_combined_roc_auc_before": before["roc_auc"],
        "holdout_combined_roc_auc_after": after["roc_auc"],
    })
    return result
