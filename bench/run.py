"""``vigil bench [--quick] [--json]``: Vigil against its limits, in one run.

    raw pass-through ─ bare Faust forward ─ bare model         (the limits)
    Vigil without embeddings ─ Vigil full pipeline             (Vigil's paths)

Each measurement gets its own embedded broker (topics start empty); every path uses the
same generated corpus. Ratios: ``nonml_ratio`` = Vigil without embeddings ÷ bare Faust
forward, ``pipeline_ratio`` = full pipeline ÷ bare model.
"""

from __future__ import annotations

import json
import platform as _platform
import tempfile
import time
from pathlib import Path

from bench import limits, pipeline
from bench.corpus import make_corpus, texts_of
from config.settings import Settings

KEYS = ("passthrough_posts_per_s", "faust_forward_posts_per_s", "model_posts_per_s",
        "nonml_posts_per_s", "pipeline_posts_per_s", "nonml_ratio", "pipeline_ratio",
        "p99_scored_s", "p99_escalation_s", "rss_mb")

SIZES = {  # posts per measurement: quick (< 3 min) / full (< 15 min)
    True: {"passthrough": 20_000, "forward": 4_000, "model": 600, "nonml": 4_000,
           "pipeline": 1_500, "latency_s": 10},
    False: {"passthrough": 100_000, "forward": 20_000, "model": 3_000, "nonml": 20_000,
            "pipeline": 8_000, "latency_s": 30},
}


def _broker(log_dir: Path):
    from config.settings import Settings
    from streams.admin import create_topics
    from streams.broker import EmbeddedBroker

    b = EmbeddedBroker(log_path=log_dir / "tansu.log").start()
    create_topics(Settings.load(env={}, broker=b.url))
    return b


def _vigil_path(log_dir: Path, n: int, latency_s: float, *, embeddings: bool) -> dict:
    from streams.broker import free_port

    broker = _broker(log_dir)
    worker = pipeline.Worker(broker.url, log_dir, embeddings=embeddings, web_port=free_port())
    try:
        worker.wait_ready()
        # warm-up: the consumer group joins and the models load before the clock starts
        warm_v, warm_k = make_corpus(50, seed=1)
        pipeline.throughput(broker.bootstrap, worker, warm_v, warm_k, warmup=0)
        values, keys = make_corpus(n, seed=2)
        tp = pipeline.throughput(broker.bootstrap, worker, values, keys, warmup=n // 10,
                                 already=len(warm_v))
        rate = tp["posts_per_s"] / 2  # latency at half the measured maximum
        lat_v, lat_k = make_corpus(max(20, int(rate * latency_s)), seed=3)
        lat = pipeline.latency(broker.bootstrap, lat_v, lat_k, rate,
                               id_of=lambda v: json.loads(v)["id"])
        _, rss = worker.stats()
        return {**tp, **lat, "rss_mb": rss}
    finally:
        worker.stop()
        broker.stop()


def run(quick: bool = False, progress=print) -> dict:
    size = SIZES[quick]
    out: dict = {"quick": quick, "machine": f"{_platform.machine()}, "
                 f"{__import__('os').cpu_count()} cores, Python {_platform.python_version()}"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name in ("passthrough", "forward", "nonml", "pipeline"):
            (tmp / name).mkdir()
        progress("1/5 raw pass-through (aiokafka)")
        values, keys = make_corpus(size["passthrough"], seed=4)
        b = _broker(tmp / "passthrough")
        try:
            out["passthrough_posts_per_s"] = limits.passthrough(b.bootstrap, values, keys,
                                                                warmup=len(values) // 10)
        finally:
            b.stop()
        progress("2/5 bare Faust forward")
        values, keys = make_corpus(size["forward"], seed=5)
        b = _broker(tmp / "forward")
        try:
            out["faust_forward_posts_per_s"] = limits.faust_forward(
                b.url, b.bootstrap, values, keys, warmup=len(values) // 10, log_dir=tmp / "forward")
        finally:
            b.stop()
        progress("3/5 bare embedding model (and torch fp32 for reference)")
        values, _ = make_corpus(size["model"], seed=6)
        settings = Settings.load()
        texts = texts_of(values)
        out["model_backend"], out["model_batch_size"] = settings.embedding_backend, 32
        out["model_posts_per_s"] = limits.model_rate(
            texts, backend=settings.embedding_backend, onnx_dir=settings.embedding_onnx_dir)
        out["model_fp32_posts_per_s"] = limits.model_rate(texts[:size["model"] // 2],
                                                          backend="torch-fp32")
        out["model_speedup_vs_fp32"] = out["model_posts_per_s"] / out["model_fp32_posts_per_s"]
        progress("4/5 Vigil without embeddings")
        nonml = _vigil_path(tmp / "nonml", size["nonml"], size["latency_s"], embeddings=False)
        progress("5/5 Vigil full pipeline")
        full = _vigil_path(tmp / "pipeline", size["pipeline"], size["latency_s"], embeddings=True)
    out["nonml_posts_per_s"] = nonml["posts_per_s"]
    out["pipeline_posts_per_s"] = full["posts_per_s"]
    out["nonml_ratio"] = nonml["posts_per_s"] / out["faust_forward_posts_per_s"]
    out["pipeline_ratio"] = full["posts_per_s"] / out["model_posts_per_s"]
    out["p99_scored_s"] = full["p99_scored_s"]
    out["p99_escalation_s"] = full["p99_escalation_s"]
    out["rss_mb"] = full["rss_mb"]
    out["nonml"], out["pipeline"] = nonml, full
    out["elapsed_s"] = time.perf_counter() - started
    return out


def table(r: dict) -> str:
    def f(x, unit=""):
        return "—" if x is None else (f"{x:,.0f}{unit}" if x >= 100 else f"{x:.3g}{unit}")

    rows = [("raw pass-through (aiokafka)", f(r["passthrough_posts_per_s"]), "", "", ""),
            ("bare Faust forward", f(r["faust_forward_posts_per_s"]), "", "", ""),
            (f"bare model ({r['model_backend']}, batch {r['model_batch_size']})",
             f(r["model_posts_per_s"]), "", "", ""),
            ("bare model (torch-fp32, reference)", f(r["model_fp32_posts_per_s"]), "", "", "")]
    for name, key in (("Vigil without embeddings", "nonml"), ("Vigil full pipeline", "pipeline")):
        p = r[key]
        rows.append((name, f(p["posts_per_s"]),
                     f"{f(p['p50_scored_s'], ' s')} / {f(p['p95_scored_s'], ' s')} / {f(p['p99_scored_s'], ' s')}",
                     f"{f(p['p50_escalation_s'], ' s')} / {f(p['p95_escalation_s'], ' s')} / {f(p['p99_escalation_s'], ' s')}",
                     f"{p['cpu_s_per_1000']:.2f} s, {p['rss_mb']:.0f} MB"))
    head = ("path", "posts/s", "→ scored p50/p95/p99", "→ escalation p50/p95/p99",
            "CPU per 1k posts, peak RSS")
    lines = [" | ".join(head), " | ".join("---" for _ in head)] + [" | ".join(row) for row in rows]
    lines.append(f"\nnonml_ratio {r['nonml_ratio']:.2f} (target ≥ 0.70), pipeline_ratio "
                 f"{r['pipeline_ratio']:.2f} (target ≥ 0.85); model "
                 f"{r['model_speedup_vs_fp32']:.1f}× torch fp32 (target ≥ 2.5); {r['machine']}; "
                 f"{r['elapsed_s']:.0f} s")
    return "\n".join(lines)
