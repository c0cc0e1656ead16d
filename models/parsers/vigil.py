"""Vigil's own format: a post as JSON with the canonical fields by name (``id`` for
``post_id``), one per line in a JSONL file. The file connector, the generic signed
webhook and the bundled sample stream produce it; a payload without a ``vigil-format``
header is read as this format."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["CANONICAL_FIELDS", "parse_vigil"]

#: Canonical fields a format parser returns; ``created_at`` may be any parseable time.
CANONICAL_FIELDS = ("platform", "community", "post_id", "author", "text", "created_at",
                    "thread_id", "parent_id", "lang", "url", "meta")


def parse_vigil(obj: Mapping[str, Any]) -> dict:
    """Vigil's own JSONL format (what the file connector and the sample stream use)."""
    out = {k: obj.get(k) for k in CANONICAL_FIELDS if k != "post_id"}
    out["post_id"] = obj.get("id", obj.get("post_id"))
    return out
