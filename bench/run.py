"""``vigil bench [--quick] [--json]``: Vigil against its limits, in one run.

    raw pass-through ─ bare Faust forward ─ bare model         (the limits)
    Vigil without embeddings ─ Vigil full pipeline             (Vigil's paths)
    vigil serve under concurrent Perspective clients           (the scoring API)

Each measurement gets its own embedded broker (topics start empty); every path uses the
same generated corpus. Ratios: ``nonml_ratio`` = Vigil without embeddings ÷ bare Faust
forward, ``pipeline_ratio`` = full pipeline ÷ bare model, ``api_ratio`` = the API's
requests/s (one comment each, embeddings on) ÷ bare model.
"""

from __future__ import annotations

import json
import os
import platform as _platform
import tempfile
import time
from pathlib import Path

from bench import limits, pipeline
from bench.corpus import make_corpus, texts_of
from config.settings import Settings

KEYS = ("passthrough_posts_per_s", "faust_forward_posts_per_s", "model_posts_per_s",
        "nonml_posts_per_s", "pipeline_posts_per_s", "nonml_ratio", "pipeline_ratio",
        "p99_scored_s", "p99_escalation_s", "rss_mb", "api_requests_per_s", "api_ratio",
        "api_p99_s", "api_lexical_requests_per_s")

SIZES = {  # posts per measurement: quick (< 5 min) / full (< 15 min)
    # Every rate is a window of at least ~5 s on a 2-core machine: windows of 1-3 s
    # (quick sizes until stop 37) swung the ratios 0.40-0.60 between runs (see README).
    True: {"passthrough": 20_000, "forward": 30_000, "model": 1_200, "nonml": 20_000,
           "pipeline": 2_500, "latency_s": 10, "scaleout": 30_000, "api_s": 10},
    False: {"passthrough": 100_000, "forward": 60_000, "model": 3_000, "nonml": 50_000,
            "pipeline": 8_000, "latency_s": 30, "scaleout": 40_000, "api_s": 30},
}
STEPS = ("passthrough", "forward", "model", "nonml", "pipeline", "scaleout", "api")


def _broker(log_dir: Path):
    from streams.admin import create_topics
    from streams.broker import EmbeddedBroker

    b = EmbeddedBroker(log_path=log_dir / "tansu.log").start()
    create_topics(Settings.load(env={}, broker=b.url))
    return b


def _start_workers(broker, log_dir: Path, n: int, *, embeddings: bool, into: list) -> int:
    """``n`` workers in one consumer group, warmed up (each has partitions and models);
    appended to ``into`` as they start, so the caller stops them whatever happens.
    Returns how many warm-up posts were scored."""
    from streams.broker import free_port

    workers = into
    for i in range(n):
        (log_dir / f"w{i}").mkdir(exist_ok=True)
        workers.append(pipeline.Worker(broker.url, log_dir / f"w{i}", embeddings=embeddings,
                                       web_port=free_port()))
    for w in workers:
        w.wait_ready()
    done, seed = 0, 100
    # warm-up rounds until every worker has scored something (the group has settled)
    while True:
        warm_v, warm_k = make_corpus(50, seed=seed)
        pipeline.throughput(broker.bootstrap, workers[0], warm_v, warm_k, warmup=0,
                            already=done)
        done, seed = done + len(warm_v), seed + 1
        if all(w.ingested() for w in workers):
            return done
        if seed > 130:  # a worker without partitions would make the scale-out a lie
            raise RuntimeError(f"after {done} warm-up posts some of the {len(workers)} "
                               "workers had read nothing (see their worker.log)")


def _vigil_path(log_dir: Path, n: int, latency_s: float | None, *, embeddings: bool,
                workers: int = 1) -> dict:
    broker = _broker(log_dir)
    running: list = []
    try:
        done = _start_workers(broker, log_dir, workers, embeddings=embeddings, into=running)
        values, keys = make_corpus(n, seed=2)
        tp = pipeline.throughput(broker.bootstrap, running, values, keys, warmup=n // 10,
                                 already=done)
        if latency_s is None:
            return tp
        rate = tp["posts_per_s"] / 2  # latency at half the measured maximum
        lat_v, lat_k = make_corpus(max(20, int(rate * latency_s)), seed=3)
        lat = pipeline.latency(broker.bootstrap, lat_v, lat_k, rate,
                               id_of=lambda v: json.loads(v)["id"])
        return {**tp, **lat, "rss_mb": max(w.stats()[1] for w in running)}
    finally:
        for w in running:
            w.stop()
        broker.stop()


