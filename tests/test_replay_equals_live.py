"""Replay ≡ live: the same input through a live worker on the embedded broker and
through ``vigil replay`` gives the same escalations and trend signals, exactly.

Both runners call one function (``streams.pipeline.Pipeline.process``); this proves
nothing else differs: keys, headers, batching, state in tables against state in
memory, publishing. Fields stamped with processing time (``created_at`` of an
escalation, ``emitted_at``, ``scored_at``) and the ingestion time (the broker's clock
live, the event time in a file replay) are left out of the comparison; everything else
must match, quiet resolves included: both decide them by each partition's event time.
A replay takes the end of its input as lasting silence; live, silence reaches a
partition as the idle-clock record a worker writes into it after an idle interval
(VIGIL_INCIDENT_SWEEP_INTERVAL_S, set long here so the worker writes none mid-test), so
the test writes that record itself, at the time silence would have reached.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agents.cli import main
from streams.broker import EmbeddedBroker
from streams.events import CLOCK_HEADER
from tests.conftest import SAMPLE, produce, read_topic, start_worker, stop_worker, total

pytestmark = pytest.mark.integration

ENV = {"VIGIL_PSEUDONYM_KEY": "test-key", "VIGIL_INCIDENT_SWEEP_INTERVAL_S": "3600"}
PROCESSING_TIME = {"created_at", "emitted_at", "scored_at", "trigger_ingested_at"}


def _rows() -> list[tuple[float, bytes, bytes | None]]:
    """The sample as the file connector sends it (keyed by community), in the order a
    replay sorts it: event time, unreadable times first."""
    from models.eventtime import parse_event_time

    rows = []
    for i, raw in enumerate(line for line in SAMPLE.read_bytes().splitlines() if line.strip()):
        try:
            obj = json.loads(raw)
            ts, key = parse_event_time(obj["created_at"]), obj.get("community")
        except Exception:
            ts, key = float("-inf"), None
        rows.append((ts, i, raw, key.encode() if isinstance(key, str) else None))
    return [(ts, raw, key) for ts, _, raw, key in sorted(rows)]


def _comparable(record: dict) -> str:
    return json.dumps({k: v for k, v in record.items() if k not in PROCESSING_TIME},
                      sort_keys=True)


def test_live_worker_and_replay_emit_the_same_escalations_and_trends(tmp_path, monkeypatch):
    # A broker of its own: incidents close by their partition's event time, and the
    # shared broker's partitions carry other tests' posts, stamped today, far past the
    # sample's (a live partition fed old data resolves its incidents at once, and
    # should: its clock says their quiet period is long over).
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        live_escalations, live_trends = _live(broker, tmp_path)
    _compare_with_replay(live_escalations, live_trends, tmp_path, monkeypatch)


def _live(broker, tmp_path):
    rows = _rows()
    work = tmp_path / "live"
    work.mkdir()
    worker = start_worker(broker, work, **ENV)
    try:
        produce(broker.bootstrap, [(key, raw, {"vigil-format": "vigil"})
                                   for _, raw, key in rows])
        worker.wait_for(lambda m: total(m, "vigil_posts_ingested_total") >= len(rows),
                        timeout_s=120)
        # every post accounted for: scored, duplicate or dead-lettered
        worker.wait_for(lambda m: total(m, "vigil_posts_scored_total")
                        + total(m, "vigil_posts_duplicate_total")
                        + total(m, "vigil_posts_dead_lettered_total")
                        + total(m, "vigil_platform_events_total") >= len(rows), timeout_s=120)
        # silence after the stream: what the worker would write after an idle interval,
        # at the event time a replay's end of input stands for
        silent = max(ts for ts, _, _ in rows) + 3600.0
        produce(broker.bootstrap, [(None, b"", {CLOCK_HEADER: repr(silent)}, p)
                                   for p in range(4)])
        worker.wait_for(lambda m: total(m, "vigil_clock_records_total", direction="read") >= 4)
        live_escalations = [json.loads(m.value) for m in read_topic(
            broker.bootstrap, "escalations", until=lambda ms: False, timeout_s=3)]
        live_trends = [json.loads(m.value) for m in read_topic(
            broker.bootstrap, "signals.trends", until=lambda ms: False, timeout_s=3)]
    finally:
        stop_worker(worker)
    return live_escalations, live_trends


def _difference(live_only: Counter, replay_only: Counter) -> str:
    lines = ["live only:", *live_only, "replay only:", *replay_only]
    return "\n".join(lines)


def _compare_with_replay(live_escalations, live_trends, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "replay"
    assert main(["replay", str(SAMPLE), "--out", str(out)]) == 0
    replay_escalations = [json.loads(line) for line in (out / "escalations.jsonl").open()]
    replay_trends = [json.loads(line) for line in (out / "trends.jsonl").open()]

    assert replay_escalations and replay_trends  # the sample escalates and trends
    for live, replay in ((live_escalations, replay_escalations), (live_trends, replay_trends)):
        live_only = Counter(map(_comparable, live)) - Counter(map(_comparable, replay))
        replay_only = Counter(map(_comparable, replay)) - Counter(map(_comparable, live))
        assert not live_only and not replay_only, _difference(live_only, replay_only)
    # and in the same order per dedup key / trend, as a consumer upserting on them sees it
    for field, live, replay in (("dedup_key", live_escalations, replay_escalations),
                                ("trend_id", live_trends, replay_trends)):
        by_key = lambda records: {k: [_comparable(r) for r in records if r[field] == k]
                                  for k in {r[field] for r in records}}
        assert by_key(live) == by_key(replay)
