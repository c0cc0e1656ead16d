"""A connector must not wait silently for ever on a broker that accepts connections
and never answers (a lost request, a wedged broker): its start-up gives up per attempt,
logs, retries with a new client, and finally fails loudly."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from connectors.base import AsyncRawSink
from connectors.cursors import CursorStore


@pytest.fixture
def black_hole():
    """A TCP listener that accepts and reads but never replies."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    conns = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conns.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    server.close()


def test_cursor_load_gives_up_on_a_broker_that_never_answers(black_hole):
    store = CursorStore(black_hole)
    with pytest.raises(TimeoutError, match="2 attempts"):
        asyncio.run(store.load("reddit:acme", attempts=2, timeout_s=0.5))


def test_sink_start_gives_up_on_a_broker_that_never_answers(black_hole):
    sink = AsyncRawSink(black_hole)
    with pytest.raises(TimeoutError, match="2 attempts"):
        asyncio.run(sink.start(attempts=2, timeout_s=0.5))


@pytest.mark.integration
def test_cursor_load_finishes_while_other_connectors_keep_saving(broker):
    """Other connectors save their cursors every few hundred milliseconds: the topic is
    never idle, and a load must still end, with this connector's latest cursor."""
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))

    async def scenario():
        mine, others = CursorStore(broker.bootstrap), CursorStore(broker.bootstrap)
        await mine.save("reddit:acme", {"feeds": {"/r/a/new": 1}})
        await mine.save("reddit:acme", {"feeds": {"/r/a/new": 2}})
        busy = asyncio.Event()

        async def chatter():
            n = 0
            while True:
                n += 1
                await others.save("youtube:acme", {"quota": {"used": n}})
                busy.set()
                await asyncio.sleep(0.05)

        writer = asyncio.create_task(chatter())
        await busy.wait()
        try:
            loaded = await mine.load("reddit:acme", attempts=1, timeout_s=15)
            other = await mine.load("youtube:acme", attempts=1, timeout_s=15)
            absent = await mine.load("steam:none", attempts=1, timeout_s=15)
        finally:
            writer.cancel()
            await mine.close()
            await others.close()
        return loaded, other, absent

    loaded, other, absent = asyncio.run(scenario())
    assert loaded["feeds"] == {"/r/a/new": 2}
    assert other["quota"]["used"] >= 1 and absent is None