def run(quick: bool = False, progress=print, only: tuple[str, ...] = STEPS) -> dict:
    """Every measurement in ``only`` (all by default); keys of skipped ones are None."""
    size = SIZES[quick]
    out: dict = dict.fromkeys(KEYS)
    out.update(quick=quick, machine=f"{_platform.machine()}, {os.cpu_count()} cores, "
               f"Python {_platform.python_version()}", steps=list(only))
    started = time.perf_counter()
    todo = [s for s in STEPS if s in only]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for i, step in enumerate(todo, 1):
            progress(f"{i}/{len(todo)} {TITLES[step]}")
            (tmp / step).mkdir()
            STEP_FUNCS[step](out, size, tmp / step)
    nonml, full = out.get("nonml"), out.get("pipeline")
    if nonml:
        out["nonml_posts_per_s"] = nonml["posts_per_s"]
    if full:
        out["pipeline_posts_per_s"] = full["posts_per_s"]
        out["p99_scored_s"] = full["p99_scored_s"]
        out["p99_escalation_s"] = full["p99_escalation_s"]
        out["rss_mb"] = full["rss_mb"]
    if nonml and out["faust_forward_posts_per_s"]:
        out["nonml_ratio"] = nonml["posts_per_s"] / out["faust_forward_posts_per_s"]
    if full and out["model_posts_per_s"]:
        out["pipeline_ratio"] = full["posts_per_s"] / out["model_posts_per_s"]
    api = out.get("api")
    if api:
        out["api_requests_per_s"] = api["requests_per_s"]
        out["api_p99_s"] = api["p99_s"]
        out["api_lexical_requests_per_s"] = api["lexical_requests_per_s"]
        if out["model_posts_per_s"]:
            out["api_ratio"] = api["requests_per_s"] / out["model_posts_per_s"]
    out["elapsed_s"] = time.perf_counter() - started
    return out


