"""MiniLM embedding backends on real posts: agreement with fp32, throughput, memory.

    .venv/bin/python bench/embeddings.py [--n 2000] [--threads 2] [--batch 32 8] [--json]

Reads the first ``--n`` tweets of the Davidson et al. set (``--csv``; column ``tweet``;
see ``../shared/data/README.md``; nothing here learns from them) and embeds the same
texts with four backends:

- ``torch-fp32``, ``torch-bf16``: :class:`SentenceEmbedder` on sentence-transformers;
- ``onnx-fp32``: the unquantised ONNX export, through :class:`OnnxMiniLM`;
- ``onnx-int8``: :class:`SentenceEmbedder` with ``backend="onnx-int8"``.

For each backend and batch size: one warm-up pass over 64 texts, then one timed pass over
all ``--n`` texts with an empty cache (sentences/s). Agreement is the cosine of each
text's vector to torch-fp32's (the first ``--batch`` size's run): mean, min, 1st percentile.
Memory is the peak RSS of a fresh process that imports, loads one backend and embeds 64
texts (``--no-rss`` skips it), with that process's wall time to its first vectors.
The ONNX files are built into ``--onnx-dir`` (with the fp32 export) when missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_CSV = REPO.parent / "shared/data/davidson_hate_offensive/labeled_data.csv"
BACKENDS = ("torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")

RSS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
backend, onnx_dir, threads = sys.argv[2], sys.argv[3], int(sys.argv[4])
texts = json.loads(sys.stdin.read())
if backend == "onnx-fp32":
    from models.onnx_minilm import FP32_FILE, OnnxMiniLM
    from pathlib import Path
    OnnxMiniLM(Path(onnx_dir) / FP32_FILE, threads=threads).encode(texts)
else:
    from models.embeddings import SentenceEmbedder
    SentenceEmbedder(backend=backend, onnx_dir=onnx_dir, threads=threads).embed(texts)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": hwm / 1024,
                  "first_vectors_s": time.perf_counter() - t0,
                  "torch_imported": "torch" in sys.modules}))
"""


def read_texts(path: Path, n: int) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    texts = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = (row["tweet"] or "").strip()
            if text:
                texts.append(text)
            if len(texts) >= n:
                break
    return texts


class OnnxFp32:
    """The unquantised export behind the same calls the bench makes on SentenceEmbedder."""

    def __init__(self, onnx_dir: Path, threads: int):
        from models.onnx_minilm import FP32_FILE, OnnxMiniLM

        self.model = OnnxMiniLM(onnx_dir / FP32_FILE, threads=threads)
        self.batch_size = 32

    def embed(self, texts):
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # as SentenceEmbedder
        vecs = self.model.encode([texts[i] for i in order], batch_size=self.batch_size)
        out = np.empty_like(vecs)
        out[order] = vecs
        return out


def make(backend: str, onnx_dir: Path, threads: int):
    if backend == "onnx-fp32":
        return OnnxFp32(onnx_dir, threads)
    from models.embeddings import SentenceEmbedder

    return SentenceEmbedder(backend=backend, onnx_dir=str(onnx_dir), threads=threads).load()


def timed(embedder, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    embedder.batch_size = batch
    if hasattr(embedder, "_cache"):
        embedder._cache.clear()
    embedder.embed(texts[:64])  # warm-up
    if hasattr(embedder, "_cache"):
        embedder._cache.clear()
    started = time.perf_counter()
    vecs = embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started), vecs


def agreement(vecs: np.ndarray, ref: np.ndarray) -> dict:
    cos = (vecs * ref).sum(axis=1)  # both unit length
    return {"cos_mean": round(float(cos.mean()), 5), "cos_min": round(float(cos.min()), 5),
            "cos_p1": round(float(np.percentile(cos, 1)), 5)}


def peak_rss(backend: str, onnx_dir: Path, threads: int, texts: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", RSS_CHILD, str(REPO), backend, str(onnx_dir),
                           str(threads)], input=json.dumps(texts[:64]), capture_output=True,
                          text=True, check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in got.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 8])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--onnx-dir", type=Path, default=REPO / "var/models/minilm-l6-v2-onnx")
    parser.add_argument("--no-rss", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        raise SystemExit(f"bench/embeddings.py: no {args.csv} (see ../shared/data/README.md)")

    from models import onnx_export

    if "onnx-fp32" in args.backends or "onnx-int8" in args.backends:
        if onnx_export.main(["build", "--out", str(args.onnx_dir), "--keep-fp32"]):
            raise SystemExit("bench/embeddings.py: could not build the ONNX files")
    texts = read_texts(args.csv, args.n)
    words = sorted(len(t.split()) for t in texts)
    result = {"n": len(texts), "median_words": words[len(words) // 2], "threads": args.threads,
              "batches": args.batch, "cpu_count": os.cpu_count(), "backends": {}}
    ref = None
    for backend in args.backends:
        embedder = make(backend, args.onnx_dir, args.threads)
        row = {}
        for batch in args.batch:
            rate, vecs = timed(embedder, texts, batch)
            row[f"per_s_b{batch}"] = round(rate, 1)
            if batch == args.batch[0]:
                if backend == "torch-fp32":
                    ref = vecs
                if ref is not None:
                    row.update(agreement(vecs, ref))
            print(f"  {backend} batch {batch}: {rate:.1f}/s", file=sys.stderr)
        result["backends"][backend] = row
        del embedder
    if not args.no_rss:
        for backend in args.backends:
            result["backends"][backend].update(peak_rss(backend, args.onnx_dir, args.threads,
                                                        texts))

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['n']} real posts (median {result['median_words']} words), "
          f"{args.threads} threads, cosine vs torch-fp32 at batch {args.batch[0]}")
    cols = ([f"per_s_b{b}" for b in args.batch] + ["cos_mean", "cos_min", "cos_p1"]
            + ([] if args.no_rss else ["peak_rss_mb", "first_vectors_s"]))
    print(f"{'backend':<12}" + "".join(f"{c:>16}" for c in cols))
    for backend, row in result["backends"].items():
        print(f"{backend:<12}" + "".join(f"{row.get(c, '-')!s:>16}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
