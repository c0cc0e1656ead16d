"""Where a worker's time goes: py-spy samples a real worker while it drains the corpus.

    python -m bench.worker_profile [--embeddings] [--posts N] [--seconds S] [--top K]

Starts an embedded broker and a worker (as ``vigil bench`` does), warms it up, produces
``N`` posts at once and records the worker with ``py-spy record --format raw`` (every
thread, idle samples dropped) for ``S`` seconds. Prints the share of samples per
thread, the functions that hold the most samples themselves (self) and those under
which most samples fall (inclusive, Vigil's and Faust's own code), and writes the raw
collapsed stacks next to the worker's log for a flame graph. Needs ``pip install py-spy``
and permission to ptrace the worker (root, or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import pipeline
from bench.corpus import make_corpus
from bench.limits import produce_all
from bench.run import _broker

OWN = ("agents/", "models/", "streams/", "connectors/", "faust/", "mode/", "aiokafka/")


def summarise(collapsed: str, top: int = 15) -> str:
    """A text summary of py-spy's raw (collapsed) output: ``frame;frame;... count``."""
    threads: Counter = Counter()
    self_: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        self_[_short(frames[-1])] += n
        for frame in set(frames[1:]):
            if any(o in frame for o in OWN):
                inclusive[_short(frame)] += n
    if not total:
        return "no samples (was the worker busy?)"
    lines = [f"{total} samples"]
    for title, counts in (("threads", threads), ("self", self_), ("inclusive", inclusive)):
        lines.append(f"\n{title}:")
        lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in counts.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    # "func (path/to/site-packages/pkg/mod.py:123)" -> "func (pkg/mod.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.worker_profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--embeddings", action="store_true", help="the full pipeline (default: non-ML)")
    p.add_argument("--posts", type=int, default=6000)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--out", type=Path, help="keep the collapsed stacks here")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("bench.worker_profile needs py-spy: pip install py-spy")
    from streams.broker import free_port

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker = _broker(tmp)
        worker = pipeline.Worker(broker.url, tmp, embeddings=args.embeddings, web_port=free_port())
        try:
            worker.wait_ready()
            warm_v, warm_k = make_corpus(50, seed=1)
            pipeline.throughput(broker.bootstrap, worker, warm_v, warm_k, warmup=0)
            values, keys = make_corpus(args.posts, seed=2)
            produce_all(broker.bootstrap, "posts.raw", values, keys)
            raw = tmp / "profile.txt"
            subprocess.run([spy, "record", "--pid", str(worker.proc.pid), "--format", "raw",
                            "--duration", str(args.seconds), "--rate", "200", "--threads",
                            "--output", str(raw), "--nonblocking"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            text = raw.read_text()
            if args.out:
                args.out.write_text(text)
            print(summarise(text, args.top))
        finally:
            worker.stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
