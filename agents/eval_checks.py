"""The learning curve's promises, checked: per run, and summed up over several seeds.

Two promises are read off ``learning_curve`` (see :mod:`agents.evaluation`):

* ``vs_batch``: Vigil's holdout AUC minus the batch reference's (a logistic regression
  refitted on the same labels), at every curve point;
* ``vs_not_learning``: Vigil's prequential AUC on the labels seen so far minus the
  as-shipped score's on the same labels (what not learning at all would have given),
  from ``from_labels`` labels on; ``vs_prior`` the same against the lexical prior.

A point *misses* where the gap is below ``-margin``. On 50–100 labels the gap itself
wanders by 0.02–0.04 from one seed to the next, more than the margin, so one run's miss
says little; :func:`across_seeds` gives each point's mean, spread and misses over seeds,
which is what a data scientist tuning the learner should compare.

>>> curve = [{"label": "50", "labels": 50, "vigil_roc_auc": 0.70, "batch_roc_auc": 0.72,
...           "vigil_seen_roc_auc": 0.66, "shipped_seen_roc_auc": 0.65,
...           "prior_seen_roc_auc": 0.60}]
>>> checks = curve_checks(curve)
>>> checks["vs_batch"]["misses"], checks["vs_not_learning"]["misses"], checks["passed"]
([{'label': '50', 'gap': -0.02}], [], False)
"""

from __future__ import annotations

import statistics
from typing import Iterable, Optional

__all__ = ["CHECKS", "across_seeds", "curve_checks", "format_across_seeds"]

# name -> (Vigil's key, the reference's key, holds from the first point or from_labels)
CHECKS = {
    "vs_batch": ("vigil_roc_auc", "batch_roc_auc", False),
    "vs_not_learning": ("vigil_seen_roc_auc", "shipped_seen_roc_auc", True),
    "vs_prior": ("vigil_seen_roc_auc", "prior_seen_roc_auc", True),
}
# the promises; vs_prior is reported for the lexical prior, not required
REQUIRED = ("vs_batch", "vs_not_learning")


def _gaps(curve: Iterable[dict], name: str, from_labels: int) -> list[tuple[str, float]]:
    ours, theirs, late = CHECKS[name]
    return [(p["label"], round(p[ours] - p[theirs], 4)) for p in curve
            if p.get(ours) is not None and p.get(theirs) is not None
            and (not late or p["labels"] >= from_labels)]


def curve_checks(curve: list[dict], margin: float = 0.01, from_labels: int = 50) -> dict:
    """Per check: the worst gap, where, and every point below ``-margin``."""
    out: dict = {"margin": margin, "from_labels": from_labels}
    for name in CHECKS:
        gaps = _gaps(curve, name, from_labels)
        worst = min(gaps, key=lambda g: g[1], default=None)
        out[name] = {"worst": None if worst is None else worst[1],
                     "at": None if worst is None else worst[0],
                     "misses": [{"label": label, "gap": gap} for label, gap in gaps
                                if gap < -margin]}
    out["passed"] = not any(out[name]["misses"] for name in REQUIRED)
    return out


def across_seeds(results: list[dict], margin: float = 0.01, from_labels: int = 50) -> dict:
    """Each check's gap per curve point over the runs: mean, standard deviation, minimum
    and how many runs miss there; ``misses`` counts every point of every run."""
    out: dict = {"runs": len(results), "margin": margin}
    for name in CHECKS:
        by_label: dict[str, list[float]] = {}
        for r in results:
            for label, gap in _gaps(r.get("learning_curve") or [], name, from_labels):
                by_label.setdefault(label, []).append(gap)
        points = {label: {"mean": round(statistics.fmean(g), 4),
                          "sd": round(statistics.stdev(g), 4) if len(g) > 1 else None,
                          "min": min(g), "misses": sum(x < -margin for x in g), "n": len(g)}
                  for label, g in by_label.items()}
        out[name] = {"points": points,
                     "misses": sum(p["misses"] for p in points.values()),
                     "checked": sum(p["n"] for p in points.values())}
    return out


def _cell(point: Optional[dict]) -> str:
    if point is None:
        return f"{'':>23}"
    sd = "" if point["sd"] is None else f"±{point['sd']:.3f}"
    return f"{point['mean']:+.3f}{sd:<7} {point['min']:+.3f} {point['misses']:>2}"


def format_across_seeds(summary: dict) -> str:
    """A text table: per curve point, each check's mean±sd, minimum and misses."""
    labels: list[str] = []
    for name in CHECKS:
        labels += [k for k in summary[name]["points"] if k not in labels]
    lines = [f"across {summary['runs']} runs: gap mean±sd, min, runs below "
             f"-{summary['margin']}",
             f"{'labels':>7}  " + "  ".join(f"{name:<23}" for name in CHECKS)]
    for label in labels:
        lines.append(f"{label:>7}  " + "  ".join(
            _cell(summary[name]["points"].get(label)) for name in CHECKS))
    lines.append(f"{'misses':>7}  " + "  ".join(
        f"{summary[name]['misses']:>3} of {summary[name]['checked']:<16}" for name in CHECKS))
    return "\n".join(lines)
