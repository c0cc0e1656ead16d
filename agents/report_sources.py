"""Where a report's records come from: a ``vigil replay --out`` folder, or the live topics.

Both give a :class:`models.report_figures.ReportRecords`: scored posts, trend signals,
escalation messages and moderators' labels, each as the JSON the worker wrote. From
the topics every partition is read with an assigned consumer (no group, nothing
committed) from the broker time ``since`` on, up to what was written when the read
began: a partition is done at its first message stamped after that (a busy topic never
goes quiet), or when the topic is quiet for ``idle_timeout_s`` (Tansu's end offsets
cannot be trusted, ../shared/ENVIRONMENT.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from models.report_figures import ReportRecords
from streams.assigned import assign_every_partition_sync

__all__ = ["from_replay", "from_topics", "ReportSourceError", "REPLAY_FILES", "TOPICS"]

#: replay output file -> ReportRecords field
REPLAY_FILES = {"scored.jsonl": "scored", "trends.jsonl": "trends",
                "escalations.jsonl": "escalations", "labels.jsonl": "labels"}
#: topic -> ReportRecords field
TOPICS = {"posts.scored": "scored", "signals.trends": "trends", "escalations": "escalations",
          "moderation.feedback": "labels"}


class ReportSourceError(ValueError):
    """The source is not there or not what a report is built from."""


def _records(lines, where: str) -> tuple[list[dict], int]:
    out, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1  # a torn last line of a replay killed mid-write, say
            continue
        if isinstance(record, dict):
            out.append(record)
        else:
            bad += 1
    return out, bad


def from_replay(folder: Path) -> tuple[ReportRecords, dict]:
    """The records of a replay's output folder; (records, {file: unreadable lines})."""
    folder = Path(folder)
    if not (folder / "scored.jsonl").is_file():
        raise ReportSourceError(f"{folder} is not a `vigil replay --out` folder "
                                "(no scored.jsonl)")
    fields, unreadable = {}, {}
    for name, attr in REPLAY_FILES.items():
        path = folder / name
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                fields[attr], unreadable[name] = _records(fh, name)
        else:
            fields[attr], unreadable[name] = [], 0
    return ReportRecords(**fields, live=False), unreadable


def from_topics(bootstrap: str, since: float, *, idle_timeout_s: float = 3.0,
                topics: Optional[dict] = None) -> tuple[ReportRecords, dict]:
    """The records written to Vigil's topics from broker time ``since`` on. The topics
    are read side by side: each may wait out its idle timeout, and they should not add
    up."""
    from concurrent.futures import ThreadPoolExecutor

    chosen = topics or TOPICS
    began_ms = int(time.time() * 1000)
    with ThreadPoolExecutor(len(chosen), thread_name_prefix="vigil-report-read") as pool:
        read = {topic: pool.submit(_read_topic, bootstrap, topic, since, began_ms,
                                   idle_timeout_s) for topic in chosen}
    fields, unreadable = {}, {}
    for topic, attr in chosen.items():
        fields[attr], unreadable[topic] = _records(read[topic].result(), topic)
    return ReportRecords(**fields, live=True), unreadable


def _read_topic(bootstrap: str, topic: str, since: float, began_ms: int,
                idle_timeout_s: float) -> list[bytes]:
    """Every partition of ``topic`` from broker time ``since`` up to ``began_ms``, each
    partition in log order (a key's lifecycle steps stay in the order written)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             client_id="vigil-report")
    values: list[tuple[tuple[int, int], bytes]] = []
    try:
        tps = assign_every_partition_sync(consumer, topic, from_beginning=False)
        if not tps:
            return []
        found = consumer.offsets_for_times({tp: int(since * 1000) for tp in tps})
        for tp in tps:
            if found.get(tp) is None:
                consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, found[tp].offset)
        done: set = set()
        last = time.monotonic()
        while len(done) < len(tps) and time.monotonic() - last < idle_timeout_s:
            for tp, messages in consumer.poll(timeout_ms=300).items():
                if messages:
                    last = time.monotonic()
                for m in messages:
                    if m.timestamp > began_ms:
                        done.add(tp)
                        consumer.pause(tp)
                        break
                    values.append(((m.partition, m.offset), m.value or b""))
    finally:
        consumer.close()
    values.sort(key=lambda pair: pair[0])
    return [v for _, v in values]
