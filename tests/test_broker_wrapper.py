"""``vigil broker`` and EmbeddedBroker as a supervisor of Tansu (and of the local S3
server in s3 mode): a dead Tansu is reported (exit 1, its last words on stderr), a
killed wrapper takes its children with it (parent-death signal, port free again), and
s3 storage keeps topics and messages across a Tansu restart (and, with a data dir,
across a SIGKILL of everything).

Real processes throughout: the CLI as a subprocess, the Tansu binary, moto's S3 server.
Messages are counted by consuming until the topic stays idle, never by end offsets
(Tansu's ListOffsets(latest) is wrong; Apache Kafka's is right)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.child_processes import ChildProcess

from tests.conftest import REPO, create_topic

pytestmark = pytest.mark.integration

HAVE_MOTO = all(importlib.util.find_spec(m) is not None for m in ("moto", "flask", "flask_cors"))
needs_moto = pytest.mark.skipif(
    not HAVE_MOTO, reason="moto[server] (the local S3 server for s3 storage) is not installed: "
                          "pip install 'vigil[durable]'")

N_MESSAGES = 200


# --- helpers ---------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running, i.e. neither gone nor a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Wrapper:
    """``python -m agents.cli broker ...`` as a subprocess, output in files."""

    def __init__(self, tmp_path: Path, *args: str, name: str = "wrapper"):
        self.port = free_port()
        self.out = tmp_path / f"{name}.out"
        self.err = tmp_path / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agents.cli", "broker", "--port", str(self.port), *args],
                cwd=REPO, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while "ready at" not in self.out.read_text():
            assert self.proc.poll() is None, f"vigil broker exited early:\n{self.stderr()}"
            assert time.monotonic() < deadline, f"vigil broker not ready:\n{self.stderr()}"
            time.sleep(0.1)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def child(self, match: str) -> int:
        pids = [p for p in _children(self.proc.pid) if match in _cmdline(p)]
        assert len(pids) == 1, f"children of {self.proc.pid}: " + \
            "; ".join(_cmdline(p) for p in _children(self.proc.pid))
        return pids[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _wait_until(predicate, timeout_s: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout_s``."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s}s"
        time.sleep(0.02)
    return time.monotonic() - start


def _produce(bootstrap: str, topic: str, n: int, partitions: int = 3) -> None:
    from kafka import KafkaProducer

    create_topic(bootstrap, topic, partitions)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for i in range(n):
            producer.send(topic, key=str(i % 7).encode(), value=f"message-{i}".encode())
        producer.flush(30)
    finally:
        producer.close()


def _consume_until_idle(bootstrap: str, topic: str, idle_s: float = 3.0,
                        timeout_s: float = 60.0) -> list[bytes]:
    """Every value in ``topic`` from the beginning, read until nothing new arrives for
    ``idle_s`` (not by end offsets: Tansu's are wrong)."""
    from kafka import KafkaConsumer

    from streams.assigned import assign_every_partition_sync

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=50, auto_offset_reset="earliest",
                             client_id="vigil-test-reader")
    try:
        assigned = assign_every_partition_sync(consumer, topic, wait_s=2.0)
        assert assigned, f"topic {topic} does not exist on {bootstrap}"
        values: list[bytes] = []
        start = last = time.monotonic()
        while time.monotonic() - last < idle_s and time.monotonic() - start < timeout_s:
            for records in consumer.poll(timeout_ms=200).values():
                values += [r.value for r in records]
                last = time.monotonic()
        return values
    finally:
        consumer.close()


def _topics(bootstrap: str) -> set[str]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="vigil-test-admin")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


EXPECTED = sorted(f"message-{i}".encode() for i in range(N_MESSAGES))


# --- (a) a dead Tansu is reported -----------------------------------------------------

def test_wrapper_exits_nonzero_with_tansus_last_words_when_tansu_is_killed(tmp_path):
    wrapper = Wrapper(tmp_path)
    try:
        tansu = wrapper.child("tansu")
        os.kill(tansu, signal.SIGKILL)
        took = _wait_until(lambda: wrapper.proc.poll() is not None, timeout_s=5)
        err = wrapper.stderr()
        assert wrapper.proc.returncode == 1, err
        assert "the broker died" in err
        assert f"Tansu broker (pid {tansu}) was killed by signal SIGKILL" in err
        # Tansu's own last words, from its log
        assert f"listening on: tcp://127.0.0.1:{wrapper.port}" in err
        print(f"vigil broker exited {took:.2f}s after Tansu was killed")
    finally:
        wrapper.close()


