"""What ``vigil_build_info`` says about the running process: Vigil's version, Python's,
and the git revision when it is known without running anything.

The labels are bounded by construction: a version string from the package metadata,
``major.minor.patch`` of Python, and a revision that is 12 hex digits or ``unknown``
(never free text, so a stray file cannot mint arbitrary label values).

>>> labels = build_labels()
>>> sorted(labels)
['python', 'revision', 'version']
>>> import re; bool(re.fullmatch(r"[0-9a-f]{12}|unknown", labels["revision"]))
True
>>> _hex_or_none("3661f0e8a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5\\n"), _hex_or_none("main; rm -rf")
('3661f0e8a9b1', None)
"""

from __future__ import annotations

import json
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent


def _hex_or_none(text: str) -> Optional[str]:
    text = text.strip().lower()
    return text[:12] if re.fullmatch(r"[0-9a-f]{7,64}", text) else None


def _git_revision(root: Path = REPO) -> Optional[str]:
    """HEAD of a source checkout, read from .git's files (no git binary needed)."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return _hex_or_none(head)  # a detached HEAD is the commit itself
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            return _hex_or_none(loose.read_text())
        for line in (git / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return _hex_or_none(sha)
    except OSError:
        pass
    return None


def _installed_revision() -> Optional[str]:
    """The commit pip installed from (``pip install git+https://...``), if it did."""
    try:
        direct = json.loads(metadata.distribution("vigil").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        return None
    return _hex_or_none(str(direct.get("vcs_info", {}).get("commit_id", "")))


def _version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "unknown"  # run from a checkout that was never installed


def build_labels() -> dict[str, str]:
    return {"version": _version(), "python": platform.python_version(),
            "revision": _git_revision() or _installed_revision() or "unknown"}
