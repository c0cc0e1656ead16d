"""``vigil eval toxicity``: the learning curve against a batch refit, the guard that keeps
learning from doing worse than the shipped score, and the threshold it chooses."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from agents.evaluation import evaluate_toxicity

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "tweeteval_hate" / "train.csv"

# Written for this test: rude and friendly posts, some rude ones without a swear word.
RUDE = ["you are a worthless idiot", "shut up you stupid clown", "get lost, loser",
        "nobody wants you here, go away", "you people are disgusting", "what a pathetic moron",
        "send them all back where they came from", "they are animals, not people"]
KIND = ["thanks for the help today", "great match last night", "see you at the meetup",
        "I love the new update", "can someone share the link?", "happy birthday mate",
        "the patch notes are out", "good luck in the finals"]


def _write(path: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(n):
            toxic = rng.random() < 0.4
            base = rng.choice(RUDE if toxic else KIND)
            w.writerow([f"{base} #{i} " + rng.choice(["", "lol", "ok", "!!"]), int(toxic)])
    return path


def test_eval_reports_the_curve_the_batch_reference_and_the_threshold(tmp_path):
    data = _write(tmp_path / "posts.csv", 600)
    r = evaluate_toxicity(data, text_col="text", label_col="label", positive={"1"},
                          feedback_fraction=0.5, embeddings=False, seed=1)
    for key in ("n", "roc_auc", "pr_auc", "f1", "threshold", "posts_per_s", "roc_auc_before",
                "roc_auc_after", "prequential_auc", "f1_after", "best_f1_after",
                "threshold_after", "threshold_mode", "learning_curve", "update_ms"):
        assert key in r
    labels = [p["labels"] for p in r["learning_curve"]]
    assert labels == [25, 50, 100, 250, 300] and r["learning_curve"][-1]["label"] == "all"
    for p in r["learning_curve"]:
        assert {"vigil_roc_auc", "batch_roc_auc", "prior_roc_auc", "vigil_seen_roc_auc",
                "prior_seen_roc_auc", "beta", "threshold"} <= set(p)
    assert r["f1_after"] <= r["best_f1_after"]
    assert 0 < r["threshold_after"] < 1
    # the promises read off the same curve: the worst gap to the batch refit is where it is
    gaps = [round(p["vigil_roc_auc"] - p["batch_roc_auc"], 4) for p in r["learning_curve"]]
    assert r["checks"]["vs_batch"]["worst"] == min(gaps)
    assert r["checks"]["passed"] == (min(gaps) >= -0.01 and all(
        p["vigil_seen_roc_auc"] - p["shipped_seen_roc_auc"] >= -0.01
        for p in r["learning_curve"] if p["labels"] >= 50))
    # the rows are separable by their words: learning must beat the shipped score
    assert r["roc_auc_after"] > r["roc_auc_before"]


def test_flipped_labels_and_the_cli(tmp_path):
    data = _write(tmp_path / "posts.csv", 300)
    out = subprocess.run(
        [sys.executable, "-m", "agents.cli", "eval", "toxicity", "--data", str(data),
         "--positive", "1", "--feedback-fraction", "0.4", "--no-embeddings", "--seed", "0,1",
         "--flip-fraction", "0.1", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert [r["seed"] for r in results] == [0, 1]
    assert all(r["flip_fraction"] == 0.1 for r in results)
    bad = subprocess.run(
        [sys.executable, "-m", "agents.cli", "eval", "toxicity", "--data", str(data),
         "--positive", "1", "--feedback-fraction", "0.4", "--flip-fraction", "0.7"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "flip-fraction" in bad.stderr


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/data/tweeteval_hate is absent")
def test_on_real_hate_speech_learning_is_never_worse_than_the_prior():
    """TweetEval hate (much of it without profanity): as shipped not below the prior;
    after 50 labels Vigil's prequential AUC never more than 0.01 below the prior's on the
    same labels; after all labels the holdout far above it; F1 at the chosen threshold
    at least 0.9 of the best."""
    r = evaluate_toxicity(SHARED, text_col="text", label_col="label", positive={"1"},
                          feedback_fraction=0.3, limit=2500, seed=0)
    assert r["components"]["combined_roc_auc"] >= r["components"]["prior_roc_auc"]
    for p in r["learning_curve"]:
        if p["labels"] >= 50:
            assert p["vigil_seen_roc_auc"] >= p["prior_seen_roc_auc"] - 0.01, p
        assert p["vigil_roc_auc"] >= p["prior_roc_auc"] - 0.01, p
    assert r["roc_auc_after"] > r["components"]["holdout_prior_roc_auc"] + 0.05
    assert r["f1_after"] >= 0.9 * r["best_f1_after"]
