"""The three limits Vigil is measured against, each on the same corpus:

1. raw pass-through: consume a topic and produce every record to another with bare
   aiokafka, no processing (the broker/client limit);
2. bare Faust forward: one Faust agent forwarding records unchanged (the framework
   limit), in its own process as a worker would be;
3. the bare embedding model, batched, no Kafka (the ML limit).

Rates are sustained: the clock starts after ``warmup`` records, and broker timestamps of
the output records are used where a record leaves another process.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parents[1]


async def _produce_all(bootstrap: str, topic: str, values: Sequence[bytes],
                       keys: Sequence[bytes]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5,
                                max_batch_size=256 * 1024, acks=1)
    await producer.start()
    try:
        futures = [await producer.send(topic, v, key=k) for v, k in zip(values, keys)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def produce_all(bootstrap: str, topic: str, values: Sequence[bytes],
                keys: Sequence[bytes]) -> None:
    asyncio.run(_produce_all(bootstrap, topic, values, keys))


async def _passthrough(bootstrap: str, src: str, dst: str, n: int, warmup: int) -> float:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(src, bootstrap_servers=bootstrap, group_id="bench-passthrough",
                                auto_offset_reset="earliest", fetch_max_wait_ms=10,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5,
                                max_batch_size=256 * 1024, acks=1)
    await consumer.start()
    await producer.start()
    seen, started = 0, None
    pending = []
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for r in records:
                    pending.append(await producer.send(dst, r.value, key=r.key))
                    seen += 1
                    if seen == warmup:
                        await asyncio.gather(*pending)
                        pending.clear()
                        started = time.perf_counter()
        await asyncio.gather(*pending)
        return (n - warmup) / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


def passthrough(bootstrap: str, values: Sequence[bytes], keys: Sequence[bytes],
                warmup: int) -> float:
    """Posts/s consumed from one topic and produced (acked) to another."""
    produce_all(bootstrap, "bench.passthrough.in", values, keys)
    return asyncio.run(_passthrough(bootstrap, "bench.passthrough.in",
                                    "bench.passthrough.out", len(values), warmup))


def output_rate(bootstrap: str, topic: str, n: int, warmup: int, timeout_s: float) -> float:
    """Sustained rate of ``n`` records arriving on ``topic``, from broker timestamps:
    (records after the warm-up) / (last timestamp - warm-up record's timestamp)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      fetch_max_wait_ms=100, max_poll_records=5000)
    deadline = time.monotonic() + timeout_s
    while not (parts := c.partitions_for_topic(topic)):  # its producer may create it later
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic} never appeared")
        c.topics()  # refreshes the metadata
        time.sleep(0.5)
    c.assign([TopicPartition(topic, p) for p in parts])
    c.seek_to_beginning()
    stamps: list[int] = []
    while len(stamps) < n and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=200).values():
            stamps.extend(r.timestamp for r in records)
    c.close()
    if len(stamps) < n:
        raise TimeoutError(f"{topic}: {len(stamps)} of {n} records in {timeout_s:.0f}s")
    stamps.sort()
    return (n - warmup) / max(1e-3, (stamps[-1] - stamps[warmup]) / 1000.0)


def faust_forward(broker_url: str, bootstrap: str, values: Sequence[bytes],
                  keys: Sequence[bytes], warmup: int, log_dir: Path) -> float:
    """Posts/s through a bare Faust agent that forwards each record unchanged."""
    produce_all(bootstrap, "bench.forward.in", values, keys)
    procs = [_forward_worker(broker_url, log_dir / "faust-forward.log")]
    try:
        return output_rate(bootstrap, "bench.forward.out", len(values), warmup, timeout_s=600)
    finally:
        _stop(procs)


def faust_forward_scaleout(broker_url: str, bootstrap: str, values: Sequence[bytes],
                           keys: Sequence[bytes], warmup: int, log_dir: Path,
                           workers: int, partitions: int = 4) -> float:
    """Posts/s through ``workers`` bare Faust forward workers in one group, measured as
    Vigil's scale-out is: the group settles first (every worker owns partitions), then
    the posts are produced while the workers run."""
    from config.settings import Settings
    from streams.admin import create_topics
    from streams.topology import TopicSpec

    settings = Settings.load(env={}, broker=broker_url, partitions=partitions)
    create_topics(settings, tuple(TopicSpec(name, "post key", "bytes", "bench forward")
                                  for name in ("bench.forward.in", "bench.forward.out")))
    files = [log_dir / f"forward-{i}.assigned" for i in range(workers)]
    procs = []
    try:
        for i, f in enumerate(files):
            procs.append(_forward_worker(broker_url, log_dir / f"faust-forward-{i}.log",
                                         assigned_file=f))
        _wait_settled(files, partitions, timeout_s=120)
        produce_all(bootstrap, "bench.forward.in", values, keys)
        return output_rate(bootstrap, "bench.forward.out", len(values), warmup, timeout_s=600)
    finally:
        _stop(procs)


def _forward_worker(broker_url: str, log: Path, assigned_file: Optional[Path] = None):
    env = {**os.environ, "BENCH_BROKER": broker_url}
    if assigned_file is not None:
        env["BENCH_ASSIGNED_FILE"] = str(assigned_file)
    return subprocess.Popen([sys.executable, "-m", "bench.faust_forward", "worker", "-l", "warn",
                             "--without-web"], cwd=REPO, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_settled(files: Sequence[Path], partitions: int, timeout_s: float) -> None:
    """Until every worker owns some partitions and together all of them, twice in a row
    a second apart (a group that is still joining hands them out again)."""
    deadline, steady = time.monotonic() + timeout_s, 0
    while steady < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the forward workers' group never settled ({files[0].parent})")
        time.sleep(1.0)
        owned = [int(f.read_text() or 0) if f.exists() else 0 for f in files]
        steady = steady + 1 if min(owned) > 0 and sum(owned) == partitions else 0


def _stop(procs: list) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def model_rate(texts: Sequence[str], batch_size: int = 32, warmup: int = 64,
               backend: str = "onnx-int8", onnx_dir: Optional[str] = None) -> float:
    """Posts/s of the embedding model alone (every text distinct: no cache hits)."""
    from models.embeddings import SentenceEmbedder

    emb = SentenceEmbedder(batch_size=batch_size, cache_size=0, backend=backend,
                           onnx_dir=onnx_dir).load()
    emb.embed(list(texts[:warmup]))
    rest = [f"{t} #{i}" for i, t in enumerate(texts[warmup:])]  # distinct texts
    started = time.perf_counter()
    for i in range(0, len(rest), batch_size * 8):
        emb.embed(rest[i:i + batch_size * 8])
    return len(rest) / (time.perf_counter() - started)


def main() -> None:  # a quick look without the whole bench
    texts = [f"post number {i} about the patch" for i in range(400)]
    print(json.dumps({b: model_rate(texts, backend=b) for b in ("onnx-int8", "torch-fp32")}))


if __name__ == "__main__":
    main()