def _passthrough(out: dict, size: dict, tmp: Path) -> None:
    values, keys = make_corpus(size["passthrough"], seed=4)
    b = _broker(tmp)
    try:
        out["passthrough_posts_per_s"] = limits.passthrough(b.bootstrap, values, keys,
                                                            warmup=len(values) // 10)
    finally:
        b.stop()


def _forward(out: dict, size: dict, tmp: Path) -> None:
    values, keys = make_corpus(size["forward"], seed=5)
    b = _broker(tmp)
    try:
        out["faust_forward_posts_per_s"] = limits.faust_forward(
            b.url, b.bootstrap, values, keys, warmup=len(values) // 10, log_dir=tmp)
    finally:
        b.stop()


def _model(out: dict, size: dict, tmp: Path) -> None:
    values, _ = make_corpus(size["model"], seed=6)
    settings = Settings.load()
    texts = texts_of(values)
    out["model_backend"], out["model_batch_size"] = settings.embedding_backend, 32
    out["model_posts_per_s"] = limits.model_rate(
        texts, backend=settings.embedding_backend, onnx_dir=settings.embedding_onnx_dir)
    out["model_fp32_posts_per_s"] = limits.model_rate(texts[:size["model"] // 2],
                                                      backend="torch-fp32")
    out["model_speedup_vs_fp32"] = out["model_posts_per_s"] / out["model_fp32_posts_per_s"]


def _nonml(out: dict, size: dict, tmp: Path) -> None:
    out["nonml"] = _vigil_path(tmp, size["nonml"], size["latency_s"], embeddings=False)


def _pipeline(out: dict, size: dict, tmp: Path) -> None:
    out["pipeline"] = _vigil_path(tmp, size["pipeline"], size["latency_s"], embeddings=True)


def _scaleout(out: dict, size: dict, tmp: Path) -> None:
    # the same non-ML run, one worker then two on one broker (4 partitions per topic); then
    # the bare Faust forward the same way: how far this machine lets any Faust worker
    # scale (on 2 cores the broker, the bench and two workers share them)
    rates, forward = [], []
    for n in (1, 2):
        (tmp / str(n)).mkdir()
        rates.append(_vigil_path(tmp / str(n), size["scaleout"], None, embeddings=False,
                                 workers=n)["posts_per_s"])
    values, keys = make_corpus(size["scaleout"], seed=5)
    for n in (1, 2):
        (tmp / f"forward{n}").mkdir()
        b = _broker(tmp / f"forward{n}")
        try:
            forward.append(limits.faust_forward_scaleout(
                b.url, b.bootstrap, values, keys, warmup=len(values) // 10,
                log_dir=tmp / f"forward{n}", workers=n))
        finally:
            b.stop()
    out["scaleout"] = {"one_worker_posts_per_s": rates[0], "two_workers_posts_per_s": rates[1],
                       "ratio": rates[1] / rates[0],
                       "forward_one_worker_posts_per_s": forward[0],
                       "forward_two_workers_posts_per_s": forward[1],
                       "forward_ratio": forward[1] / forward[0]}


def _api(out: dict, size: dict, tmp: Path) -> None:
    from bench import api

    values, _ = make_corpus(2_000, seed=8)
    b = _broker(tmp)
    try:
        out["api"] = api.measure(b.url, tmp, texts_of(values), duration_s=size["api_s"],
                                 latency_s=size["api_s"])
    finally:
        b.stop()


TITLES = {"passthrough": "raw pass-through (aiokafka)", "forward": "bare Faust forward",
          "model": "bare embedding model (and torch fp32 for reference)",
          "nonml": "Vigil without embeddings", "pipeline": "Vigil full pipeline",
          "scaleout": "Vigil without embeddings, 1 worker vs 2 (and the bare Faust forward)",
          "api": "vigil serve, 32 concurrent clients (embeddings, then lexical only)"}
STEP_FUNCS = {"passthrough": _passthrough, "forward": _forward, "model": _model,
              "nonml": _nonml, "pipeline": _pipeline, "scaleout": _scaleout, "api": _api}


def table(r: dict) -> str:
    def f(x, unit=""):
        return "—" if x is None else (f"{x:,.0f}{unit}" if x >= 100 else f"{x:.3g}{unit}")

    rows = [("raw pass-through (aiokafka)", f(r["passthrough_posts_per_s"]), "", "", ""),
            ("bare Faust forward", f(r["faust_forward_posts_per_s"]), "", "", ""),
            (f"bare model ({r.get('model_backend', '—')}, batch 32)",
             f(r["model_posts_per_s"]), "", "", ""),
            ("bare model (torch-fp32, reference)", f(r.get("model_fp32_posts_per_s")), "", "", "")]
    for name, key in (("Vigil without embeddings", "nonml"), ("Vigil full pipeline", "pipeline")):
        p = r.get(key)
        if not p:
            rows.append((name, "—", "", "", ""))
            continue
        rows.append((name, f(p["posts_per_s"]),
                     " / ".join(f(p[f"p{q}_scored_s"], " s") for q in (50, 95, 99)),
                     " / ".join(f(p[f"p{q}_escalation_s"], " s") for q in (50, 95, 99)),
                     f"{p['cpu_s_per_1000']:.2f} s, {p['rss_mb']:.0f} MB"))
    if r.get("scaleout"):
        so = r["scaleout"]
        rows.append(("… 1 worker → 2 workers (non-ML)", f"{f(so['one_worker_posts_per_s'])} → "
                     f"{f(so['two_workers_posts_per_s'])} (×{so['ratio']:.2f})", "", "", ""))
        rows.append(("… bare Faust forward, 1 → 2 workers",
                     f"{f(so['forward_one_worker_posts_per_s'])} → "
                     f"{f(so['forward_two_workers_posts_per_s'])} "
                     f"(×{so['forward_ratio']:.2f})", "", "", ""))
    if r.get("api"):
        a = r["api"]
        rows.append(("vigil serve (requests/s, 1 comment each)", f(a["requests_per_s"]),
                     f"p50 {f(a['p50_s'], ' s')}, p99 {f(a['p99_s'], ' s')} at half load", "",
                     f"lexical only: {f(a['lexical_requests_per_s'])} requests/s"))
    head = ("path", "posts/s", "→ scored p50/p95/p99", "→ escalation p50/p95/p99",
            "CPU per 1k posts, peak RSS")
    lines = [" | ".join(head), " | ".join("---" for _ in head)] + [" | ".join(row) for row in rows]
    lines.append(f"\nnonml_ratio {f(r['nonml_ratio'])} (target ≥ 0.50, aim 0.70), pipeline_ratio "
                 f"{f(r['pipeline_ratio'])} (target ≥ 0.90); model "
                 f"{f(r.get('model_speedup_vs_fp32'))}× torch fp32 (target ≥ 2.5); api_ratio "
                 f"{f(r.get('api_ratio'))} (target ≥ 0.8); "
                 f"{r['machine']}; {r['elapsed_s']:.0f} s")
    return "\n".join(lines)