def test_exit_report_quotes_the_last_lines_and_the_exit_code(tmp_path):
    """The same report for a process that exits by itself (a crash): its exit code and
    only its last 20 lines."""
    lines = "; ".join(f"echo line {i}" for i in range(30))
    child = ChildProcess("test child", ["sh", "-c", f"{lines}; echo panicked >&2; exit 3"],
                         dict(os.environ), None, signal.SIGKILL)
    try:
        child.proc.wait(10)
        report = child.describe_exit(lines=20)
    finally:
        child.close()
    assert f"the test child (pid {child.proc.pid}) exited with code 3" in report
    assert report.rstrip().endswith("panicked")
    assert "line 29" in report and "line 11" in report and "line 10\n" not in report
    assert not child.log_path.exists()  # a temporary log is removed


def test_sigterm_stops_the_wrapper_with_exit_0(tmp_path):
    wrapper = Wrapper(tmp_path)
    try:
        tansu = wrapper.child("tansu")
        wrapper.proc.send_signal(signal.SIGTERM)
        assert wrapper.proc.wait(15) == 0, wrapper.stderr()
        assert "the broker died" not in wrapper.stderr()
        assert not _alive(tansu)
    finally:
        wrapper.close()


# --- (b) a killed wrapper does not leave Tansu holding the port -----------------------

@pytest.mark.parametrize("storage", ["memory", pytest.param("s3", marks=needs_moto)])
def test_sigkill_of_the_wrapper_takes_its_children_and_frees_the_port(tmp_path, storage):
    wrapper = Wrapper(tmp_path, "--storage", storage)
    try:
        children = [wrapper.child("tansu")]
        if storage == "s3":
            children.append(wrapper.child("s3-server"))
        wrapper.proc.kill()
        wrapper.proc.wait(5)
        took = _wait_until(lambda: not any(_alive(p) for p in children)
                           and not _listening(wrapper.port), timeout_s=5)
        print(f"{storage}: children gone and port free {took:.2f}s after SIGKILL")
        # what used to fail with "already in use": a new broker on the same port
        with EmbeddedBroker(port=wrapper.port) as again:
            assert again.running
    finally:
        wrapper.close()


# --- (c) s3 storage: what survives what -----------------------------------------------

def test_memory_storage_loses_topics_on_a_tansu_restart(tmp_path):
    """The control for the next test: the same steps on memory storage lose everything."""
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        _produce(broker.bootstrap, "durable", 20)
        broker.restart_tansu()
        assert "durable" not in _topics(broker.bootstrap)


@needs_moto
def test_s3_storage_keeps_topics_and_messages_across_a_tansu_restart(tmp_path):
    with EmbeddedBroker(storage="s3", log_path=tmp_path / "tansu.log") as broker:
        t0 = time.monotonic()
        _produce(broker.bootstrap, "durable", N_MESSAGES)
        produced_s = time.monotonic() - t0
        before, s3_pid = broker.tansu_pid, broker.s3_pid
        broker.restart_tansu()  # Tansu only; the S3 server keeps running
        assert broker.tansu_pid != before and broker.s3_pid == s3_pid
        assert not _alive(before)
        assert "durable" in _topics(broker.bootstrap)
        values = _consume_until_idle(broker.bootstrap, "durable")
        assert sorted(values) == EXPECTED, f"{len(values)} of {N_MESSAGES} after the restart"
        print(f"s3: {N_MESSAGES} produced in {produced_s:.2f}s, {len(values)} read back "
              f"after a Tansu restart")


@needs_moto
def test_data_dir_keeps_messages_across_a_sigkill_of_the_whole_broker(tmp_path):
    data = tmp_path / "broker-data"
    first = Wrapper(tmp_path, "--data-dir", str(data), name="first")
    try:
        assert "journaled in" in first.out.read_text()
        _produce(first.bootstrap, "durable", N_MESSAGES)
        children = [first.child("tansu"), first.child("s3-server")]
        first.proc.kill()  # no chance to clean up: only the journal is left
        first.proc.wait(5)
        _wait_until(lambda: not any(_alive(p) for p in children), timeout_s=5)
    finally:
        first.close()
    assert (data / "s3-journal.jsonl").stat().st_size > 0

    # the second start replays the journal and compacts it; the third replays the
    # compacted journal (a compaction that dropped object bodies fails here)
    for generation in ("second", "third"):
        wrapper = Wrapper(tmp_path, "--data-dir", str(data), name=generation)
        try:
            values = _consume_until_idle(wrapper.bootstrap, "durable")
            assert sorted(values) == EXPECTED, \
                f"{generation} start: {len(values)} of {N_MESSAGES} after SIGKILL"
        finally:
            wrapper.close()
        assert wrapper.proc.returncode == 0, wrapper.stderr()
    log = (data / "s3-server.log").read_text()
    assert log.count("compacted to") == 3, log
