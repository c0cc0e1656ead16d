"""Replaying recorded-shape payloads (``tests/payloads/<platform>/``) through the
normaliser, for the ``test_real_payloads_<platform>`` modules.

Each platform's files are in the shape its real API sends (cited in that folder's
``SOURCES.md``); the test module turns a file into the payloads its connector produces
and states, per payload, what Vigil must make of it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.pseudonym import Pseudonymizer

PAYLOADS = Path(__file__).resolve().parent / "payloads"


def files(platform: str) -> list[str]:
    return sorted(p.name for p in (PAYLOADS / platform).iterdir() if p.name != "SOURCES.md")


def load(platform: str, name: str) -> Any:
    text = (PAYLOADS / platform / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text


def outcome(payload: Mapping[str, Any] | bytes, fmt: str, community: str) -> dict:
    """What the normaliser makes of one payload: the post's fields with ``kind`` "post",
    or an event's fields with ``kind`` its event kind; a dead letter raises."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    try:
        post, _ = n.normalize(raw, fmt=fmt, now=time.time(), community=community)
    except NotAPost as event:
        return {**event.fields, "kind": event.kind}
    return {**post, "kind": "post"}


def check(got: Mapping[str, Any], want: Mapping[str, Any], where: str) -> None:
    """Every stated field as stated; ``meta.<name>`` reads inside meta."""
    for key, value in want.items():
        if key.startswith("meta."):
            actual = (got.get("meta") or {}).get(key[5:])
        else:
            actual = got.get(key)
        assert actual == value, f"{where}: {key} is {actual!r}, expected {value!r}"


def dead_letters(payloads: Iterable[Any], fmt: str, community: str) -> list[str]:
    out = []
    for payload in payloads:
        try:
            outcome(payload, fmt, community)
        except MalformedPost as err:
            out.append(err.reason)
    return out


def cited(platform: str) -> list[str]:
    """Files of the folder that its SOURCES.md does not cite (one line each)."""
    sources = (PAYLOADS / platform / "SOURCES.md").read_text(encoding="utf-8")
    return [name for name in files(platform) if f"`{name}`" not in sources]
