"""``vigil run``: the whole pipeline on one machine, for a new user.

    embedded Tansu broker ─▶ topics ─▶ worker process (all agents, /metrics)
          ▲                                   │
    FileSource (sample stream, accelerated)   ▼
                                       escalations ─▶ printed here as they fire

Ctrl-C stops everything in reverse order. With ``--exit-on-end`` it waits until every
post sent has been accounted for (normalised, duplicate or dead-lettered, then scored)
and the escalation count is stable, prints a summary and exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Optional

from config.settings import Settings
from streams.assigned import assign_every_partition_sync
from streams.broker import BrokerError, EmbeddedBroker, port_in_use

SAMPLE = Path(__file__).resolve().parent.parent / "connectors" / "sample_data" / "community_stream.jsonl"
RUN_DIR = Path("var/run")


#: where the narration goes: stdout, or stderr when stdout carries the JSON summary
_NARRATION = {"stream": None}


def _say(msg: str) -> None:
    print(msg, flush=True, file=_NARRATION["stream"] or sys.stdout)


def scrape(web_port: int) -> dict[str, float]:
    """Current metric samples as ``{'name{label="v",...}': value}``, summed sensibly."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def total(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


class EscalationPrinter(threading.Thread):
    """Follows the escalations topic from the beginning and prints each message."""

    def __init__(self, bootstrap: str, started: float):
        super().__init__(daemon=True, name="escalation-printer")
        self.bootstrap, self.started = bootstrap, started
        self.first_at: Optional[float] = None
        self.counts: Counter = Counter()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 fetch_max_wait_ms=100, client_id="vigil-run-printer")
        assign_every_partition_sync(consumer, "escalations", wait_s=10.0)
        tty = sys.stdout.isatty()
        colour = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m",
                  "low": "\033[36m"}
        try:
            while not self._stop.is_set():
                for messages in consumer.poll(timeout_ms=200).values():
                    for m in messages:
                        e = json.loads(m.value)
                        if self.first_at is None:
                            self.first_at = time.monotonic() - self.started
                            _say(f"  >>> first escalation {self.first_at:.1f}s after start")
                        self.counts[f"{e['type']}:{e['status']}"] += 1
                        sev = e["severity"]
                        sev_txt = f"{colour[sev]}{sev:<6}\033[0m" if tty else f"{sev:<6}"
                        _say(f"  +{time.monotonic() - self.started:6.1f}s {e['status'].upper():<9} "
                             f"{sev_txt} {e['type']:<10} {e['community']:<24} {e['title']}"
                             + (f"  (x{e['occurrence_count']})" if e["occurrence_count"] > 1 else ""))
                        if e["type"] == "moderation":
                            _say(f"{'':>37}{e['summary'][:110]}")
        finally:
            consumer.close()


def _start_worker(settings: Settings, broker_url: str, web_port: int) -> subprocess.Popen:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "VIGIL_BROKER": broker_url, "VIGIL_WEB_PORT": str(web_port),
           "VIGIL_DATA_DIR": str(RUN_DIR / "worker"), "VIGIL_LOG_FORMAT": "json"}
    log = (RUN_DIR / "worker.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "agents.cli", "worker"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_for_metrics(proc: subprocess.Popen, web_port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with code {proc.returncode}; "
                               f"see {RUN_DIR / 'worker.log'}")
        try:
            scrape(web_port)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the worker did not serve /metrics within {timeout_s:.0f}s")


def _wait_until_drained(web_port: int, produced: int, timeout_s: float = 120.0) -> dict:
    """Until every produced post is accounted for and escalations have settled."""
    deadline = time.monotonic() + timeout_s
    stable_since, last_escalations = None, -1.0
    while time.monotonic() < deadline:
        try:
            m = scrape(web_port)
        except OSError:  # a busy worker answers late: ask again, the deadline still holds
            time.sleep(0.5)
            continue
        handled = (total(m, "vigil_posts_normalized_total") + total(m, "vigil_posts_duplicate_total")
                   + total(m, "vigil_posts_dead_lettered_total"))
        caught_up = (total(m, "vigil_posts_ingested_total") >= produced and handled >= produced
                     and total(m, "vigil_posts_scored_total") >= total(m, "vigil_posts_normalized_total"))
        escalations = total(m, "vigil_escalations_total")
        if caught_up and escalations == last_escalations:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= 3.0:
                return m
        else:
            stable_since = None
        last_escalations = escalations
        time.sleep(0.5)
    _say("  (timed out waiting for the pipeline to drain; the summary may be partial)")
    return scrape(web_port)


