"""What the connector tests share: a local fake platform server on its own event loop,
an in-memory sink and cursor store for sources run in-process, and the real
``vigil connect`` process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from aiohttp import web

from tests.conftest import REPO


class LocalServer:
    """An aiohttp application on 127.0.0.1 (a free port), served by a private event loop
    on a daemon thread, so a test (or a connector process) can call it while the test
    itself blocks. Subclasses set their state, then call ``super().__init__()``, and add
    their routes in ``routes(app)``. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self):
        app = web.Application()
        self.routes(app)
        self.runner = web.AppRunner(app)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.call(self._start())

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def call(self, coro, timeout: float = 10):
        """Run ``coro`` on the server's loop, from the test's thread; its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self):
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)


class MemorySink:
    """What a source run in-process produced: ``items``, (community, parsed payload)."""

    def __init__(self):
        self.items: list[tuple[str, dict]] = []

    async def produce(self, community, payload, *, fmt, platform, connector):
        self.items.append((community, json.loads(payload)))

    async def flush(self):
        pass


class MemoryCursors:
    """Cursors per key, through JSON as the broker-backed store keeps them; ``initial``
    is what any key not saved yet loads as (a cursor left by an earlier run)."""

    def __init__(self, initial: dict | None = None):
        self.initial = initial
        self.saved: dict[str, dict] = {}

    async def load(self, key):
        cursor = self.saved.get(key, self.initial)
        return json.loads(json.dumps(cursor)) if cursor else None

    async def save(self, key, cursor):
        self.saved[key] = json.loads(json.dumps(cursor))


def start_connect(platform: str, broker, tmp_path: Path, config: str, env: dict | None = None,
                  *, log: str = "connect.log", metrics_port: int | None = None
                  ) -> subprocess.Popen:
    """``vigil connect <platform>`` with ``config`` as its TOML file, logging JSON lines
    to ``tmp_path / log`` (appended: a restart writes to the same log)."""
    path = tmp_path / f"{platform}.toml"
    path.write_text(config)
    args = [sys.executable, "-m", "agents.cli", "connect", platform, "--config", str(path),
            "--broker", broker.url]
    if metrics_port is not None:
        args += ["--metrics-port", str(metrics_port)]
    with (tmp_path / log).open("ab") as out:
        return subprocess.Popen(args, cwd=REPO,
                                env={**os.environ, "VIGIL_LOG_FORMAT": "json", **(env or {})},
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> int:
    """SIGTERM, then its exit status (0: it shut down cleanly)."""
    proc.terminate()
    return proc.wait(20)


def wait_serving(port: int, proc: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    """Until a push connector answers ``/healthz``; its log if it died or never did."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


def post_json(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    """POST ``body`` as a sender would; the status and the JSON reply."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")
