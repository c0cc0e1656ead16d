"""The Faust runner computes the next call while the previous one is being acknowledged,
yet publishes strictly in call order and marks an input processed only after the
broker acknowledged everything it caused.

The broker's side is what these tests control: ``deliver`` is replaced by one that
records what was sent and acknowledges only when the test says so, so the order of
sends, acknowledgements and processing can be read exactly (the live path, on the
embedded broker, is in tests/test_restart_integration.py and
tests/test_pipeline_integration.py)."""

from __future__ import annotations

import asyncio

import pytest

from agents import worker
from agents.delivery import DeliveryStopped, OutRecord
from agents.transport import ProcessedOffsets
from faust.types import TP
from streams.events import Input, Outputs


class Broker:
    """Sends are recorded; each ``deliver`` waits until the test acknowledges it."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gates: list[asyncio.Future] = []
        self.fail_next = False

    async def deliver(self, send, records, *, stopping) -> None:
        names = ",".join(r.topic for r in records) or "-"
        self.log.append(f"send {names}")
        gate = asyncio.get_running_loop().create_future()
        self.gates.append(gate)
        await gate
        if self.fail_next:
            self.fail_next = False
            raise DeliveryStopped("stopping")
        self.log.append(f"ack {names}")

    async def ack(self) -> None:
        """Acknowledge the sends waiting now, then let the worker go on to its next."""
        for gate in self.gates:
            if not gate.done():
                gate.set_result(None)
        await settle()

    async def ack_all(self) -> None:
        for _ in range(12):
            await self.ack()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture
def broker(monkeypatch):
    b = Broker()
    done = ProcessedOffsets()

    async def run_blocking(fn, *args):
        return fn(*args)

    def process(inputs, state):
        b.log.append("process " + ",".join(str(i.offset) for i in inputs))
        return Outputs()

    monkeypatch.setattr(worker, "deliver", b.deliver)
    monkeypatch.setattr(worker, "run_blocking", run_blocking)
    monkeypatch.setattr(worker.pipeline, "process", process)
    monkeypatch.setattr(worker, "output_records",
                        lambda out: [OutRecord("posts.scored", b"c", b"{}")])
    monkeypatch.setattr(worker, "state_records", lambda: [OutRecord("changelog", b"k", b"{}", 0)])
    monkeypatch.setattr(worker, "applied_records",
                        lambda done: [OutRecord("clocks", b"a", b"{}", 0)])
    monkeypatch.setattr(worker, "sync_records", lambda changelog, markers: [])
    monkeypatch.setattr(worker, "processed", done)
    monkeypatch.setattr(worker.recording, "record", lambda inputs, out: b.log.append("record"))
    monkeypatch.setattr(worker, "_in_flight", None)
    monkeypatch.setattr(worker, "pipeline_lock", asyncio.Lock())
    b.done = done
    return b


def _posts(*offsets: int) -> list[Input]:
    return [Input(topic="posts.raw", value=b"{}", key=b"c", headers={}, partition=0,
                  offset=o, timestamp=0.0) for o in offsets]


def test_the_next_call_is_computed_while_the_last_waits_for_the_broker(broker):
    async def scenario():
        # returns with its outputs unacknowledged
        first = await asyncio.wait_for(worker.run(_posts(0, 1)), 1)
        assert first is not None
        await settle()
        assert broker.log == ["process 0,1", "send posts.scored"]
        assert broker.done.next_offset(TP("posts.raw", 0)) is None  # nothing acknowledged
        second = asyncio.ensure_future(worker.run(_posts(2)))
        await asyncio.sleep(0.01)
        # computed already, but nothing of it sent before the first call's markers
        assert broker.log == ["process 0,1", "send posts.scored", "process 2"]
        assert not second.done()  # at most one publication runs ahead of the caller
        await broker.ack_all()
        await second
        await broker.ack_all()
        await asyncio.wait_for(worker.published(), 1)
        return broker.log

    log = asyncio.run(scenario())
    first_call = ["send posts.scored", "ack posts.scored", "send changelog", "ack changelog",
                  "send clocks", "ack clocks", "record"]
    sends = [e for e in log if e != "process 2" and e != "process 0,1"]
    assert sends == first_call + first_call  # strictly in call order, stage by stage
    assert log.index("process 2") < log.index("ack posts.scored")
    assert broker.done.next_offset(TP("posts.raw", 0)) == 3


def test_a_call_is_marked_processed_only_after_its_markers_are_acknowledged(broker):
    async def scenario():
        await asyncio.wait_for(worker.run(_posts(5)), 1)
        await settle()
        for expected in ("ack posts.scored", "ack changelog"):
            await broker.ack()
            assert expected in broker.log
            assert broker.done.next_offset(TP("posts.raw", 0)) is None
        await broker.ack()
        await asyncio.wait_for(worker.published(), 1)
        assert broker.done.next_offset(TP("posts.raw", 0)) == 6

    asyncio.run(scenario())


def test_a_stopped_publication_stops_the_calls_behind_it(broker):
    async def scenario():
        await asyncio.wait_for(worker.run(_posts(0)), 1)
        broker.fail_next = True  # the first call's outputs are never acknowledged
        second = asyncio.ensure_future(worker.run(_posts(1)))
        await asyncio.sleep(0.01)
        await broker.ack_all()
        with pytest.raises(DeliveryStopped):
            await second
        await worker.published()
        return broker.log

    log = asyncio.run(scenario())
    assert log.count("send posts.scored") == 1  # the second call sent nothing
    assert "record" not in log
    assert broker.done.next_offset(TP("posts.raw", 0)) is None


def test_wait_returns_once_the_call_itself_was_acknowledged(broker):
    async def scenario():
        call = asyncio.ensure_future(worker.run(_posts(0), wait=True))
        for _ in range(3):  # outputs, state, markers
            await settle()
            assert not call.done()
            await broker.ack()
        await asyncio.wait_for(call, 1)
        assert broker.done.next_offset(TP("posts.raw", 0)) == 1

    asyncio.run(scenario())
