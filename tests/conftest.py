"""Shared fixtures. Integration tests run against a real Kafka-protocol broker (Tansu,
the embedded broker) and a real ``vigil worker`` process; nothing is mocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

from streams.broker import EmbeddedBroker, free_port

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "connectors" / "sample_data" / "community_stream.jsonl"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[EmbeddedBroker]:
    """A fresh in-memory Tansu per test module, so topics start empty."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as b:
        yield b


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, web_port: int, log_path: Path):
        self.proc, self.web_port, self.log_path = proc, web_port, log_path

    def metrics(self) -> dict[str, float]:
        from agents.demo import scrape

        return scrape(self.web_port)

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def wait_for(self, predicate: Callable[[dict], bool], timeout_s: float = 90.0) -> dict:
        deadline = time.monotonic() + timeout_s
        last: dict = {}
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker died:\n{self.log_tail()}"
            try:
                last = self.metrics()
                if predicate(last):
                    return last
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"condition not met in {timeout_s}s; metrics={last}\n{self.log_tail()}")


def start_worker(broker: EmbeddedBroker, tmp_path: Path, **env: str) -> WorkerProcess:
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    web_port = free_port()
    log_path = tmp_path / "worker.log"
    full_env = {**os.environ, "VIGIL_BROKER": broker.url, "VIGIL_WEB_PORT": str(web_port),
                "VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_LOG_FORMAT": "json",
                "VIGIL_PSEUDONYM_KEY": "test-key", **env}
    proc = subprocess.Popen([sys.executable, "-m", "agents.cli", "worker"], env=full_env,
                            cwd=REPO, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    worker = WorkerProcess(proc, web_port, log_path)
    worker.wait_for(lambda m: True, timeout_s=60)  # /metrics answers
    return worker


def stop_worker(worker: WorkerProcess) -> None:
    if worker.proc.poll() is None:
        worker.proc.terminate()
        try:
            worker.proc.wait(20)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait(5)


@pytest.fixture(scope="module")
def worker(broker, tmp_path_factory) -> Iterator[WorkerProcess]:
    w = start_worker(broker, tmp_path_factory.mktemp("worker"))
    yield w
    stop_worker(w)


def read_topic(bootstrap: str, topic: str, *, until: Callable[[list], bool],
               timeout_s: float = 60.0) -> list:
    """Every message of ``topic`` from the start, polling until ``until(messages)``.

    Reads by polling, never by end offsets: Tansu reports those wrongly."""
    from kafka import KafkaConsumer

    from streams.assigned import assign_every_partition_sync

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=50, client_id="vigil-test-reader")
    try:
        assign_every_partition_sync(consumer, topic)
        out: list = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not until(out):
            for messages in consumer.poll(timeout_ms=200).values():
                out.extend(messages)
        return out
    finally:
        consumer.close()


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """A topic outside Vigil's topology (``vigil topics create`` makes those)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="vigil-test-admin")
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


def produce(bootstrap: str, items: list[tuple], topic: str = "posts.raw") -> None:
    """items: (key, value, headers) or (key, value, headers, partition)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value, headers, *partition in items:
        producer.send(topic, key=key, value=value, partition=partition[0] if partition else None,
                      headers=[(k, v.encode()) for k, v in headers.items()])
    producer.flush()
    producer.close()


def total(metrics: dict, name: str, **labels: str) -> float:
    from agents.demo import total as _total

    if not labels:
        return _total(metrics, name)
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in metrics.items()
               if k.startswith(name + "{") and all(w in k for w in want))


def sample_lines() -> list[bytes]:
    return [line for line in SAMPLE.read_bytes().splitlines() if line.strip()]


def as_json(message) -> dict:
    return json.loads(message.value)


def sample_truth() -> dict:
    """The sample stream's ground truth, from the generator that wrote it."""
    import importlib.util

    path = REPO / "connectors" / "sample_data" / "generate_sample.py"
    spec = importlib.util.spec_from_file_location("vigil_sample_generator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_with_truth()[1]


DLQ_REASON_OF_SAMPLE_KIND = {"broken": "invalid_json", "no_text": "missing_field",
                             "bad_time": "bad_timestamp", "num_text": "wrong_type"}


class Recorder:
    """A local HTTP server that answers from a script per path and records requests."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: dict[str, list[tuple[int, dict]]] = {}
        self.down: set[str] = set()  # paths answering 503 until removed
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, headers = ((503, {}) if self.path in rec.down else
                                   rec.script.get(self.path, []).pop(0)
                                   if rec.script.get(self.path) else (202, {}))
                rec.requests.append({"t": time.time(), "path": self.path, "status": status,
                                     "headers": dict(self.headers), "body": body})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path and r["status"] < 300]

    def wait(self, predicate, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"receiver never saw it; got {[(r['path'], r['status']) for r in self.requests]}")
