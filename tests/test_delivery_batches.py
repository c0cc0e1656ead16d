"""The worker's sends (agents/delivery.py): one batch per topic partition, yet each
record where aiokafka's own per-record send() puts it, in order, and a failed batch
makes everything from its first record on go again."""

from __future__ import annotations

import asyncio

from agents.delivery import OutRecord, _send_in_order
from tests.conftest import create_topic, read_topic


def test_batched_records_land_where_send_puts_them_in_order_with_their_headers(broker):
    from aiokafka import AIOKafkaProducer

    for topic in ("batched", "one.by.one"):
        create_topic(broker.bootstrap, topic, 4)
    keys = [f"community-{i % 7}".encode() for i in range(300)]
    records = [OutRecord("batched", k, b"%d" % i, headers=[("n", b"%d" % i)])
               for i, k in enumerate(keys)]
    records += [OutRecord("batched", b"pinned", b"p%d" % i, partition=3) for i in range(5)]

    async def send_both() -> tuple:
        # small batches: a partition's records span several of them
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all",
                                    max_batch_size=2048)
        await producer.start()
        try:
            outcome = await _send_in_order(producer, records)
            acks = [await producer.send("one.by.one", b"%d" % i, key=k)
                    for i, k in enumerate(keys)]
            await asyncio.gather(*acks)
            return outcome
        finally:
            await producer.stop()

    assert asyncio.run(send_both()) == (None, None)
    got = read_topic(broker.bootstrap, "batched", until=lambda m: len(m) >= 305)
    reference = read_topic(broker.bootstrap, "one.by.one", until=lambda m: len(m) >= 300)
    assert len(got) == 305
    where = {m.value: m.partition for m in reference}
    keyed = [m for m in got if m.key != b"pinned"]
    assert {m.value: m.partition for m in keyed} == where
    assert len(set(where.values())) > 1  # the keys really spread over partitions
    for partition in range(4):
        values = [int(m.value) for m in sorted(keyed, key=lambda m: m.offset)
                  if m.partition == partition]
        assert values == sorted(values)
    assert all(dict(m.headers)["n"] == m.value for m in keyed)
    pinned = sorted((m for m in got if m.key == b"pinned"), key=lambda m: m.offset)
    assert [m.partition for m in pinned] == [3] * 5
    assert [m.value for m in pinned] == [b"p%d" % i for i in range(5)]


class _Batch:
    def __init__(self, room: int):
        self.room, self.records = room, []

    def append(self, *, timestamp, key, value, headers):
        if len(self.records) >= self.room:
            return None
        self.records.append(value)
        return object()


class _FailingProducer:
    """Two partitions, batches of three records; the batches of ``fail`` fail."""

    def __init__(self, fail: set):
        self.fail, self.sent = fail, []

    async def partitions_for(self, topic):
        return {0, 1}

    def create_batch(self):
        return _Batch(3)

    async def send_batch(self, batch, topic, *, partition):
        self.sent.append((partition, list(batch.records)))
        future = asyncio.get_running_loop().create_future()
        if (partition, len(self.sent)) in self.fail:
            future.set_exception(RuntimeError("not acknowledged"))
        else:
            future.set_result(None)
        return future


def test_a_failed_batch_sends_everything_from_its_first_record_on_again():
    records = [OutRecord("t", None, b"%d" % i, partition=i % 2) for i in range(10)]

    async def run(fail: set) -> tuple:
        producer = _FailingProducer(fail)
        return await _send_in_order(producer, records), producer.sent

    (index, error), sent = asyncio.run(run(set()))
    assert (index, error) == (None, None)
    # partition 0 gets 0,2,4 then 6,8; partition 1 gets 1,3,5 then 7,9
    assert sent == [(0, [b"0", b"2", b"4"]), (1, [b"1", b"3", b"5"]),
                    (0, [b"6", b"8"]), (1, [b"7", b"9"])]
    (index, error), _ = asyncio.run(run({(1, 4)}))  # the batch holding 7 and 9
    assert index == 7 and isinstance(error, RuntimeError)
    (index, _), _ = asyncio.run(run({(1, 2), (0, 3)}))  # 1,3,5 and 6,8
    assert index == 1
