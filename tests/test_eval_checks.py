"""The learning curve's promises, read point by point and summed over seeds."""

from __future__ import annotations

import pytest

from agents.eval_checks import across_seeds, curve_checks, format_across_seeds


def _point(labels: int, vigil: float, batch: float, seen: float, shipped: float,
           prior: float, last: bool = False) -> dict:
    return {"labels": labels, "label": "all" if last else str(labels),
            "vigil_roc_auc": vigil, "batch_roc_auc": batch, "vigil_seen_roc_auc": seen,
            "shipped_seen_roc_auc": shipped, "prior_seen_roc_auc": prior}


def test_a_point_misses_only_below_the_margin_and_not_learning_counts_from_50_labels():
    curve = [_point(25, 0.70, 0.695, 0.50, 0.60, 0.60),     # seen gap -0.10: too early to count
             _point(50, 0.71, 0.715, 0.66, 0.69, 0.60),     # batch -0.005 passes, shipped -0.03
             _point(100, 0.75, 0.74, 0.70, 0.70, 0.72),     # only the prior's check misses
             _point(300, 0.80, 0.83, 0.75, 0.70, 0.70, last=True)]
    checks = curve_checks(curve)
    assert checks["vs_batch"]["misses"] == [{"label": "all", "gap": -0.03}]
    assert checks["vs_batch"]["worst"] == -0.03 and checks["vs_batch"]["at"] == "all"
    assert checks["vs_not_learning"]["misses"] == [{"label": "50", "gap": -0.03}]
    assert checks["vs_prior"]["misses"] == [{"label": "100", "gap": -0.02}]
    assert checks["passed"] is False
    loose = curve_checks(curve, margin=0.05)
    assert loose["passed"] is True and not loose["vs_batch"]["misses"]


def test_the_prior_alone_does_not_fail_a_run_and_missing_references_are_skipped():
    curve = [_point(50, 0.70, 0.70, 0.70, 0.70, 0.75),
             {**_point(100, 0.72, 0.0, 0.71, 0.70, 0.70), "batch_roc_auc": None}]
    checks = curve_checks(curve)
    assert checks["passed"] is True and checks["vs_prior"]["misses"]
    assert checks["vs_batch"]["worst"] == 0.0 and checks["vs_batch"]["at"] == "50"


def test_across_seeds_gives_each_points_mean_spread_minimum_and_misses():
    runs = [{"learning_curve": [_point(50, 0.70, 0.70 + d, 0.70, 0.70, 0.70),
                                _point(100, 0.75, 0.75, 0.70, 0.70 + d, 0.70)]}
            for d in (0.0, 0.02, 0.04)]
    runs.append({"learning_curve": [_point(50, 0.70, 0.70, 0.70, 0.70, 0.70)]})
    s = across_seeds(runs)
    at50 = s["vs_batch"]["points"]["50"]
    assert at50["n"] == 4 and at50["mean"] == pytest.approx(-0.015)
    assert at50["min"] == -0.04 and at50["misses"] == 2
    assert at50["sd"] == pytest.approx(0.0191, abs=1e-4)
    assert s["vs_batch"]["points"]["100"]["misses"] == 0
    assert s["vs_not_learning"]["points"]["100"]["n"] == 3
    assert s["vs_not_learning"]["misses"] == 2 and s["vs_not_learning"]["checked"] == 7
    table = format_across_seeds(s).splitlines()
    assert table[0].startswith("across 4 runs")
    assert table[-1].split()[:4] == ["misses", "2", "of", "7"]
