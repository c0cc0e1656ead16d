"""``vigil replay``: the pipeline over a file or a topic range, in-process, by the same
:meth:`streams.pipeline.Pipeline.process` the Faust worker calls (a test proves the two
give the same escalations and trend signals). Nothing is produced to any topic.

A file's rows are sorted by event time first (stable, so equal times keep their order;
a payload whose time cannot be read sorts first and fails normalisation), and each is
given the partition Kafka's default partitioner would give its community (murmur2 of
the key, as the connectors produce it), so every partition's event clock moves as a
live worker's would. A topic is replayed in its own order per partition, idle-clock
records included. Inputs are handed over in batches as a worker would take them; the
end of the input counts as lasting silence, so what went quiet is resolved as a live
worker resolves it once its partitions fall idle. Outputs in ``--out``:

    scored.jsonl        one ScoredPost per accepted post
    trends.jsonl        every TrendSignal, in event order
    escalations.jsonl   every Escalation message (trigger, update, resolve)
    dlq.jsonl           DeadLetter records for rows that failed validation
    summary.json        counts that add up: rows = normalized + duplicates + dead-lettered
                        + platform_events (deletions, moderators' actions)

From a file, each post's ``ingested_at`` is its event time (there is no broker to stamp
it), so outputs are reproducible run to run apart from processing timestamps; from a
topic it is the broker's timestamp, as on a live worker.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional, TypeVar

from agents.progress import progress as progress_for
from config.settings import Settings
from connectors.files import ColumnMapping, FileRow, iter_file
from models.eventtime import parse_event_time, to_iso
from streams.assigned import assign_every_partition_sync
from streams.events import EndOfInput, Input
from streams.pipeline import Pipeline
from streams.state import PipelineState

__all__ = ["replay_file", "replay_topic", "replay_inputs", "BATCH"]

BATCH = 256
T = TypeVar("T")


def replay_file(settings: Settings, path: Path, out: Path,
                mapping: ColumnMapping = ColumnMapping()) -> dict:
    rows = _by_event_time((r.ts, r) for r in iter_file(path, mapping))
    return replay_inputs(settings, [_from_row(r, str(path), settings.partitions)
                                    for r in rows], out, source=str(path))


def partition_for(key: Optional[bytes], partitions: int) -> int:
    """The partition Kafka's default partitioner gives a keyed record (the Java client,
    kafka-python and aiokafka agree: murmur2, positive, modulo the count); unkeyed: 0.

    >>> partition_for(b"r/acme", 4), partition_for(None, 4)
    (1, 0)
    """
    from kafka.partitioner.default import murmur2

    return 0 if key is None else (murmur2(key) & 0x7FFFFFFF) % partitions


def _by_event_time(items: Iterable[tuple[Optional[float], T]]) -> list[T]:
    return [item for _, item in sorted(
        items, key=lambda pair: float("-inf") if pair[0] is None else pair[0])]


def _from_row(row: FileRow, source: str, partitions: int) -> Input:
    headers = {"vigil-format": row.fmt}
    if row.platform:
        headers["vigil-platform"] = row.platform
    key = row.community.encode() if row.community else None
    return Input("posts.raw", row.payload, key, headers,
                 partition=partition_for(key, partitions), offset=row.line_no,
                 timestamp=row.ts or time.time(), origin=source)


def replay_inputs(settings: Settings, ordered: list[Input], out: Path, *, source: str) -> dict:
    started = time.perf_counter()
    pipeline = Pipeline(settings)
    pipeline.load_models()
    state = PipelineState()
    out.mkdir(parents=True, exist_ok=True)
    counts: Counter = Counter()
    dead: Counter = Counter()
    trends: Counter = Counter()
    escalations: Counter = Counter()
    languages: Counter = Counter()
    unreadable = 0
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    progress = progress_for(len(ordered), "replay", "rows")
    files = {name: (out / f"{name}.jsonl").open("w", encoding="utf-8")
             for name in ("scored", "trends", "escalations", "dlq", "labels")}

    def write(name: str, records: Iterable) -> None:
        # The same JSON the worker puts on the topic, byte for byte.
        for record in records:
            files[name].write(record.dumps().decode() + "\n")

    batches = [ordered[start:start + BATCH] for start in range(0, len(ordered), BATCH)]
    try:
        for batch in batches + [[EndOfInput()]]:
            o = pipeline.process(batch, state)
            if o.labels:
                # Live, moderators' labels go round moderation.feedback and are learnt
                # from there before the worker's next batches; here, at once.
                o.learned.extend(pipeline.process(
                    [Input("moderation.feedback", label.dumps(), label.community.encode())
                     for label in o.labels], state).learned)
            write("scored", o.scored)
            write("labels", o.labels)
            write("trends", o.trends)
            write("escalations", o.escalations)
            write("dlq", o.dead_letters)
            counts["rows"] += sum(isinstance(i, Input) for i in batch) - o.clock_records
            counts["normalized"] += len(o.normalized)
            counts["duplicates"] += len(o.duplicates)
            counts["platform_events"] += len(o.platform_events)
            counts["labels"] += len(o.labels)
            counts["learned"] += sum(x.outcome == "learned" for x in o.learned)
            counts["scored"] += len(o.scored)
            counts["toxic"] += sum(s.decision != "none" for s in o.scored)
            dead.update(d.reason for d in o.dead_letters)
            trends.update(f"{t.kind}:{t.state}" for t in o.trends)
            escalations.update(f"{e.type}:{e.status}" for e in o.escalations)
            languages.update(s.lang or "und" for s in o.scored)
            unreadable += sum(not s.lang_supported for s in o.scored)
            for s in o.scored:
                ts = parse_event_time(s.post.created_at)
                first_ts = ts if first_ts is None else min(first_ts, ts)
                last_ts = ts if last_ts is None else max(last_ts, ts)
            progress.update(counts["rows"])
    finally:
        progress.close()
        for fh in files.values():
            fh.close()
    elapsed = time.perf_counter() - started
    summary = {
        "source": source,
        "rows": counts["rows"],
        "normalized": counts["normalized"],
        "duplicates": counts["duplicates"],
        "dead_lettered_total": sum(dead.values()),
        "dead_lettered": dict(sorted(dead.items())),
        "scored": counts["scored"],
        "toxic": counts["toxic"],
        # scored posts by language; those the English-only scorers cannot read
        "languages": dict(languages.most_common()),
        "language_unsupported": unreadable,
        "moderator_labels": counts["labels"],
        "labels_learned": counts["learned"],
        "communities": len(state.watch),
        "trends": dict(sorted(trends.items())),
        "escalations": dict(sorted(escalations.items())),
        "event_time_first": to_iso(first_ts) if first_ts is not None else None,
        "event_time_last": to_iso(last_ts) if last_ts is not None else None,
        "elapsed_s": round(elapsed, 3),
        "posts_per_s": round(counts["rows"] / elapsed, 1) if elapsed > 0 else 0.0,
        "model_version": pipeline.model_version,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def replay_topic(settings: Settings, topic: str, out: Path, *, start: Optional[str],
                 end: Optional[str], idle_timeout_s: float = 5.0) -> dict:
    """Replay a range of a raw topic by broker timestamp, with an assigned consumer
    (no group: nothing is committed). Each message keeps its key, headers, partition,
    offset and timestamp, as the worker sees them.

    The range's end is found from message timestamps and an idle timeout, never from
    end offsets, which Tansu reports wrongly.
    """
    from kafka import KafkaConsumer

    start_ms = int(parse_event_time(start) * 1000) if start else 0
    end_ms = int(parse_event_time(end) * 1000) if end else None
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                             enable_auto_commit=False, client_id="vigil-replay")
    inputs: list[tuple[Optional[float], Input]] = []
    try:
        tps = assign_every_partition_sync(consumer, topic, from_beginning=False)
        if not tps:
            raise SystemExit(f"vigil replay: topic {topic!r} does not exist on {settings.broker}")
        offsets = consumer.offsets_for_times({tp: start_ms for tp in tps})
        for tp in tps:
            found = offsets.get(tp)
            if found is None:
                consumer.seek_to_end(tp)  # nothing at or after start in this partition
            else:
                consumer.seek(tp, found.offset)
        done: set = set()
        last_message = time.monotonic()
        while len(done) < len(tps) and time.monotonic() - last_message < idle_timeout_s:
            for tp, messages in consumer.poll(timeout_ms=500).items():
                for m in messages:
                    last_message = time.monotonic()
                    if end_ms is not None and m.timestamp > end_ms:
                        done.add(tp)
                        break
                    if m.timestamp < start_ms:
                        continue
                    headers = {k: v.decode("utf-8", "replace") for k, v in (m.headers or [])}
                    inputs.append(((m.partition, m.offset), Input(
                        "posts.raw", m.value or b"", m.key, headers, partition=m.partition,
                        offset=m.offset, timestamp=m.timestamp / 1000.0, origin=topic)))
    finally:
        consumer.close()
    # each partition in its log order, as the worker read it (idle clocks included)
    return replay_inputs(settings, [i for _, i in sorted(inputs, key=lambda p: p[0])], out,
                         source=f"topic:{topic}")

