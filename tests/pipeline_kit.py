"""Helpers for tests that drive the pipeline's stages (streams/stages/) directly, no broker."""

from __future__ import annotations

from typing import Optional

from config.settings import Settings
from streams.events import Input
from streams.pipeline import Pipeline
from streams.stages.normalize import Normalized


def new_pipeline() -> Pipeline:
    """Default settings, no MiniLM (it is tested on its own)."""
    return Pipeline(Settings.load(env={}, embeddings=False))


def raw_input(value: bytes, *, fmt: Optional[str] = "vigil", community: Optional[str] = None,
              ingested: float = 0.0, partition: int = 0, offset: int = 0) -> Input:
    """A ``posts.raw`` message as a connector produces it: keyed by community, the format
    in a header. ``ingested`` is the broker time (0: the wall time when normalised)."""
    return Input("posts.raw", value, key=community.encode() if community else None,
                 headers={"vigil-format": fmt} if fmt else {}, partition=partition,
                 offset=offset, timestamp=ingested)


def normalize(pipeline: Pipeline, value: bytes, *, fmt: Optional[str] = "vigil",
              ingested: float = 0.0, now: Optional[float] = None,
              community: Optional[str] = None) -> Normalized:
    """One payload through the normalize stage: a Post, a DeadLetter, the NotAPost
    event, or None (a duplicate)."""
    return pipeline.normalize.normalize(
        raw_input(value, fmt=fmt, community=community, ingested=ingested), now=now)
