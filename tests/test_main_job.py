"""The README's first command, as a new user runs it: ``vigil run --exit-on-end``.

It starts its own broker and worker, streams the bundled sample and prints a summary;
the summary must match the sample's ground truth (from the generator that wrote it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from streams.broker import free_port
from tests.conftest import DLQ_REASON_OF_SAMPLE_KIND, REPO, sample_lines, sample_truth

pytestmark = pytest.mark.integration


def test_vigil_run_streams_the_sample_and_summarises(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "agents.cli", "run", "--exit-on-end", "--json", "--speed", "3000",
         "--web-port", str(free_port())],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "var" / "run" / "summary.json").read_text())
    assert json.loads(proc.stdout) == summary  # --json: stdout is the summary, and only it
    truth = sample_truth()
    malformed = truth["malformed"]
    lines = len(sample_lines())
    duplicates = sum(1 for m in malformed if m["kind"] == "dup")
    dead = {DLQ_REASON_OF_SAMPLE_KIND[m["kind"]] for m in malformed if m["kind"] != "dup"}

    assert summary["produced"] == summary["ingested"] == lines
    assert summary["duplicates"] == duplicates
    assert set(summary["dead_lettered"]) == dead
    assert summary["normalized"] == lines - duplicates - len(dead) == summary["scored"]
    assert summary["toxic"] == len(truth["toxic_ids"])
    # One incident per burst, each triggered once and resolved once.
    assert summary["escalations"]["trend:triggered"] == len(truth["bursts"])
    assert summary["escalations"]["trend:resolved"] == len(truth["bursts"])
    # Every toxic post escalates: a new incident or an update of its author's incident.
    assert (summary["escalations"]["moderation:triggered"]
            + summary["escalations"]["moderation:updated"]) == len(truth["toxic_ids"])
    assert summary["first_escalation_s"] is not None
    assert "TRIGGERED" in proc.stderr and "Outage burst in r/acmesupport" in proc.stderr
    assert "Praise burst in acme-discord/#general" in proc.stderr


def _processes_in(directory) -> set[int]:
    """Pids whose working directory is ``directory``: the run, its broker and worker."""
    import os

    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == str(directory):
                    pids.add(int(entry))
            except OSError:
                pass
    return pids


def test_vigil_run_stops_everything_on_sigterm_and_sigint(tmp_path):
    """Ctrl-C (or docker stop) must leave no broker or worker behind, even when started
    the way scripts start it: in the background, where SIGINT is inherited ignored."""
    import signal
    import time

    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "run", "--speed", "60",
             "--web-port", str(free_port())],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "VIGIL_EMBEDDINGS": "false"},
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # until the broker and the worker are up
            if len(_processes_in(tmp_path) - {proc.pid}) >= 2:
                break
            time.sleep(0.5)
        assert len(_processes_in(tmp_path) - {proc.pid}) >= 2, "broker and worker never started"
        time.sleep(3)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
        assert "stopping" in out, out[-2000:]
        deadline = time.monotonic() + 20
        while _processes_in(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _processes_in(tmp_path), f"left running after {sig.name}"
