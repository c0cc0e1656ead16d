"""Vigil's own paths through a real worker on a real broker.

``throughput``: every post produced to ``posts.raw`` at once; the rate is that of
``posts.scored`` by broker timestamps after the warm-up. ``latency``: posts produced at
a fixed rate (half the measured maximum), each post's time from its ``posts.raw``
record to its ``posts.scored`` record and, for those that escalate, to the escalation
(broker timestamps on both ends: one clock). Peak RSS and CPU seconds of the worker
come from /proc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from bench.limits import REPO, output_rate, produce_all


def _proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds so far, peak RSS in MB) of a process and its threads, and of its
    child processes (the worker's text reader, :mod:`agents.text_process`): CPU added
    up, peaks added up (at most the true combined peak)."""
    cpu = rss = 0.0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        rss += int(line.split()[1]) / 1024
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile
    return cpu, rss


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except FileNotFoundError:
            continue
    return out


class Worker:
    def __init__(self, broker_url: str, log_dir: Path, *, embeddings: bool, web_port: int):
        env = {**os.environ, "VIGIL_BROKER": broker_url, "VIGIL_WEB_PORT": str(web_port),
               "VIGIL_DATA_DIR": str(log_dir / "data"), "VIGIL_LOG_FORMAT": "json",
               "VIGIL_LOG_LEVEL": "warning", "VIGIL_PSEUDONYM_KEY": "bench-key",
               "VIGIL_EMBEDDINGS": "true" if embeddings else "false"}
        self.web_port = web_port
        self.proc = subprocess.Popen([sys.executable, "-m", "agents.cli", "worker"], env=env,
                                     cwd=REPO, stdout=(log_dir / "worker.log").open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the worker exited"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("worker never served /metrics")

    def stats(self) -> tuple[float, float]:
        return _proc_stats(self.proc.pid)

    def ingested(self) -> float:
        """Raw payloads this worker has read so far (its /metrics)."""
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics",
                                      timeout=5).read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith("vigil_posts_ingested_total{"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def throughput(bootstrap: str, workers, values: Sequence[bytes], keys: Sequence[bytes],
               warmup: int, already: int = 0) -> dict:
    """Sustained posts/s from posts.raw to posts.scored, and CPU s per 1,000 posts
    (all workers together)."""
    workers = workers if isinstance(workers, (list, tuple)) else [workers]
    cpu0 = sum(w.stats()[0] for w in workers)
    produce_all(bootstrap, "posts.raw", values, keys)
    rate = output_rate(bootstrap, "posts.scored", already + len(values), already + warmup,
                       timeout_s=900)
    stats = [w.stats() for w in workers]
    return {"posts_per_s": rate,
            "cpu_s_per_1000": (sum(c for c, _ in stats) - cpu0) / len(values) * 1000,
            "rss_mb": max(r for _, r in stats)}


def _timestamps(bootstrap: str, topic: str, key_of, want: int, timeout_s: float) -> dict:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      fetch_max_wait_ms=100, max_poll_records=5000)
    parts = c.partitions_for_topic(topic) or set()
    c.assign([TopicPartition(topic, p) for p in parts])
    c.seek_to_beginning()
    out: dict = {}
    deadline = time.monotonic() + timeout_s
    while len(out) < want and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=200).values():
            for r in records:
                k = key_of(r)
                if k is not None and k not in out:
                    out[k] = r.timestamp / 1000.0
    c.close()
    return out


def _pct(values: list[float], q: float) -> Optional[float]:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def latency(bootstrap: str, values: Sequence[bytes], keys: Sequence[bytes], rate: float,
            id_of) -> dict:
    """Produce at ``rate`` posts/s; produce→scored and produce→escalation percentiles."""
    from kafka import KafkaProducer

    # as the connectors produce (connectors/base.py: linger 5 ms); a record's time is
    # taken at send(), so the linger counts in its latency. With linger 0 this producer
    # and the broker's one request per record took over a core of two (measured).
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5)
    started = time.perf_counter()
    for i, (v, k) in enumerate(zip(values, keys)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        producer.send("posts.raw", value=v, key=k)
    producer.flush()
    producer.close()
    ids = {id_of(v) for v in values}
    raw = _timestamps(bootstrap, "posts.raw", lambda r: (json.loads(r.value).get("id")
                                                         if json.loads(r.value).get("id") in ids
                                                         else None), len(ids), 60)
    scored = _timestamps(bootstrap, "posts.scored",
                         lambda r: (json.loads(r.value)["post"]["post_id"]
                                    if json.loads(r.value)["post"]["post_id"] in ids else None),
                         len(ids), 120)

    def escalated(r):
        # moderation escalations name the post that triggered (or updated) the incident
        post_ids = (json.loads(r.value).get("evidence") or {}).get("post_ids") or []
        return next((p for p in post_ids if p in ids), None)

    time.sleep(2.0)
    escalations = _timestamps(bootstrap, "escalations", escalated, len(ids), 3)
    to_scored = [scored[i] - raw[i] for i in scored if i in raw]
    to_escalation = [escalations[i] - raw[i] for i in escalations if i in raw]
    out = {"offered_posts_per_s": rate, "latency_posts": len(to_scored),
           "escalation_posts": len(to_escalation)}
    for name, xs in (("scored", to_scored), ("escalation", to_escalation)):
        for q in (0.5, 0.95, 0.99):
            out[f"p{int(q * 100)}_{name}_s"] = _pct(xs, q)
    return out
