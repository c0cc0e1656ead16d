"""The Faust runner computes the next call while the previous one is being acknowledged,
yet publishes strictly in call order and marks an input processed only after the
broker acknowledged everything it caused; its agent takes the next batch while a call
is computed, but admits it only once that call is done.

The broker's side is what these tests control: ``deliver`` is replaced by one that
records what was sent and acknowledges only when the test says so, so the order of
sends, acknowledgements and processing can be read exactly (the live path, on the
embedded broker, is in tests/test_restart_integration.py and
tests/test_pipeline_integration.py)."""

from __future__ import annotations

import asyncio
import types

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


class Stream:
    """What the agent iterates: ``take_events`` yields the given batches, logging each
    time the agent asks for one (Faust's buffer fills only while the agent is not in
    its loop's body)."""

    def __init__(self, log: list[str], batches: list[list[Input]]):
        self.log, self.batches = log, batches
        self.holds: dict[int, asyncio.Future] = {}  # batch n arrives once holds[n] is set

    async def take_events(self, max_, within):
        for n, batch in enumerate(self.batches, 1):
            self.log.append(f"take {n}")
            if n in self.holds:
                await self.holds[n]
            yield batch


@pytest.fixture
def agent_loop(broker, monkeypatch):
    """The pipeline agent's body, with computing held until the test releases it."""
    computing: list[asyncio.Future] = []

    async def run_blocking(fn, *args):
        gate = asyncio.get_running_loop().create_future()
        computing.append(gate)
        await gate
        return fn(*args)

    async def in_order(inputs):
        broker.log.append("admit " + ",".join(str(i.offset) for i in inputs))
        return inputs

    for event in (worker.learning_restored, worker.topics_restored):
        monkeypatch.setattr(event, "_value", True)  # restored: the loop starts at once
    monkeypatch.setattr(worker, "run_blocking", run_blocking)
    monkeypatch.setattr(worker, "in_order", in_order)
    monkeypatch.setattr(worker, "to_input", lambda event: event)
    broker.computing = computing
    return worker.process.fun


def test_the_next_calls_inputs_are_taken_while_a_call_is_computed(broker, agent_loop):
    async def scenario():
        stream = Stream(broker.log, [_posts(0, 1), _posts(2), _posts(3)])
        agent = asyncio.ensure_future(agent_loop(stream))
        await settle()
        # the first call is being computed; the second batch is taken meanwhile, but
        # neither admitted nor computed before the first call was
        assert broker.log == ["take 1", "admit 0,1", "take 2"]
        broker.computing[0].set_result(None)
        await settle()
        assert broker.log[3:] == ["process 0,1", "send posts.scored", "admit 2", "take 3"]
        while not agent.done():
            for gate in broker.computing:
                if not gate.done():
                    gate.set_result(None)
            await broker.ack()
        await agent
        await broker.ack_all()  # the last call's publication, as at shutdown
        await asyncio.wait_for(worker.published(), 1)
        return broker.log

    log = asyncio.run(scenario())
    assert [e for e in log if e.startswith("process")] == ["process 0,1", "process 2",
                                                           "process 3"]
    assert log.index("admit 3") > log.index("process 2")
    assert broker.done.next_offset(TP("posts.raw", 0)) == 4


def test_a_stopped_publication_stops_the_agent_loop(broker, agent_loop):
    async def scenario():
        stream = Stream(broker.log, [_posts(0), _posts(1), _posts(2)])
        agent = asyncio.ensure_future(agent_loop(stream))
        await settle()
        broker.fail_next = True  # the first call's outputs are never acknowledged
        while not agent.done():
            for gate in broker.computing:
                if not gate.done():
                    gate.set_result(None)
            await broker.ack()
        await agent  # returns: the worker is stopping
        return broker.log

    log = asyncio.run(scenario())
    assert "process 2" not in log and "admit 2" not in log
    assert "record" not in log
    assert broker.done.next_offset(TP("posts.raw", 0)) is None


class Consumer:
    """The consumer as ``in_order`` sees it: its assignment and committed offsets."""

    def __init__(self, assigned: set):
        self.assigned, self._committed_offset, self.seeks = assigned, {}, []

    def assignment(self):
        return set(self.assigned)

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))


