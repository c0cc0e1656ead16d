"""How long a week's report takes: 100,000 posts in 100 communities (synthetic records
in the shapes the worker writes), from a replay folder to HTML, PDF and JSON.

    python -m bench.report [--posts 100000] [--communities 100] [--json]

The reference, in the same run, is reading the same files bare (``json.loads`` of each
line): the report's cost is stated as seconds and as a ratio to that.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

WEEK = 7 * 86400.0
START = 1_793_577_600.0  # 2026-11-02T00:00:00Z, a Monday


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def synthesise(folder: Path, posts: int, communities: int, seed: int = 1) -> None:
    """Two weeks of records, ``posts`` in each (the period and the one before), written
    by us."""
    rnd = random.Random(seed)
    names = [f"r/community{i:03d}" for i in range(communities)]
    with (folder / "scored.jsonl").open("w") as fh:
        for i in range(2 * posts):
            ts = START + rnd.random() * 2 * WEEK
            flagged = rnd.random() < 0.04
            fh.write(json.dumps({
                "post": {"platform": "reddit", "community": rnd.choice(names), "post_id": f"p{i}",
                         "author_id": f"a_{rnd.randrange(posts // 8):012x}",
                         "text": "a post about the game", "created_at": _iso(ts),
                         "ingested_at": _iso(ts)},
                "toxicity": 0.9 if flagged else 0.05, "sentiment": rnd.uniform(-1, 1),
                "model_version": "bench", "decision": "escalate" if flagged else "none",
                "scored_at": _iso(ts)}) + "\n")
    with (folder / "trends.jsonl").open("w") as fh, (folder / "escalations.jsonl").open("w") as esc:
        for t in range(communities * 3):
            first = START + rnd.random() * 2 * WEEK
            kind = rnd.choice(["threat", "opportunity", "neutral"])
            for w in range(6):
                end = first + (w + 1) * 900
                fh.write(json.dumps({
                    "trend_id": f"t{t}", "community": names[t % communities], "platform": "reddit",
                    "topic_id": "x", "topic_label": "patch", "kind": kind,
                    "severity": rnd.choice(["high", "medium", "low"]),
                    "state": "rising" if w < 5 else "resolved", "window_start": _iso(end - 900),
                    "window_end": _iso(end), "volume": rnd.randrange(5, 80), "baseline": 3.0,
                    "zscore": 5.0, "growth_rate": 1.0, "sentiment": rnd.uniform(-1, 1),
                    "toxicity_share": 0.1, "first_seen": _iso(first), "emitted_at": _iso(end),
                    "top_terms": ["patch", "crash"], "exemplars": ["the patch broke it"]}) + "\n")
        for k in range(communities * 30):
            first = START + rnd.random() * 2 * WEEK
            key = f"moderation:reddit:{names[k % communities]}:a_{k:012x}"
            for n, status in enumerate(("triggered", "acknowledged", "resolved")):
                esc.write(json.dumps({
                    "id": f"{key}:{n}", "dedup_key": key, "type": "moderation",
                    "severity": "medium", "status": status, "community": names[k % communities],
                    "platform": "reddit", "title": "t", "summary": "s", "recommended_action": "r",
                    "runbook_url": "", "first_seen": _iso(first), "last_seen": _iso(first),
                    "occurrence_count": 1, "created_at": _iso(first + 30 + n * 600),
                    "evidence": {"author_id": f"a_{k:012x}", "recommended": "warn"}}) + "\n")
    (folder / "labels.jsonl").write_text("")


def run(posts: int, communities: int) -> dict:
    from agents.report import build_report, default_period
    from agents.report_sources import from_replay

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synthesise(folder, posts, communities)
        started = time.perf_counter()
        for name in ("scored.jsonl", "trends.jsonl", "escalations.jsonl"):
            with (folder / name).open() as fh:
                [json.loads(line) for line in fh]
        bare_s = time.perf_counter() - started
        started = time.perf_counter()
        records, _ = from_replay(folder)
        read_s = time.perf_counter() - started
        period = default_period(records, days=7, end=_iso(START + 2 * WEEK))
        files = build_report(records, folder / "out", period=period, source="bench")
        total_s = read_s + files.timings_s["total_s"]
        return {"posts": posts, "communities": communities,
                "posts_in_period": files.figures["headline"]["current"]["posts"],
                "read_s": round(read_s, 2), **{k: round(v, 2) for k, v in files.timings_s.items()},
                "report_total_s": round(total_s, 2), "bare_read_s": round(bare_s, 2),
                "ratio_to_bare_read": round(total_s / bare_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--communities", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.posts, args.communities)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
