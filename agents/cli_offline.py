"""The ``vigil`` commands that run offline and print a result: replay, eval and bench.

Their inputs are checked before the long work starts (a missing file, a bad column, a
value out of range exit 2 at once, not after the models have loaded); their progress
goes to stderr, as a bar on a terminal only (agents.progress).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from agents.cli_services import mapping
from agents.cli_support import (UsageError, emit_json, require_dir, require_file,
                                require_out_dir, require_range, say, settings_from)


def cmd_replay(args: argparse.Namespace) -> int:
    from agents.replay import replay_file, replay_topic

    if args.topic and args.input:
        raise UsageError("give an INPUT file or --topic, not both")
    if not args.topic and not args.input:
        raise UsageError("give an INPUT file (CSV or JSONL) or --topic")
    if not args.topic and (args.from_time or args.to_time):
        raise UsageError("--from/--to select a range of --topic; a file is replayed whole")
    path = None if args.topic else require_file(args.input, "INPUT")
    if path is not None and path.suffix.lower() not in (".jsonl", ".ndjson", ".json", ".csv",
                                                          ".tsv"):
        raise UsageError(f"INPUT: expected a .jsonl or .csv file, not {path.name}")
    if args.idle_timeout <= 0:
        raise UsageError(f"--idle-timeout must be above 0, not {args.idle_timeout:g}")
    require_out_dir(args.out)
    settings = settings_from(args)
    if args.topic:
        summary = replay_topic(settings, args.topic, args.out, start=args.from_time,
                               end=args.to_time, idle_timeout_s=args.idle_timeout)
    else:
        summary = replay_file(settings, path, args.out, mapping(args))
    if args.json:
        emit_json(summary | {"out": str(args.out)})
    say(args, f"replayed {summary['rows']} rows at {summary['posts_per_s']:.0f} posts/s: "
              f"{summary['scored']} scored, {summary['dead_lettered_total']} dead-lettered, "
              f"{summary['duplicates']} duplicates, {sum(summary['trends'].values())} trend "
              f"signals, {sum(summary['escalations'].values())} escalations -> {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.run import KEYS, STEPS, run, table

    only = tuple(s.strip() for s in args.only.split(",")) if args.only else STEPS
    if unknown := set(only) - set(STEPS):
        raise UsageError(f"unknown --only {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(STEPS)}")
    result = run(quick=args.quick, only=only, progress=lambda m: say(args, m))
    if args.json:
        emit_json({k: result[k] for k in KEYS} | {"details": result})
    else:
        print(table(result))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.target == "trends":
        return _eval_trends(args)
    return _eval_toxicity(args)


def _eval_trends(args: argparse.Namespace) -> int:
    from agents.trend_evaluation import evaluate_trends, event_names, print_report
    from models.bursts import BurstParams

    data = require_dir(args.data, "--data")
    if not event_names(data):
        raise UsageError(f"--data: no CrisisLexT26 event in {data} (expected the "
                         "crisislex_t26 folder)")
    s = settings_from(args)
    params = BurstParams(window_s=s.burst_window_s, z=s.burst_z, min_count=s.burst_min_count,
                         min_history=s.burst_min_history, alpha=s.burst_alpha,
                         max_p=s.burst_max_p)
    print_report(evaluate_trends(data, params), as_json=args.json)
    return 0


def _check_toxicity_args(args: argparse.Namespace) -> tuple[Path, list[int]]:
    """Every mistake in ``vigil eval toxicity``'s arguments, before any model loads."""
    if not args.positive:
        raise UsageError("--positive is required (the label value(s) meaning toxic)")
    try:
        seeds = [int(v) for v in str(args.seed).split(",")]
    except ValueError:
        raise UsageError("--seed takes integers, comma-separated") from None
    require_range(args.feedback_fraction, "--feedback-fraction", 0.0, 1.0)
    require_range(args.flip_fraction, "--flip-fraction", 0.0, 0.5)
    require_range(args.threshold, "--threshold", 0.0, 1.0, low_open=True, high_open=False)
    if args.target_precision is not None:
        require_range(args.target_precision, "--target-precision", 0.0, 1.0, high_open=False)
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    data = require_file(args.data, "--data")
    csv.field_size_limit(sys.maxsize)
    with data.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        columns = next(csv.reader(fh), [])
    for flag, col in (("--text-col", args.text_col), ("--label-col", args.label_col)):
        if col not in columns:
            raise UsageError(f"{flag}: {data} has no column {col!r}; columns are "
                             f"{', '.join(columns) or '(none: an empty file?)'}")
    return data, seeds


