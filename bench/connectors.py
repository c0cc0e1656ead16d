"""Ingest rate of the file and webhook connectors into a real broker (posts/s).

    .venv/bin/python bench/connectors.py [--posts 20000] [--json]

Starts its own embedded broker, generates ``--posts`` posts in Vigil's JSON format
(3–120 words, several communities), and measures:

- ``file``: ``FileSource`` with the production sink (kafka-python, acks=all) from the first
  row read to the final flush; and the whole ``vigil connect file`` process, start-up
  included.
- ``webhook``: a real ``vigil connect webhook`` process, driven over loopback HTTP by
  ``--concurrency`` signed requests in flight, one post per request and then JSON Lines
  batches of 100. A 202 means the post is on the broker, so the rate is of posts stored.
Every figure is checked against the count on ``posts.raw`` afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = ("the patch broke my saves again support never answers refund please love this "
         "update great work devs servers down lag spike raid incoming scam link free skins "
         "thanks mods ban him ridiculous trash game best community ever").split()


def make_posts(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    now = time.time() - 3600
    out = []
    for i in range(n):
        words = rng.randint(3, 120)
        out.append(json.dumps({
            "platform": "bench", "community": f"bench-{i % 5}", "id": f"b{i}",
            "author": f"user{rng.randint(1, 500)}", "created_at": now + i * 0.01,
            "text": " ".join(rng.choice(WORDS) for _ in range(words))}).encode())
    return out


def count_topic(bootstrap: str, topic: str = "posts.raw") -> int:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      fetch_max_wait_ms=100, max_poll_records=5000)
    parts = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
    c.assign(parts)
    c.seek_to_beginning()
    n, idle = 0, time.monotonic()
    while time.monotonic() - idle < 1.5:  # Tansu's end offsets are wrong: read until idle
        batch = c.poll(timeout_ms=200)
        got = sum(len(v) for v in batch.values())
        if got:
            n, idle = n + got, time.monotonic()
    c.close()
    return n


def bench_file(bootstrap: str, url: str, path: Path, n: int) -> dict:
    from connectors.base import KafkaRawSink
    from connectors.files import FileSource

    sink = KafkaRawSink(bootstrap)
    started = time.perf_counter()
    stats = FileSource(sink, path).run()  # ends with a flush: every post acked
    in_process = time.perf_counter() - started
    sink.close()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "agents.cli", "connect", "file", "--input", str(path),
                    "--broker", url], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    process = time.perf_counter() - started
    return {"posts": stats.produced, "file_posts_per_s": round(n / in_process),
            "file_process_posts_per_s": round(n / process), "file_process_s": round(process, 2)}


async def _drive(port: int, bodies: list[bytes], concurrency: int, secret: bytes,
                 content_type: str) -> tuple[float, int]:
    import aiohttp

    from connectors.webhook import sign

    queue: asyncio.Queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    accepted = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        while not queue.empty():
            body = queue.get_nowait()
            ts = str(int(time.time()))
            async with session.post(f"http://127.0.0.1:{port}/posts", data=body, headers={
                    "Content-Type": content_type, "X-Vigil-Timestamp": ts,
                    "X-Vigil-Signature": sign(secret, ts, body)}) as resp:
                assert resp.status == 202, await resp.text()
                accepted += (await resp.json())["accepted"]

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        started = time.perf_counter()
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
        return time.perf_counter() - started, accepted


def bench_webhook(url: str, posts: list[bytes], concurrency: int, tmp: Path) -> dict:
    from streams.broker import free_port

    port, secret = free_port("127.0.0.1"), "bench-secret"
    cfg = tmp / "webhook.toml"
    cfg.write_text(f'[webhook]\nname = "bench"\nsecret_env = "BENCH_HOOK_SECRET"\n'
                   f'port = {port}\nmax_body_bytes = 2097152\n')
    proc = subprocess.Popen([sys.executable, "-m", "agents.cli", "connect", "webhook", "--config",
                             str(cfg), "--broker", url], cwd=REPO,
                            env={**os.environ, "BENCH_HOOK_SECRET": secret},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import urllib.request

        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        half = len(posts) // 2
        single = posts[:half]
        batches = [b"\n".join(posts[i:i + 100]) for i in range(half, len(posts), 100)]
        s1, a1 = asyncio.run(_drive(port, single, concurrency, secret.encode(), "application/json"))
        s2, a2 = asyncio.run(_drive(port, batches, min(concurrency, 8), secret.encode(),
                                    "application/x-ndjson"))
    finally:
        proc.terminate()
        proc.wait(20)
    return {"webhook_single_posts_per_s": round(a1 / s1), "webhook_single_posts": a1,
            "webhook_batch100_posts_per_s": round(a2 / s2), "webhook_batch_posts": a2,
            "webhook_concurrency": concurrency}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from config.settings import Settings
    from streams.admin import create_topics
    from streams.broker import EmbeddedBroker

    posts = make_posts(args.posts)
    with tempfile.TemporaryDirectory() as d, EmbeddedBroker() as broker:
        tmp = Path(d)
        create_topics(Settings.load(env={}, broker=broker.url))
        path = tmp / "posts.jsonl"
        path.write_bytes(b"\n".join(posts) + b"\n")
        result = bench_file(broker.bootstrap, broker.url, path, len(posts))
        result.update(bench_webhook(broker.url, posts, args.concurrency, tmp))
        on_topic = count_topic(broker.bootstrap)
        expected = 2 * len(posts) + len(posts)  # file twice (in-process, process), webhook once
        result["on_broker"], result["expected_on_broker"] = on_topic, expected
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:32} {v}")
    return 0 if on_topic == expected else 1


if __name__ == "__main__":
    sys.exit(main())
