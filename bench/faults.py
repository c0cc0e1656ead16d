"""The fault campaign: a real broker and worker, killed, rebalanced and cut off, against
``vigil replay`` of the same stream.

    python -m bench.faults [--kills 10] [--rebalances 2] [--outage-s 70] [--malformed 10000]
                           [--copies 5] [--seed 19] [--out var/faults]

The stream is the bundled sample, ``--copies`` times under distinct community names
(same event times, so partitions interleave), sorted by event time and produced keyed
by community, as the file connector sends a file. Its replay (``agents.replay``, the
end of input taken as lasting silence) is the reference. Each trial runs on a fresh
embedded broker:

- **kill**: the stream is produced in chunks while the worker is SIGKILLed at a random
  moment and restarted at once;
- **rebalance**: a second worker joins halfway and leaves (SIGTERM) later;
- **outage**: the broker is frozen (SIGSTOP, every connection hangs, nothing is lost:
  a network partition) for ``--outage-s`` in the middle of the stream; the worker's
  ``vigil_broker_up`` must read 0 meanwhile, and its escalation counter must equal the
  distinct escalations on the topic afterwards;
- **malformed**: ``--malformed`` payloads of every kind of damage; each must be on
  ``posts.dlq`` with a documented reason and ``vigil_stage_errors_total`` stay 0.

After the stream, silence is written the way a worker writes it (an idle-clock record
per partition at the event time a replay's end stands for). Then escalations are
compared by (dedup_key, status, occurrence_count, id), and scored post ids by id:

    lost          in replay, not live            (must be 0)
    duplicated    one transition, several ids     (must be 0; the same id twice is fine)
    extra         live, not in replay            (must be 0)
    unscored      valid posts never on posts.scored (must be 0)

Prints one line per trial and a JSON summary (also ``<out>/faults.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

from config.settings import Settings
from streams.broker import EmbeddedBroker
from streams.events import CLOCK_HEADER
from tests.conftest import SAMPLE, WorkerProcess, produce, read_topic, start_worker, total

WORKER_ENV = {"VIGIL_PSEUDONYM_KEY": "faults-key",
              # no idle clocks mid-stream: the stream is replayed faster than real time,
              # so silence is written once, at its end, as a replay takes it
              "VIGIL_INCIDENT_SWEEP_INTERVAL_S": "3600", "VIGIL_SESSION_TIMEOUT_S": "10"}


def build_stream(copies: int) -> list[tuple[float, bytes | None, bytes]]:
    """(event time, key, payload) in event-time order; unreadable lines first."""
    rows = []
    lines = [line for line in SAMPLE.read_bytes().splitlines() if line.strip()]
    for copy in range(copies):
        for i, raw in enumerate(lines):
            try:
                obj = json.loads(raw)
                if copy:
                    obj["community"] = f"{obj['community']}~{copy}"
                    obj["id"] = f"{obj['id']}~{copy}"
                raw = json.dumps(obj).encode()
                from models.eventtime import parse_event_time
                ts, key = parse_event_time(obj["created_at"]), obj["community"].encode()
            except Exception:
                ts, key = float("-inf"), None
            rows.append((ts, copy, i, key, raw))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [(ts, key, raw) for ts, _, _, key, raw in rows]


def reference(stream, work: Path) -> dict:
    """Replay's escalations and scored ids for the stream."""
    from agents.replay import replay_file

    path = work / "stream.jsonl"
    path.write_bytes(b"\n".join(raw for _, _, raw in stream) + b"\n")
    for k, v in WORKER_ENV.items():
        os.environ[k] = v
    started = time.monotonic()
    replay_file(Settings.load(), path, work / "replay")
    elapsed = time.monotonic() - started
    escalations = [json.loads(line) for line in (work / "replay" / "escalations.jsonl").open()]
    scored = {json.loads(line)["post"]["post_id"] for line in (work / "replay" / "scored.jsonl").open()}
    trends = [json.loads(line) for line in (work / "replay" / "trends.jsonl").open()]
    return {"escalations": escalations, "scored": scored, "trends": trends, "seconds": elapsed}


def trend_key(t: dict) -> tuple:
    return (t["trend_id"], t["state"], t["window_end"], t["volume"])