def test_inputs_of_a_partition_moved_away_since_they_were_taken_are_dropped(broker,
                                                                           monkeypatch):
    consumer = Consumer({TP("posts.raw", 0), TP("posts.raw", 1)})
    monkeypatch.setattr(worker, "app", type("App", (), {"consumer": consumer})())
    monkeypatch.setattr(worker, "applied_offsets", lambda partition: {})
    taken = _posts(0, 1) + [Input(topic="posts.raw", value=b"{}", key=b"d", headers={},
                                  partition=1, offset=o, timestamp=0.0) for o in (0, 1)]
    consumer.assigned = {TP("posts.raw", 0)}  # a rebalance moved partition 1 away
    admitted = asyncio.run(worker.in_order(taken))
    assert [(i.partition, i.offset) for i in admitted] == [(0, 0), (0, 1)]
    assert broker.done.expected(TP("posts.raw", 1)) is None  # nothing of it admitted
    assert consumer.seeks == []


def test_a_call_that_fails_is_reported_at_once_not_at_the_next_batch(broker, agent_loop,
                                                                      monkeypatch):
    from structlog.testing import capture_logs

    def broken(inputs, state):
        raise ValueError("a bug in a stage")

    monkeypatch.setattr(worker.pipeline, "process", broken)

    async def scenario():
        stream = Stream(broker.log, [_posts(0), _posts(1)])
        stream.holds[2] = asyncio.get_running_loop().create_future()
        agent = asyncio.ensure_future(agent_loop(stream))
        await settle()
        with capture_logs() as logs:
            broker.computing[0].set_result(None)
            await settle()
        failed = [e for e in logs if e["event"] == "pipeline_call_failed"]
        assert not agent.done()  # the second batch has not arrived yet
        stream.holds[2].set_result(None)
        with pytest.raises(ValueError):  # the agent itself still raises it
            await asyncio.wait_for(agent, 1)
        return failed

    failed = asyncio.run(scenario())
    assert len(failed) == 1 and failed[0]["error"] == "ValueError"
    assert broker.done.next_offset(TP("posts.raw", 0)) is None


class LaggingConsumer(Consumer):
    """... plus the high-water marks its fetches last saw."""

    def __init__(self, assigned: set):
        super().__init__(assigned)
        self.high: dict = {}

    def highwater(self, tp):
        return self.high.get(tp)


def test_a_quiet_partitions_new_record_is_no_stall_but_a_position_that_stays_is(
        broker, monkeypatch):
    from structlog.testing import capture_logs

    tp = TP("posts.raw", 0)
    consumer = LaggingConsumer({tp})
    clock = [1000.0]
    monkeypatch.setattr(worker, "app", type("App", (), {"consumer": consumer})())
    # the worker's clock only: asyncio's own must go on
    monkeypatch.setattr(worker, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(worker, "_last_delivery", [clock[0] - 300])  # quiet for minutes
    monkeypatch.setattr(worker, "_stalls", worker.StallWatch(worker.STALL_S))
    broker.done.admit(tp, 4, None)
    broker.done.mark([("posts.raw", 0, 4)])

    def tick(seconds, high, admitted_up_to=None):
        clock[0] += seconds
        consumer.high[tp] = high
        if admitted_up_to is not None:
            for offset in range(broker.done.expected(tp), admitted_up_to + 1):
                broker.done.admit(tp, offset, None)
        asyncio.run(worker.check_for_a_stalled_consumer())

    with capture_logs() as logs:
        tick(0, 6)  # an idle clock's record lands at offset 5, not fetched yet
        tick(0.5, 6, admitted_up_to=5)  # ... and is delivered half a second later
        assert consumer.seeks == []
        tick(1, 9)  # three posts wait at offset 6 and never come
        for _ in range(9):
            tick(1, 9)
        assert consumer.seeks == []  # 9 s at offset 6: not yet
        tick(1, 9)
    assert consumer.seeks == [(tp, 6)]
    assert [e["event"] for e in logs] == ["consumer_stalled"]
