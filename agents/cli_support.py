"""What every ``vigil`` command shares: its error classes, input checks and output.

The convention, in one place so that no command drifts from it:

* a user's mistake (a missing input file, a bad value, options that do not go together)
  is raised as :class:`UsageError`; ``main`` prints ``vigil <command>: <message>`` and
  exits 2, as argparse does for an unknown option;
* anything else that goes wrong at run time exits 1 with one line (the traceback only
  with ``--traceback`` or ``VIGIL_LOG_LEVEL=debug``);
* a result goes to stdout (one JSON document with ``--json``); messages and progress go
  to stderr, so ``vigil ... --json | jq`` always sees JSON alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

from config.settings import Settings

__all__ = ["UsageError", "say", "emit_json", "require_file", "require_dir", "require_out_dir",
           "require_range", "settings_from", "table"]


class UsageError(Exception):
    """The user asked for something Vigil cannot do as asked: exit 2, no traceback."""


def say(args: argparse.Namespace, message: str) -> None:
    """A message for the person at the terminal: stderr, prefixed by the command."""
    print(f"vigil {args.command}: {message}", file=sys.stderr, flush=True)


def emit_json(value: Any) -> None:
    """The one JSON document a ``--json`` command prints, on stdout."""
    print(json.dumps(value, default=str), flush=True)


def require_file(path: Path | str | None, what: str) -> Path:
    """``path`` as a readable file, or a UsageError naming ``what`` (the option)."""
    if path is None:
        raise UsageError(f"{what} is required")
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{what}: no such file: {path}")
    if not path.is_file():
        raise UsageError(f"{what}: not a file: {path}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{what}: cannot read {path} (permissions)")
    return path


def require_dir(path: Path | str, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"{what}: no such directory: {path}")
    return path


def require_out_dir(path: Path, what: str = "--out") -> Path:
    """An output directory that exists or can be created (checked before long work)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what}: {path} exists and is not a directory")
    parent = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{what}: cannot write under {parent} (permissions)")
    return path


def require_range(value: float, what: str, low: float, high: float, *,
                  low_open: bool = False, high_open: bool = True) -> float:
    """``value`` within [low, high) (or the bounds asked), else a UsageError."""
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise UsageError(f"{what} must lie in {interval}, not {value:g}")
    return value


def settings_from(args: argparse.Namespace) -> Settings:
    """Vigil's settings, with ``--broker``/``--config`` set as the ``VIGIL_*`` variables
    they stand for: a worker started from here (or its children) reads the same ones."""
    if getattr(args, "broker", None):
        os.environ["VIGIL_BROKER"] = args.broker if "://" in args.broker else f"kafka://{args.broker}"
    if getattr(args, "config", None):
        os.environ["VIGIL_CONFIG"] = str(require_file(args.config, "--config"))
    elif os.environ.get("VIGIL_CONFIG"):
        require_file(os.environ["VIGIL_CONFIG"], "VIGIL_CONFIG")
    return Settings.load()


def table(rows: Iterable[dict], columns: tuple[str, ...]) -> str:
    """Rows as aligned text columns (the human form of a ``--json`` list)."""
    rows = [{c: _cell(r.get(c)) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "" if value is None else str(value)