def compare(ref: dict, live_escalations: list[dict], live_scored: set[str],
            live_trends: list[dict] = ()) -> dict:
    def key(e):
        return (e["dedup_key"], e["status"], e["occurrence_count"], e["id"])

    want, got = Counter(map(key, ref["escalations"])), set(map(key, live_escalations))

    def ids(records):  # one transition may recur with another incident number (new id)
        out = defaultdict(set)
        for e in records:
            out[(e["dedup_key"], e["status"], e["occurrence_count"])].add(e["id"])
        return out

    live_ids, ref_ids = ids(live_escalations), ids(ref["escalations"])
    return {"lost": sum(1 for k in want if k not in got),
            "duplicated": sum(max(0, len(v) - len(ref_ids.get(k, ()))) for k, v in live_ids.items()),
            "extra": sum(1 for k in got if k not in want),
            "unscored": len(ref["scored"] - live_scored),
            # trend signals (lifecycle steps) by (trend id, state, window end, volume)
            "trends_lost": len(set(map(trend_key, ref["trends"])) - set(map(trend_key, live_trends))),
            "trends_extra": len(set(map(trend_key, live_trends)) - set(map(trend_key, ref["trends"]))),
            "transitions": len(want), "live_messages": len(live_escalations)}


def _silence(broker, stream, partitions: int) -> None:
    silent = max(ts for ts, _, _ in stream) + Settings.load().incident_quiet_s
    produce(broker.bootstrap, [(None, b"", {CLOCK_HEADER: repr(silent)}, p)
                               for p in range(partitions)])


def _drain(broker, ref: dict, worker: WorkerProcess, partitions: int) -> tuple[list, set]:
    """Wait until every post replay scored is on posts.scored and the worker read the
    silence records, then read the escalations."""
    def ids(ms):
        return {json.loads(m.value)["post"]["post_id"] for m in ms}

    messages = read_topic(broker.bootstrap, "posts.scored", timeout_s=240,
                          until=lambda ms: len(ids(ms)) >= len(ref["scored"]))
    scored = ids(messages)
    worker.wait_for(lambda m: total(m, "vigil_clock_records_total", direction="read")
                    >= partitions, timeout_s=120)
    want = len({(e["dedup_key"], e["status"], e["occurrence_count"]) for e in ref["escalations"]})
    escalations = [json.loads(m.value) for m in read_topic(
        broker.bootstrap, "escalations", timeout_s=20,
        until=lambda ms: len({(json.loads(m.value)["dedup_key"], json.loads(m.value)["status"],
                               json.loads(m.value)["occurrence_count"]) for m in ms}) >= want)]
    want_trends = len({trend_key(t) for t in ref["trends"]})
    trends = [json.loads(m.value) for m in read_topic(
        broker.bootstrap, "signals.trends", timeout_s=10,
        until=lambda ms: len({trend_key(json.loads(m.value)) for m in ms}) >= want_trends)]
    # posts.scored messages beyond one per post: read again after a kill (at-least-once)
    return escalations, scored, trends, len(messages) - len(scored)


