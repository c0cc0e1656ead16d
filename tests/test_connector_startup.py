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
