"""``vigil serve`` under concurrent Perspective clients on loopback.

Closed loop: ``concurrency`` clients each send ``comments:analyze`` (TOXICITY, one
distinct comment per request, so no embedding cache helps) as fast as answers come, for
``duration_s``: sustained requests/s. Open loop at half that rate: each request's time
from send to answer, p50/p99. The same closed loop with ``VIGIL_EMBEDDINGS=false`` gives
the lexical-only rate. The server and the clients share the machine, as they would on a
single host.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Sequence

from bench.limits import REPO

__all__ = ["ApiServer", "closed_loop", "open_loop", "measure"]


class ApiServer:
    def __init__(self, broker_url: str, log_dir: Path, *, embeddings: bool, port: int):
        from agents.api.keys import KeyStore

        data = log_dir / "data"
        self.key = KeyStore(data / "api_keys.json").create("bench", qps=1e6)
        env = {**os.environ, "VIGIL_BROKER": broker_url, "VIGIL_DATA_DIR": str(data),
               "VIGIL_LOG_LEVEL": "warning", "VIGIL_PSEUDONYM_KEY": "bench-key",
               "VIGIL_EMBEDDINGS": "true" if embeddings else "false"}
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "agents.cli", "serve", "--port",
                                      str(port)], env=env, cwd=REPO,
                                     stdout=(log_dir / "serve.log").open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "vigil serve exited"
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("vigil serve never answered")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _body(text: str) -> bytes:
    import json

    return json.dumps({"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}},
                       "doNotStore": True}).encode()


async def closed_loop(url: str, key: str, texts: Sequence[str], concurrency: int,
                      duration_s: float) -> float:
    """Requests/s answered 200 with ``concurrency`` clients kept busy."""
    import aiohttp

    endpoint = f"{url}/v1alpha1/comments:analyze?key={key}"
    done, counter = 0, iter(range(10**9))
    deadline = time.monotonic() + duration_s

    async def client(session) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            i = next(counter)
            async with session.post(endpoint, data=_body(f"{texts[i % len(texts)]} #{i}"),
                                    headers={"Content-Type": "application/json"}) as r:
                await r.read()
                done += r.status == 200

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        started = time.monotonic()
        await asyncio.gather(*(client(s) for _ in range(concurrency)))
        return done / (time.monotonic() - started)


async def open_loop(url: str, key: str, texts: Sequence[str], rate: float,
                    duration_s: float) -> list[float]:
    """Seconds from send to answer of requests sent at ``rate`` per second."""
    import aiohttp

    endpoint = f"{url}/v1alpha1/comments:analyze?key={key}"
    latencies: list[float] = []

    async def one(session, i: int) -> None:
        sent = time.perf_counter()
        async with session.post(endpoint, data=_body(f"{texts[i % len(texts)]} ~{i}"),
                                headers={"Content-Type": "application/json"}) as r:
            await r.read()
            if r.status == 200:
                latencies.append(time.perf_counter() - sent)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        tasks, start = [], time.perf_counter()
        for i in range(int(rate * duration_s)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(s, i)))
        await asyncio.gather(*tasks)
    return latencies


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def measure(broker_url: str, log_dir: Path, texts: Sequence[str], *, duration_s: float,
            latency_s: float, concurrency: int = 32) -> dict:
    from streams.broker import free_port

    out: dict = {}
    for embeddings in (True, False):
        d = log_dir / ("embeddings" if embeddings else "lexical")
        d.mkdir()
        server = ApiServer(broker_url, d, embeddings=embeddings, port=free_port())
        try:
            asyncio.run(closed_loop(server.url, server.key, texts, concurrency, 2.0))  # warm up
            rps = asyncio.run(closed_loop(server.url, server.key, texts, concurrency, duration_s))
            if not embeddings:
                out["lexical_requests_per_s"] = rps
                continue
            out["requests_per_s"] = rps
            lat = asyncio.run(open_loop(server.url, server.key, texts, rps / 2, latency_s))
            out.update(offered_requests_per_s=rps / 2, latency_requests=len(lat),
                       p50_s=_pct(lat, 0.5), p99_s=_pct(lat, 0.99))
        finally:
            server.stop()
    return out
