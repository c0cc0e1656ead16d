"""Faults against a real broker and worker: the short fault campaign (``bench.faults``),
and what a worker and a connector do while the broker is away.

The campaign here is the CI-sized one (the sample once: one kill, one rebalance, an 8 s
outage, 500 malformed payloads); ``python -m bench.faults`` runs the full one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from streams.broker import EmbeddedBroker, free_port
from tests.conftest import REPO, SAMPLE, start_worker, total

pytestmark = pytest.mark.integration


def test_short_fault_campaign_matches_replay(tmp_path):
    from bench.faults import campaign

    summary = campaign(kills=1, rebalances=1, outage_s=8.0, malformed=500, copies=1,
                       seed=19, out=tmp_path, say=print)
    by_kind = {t["kind"]: t for t in summary["trials"]}
    # every transition of replay live, none twice under another id, none extra, and
    # every valid post scored, whatever happened to the worker and the broker
    assert (summary["lost"], summary["duplicated"], summary["extra"], summary["unscored"]) \
        == (0, 0, 0, 0), summary
    assert summary["transitions"] > 20
    kill = by_kind["kill"]
    assert kill["live_messages"] >= kill["transitions"]
    outage = by_kind["outage"]
    assert outage["broker_up_fell_to_0"] and outage["counter_matches_topic"], outage
    bad = by_kind["malformed"]
    assert bad["dead_lettered"] == 500 and bad["undocumented"] == 0, bad
    assert bad["stage_errors"] == 0


def test_worker_says_the_broker_is_away_and_stops_on_sigterm_in_time(tmp_path):
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        worker = start_worker(broker, tmp_path, VIGIL_SHUTDOWN_TIMEOUT_S="8")
        worker.wait_for(lambda m: m.get("vigil_broker_up") == 1, timeout_s=30)
        os.kill(broker.tansu_pid, signal.SIGSTOP)  # every connection hangs
        try:
            frozen = time.monotonic()
            worker.wait_for(lambda m: m.get("vigil_broker_up") == 0, timeout_s=20)
            noticed = time.monotonic() - frozen
            log = worker.log_path.read_text()
            assert "broker_unreachable" in log
            worker.proc.terminate()
            started = time.monotonic()
            code = worker.proc.wait(30)
            stopped = time.monotonic() - started
        finally:
            os.kill(broker.tansu_pid, signal.SIGCONT)
    print(f"\nbroker frozen -> vigil_broker_up 0: {noticed:.1f} s; SIGTERM -> exit: {stopped:.1f} s")
    assert noticed < 15
    assert stopped < 8 + 3, stopped  # the shutdown timeout, and a little for the exit
    assert code is not None
    # however long the outage, the log says it a few times, not hundreds
    lines = [line for line in worker.log_path.read_text().splitlines()
             if "aiokafka" in line or "broker_" in line]
    assert len(lines) < 60, len(lines)


def test_connect_file_says_at_once_that_the_broker_is_unreachable(tmp_path):
    port = free_port()  # nothing listens there
    proc = subprocess.Popen([sys.executable, "-m", "agents.cli", "connect", "file", "--input",
                             str(SAMPLE), "--broker", f"127.0.0.1:{port}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        time.sleep(12)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "unreachable" in err and f"127.0.0.1:{port}" in err, err[-2000:]
    assert err.count("unreachable") <= 4  # one line per retry, not a flood


def test_a_broker_back_without_its_topics_is_reported_and_they_are_recreated(tmp_path):
    from streams.admin import list_topics
    from streams.topology import TOPICS

    port = free_port()
    first = EmbeddedBroker(port=port, log_path=tmp_path / "tansu1.log")
    first.start()
    worker = start_worker(first, tmp_path)
    second = None
    try:
        worker.wait_for(lambda m: m.get("vigil_broker_up") == 1, timeout_s=30)
        first.stop()  # memory storage: every topic goes with it
        worker.wait_for(lambda m: m.get("vigil_broker_up") == 0, timeout_s=30)
        second = EmbeddedBroker(port=port, log_path=tmp_path / "tansu2.log")
        second.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "topics_recreated" not in worker.log_path.read_text():
            time.sleep(0.5)
        log = worker.log_path.read_text()
        assert "topics_missing" in log and "are gone" in log
        assert "topics_recreated" in log
        assert {t.name for t in TOPICS} <= list_topics(second.bootstrap)
        worker.wait_for(lambda m: m.get("vigil_broker_up") == 1
                        and m.get("vigil_topics_missing") == 0, timeout_s=30)
    finally:
        worker.proc.terminate()
        worker.proc.wait(30)
        for b in (first, second):
            if b is not None:
                b.stop()
