"""The int8 ONNX MiniLM: built on first load, faithful to torch fp32, order-preserving,
and its manifest catches a changed file. The model is exported and quantised once for
the module (about 10 s); sentences are written here, not taken from shared data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import onnx_export, onnx_minilm
from models.embeddings import SentenceEmbedder
from models.onnx_minilm import INT8_FILE, MANIFEST_FILE, TOKENIZER_FILE, OnnxMiniLM

LONG = ("the raid started right after the stream ended and within minutes the chat was "
        "flooded with the same three links, copied word for word, from accounts that "
        "were all created this week; mods banned them one by one but new ones kept "
        "coming until slow mode went on, and by then half the regulars had left for "
        "the night, which is exactly what they wanted in the first place. ") * 3
SENTENCES = [
    "gg",
    "the servers are down again, cannot log in",
    "   thanks mods for the quick cleanup 🙏   ",
    "free skins at http://example.test/claim NOW!!!",
    "I love the new map design, the lighting is gorgeous",
    "you are a worthless idiot and everyone here hates you",
    LONG,
    "patch 1.4.2 broke my saves; support ticket #48213 still open after 9 days",
    "?",
    "Wer hat heute Abend Zeit für ein Match?",
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    """Built the way a worker builds it: on first load of the onnx-int8 backend."""
    out = tmp_path_factory.mktemp("onnx") / "minilm"
    embedder = SentenceEmbedder(backend="onnx-int8", onnx_dir=str(out), threads=2).load()
    assert (out / INT8_FILE).is_file() and onnx_minilm.stale_reasons(out) == []
    return out


@pytest.fixture(scope="module")
def model(onnx_dir) -> OnnxMiniLM:
    return OnnxMiniLM(onnx_dir / INT8_FILE, threads=2)


@pytest.fixture(scope="module")
def fp32() -> np.ndarray:
    return SentenceEmbedder(backend="torch-fp32", cache_size=0).embed(SENTENCES)


def test_unit_vectors_of_the_right_shape(model):
    v = model.encode(SENTENCES)
    assert v.shape == (len(SENTENCES), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert model.encode([]).shape == (0, 384)


def test_every_sentence_stays_close_to_torch_fp32(model, fp32):
    cos = (model.encode(SENTENCES) * fp32).sum(axis=1)
    assert cos.min() >= 0.97, dict(zip(SENTENCES, cos.round(4)))


def test_identical_texts_give_identical_vectors(model):
    text = "the servers are down again, cannot log in"
    v = model.encode([text, "gg", text, LONG, text], batch_size=8)
    assert np.array_equal(v[0], v[2]) and np.array_equal(v[0], v[4])


def test_a_posts_vector_does_not_depend_on_its_batch(model):
    # Activations are quantised per row: alone, in one batch, in batches of 3 regrouped
    # by length, reversed, or beside a 300-token post, every vector is the same to the
    # bit (per-tensor quantisation moved them by up to 0.045: replay could not
    # reproduce a live worker's scores).
    alone = np.stack([model.encode([text])[0] for text in SENTENCES])
    for batch in (model.encode(SENTENCES, batch_size=32),
                  model.encode(SENTENCES, batch_size=3),
                  model.encode(SENTENCES[::-1], batch_size=4)[::-1],
                  model.encode(SENTENCES + [LONG * 3], batch_size=16)[:-1]):
        assert np.array_equal(batch, alone), float(np.abs(batch - alone).max())


def test_order_is_kept_across_batches_of_mixed_lengths(model, fp32):
    # batches of 3 over sentences of very different lengths are regrouped by length;
    # every vector must come back to its own row
    mixed = SENTENCES[::-1]
    v = model.encode(mixed, batch_size=3)
    ref = fp32[::-1]
    assert (np.argmax(v @ ref.T, axis=1) == np.arange(len(mixed))).all()


def test_the_tokenizer_matches_transformers_including_truncation(model):
    from transformers import AutoTokenizer

    from models.onnx_minilm import _source_dir

    hf = AutoTokenizer.from_pretrained(str(_source_dir()))
    model._truncate(128)
    for text in SENTENCES:
        want = hf(text.strip(), truncation=True, max_length=128)["input_ids"]
        assert model.tokenizer.encode(text.strip()).ids == want
    assert len(model.tokenizer.encode(LONG).ids) == 128


def test_the_embedder_backend_keeps_cache_and_order(onnx_dir, fp32):
    emb = SentenceEmbedder(backend="onnx-int8", onnx_dir=str(onnx_dir), threads=2,
                           batch_size=4).load()
    mtime = (onnx_dir / INT8_FILE).stat().st_mtime_ns
    v = emb.embed(SENTENCES)
    onnx_export.export(onnx_dir, only_if_stale=True)  # what a second worker does
    assert (onnx_dir / INT8_FILE).stat().st_mtime_ns == mtime  # current files: no rebuild
    assert ((v * fp32).sum(axis=1) >= 0.97).all()
    again = emb.embed([SENTENCES[3], SENTENCES[1]])
    assert emb.cache_hits == 2 and np.array_equal(again[0], v[3])


def test_the_manifest_catches_changed_missing_and_outdated_files(onnx_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(onnx_dir, copy)
    assert onnx_minilm.stale_reasons(copy) == []

    with (copy / INT8_FILE).open("ab") as fh:
        fh.write(b"\0")
    assert any(INT8_FILE in r and "changed" in r for r in onnx_minilm.stale_reasons(copy))

    (copy / TOKENIZER_FILE).unlink()
    assert any(TOKENIZER_FILE in r and "missing" in r for r in onnx_minilm.stale_reasons(copy))

    manifest = json.loads((onnx_dir / MANIFEST_FILE).read_text())
    shutil.rmtree(copy)
    shutil.copytree(onnx_dir, copy)
    manifest["quantisation"] = {**manifest["quantisation"], "per_channel": False}
    manifest["source"]["version"] = "0.0.1"
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    reasons = onnx_minilm.stale_reasons(copy)
    assert any(r.startswith("quantisation") for r in reasons)
    assert any("0.0.1" in r for r in reasons)

    (copy / MANIFEST_FILE).unlink()
    assert onnx_export.main(["check", "--out", str(copy)]) == 1
    assert onnx_export.main(["check", "--out", str(onnx_dir)]) == 0


REPO = Path(__file__).resolve().parent.parent
# The runtime must not need the exporter's stack: torch and onnx (the export format
# package) raise ImportError here; onnxruntime, a different top-level name, still imports.
_NO_TORCH = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "onnx"}:
            raise ImportError("the runtime imported " + name)
sys.meta_path.insert(0, Blocker())
"""
_EXPORT_STACK = ("torch", "onnx", "transformers", "models.onnx_export")


