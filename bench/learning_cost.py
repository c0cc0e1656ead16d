"""What one moderator label costs the learner, from the first label to the 50,000th.

    .venv/bin/python bench/learning_cost.py [--labels 50000] [--communities 1 20] [--json]

Synthetic labelled posts with Vigil's feature shape (a unit 384-d embedding plus the
shipped logit; labels from a hidden linear rule with noise) are learnt one at a time by
:class:`CommunityLearner`, as the feedback task does, with the guard's out-of-sample
evidence where ToxicityModel.learn runs it (the community's, and the shared model's at
its refits).
Reported per window of labels: mean and max milliseconds per label, and the exact
refits done. The buffer bounds the work, so the cost at 50,000 labels is the cost at the
buffer's size; the ratio last/first-full-buffer window says so. A bare reference in the
same run: one ``numpy`` matrix-vector product over the buffer (what any refit must at
least touch), so the figures travel between machines as ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.learner import SHARED, CommunityLearner  # noqa: E402
from models.prototypes import PROTOTYPES  # noqa: E402
from models.toxicity_model import Evidence  # noqa: E402

#: the learner's real input width (the embedding and the shipped logit)
DIM = len(Evidence(0.5, {}, np.zeros(384), np.zeros(len(PROTOTYPES))).features())


def run(labels: int, communities: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=DIM)
    truth[-1] = abs(truth[-1])  # the last feature is the shipped logit: it agrees with labels
    learner = CommunityLearner()
    windows, marks = [], {1000, 4000, 5000, 10_000, 20_000, labels}
    started, costs, refits0 = time.perf_counter(), [], 0
    for i in range(1, labels + 1):
        v = rng.normal(size=384)
        x = np.concatenate([v / np.linalg.norm(v), rng.normal(size=DIM - 384)]).astype(np.float32)
        y = int(x @ truth + rng.normal() > 0)
        community = f"c{i % communities}"
        t0 = time.perf_counter()
        refits, shared = learner.refits, learner.fits.get(SHARED)
        learner.learn(community, f"p{i}", x, float(x[-1]), y, time=float(i))
        # what ToxicityModel.learn adds: the guard's out-of-sample evidence, every label while a
        # community has fewer than 100 and at each exact refit after that; the shared model's
        # at each of its refits
        if learner.buffer.count(community) < 100 or learner.refits != refits:
            learner.out_of_sample(community)
        if learner.fits.get(SHARED) is not shared:
            learner.out_of_sample(SHARED)
        costs.append(time.perf_counter() - t0)
        if i in marks:
            c = np.array(costs) * 1000
            windows.append({"labels": i, "mean_ms": round(float(c.mean()), 3),
                            "p99_ms": round(float(np.percentile(c, 99)), 3),
                            "max_ms": round(float(c.max()), 3),
                            "refits": learner.refits - refits0,
                            "buffered": len(learner.buffer)})
            costs, refits0 = [], learner.refits
    buf = np.random.default_rng(1).normal(size=(learner.buffer.per_community, DIM))
    w = np.ones(DIM)
    t0 = time.perf_counter()
    for _ in range(100):
        buf @ w
    matvec_ms = (time.perf_counter() - t0) * 10
    return {"labels": labels, "communities": communities, "windows": windows,
            "bare_matvec_ms": round(matvec_ms, 4),
            "last_over_first_full": round(windows[-1]["mean_ms"] / windows[1]["mean_ms"], 2),
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, default=50_000)
    ap.add_argument("--communities", type=int, nargs="+", default=[1, 20])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = [run(args.labels, c) for c in args.communities]
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        print(f"{r['communities']} communities, {r['labels']} labels, {r['seconds']} s; "
              f"bare matvec over a full buffer {r['bare_matvec_ms']} ms")
        for w in r["windows"]:
            print(f"  up to {w['labels']:>6}: mean {w['mean_ms']:>7} ms  p99 {w['p99_ms']:>8} ms  "
                  f"max {w['max_ms']:>8} ms  refits {w['refits']:>5}  buffered {w['buffered']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
