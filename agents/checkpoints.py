"""The soft state the Faust runner keeps in files: what was learnt from feedback, and
the online topics. Both are written atomically (a crash leaves the old file or the
new one) and restored at start; a damaged or old file is ignored with a warning.

``<data_dir>/models/toxicity.ckpt``: the learnt models (pickle) and the next offset per
``moderation.feedback`` partition; written at most every ``VIGIL_CHECKPOINT_INTERVAL_S``
and at shutdown, so a crash re-learns at most one interval of labels.

``<data_dir>/models/topics.json``: the online topics per community; written every
``VIGIL_TOPICS_CHECKPOINT_INTERVAL_S`` and at shutdown. Topics are soft state: a
community that moves to another worker starts its topics afresh there (old ones fade
within their 6-hour half-life anyway), and bursts are still detected on its volume.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Optional

from streams.stages.score import ScoreStage

__all__ = ["write_atomic", "write_checkpoint", "read_checkpoint", "save_topics", "load_topics"]


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_checkpoint(path: Path, snapshot: dict, offsets: dict[int, int]) -> None:
    write_atomic(path, _dumps({**snapshot, "feedback_offsets": dict(offsets),
                               "written_at": time.time()}))


def _dumps(obj: object, attempts: int = 5) -> bytes:
    """Pickle live models, trying again if another thread changed one meanwhile (a river
    model adds weight keys as it meets new features; pickling a growing dict raises)."""
    for attempt in range(attempts):
        try:
            return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def read_checkpoint(path: Path) -> Optional[dict]:
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return pickle.load(fh)


def save_topics(score: ScoreStage, path: Path) -> Optional[int]:
    """Write the topics; runs in the inference thread, which owns them."""
    if score.topics is None or not score.topics.states:
        return None
    data = json.dumps(score.topics.snapshot(), separators=(",", ":")).encode()
    write_atomic(path, data)
    return len(data)


def load_topics(score: ScoreStage, path: Path) -> int:
    if score.topics is None or not path.is_file():
        return 0
    return score.topics.restore(json.loads(path.read_text()))
