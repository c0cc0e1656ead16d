"""The payload parsers and the normaliser are pure logic: importing and running them needs
no connector, agent or stream code, and no Kafka, Faust or HTTP client library. Checked
in a fresh interpreter, where importing any of those fails."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: top-level names pure code must not import (``mode`` is Faust's service library)
BLOCKED = ("faust", "mode", "aiohttp", "kafka", "aiokafka", "connectors", "agents", "streams")

CHILD = r'''
import base64, json, sys, time

BLOCKED, ROOT = set(sys.argv[1].split(",")), sys.argv[2]


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"pure code imported {name}")
        return None


sys.meta_path.insert(0, Blocker())

import models.normalize
import models.parsers
from models.normalize import NormalizeLimits, Normalizer, NotAPost
from models.pseudonym import Pseudonymizer

assert models.parsers.__file__.startswith(ROOT), models.parsers.__file__  # this checkout's
cases = json.load(sys.stdin)
assert sorted({c["fmt"] for c in cases}) == sorted(models.parsers.FORMATS), sorted(cases)
n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
for case in cases:
    post, _ = n.normalize(base64.b64decode(case["post"]), fmt=case["fmt"], now=time.time(),
                          community=case["key"])
    assert post["text"] and post["community"] == case["key"], (case["fmt"], post)
    if case["event"]:
        try:
            n.normalize(base64.b64decode(case["event"]), fmt=case["fmt"], now=time.time(),
                        community=case["key"])
        except NotAPost:
            pass
        else:
            raise AssertionError(f"{case['fmt']}: a platform event read as a post")
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
assert not loaded, loaded
print("normalised", len(cases), "formats")
'''


def _b64(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode() if raw is not None else None


def test_parsers_and_normalizer_need_no_io_modules():
    # the payloads every platform's connector tests produce (one post, and an event where
    # the platform has one), built here where the connectors' helpers may be imported
    from tests.test_connectors_pipeline import CASES, FORMAT

    cases = [{"fmt": FORMAT.get(platform, platform), "key": key, "post": _b64(good),
              "event": _b64(event)}
             for platform, (key, good, _bad, _reason, event) in CASES.items()]
    proc = subprocess.run([sys.executable, "-c", CHILD, ",".join(BLOCKED), str(ROOT)],
                          input=json.dumps(cases), cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"normalised {len(cases)} formats" in proc.stdout


def test_the_blocker_blocks():
    """The check above would pass vacuously if the blocker did not fire."""
    proc = subprocess.run([sys.executable, "-c", CHILD.split("import models.normalize")[0]
                           + "import connectors.base\n", ",".join(BLOCKED), str(ROOT)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "pure code imported connectors" in proc.stderr