def _chunks(stream, n: int):
    size = max(1, len(stream) // n)
    return [stream[i:i + size] for i in range(0, len(stream), size)]


def _send(broker, chunk) -> None:
    produce(broker.bootstrap, [(key, raw, {"vigil-format": "vigil"}) for _, key, raw in chunk])


def trial(kind: str, stream, ref: dict, work: Path, rng: random.Random, *,
          outage_s: float = 10.0) -> dict:
    for sub in ("w1", "w2"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    partitions = Settings.load().partitions
    started = time.monotonic()
    extra: dict = {}
    with EmbeddedBroker(log_path=work / "tansu.log") as broker:
        worker = start_worker(broker, work / "w1", **WORKER_ENV)
        others: list[WorkerProcess] = []
        try:
            chunks = _chunks(stream, 12)
            killer = None
            if kind == "kill":
                # a moment anywhere in the worker's handling of the stream: mid-batch,
                # mid-publish, mid-commit, or idle between chunks
                holder = [worker]
                killer = threading.Thread(target=_kill_and_restart, daemon=True, args=(
                    holder, broker, work, rng.randrange(1, len(ref["scored"]))))
                killer.start()
            for i, chunk in enumerate(chunks):
                _send(broker, chunk)
                if kind != "kill":  # a kill trial sends at once: a backlog to be killed in
                    time.sleep(0.2)
                if kind == "rebalance" and i == len(chunks) // 3:
                    others.append(start_worker(broker, work / "w2", **WORKER_ENV))
                elif kind == "rebalance" and i == 2 * len(chunks) // 3 and others:
                    time.sleep(rng.uniform(0.5, 3.0))
                    others.pop().proc.terminate()
                elif kind == "outage" and i == len(chunks) // 2:
                    extra.update(_outage(broker, worker, outage_s))
            if killer is not None:
                killer.join()
                worker = holder[0]
                extra["killed_after_scored"] = holder[1]
            _silence(broker, stream, partitions)
            live, scored, trends, rescored = _drain(broker, ref, worker, partitions)
            for name, records in (("escalations", live), ("trends", trends)):
                with (work / f"live_{name}.jsonl").open("w") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in records)
            result = compare(ref, live, scored, trends)
            result["rescored"] = rescored
            if kind == "outage":
                counted = total(worker.metrics(), "vigil_escalations_total")
                result["counter_matches_topic"] = counted == len({e["id"] for e in live})
                result["escalations_counted"] = counted
        finally:
            for w in [worker, *others]:
                if w.proc.poll() is None:
                    w.proc.terminate()
                    try:
                        w.proc.wait(30)
                    except Exception:
                        w.proc.kill()
    return {"kind": kind, **result, **extra, "seconds": round(time.monotonic() - started, 1)}


def _kill_and_restart(holder: list, broker, work: Path, after_scored: int) -> None:
    """SIGKILL once the worker scored ``after_scored`` posts (polled every 20 ms, so
    the kill falls a little later: mid-batch, mid-publish or mid-commit), restart."""
    worker = holder[0]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if total(worker.metrics(), "vigil_posts_scored_total") >= after_scored:
                break
        except OSError:
            pass
        time.sleep(0.02)
    worker.proc.send_signal(signal.SIGKILL)
    worker.proc.wait(10)
    worker.log_path.rename(worker.log_path.with_suffix(".killed.log"))
    holder[0] = start_worker(broker, work / "w1", **WORKER_ENV)
    holder.append(after_scored)


def _outage(broker, worker: WorkerProcess, outage_s: float) -> dict:
    """Freeze the broker: every connection hangs, as in a network partition."""
    os.kill(broker.tansu_pid, signal.SIGSTOP)
    saw_down, stopped = False, time.monotonic()
    try:
        while time.monotonic() - stopped < outage_s:
            try:
                saw_down |= worker.metrics().get("vigil_broker_up") == 0
            except OSError:
                pass
            time.sleep(1.0)
    finally:
        os.kill(broker.tansu_pid, signal.SIGCONT)
    return {"broker_up_fell_to_0": saw_down, "outage_s": outage_s}


def malformed_trial(n: int, work: Path, rng: random.Random) -> dict:
    from tests.test_bad_input import malformed_payloads
    from models.normalize import DLQ_REASONS

    (work / "w").mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=work / "tansu.log") as broker:
        worker = start_worker(broker, work / "w", **WORKER_ENV)
        try:
            payloads = malformed_payloads(n, rng)
            produce(broker.bootstrap, [(b"r/malformed", p, {"vigil-format": "vigil"})
                                       for p in payloads])
            dead = read_topic(broker.bootstrap, "posts.dlq", timeout_s=300,
                              until=lambda ms: len(ms) >= n)
            reasons = Counter(json.loads(m.value)["reason"] for m in dead)
            m = worker.metrics()
            errors = total(m, "vigil_stage_errors_total")
        finally:
            worker.proc.terminate()
            worker.proc.wait(30)
    return {"kind": "malformed", "payloads": n, "dead_lettered": sum(reasons.values()),
            "undocumented": sum(v for k, v in reasons.items() if k not in DLQ_REASONS
                                or k == "internal_error"),
            "stage_errors": errors, "reasons": dict(reasons)}


def campaign(*, kills: int, rebalances: int, outage_s: float, malformed: int, copies: int,
             seed: int, out: Path, say: Callable[[str], None] = print) -> dict:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    stream = build_stream(copies)
    ref = reference(stream, out)
    say(f"stream: {len(stream)} rows, replay: {len(ref['scored'])} scored, "
        f"{len(ref['escalations'])} escalation transitions")
    trials = []
    plan = ["kill"] * kills + ["rebalance"] * rebalances + (["outage"] if outage_s else [])
    for i, kind in enumerate(plan):
        r = trial(kind, stream, ref, out / f"{kind}{i}", rng, outage_s=outage_s)
        trials.append(r)
        say(json.dumps(r))
    if malformed:
        r = malformed_trial(malformed, out / "malformed", rng)
        trials.append(r)
        say(json.dumps(r))
    summary = {"rows": len(stream), "transitions": len(ref["escalations"]), "trials": trials}
    for field in ("lost", "duplicated", "extra", "unscored", "trends_lost", "trends_extra"):
        summary[field] = sum(t.get(field, 0) for t in trials)
    (out / "faults.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n")[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--rebalances", type=int, default=2)
    p.add_argument("--outage-s", type=float, default=70.0)
    p.add_argument("--malformed", type=int, default=10_000)
    p.add_argument("--copies", type=int, default=5)
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="vigil-faults-"))
    s = campaign(kills=a.kills, rebalances=a.rebalances, outage_s=a.outage_s,
                 malformed=a.malformed, copies=a.copies, seed=a.seed, out=out)
    print(json.dumps({k: v for k, v in s.items() if k != "trials"}))
    bad = s["lost"] + s["duplicated"] + s["extra"] + s["unscored"] + sum(
        t.get("undocumented", 0) + t.get("stage_errors", 0) for t in s["trials"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
