"""Incidents go quiet by their own partition's event time, the same however the input is
batched, restarted or replayed (streams/stages/escalate.py, models/watermarks.py)."""

from __future__ import annotations

import json

from config.settings import Settings
from streams.events import CLOCK_HEADER, EndOfInput, Input
from streams.pipeline import Pipeline
from streams.state import PipelineState
from tests.pipeline_kit import raw_input

T0 = 1793606400.0
QUIET = 600.0


def pipeline() -> Pipeline:
    return Pipeline(Settings.load(env={}, embeddings=False, incident_quiet_s=QUIET))


def toxic(n: int, community: str, t: float, partition: int, author: str = "troll") -> Input:
    post = {"platform": "reddit", "community": community, "id": f"{community}-{n}",
            "author": author, "text": f"shut up you fucking idiot {n}", "created_at": t}
    return raw_input(json.dumps(post).encode(), community=community, partition=partition,
                     offset=n)


def fine(n: int, community: str, t: float, partition: int) -> Input:
    post = {"platform": "reddit", "community": community, "id": f"{community}-ok-{n}",
            "author": f"regular{n}", "text": "thanks for the patch notes", "created_at": t}
    return raw_input(json.dumps(post).encode(), community=community, partition=partition,
                     offset=1000 + n)


def clock(t: float, partition: int, received: float = T0 + 86400 * 365) -> Input:
    return Input("posts.raw", b"", None, {CLOCK_HEADER: repr(t)}, partition=partition,
                 timestamp=received)


def statuses(escalations, community: str) -> list[tuple[str, int]]:
    return [(e.status, e.occurrence_count) for e in escalations if e.community == community]


def test_another_partitions_clock_never_resolves_an_incident():
    p, state = pipeline(), PipelineState()
    out = p.process([toxic(1, "r/a", T0, 0)], state)
    assert statuses(out.escalations, "r/a") == [("triggered", 1)]
    # hours of event time pass on partition 1: partition 0's incident stays open
    out = p.process([fine(i, "r/b", T0 + 3600 * i, 1) for i in range(1, 4)], state)
    assert statuses(out.escalations, "r/a") == []
    # its own partition's next event, past the quiet deadline, resolves it first; the
    # offence that follows opens a new incident (occurrence 1 again)
    out = p.process([toxic(2, "r/a", T0 + QUIET + 5, 0)], state)
    assert statuses(out.escalations, "r/a") == [("resolved", 1), ("triggered", 1)]
    assert out.escalations[0].id != out.escalations[1].id


def test_within_the_quiet_period_an_offence_updates_the_same_incident():
    p, state = pipeline(), PipelineState()
    out = p.process([toxic(1, "r/a", T0, 0), fine(1, "r/c", T0 + QUIET - 10, 0),
                     toxic(2, "r/a", T0 + QUIET - 5, 0)], state)
    assert [s for s, _ in statuses(out.escalations, "r/a")] == ["triggered", "updated"]


def test_an_idle_clock_record_resolves_a_silent_community_and_end_of_input_does_too():
    p, state = pipeline(), PipelineState()
    p.process([toxic(1, "r/a", T0, 0), toxic(2, "r/z", T0, 2)], state)
    out = p.process([clock(T0 + QUIET - 1, 0)], state)
    assert out.escalations == [] and out.clock_records == 1
    out = p.process([clock(T0 + QUIET, 0)], state)
    assert statuses(out.escalations, "r/a") == [("resolved", 1)]
    assert statuses(out.escalations, "r/z") == []  # partition 2 heard nothing
    out = p.process([EndOfInput()], state)
    assert statuses(out.escalations, "r/z") == [("resolved", 1)]


def _stream() -> list[Input]:
    items = []
    for i in range(40):  # two partitions, offences with gaps around the quiet period
        t = T0 + i * (QUIET / 3) * (1 + (i % 4 == 0) * 3)
        items.append(toxic(i, "r/a" if i % 2 else "r/b", t, i % 2, author=f"t{i % 3}"))
        items.append(fine(i, "r/c" if i % 2 else "r/d", t + 1, i % 2))
        if i % 7 == 0:
            items.append(clock(t + QUIET / 2, (i + 1) % 2))
    return items + [EndOfInput()]


def _run(batches) -> list[tuple]:
    p, state = pipeline(), PipelineState()
    out = []
    for batch in batches:
        out += [(e.dedup_key, e.status, e.occurrence_count, e.id)
                for e in p.process(batch, state).escalations]
    return out


def test_batching_never_changes_what_resolves():
    items = _stream()
    one_by_one = _run([[i] for i in items])
    assert any(status == "resolved" for _, status, _, _ in one_by_one)
    assert _run([items]) == one_by_one
    assert _run([items[i:i + 7] for i in range(0, len(items), 7)]) == one_by_one


def test_a_restart_from_the_stored_state_resolves_as_if_nothing_happened():
    """The Faust runner keeps the stores in tables and the soft state in memory: a new
    Pipeline over the stored entries (the restart) carries on exactly."""
    items = _stream()
    reference = _run([items])
    tables: dict[str, dict] = {}

    def load(store, key):
        return tables.get(store, {}).get(key)

    def scan(store):
        return list(tables.get(store, {}).items())

    out = []
    for half in (items[:len(items) // 2], items[len(items) // 2:]):
        p, state = pipeline(), PipelineState(load=load, scan=scan)  # a fresh process
        out += [(e.dedup_key, e.status, e.occurrence_count, e.id)
                for e in p.process(half, state).escalations]
        for store in state.stores:  # what the worker writes to the changelogs
            for key, _ in store.take_changed():
                tables.setdefault(store.name, {})[key] = store.encoded(key)
    assert out == reference


def test_a_clock_that_is_not_a_time_or_runs_ahead_of_its_arrival_moves_nothing():
    p, state = pipeline(), PipelineState()
    p.process([toxic(1, "r/a", T0, 0)], state)
    for bad in (clock(float("inf"), 0), clock(T0 + 7 * 86400, 0, received=T0 + 60),
                Input("posts.raw", b"", None, {CLOCK_HEADER: "soon"}, partition=0,
                      timestamp=T0 + 60)):
        out = p.process([bad], state)
        assert out.escalations == [] and out.clock_records == 0
        assert out.invalid and out.invalid[0][1].startswith(CLOCK_HEADER)
    # a genuine one, received after the time it names, still resolves
    out = p.process([clock(T0 + QUIET, 0, received=T0 + QUIET + 5)], state)
    assert statuses(out.escalations, "r/a") == [("resolved", 1)]
