"""``vigil replay``: the live pipeline's steps, in-process, over a file or a topic range.

Rows are sorted by event time first (stable, so equal times keep file order), then go
through exactly the steps the agents run, in the order a single worker would apply
them. Nothing is produced to any topic. Outputs in ``--out``:

    scored.jsonl        one ScoredPost per accepted post
    trends.jsonl        every TrendSignal, in event order
    escalations.jsonl   every Escalation message (trigger, update, resolve)
    dlq.jsonl           DeadLetter records for rows that failed validation
    summary.json        counts that add up: rows = normalized + duplicates + dead-lettered
                        + platform_events (deletions, moderators' actions)

Each post's ``ingested_at`` is its event time in a replay (there is no broker to stamp
it), so outputs are reproducible run to run apart from processing timestamps.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional

from agents.steps import MalformedPost, NotAPost, Steps
from config.settings import Settings
from connectors.files import ColumnMapping, FileRow, iter_file
from models.community_watch import WatchState
from models.raids import RaidState
from models.conduct import ConductState
from models.eventtime import parse_event_time, to_iso

__all__ = ["replay_file", "replay_topic", "replay_rows"]

SCORE_BATCH = 256


class _Progress:
    """A status line on stderr every couple of seconds: long files are common."""

    def __init__(self, total: int, every_s: float = 2.0):
        self.total, self.every_s = total, every_s
        self.start = self.last = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s or done == self.total:
            self.last = now
            rate = done / max(now - self.start, 1e-9)
            pct = 100.0 * done / max(self.total, 1)
            print(f"\rreplay: {done}/{self.total} rows ({pct:5.1f}%) {rate:,.0f} rows/s",
                  end="\n" if done == self.total else "", file=sys.stderr, flush=True)


def replay_file(settings: Settings, path: Path, out: Path,
                mapping: ColumnMapping = ColumnMapping()) -> dict:
    rows = list(iter_file(path, mapping))
    return replay_rows(settings, rows, out, source=str(path))


def replay_rows(settings: Settings, rows: Iterable[FileRow], out: Path, *,
                source: str) -> dict:
    started = time.perf_counter()
    # rows: every input row, sorted by event time; unreadable times first (they fail)
    rows = sorted(rows, key=lambda r: float("-inf") if r.ts is None else r.ts)
    steps = Steps(settings)
    steps.load_models()
    out.mkdir(parents=True, exist_ok=True)
    files = {name: (out / f"{name}.jsonl").open("w", encoding="utf-8")
             for name in ("scored", "trends", "escalations", "dlq")}
    counts: Counter = Counter()
    dead: Counter = Counter()
    trends: Counter = Counter()
    escalations: Counter = Counter()
    community_state: dict[str, WatchState] = {}
    raid_states: dict[str, RaidState] = {}
    incidents: dict = {}
    conduct: dict[str, ConductState] = {}
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    progress = _Progress(len(rows))

    def write(name: str, record) -> None:
        # The same JSON the agents put on the topic, byte for byte.
        files[name].write(record.dumps().decode() + "\n")

    def escalate(draft, source_id: str) -> None:
        state, esc = steps.escalate(incidents.get(draft.dedup_key), draft, source_id)
        incidents[draft.dedup_key] = state
        if esc is not None:
            escalations[f"{esc.type}:{esc.status}"] += 1
            write("escalations", esc)

    try:
        for start in range(0, len(rows), SCORE_BATCH):
            chunk = rows[start:start + SCORE_BATCH]
            posts = []
            for row in chunk:
                counts["rows"] += 1
                try:
                    post = steps.normalize(row.payload, fmt=row.fmt,
                                           ingested_ts=row.ts or time.time(),
                                           community=row.community)
                except MalformedPost as exc:
                    dead[exc.reason] += 1
                    write("dlq", steps.dead_letter(exc, row.payload, key=None, headers={},
                                                   topic=source, partition=0,
                                                   offset=row.line_no))
                    continue
                except NotAPost:
                    counts["platform_events"] += 1
                    continue
                if post is None:
                    counts["duplicates"] += 1
                    continue
                counts["normalized"] += 1
                posts.append(post)
            # posts: this chunk's accepted Posts, in event-time order
            for scored in steps.score_batch(posts):
                counts["scored"] += 1
                counts["toxic"] += scored.decision != "none"
                write("scored", scored)
                post = scored.post
                ts = parse_event_time(post.created_at)
                first_ts = ts if first_ts is None else min(first_ts, ts)
                last_ts = ts if last_ts is None else max(last_ts, ts)
                record = conduct.setdefault(f"{post.community}|{post.author_id}", ConductState())
                for draft in steps.moderation_drafts(scored, record):
                    escalate(draft, f"post:{post.platform}:{post.post_id}")
                state = community_state.setdefault(post.community, WatchState())
                raid = raid_states.setdefault(post.community, RaidState())
                for trend in steps.detect(state, scored, raid):
                    trends[f"{trend.kind}:{trend.state}"] += 1
                    write("trends", trend)
                    tdraft = steps.trend_draft(trend)
                    if tdraft is not None:
                        escalate(tdraft, steps.trend_source_id(trend))
            progress.update(counts["rows"])
    finally:
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
        "communities": len(community_state),
        "trends": dict(sorted(trends.items())),
        "escalations": dict(sorted(escalations.items())),
        "event_time_first": to_iso(first_ts) if first_ts is not None else None,
        "event_time_last": to_iso(last_ts) if last_ts is not None else None,
        "elapsed_s": round(elapsed, 3),
        "posts_per_s": round(counts["rows"] / elapsed, 1) if elapsed > 0 else 0.0,
        "model_version": steps.model_version,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def replay_topic(settings: Settings, topic: str, out: Path, *, start: Optional[str],
                 end: Optional[str], idle_timeout_s: float = 5.0) -> dict:
    """Replay a range of a raw topic by broker timestamp, in a throwaway consumer group.

    The range's end is found from message timestamps and an idle timeout, never from
    end offsets, which Tansu reports wrongly.
    """
    from kafka import KafkaConsumer, TopicPartition

    start_ms = int(parse_event_time(start) * 1000) if start else 0
    end_ms = int(parse_event_time(end) * 1000) if end else None
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                             group_id=f"vigil-replay-{int(time.time() * 1000)}",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             client_id="vigil-replay")
    rows: list[FileRow] = []
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise SystemExit(f"vigil replay: topic {topic!r} does not exist on {settings.broker}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
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
            batch = consumer.poll(timeout_ms=500)
            for tp, messages in batch.items():
                for m in messages:
                    last_message = time.monotonic()
                    if end_ms is not None and m.timestamp > end_ms:
                        done.add(tp)
                        break
                    if m.timestamp < start_ms:
                        continue
                    headers = {k: v.decode("utf-8", "replace") for k, v in (m.headers or [])}
                    rows.append(FileRow(len(rows), m.value or b"", None, _event_ts(m.value),
                                        fmt=headers.get("vigil-format", "vigil")))
    finally:
        consumer.close()
    return replay_rows(settings, rows, out, source=f"topic:{topic}")


def _event_ts(value: Optional[bytes]) -> Optional[float]:
    try:
        return parse_event_time(json.loads(value)["created_at"])
    except Exception:  # malformed payloads sort first and are dead-lettered by the steps
        return None
