"""Guard the repository layout: the packages import from this checkout and never shadow
the standard library, and the top-level layout the README describes exists."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "agents", "config", "streams", "connectors")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_imports_from_repo(name):
    module = importlib.import_module(name)
    path = Path(module.__file__).resolve()
    assert path.is_relative_to(ROOT), path
    assert path.parent == ROOT / name


def _module_names(pkg: str) -> list[str]:
    names = []
    for path in (ROOT / pkg).rglob("*"):
        if "__pycache__" in path.parts:
            continue
        if path.suffix == ".py" and path.stem != "__init__":
            names.append(path.stem)
        elif path.is_dir() and (path / "__init__.py").exists():
            names.append(path.name)
    return names


# bench/ and tests/ too: a script run from bench/ puts that folder first on sys.path,
# where a bench/profile.py once hid the stdlib's profile from torch.
@pytest.mark.parametrize("pkg", PACKAGES + ("bench", "tests"))
def test_no_module_named_after_stdlib(pkg):
    names = _module_names(pkg)
    assert names, f"{pkg} has no modules"
    clashes = sorted(n for n in names if n in sys.stdlib_module_names)
    assert clashes == []


@pytest.mark.parametrize("top", PACKAGES)
def test_top_level_packages_not_stdlib(top):
    assert top not in sys.stdlib_module_names


@pytest.mark.parametrize("entry", ["pyproject.toml", "streams/", "agents/", "models/",
                                   "connectors/", "config/", "tests/", "docker-compose.yml",
                                   "grafana/"])
def test_readme_layout_exists(entry):
    path = ROOT / entry.rstrip("/")
    assert path.is_dir() if entry.endswith("/") else path.is_file()
