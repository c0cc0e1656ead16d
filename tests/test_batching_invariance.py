"""The pipeline's outputs depend on the inputs and their order per partition, never on
how a runner batched them or interleaved the partitions.

A live worker takes batches as messages arrive (any size, partitions interleaved as the
consumer fetched them); replay takes fixed slices in event-time order; ``vigil serve``
scores whatever requests arrived together. The same sample through
:meth:`streams.pipeline.Pipeline.process` both ways must give the same scored posts
(scores to the last bit), trend signals and escalations. It did not while MiniLM's
activations were quantised per batch: a post's toxicity moved with its batch-mates.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from agents.replay import _by_event_time, _from_row
from config.settings import Settings
from connectors.files import ColumnMapping, iter_file
from streams.events import EndOfInput
from streams.pipeline import Pipeline
from streams.state import PipelineState
from tests.conftest import SAMPLE

PROCESSING_TIME = {"created_at", "emitted_at", "scored_at"}


def _inputs(settings: Settings) -> list:
    rows = _by_event_time((r.ts, r) for r in iter_file(Path(SAMPLE), ColumnMapping()))
    return [_from_row(r, str(SAMPLE), settings.partitions) for r in rows]


def _run(settings: Settings, order: list, sizes) -> dict[str, Counter]:
    pipeline = Pipeline(settings)
    pipeline.load_models()
    state = PipelineState()
    batches, start = [], 0
    while start < len(order):
        size = next(sizes)
        batches.append(order[start:start + size])
        start += size
    got: dict[str, list] = {"scored": [], "trends": [], "escalations": []}
    for batch in batches + [[EndOfInput()]]:
        out = pipeline.process(batch, state)
        for name in got:
            got[name] += [json.loads(r.dumps()) for r in getattr(out, name)]
    comparable = lambda r: json.dumps(  # noqa: E731
        {k: v for k, v in r.items() if k not in PROCESSING_TIME}, sort_keys=True)
    return {name: Counter(map(comparable, records)) for name, records in got.items()}


def _interleaved(inputs: list, rnd: random.Random) -> list:
    """Each partition's inputs in their order, the partitions mixed at random."""
    queues: dict[int, list] = {}
    for item in inputs:
        queues.setdefault(item.partition, []).append(item)
    order = []
    while queues:
        p = rnd.choice(sorted(queues))
        take = rnd.randint(1, 40)
        order += queues[p][:take]
        del queues[p][:take]
        if not queues[p]:
            del queues[p]
    return order


@pytest.mark.parametrize("seed", [3])
def test_outputs_do_not_depend_on_batching_or_partition_interleaving(monkeypatch, seed):
    monkeypatch.setenv("VIGIL_PSEUDONYM_KEY", "test-key")
    settings = Settings.load()
    inputs = _inputs(settings)
    replayed = _run(settings, inputs, itertools.repeat(256))
    rnd = random.Random(seed)
    live_like = _run(settings, _interleaved(inputs, rnd), iter(lambda: rnd.randint(1, 300), None))
    assert sum(replayed["scored"].values()) > 500 and replayed["escalations"]
    for name in replayed:
        only_replay = replayed[name] - live_like[name]
        only_live = live_like[name] - replayed[name]
        assert not only_replay and not only_live, (
            f"{name}: {len(only_replay)} only in fixed batches, {len(only_live)} only in "
            f"random ones, e.g. {next(iter(only_replay or only_live))[:400]}")