def _summary(m: dict, produced: int, printer: EscalationPrinter, elapsed: float) -> dict:
    dead = {k.split('reason="')[1].rstrip('"}'): int(v) for k, v in m.items()
            if k.startswith("vigil_posts_dead_lettered_total{") and v > 0}
    return {
        "produced": produced,
        "ingested": int(total(m, "vigil_posts_ingested_total")),
        "normalized": int(total(m, "vigil_posts_normalized_total")),
        "duplicates": int(total(m, "vigil_posts_duplicate_total")),
        "dead_lettered": dead,
        "scored": int(total(m, "vigil_posts_scored_total")),
        "toxic": int(sum(v for k, v in m.items()
                         if k.startswith("vigil_posts_scored_total{") and 'decision="escalate"' in k)),
        "trend_signals": int(total(m, "vigil_trend_signals_total")),
        "escalations": dict(sorted(printer.counts.items())),
        "first_escalation_s": round(printer.first_at, 2) if printer.first_at else None,
        "elapsed_s": round(elapsed, 1),
    }


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (docker stop, systemd, a supervisor) both stop cleanly.

    Installed explicitly: a process started in the background by a non-interactive
    shell inherits SIGINT as *ignored*, and Python then never raises KeyboardInterrupt.
    """
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def run_demo(*, input_path: Optional[Path], speed: float, exit_on_end: bool,
             broker_port: int = 0, web_port: int = 6066, as_json: bool = False) -> int:
    """``as_json``: the narration goes to stderr and the summary, as JSON, to stdout."""
    started = time.monotonic()
    _NARRATION["stream"] = sys.stderr if as_json else None
    _stop_on_signals()
    path = Path(input_path) if input_path else SAMPLE
    if not path.is_file():
        _say(f"vigil run: input not found: {path}")
        return 2
    if port_in_use("127.0.0.1", web_port):
        _say(f"vigil run: port {web_port} is in use (another worker?); pick one with --web-port")
        return 2
    broker = EmbeddedBroker(port=broker_port, log_path=RUN_DIR / "broker.log")
    worker: Optional[subprocess.Popen] = None
    printer: Optional[EscalationPrinter] = None
    try:
        broker.start()
        _say(f"[vigil] embedded broker (Tansu) at {broker.url}")
        settings = Settings.load(broker=broker.url, web_port=web_port)
        from streams.admin import create_topics

        created = create_topics(settings)
        _say(f"[vigil] topics ready: {', '.join(r.name for r in created)}")
        worker = _start_worker(settings, broker.url, web_port)
        _wait_for_metrics(worker, web_port)
        _say(f"[vigil] worker up, metrics at http://127.0.0.1:{web_port}/metrics "
             f"(logs: {RUN_DIR / 'worker.log'})")
        printer = EscalationPrinter(broker.bootstrap, started)
        printer.start()

        from connectors.base import KafkaRawSink
        from connectors.files import FileSource

        sink = KafkaRawSink(broker.bootstrap)
        source = FileSource(sink, path, speed=speed)
        _say(f"[vigil] streaming {path.name} at {speed:g}x event time; escalations below. "
             f"Ctrl-C stops.")
        stats = source.run()
        sink.close()
        _say(f"[vigil] stream ended: {stats.produced} posts sent")
        if not exit_on_end:
            while worker.poll() is None:
                time.sleep(0.5)
            _say(f"[vigil] the worker exited with code {worker.returncode}")
            return 1
        metrics = _wait_until_drained(web_port, stats.produced)
        time.sleep(1.0)  # let the printer catch the last escalations
        summary = _summary(metrics, stats.produced, printer, time.monotonic() - started)
        (RUN_DIR / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if as_json:
            print(json.dumps(summary, indent=2), flush=True)
        else:
            _say("[vigil] summary\n" + json.dumps(summary, indent=2))
        return 0
    except KeyboardInterrupt:
        _say("\n[vigil] stopping")
        return 130
    except (BrokerError, RuntimeError) as exc:
        _say(f"vigil run: {exc}")
        return 1
    finally:
        if printer is not None:
            printer.stop()
        if worker is not None and worker.poll() is None:
            worker.terminate()  # Faust shuts down gracefully on SIGTERM
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        broker.stop()
