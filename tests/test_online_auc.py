"""The learner's online ROC-AUC is the exact one: what sklearn and ``vigil eval`` say."""

from __future__ import annotations

import random

import pytest

from models.online_auc import RollingAUC

roc_auc_score = pytest.importorskip("sklearn.metrics").roc_auc_score


@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn_over_the_last_window_labels(seed):
    rng = random.Random(seed)
    window = 50
    auc = RollingAUC(window=window)
    seen: list[tuple[float, bool]] = []
    checked = 0
    for _ in range(400):
        toxic = rng.random() < 0.3
        # coarse scores, so that ties (between and within classes) are common
        score = round(min(1.0, max(0.0, rng.gauss(0.6 if toxic else 0.4, 0.2))), 2)
        got = auc.update(score, toxic)
        seen.append((score, toxic))
        last = seen[-window:]
        labels = [t for _, t in last]
        if all(labels) or not any(labels):
            assert got is None
            continue
        expected = roc_auc_score(labels, [s for s, _ in last])
        assert got == pytest.approx(expected, abs=1e-9)
        checked += 1
    assert checked > 300


def test_differs_from_ten_threshold_binning_where_scores_share_a_bin():
    river_metrics = pytest.importorskip("river.metrics")
    river_utils = pytest.importorskip("river.utils")
    binned = river_utils.Rolling(river_metrics.ROCAUC, window_size=100)
    exact = RollingAUC(window=100)
    for score, toxic in [(0.51, False), (0.55, True), (0.2, False), (0.9, True)]:
        binned.update(toxic, score)
        value = exact.update(score, toxic)
    assert value == 1.0 == roc_auc_score([0, 1, 0, 1], [0.51, 0.55, 0.2, 0.9])
    assert binned.get() < 0.9  # the defect this replaced: 0.875


def test_a_window_too_small_for_both_classes_is_refused():
    with pytest.raises(ValueError):
        RollingAUC(window=1)
