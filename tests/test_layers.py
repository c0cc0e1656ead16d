"""The import layers, stated and enforced: which package may import which.

    models      pure logic: parsers, scorers, detectors, policy, learners
    config      settings and per-community configuration        -> models
    streams     records, topology, stages, the pipeline, Kafka helpers -> config, models
    connectors  platform and notifier I/O                         -> streams, config, models
    agents      the runners (Faust worker, replay) and the CLI   -> everything above

Every import counts, at module level or inside a function: a lazy import is still an
arrow. Arrows only go down, so there is no cycle between packages.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "config", "streams", "connectors", "agents")
ALLOWED = {
    "models": {"models"},
    "config": {"config", "models"},
    "streams": {"streams", "config", "models"},
    "connectors": {"connectors", "streams", "config", "models"},
    "agents": {"agents", "connectors", "streams", "config", "models"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def arrows() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for target in _imports(path):
                out.setdefault((package, target), []).append(str(path.relative_to(REPO)))
    return out


def test_packages_import_only_the_layers_below_them():
    wrong = {f"{a} -> {b}": files for (a, b), files in arrows().items() if b not in ALLOWED[a]}
    assert wrong == {}


def test_the_rules_themselves_have_no_cycle():
    # a package may import another only if that one cannot import it back
    for a, targets in ALLOWED.items():
        for b in targets - {a}:
            assert a not in ALLOWED[b], (a, b)


def test_the_checker_sees_a_lazy_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from agents.worker import run\n    import connectors.base\n")
    assert _imports(f) == {"agents", "connectors"}


BLOCKED = ("faust", "mode", "aiohttp", "aiokafka", "kafka", "connectors", "agents")
PURE = ["streams.pipeline", "streams.topology", "streams.records", "streams.events",
        "streams.state"] + [f"streams.stages.{p.stem}" for p in sorted(
            (REPO / "streams" / "stages").glob("*.py")) if p.stem != "__init__"] + [
        f"models.{p.stem}" for p in sorted((REPO / "models").glob("*.py"))
        if p.stem not in ("__init__", "onnx_minilm")]

_BLOCKER = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("pure code imported " + name)
sys.meta_path.insert(0, Blocker())
"""


def _run_blocked(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _BLOCKER.format(blocked=BLOCKED) + code],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_pipeline_and_models_import_and_run_without_faust_kafka_aiohttp_or_connectors():
    code = f"""
import importlib, json
for name in {PURE!r}:
    importlib.import_module(name)
from config.settings import Settings
from streams.events import Input
from streams.pipeline import Pipeline
from streams.state import PipelineState
raw = json.dumps({{"platform": "reddit", "community": "r/x", "post_id": "1", "author": "a",
                  "text": "hello there", "created_at": "2026-01-01T00:00:00Z"}}).encode()
out = Pipeline(Settings.load(env={{}}, embeddings=False)).process(
    [Input("posts.raw", raw, b"r/x", {{"vigil-format": "vigil"}}, 0, 0, 1.7e9)], PipelineState())
assert len(out.scored) == 1, out
for mod in sorted(sys.modules):
    assert mod.split(".")[0] not in {BLOCKED!r}, mod
print("ok")
"""
    proc = _run_blocked(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_the_blocker_really_blocks():
    proc = _run_blocked("import agents.worker")
    assert proc.returncode != 0 and "pure code imported" in proc.stderr