def _run_without_torch(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _NO_TORCH + code], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_the_runtime_imports_without_torch_onnx_or_the_exporter():
    proc = _run_without_torch(f"""
import models.onnx_minilm
for name in {_EXPORT_STACK!r}:
    assert name not in sys.modules, name
import onnxruntime, tokenizers  # the runtime's own dependencies are not blocked
print("ok")
""")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_the_torch_blocker_really_blocks():
    proc = _run_without_torch("import torch")
    assert proc.returncode != 0 and "the runtime imported torch" in proc.stderr
    proc = _run_without_torch("import onnx")
    assert proc.returncode != 0 and "the runtime imported onnx" in proc.stderr


def test_current_files_load_and_encode_without_torch(onnx_dir, model):
    # ensure() on current files must not reach the exporter; encoding needs only ORT
    proc = _run_without_torch(f"""
import json
from models.onnx_minilm import OnnxMiniLM, ensure
v = OnnxMiniLM(ensure({str(onnx_dir)!r}), threads=2).encode({SENTENCES[:3]!r})
for name in {_EXPORT_STACK!r}:
    assert name not in sys.modules, name
print(json.dumps(v.tolist()))
""")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.array(json.loads(proc.stdout), dtype=np.float32)
    assert np.allclose(got, model.encode(SENTENCES[:3]), atol=1e-5)


def test_the_old_command_is_a_deprecated_alias_of_the_exporter(onnx_dir, tmp_path):
    # ``python -m models.onnx_minilm build|check`` in older instructions still works
    missing = tmp_path / "none"
    proc = subprocess.run([sys.executable, "-m", "models.onnx_minilm", "check",
                           "--out", str(missing)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "no manifest.json" in proc.stdout, proc.stderr[-2000:]
    assert "deprecated" in proc.stderr and "models.onnx_export" in proc.stderr
    with pytest.deprecated_call():
        assert onnx_minilm.main(["check", "--out", str(onnx_dir)]) == 0
    proc = subprocess.run([sys.executable, "-m", "models.onnx_export", "build", "--help"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and all(
        flag in proc.stdout for flag in ("--out", "--force", "--keep-fp32")), proc.stderr