def _eval_toxicity(args: argparse.Namespace) -> int:
    from agents.evaluation import CURVE, evaluate_toxicity, prepare
    from agents.progress import progress
    from models.toxicity_model import CommunityPolicy

    data, seeds = _check_toxicity_args(args)
    settings = settings_from(args)
    target = None if args.target_precision in (None, 0) else args.target_precision
    options = dict(text_col=args.text_col, label_col=args.label_col,
                   positive={v.strip() for v in args.positive.split(",")},
                   embeddings=not args.no_embeddings, limit=args.limit,
                   backend=args.backend or settings.embedding_backend,
                   onnx_dir=settings.embedding_onnx_dir)
    # scored once for every seed, with the policy evaluate_toxicity would build itself
    policy = CommunityPolicy(toxicity_threshold=args.threshold, target_precision=target)
    bar = None

    def scoring(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or progress(total, "eval: scoring", "rows")
        bar.update(done)

    prepared = prepare(data, **options, policy=policy, progress=scoring)
    if bar is not None:
        bar.close()
    n_fb = int(round(args.feedback_fraction * len(prepared[0])))
    per_seed = len({p for p in CURVE if p < n_fb} | {n_fb}) if n_fb else 0
    # without feedback there is nothing to learn, and no second bar
    learning = progress(per_seed * len(seeds), "eval: learning", "points") if n_fb else None
    done = 0

    def point(p: dict) -> None:
        nonlocal done
        done += 1
        learning.update(done, labels=p["label"], vigil_auc=p["vigil_roc_auc"])

    try:
        results = [evaluate_toxicity(
            data, **options, feedback_fraction=args.feedback_fraction, seed=seed,
            threshold=args.threshold, flip_fraction=args.flip_fraction,
            target_precision=target, progress=point if learning else None,
            _prepared=prepared) for seed in seeds]
    finally:
        if learning is not None:
            learning.close()
    if args.json:
        emit_json(results[0] if len(results) == 1 else results)
        return 0
    for result in results:
        _print_toxicity(result)
    if len(results) > 1 and n_fb:
        from agents.eval_checks import across_seeds, format_across_seeds
        print(format_across_seeds(across_seeds(results)))
    return 0


def _print_toxicity(result: dict) -> None:
    for key, value in result.items():
        if key not in ("prequential_auc", "learning_curve", "checks"):
            print(f"{key:<28} {value}")
    if result.get("learning_curve"):
        print(f"{'labels':>7} {'vigil':>7} {'learner':>7} {'batch':>7} {'prior':>7} "
              f"{'vigil_seen':>10} {'shipped_seen':>12} {'prior_seen':>10} {'beta':>5} "
              f"{'thr':>6}")
        for p in result["learning_curve"]:
            print(f"{p['label']:>7} {p['vigil_roc_auc']!s:>7} {p['learner_roc_auc']!s:>7} "
                  f"{p['batch_roc_auc']!s:>7} {p['prior_roc_auc']!s:>7} "
                  f"{p['vigil_seen_roc_auc']!s:>10} {p['shipped_seen_roc_auc']!s:>12} "
                  f"{p['prior_seen_roc_auc']!s:>10} {round(p['beta'], 3):>5} "
                  f"{p['threshold']:>6}")
    checks = result.get("checks")
    if checks:
        for name in ("vs_batch", "vs_not_learning", "vs_prior"):
            c = checks[name]
            misses = ", ".join(f"{m['gap']:+.4f}@{m['label']}" for m in c["misses"]) or "none"
            print(f"{name:<16} worst {c['worst']}@{c['at']}  below -{checks['margin']}: {misses}")
