"""The worker's text readings in a child process: real parallelism on a CPU-bound worker.

Measured with py-spy (``python -m bench.worker_profile``), a non-ML worker spent about
40 % of its samples in the learning-free readings of a post (the lexical prior, the
rules, VADER sentiment, language: :mod:`models.text_reading`), pure Python holding the
interpreter lock that its Kafka I/O (Faust's consumer, the event loop, aiokafka's
sender) needs too. :class:`ProcessTextReader` does those readings in one child process,
so they run beside the I/O on another core; the inference thread sends a batch's texts
and waits (without the lock) for their readings. A community's rules (its configured
allow and deny terms, compiled) are sent to the child with its first post.

The child is ``python -m agents.text_process``: it imports :mod:`models.text_reading`
and nothing of Faust or the worker, loads the weights, says it is ready, and answers
requests on its stdin/stdout, one length-prefixed pickle each way. It ignores SIGINT
(Ctrl-C reaches the whole process group; the worker stops it) and exits when its stdin
closes, which is also what happens when the worker dies, however it dies.

A small batch is read in the worker itself (fewer than ``min_batch`` posts, 32 by
default: that many arrive within ``VIGIL_SCORE_BATCH_WITHIN_S``, 50 ms, only above 640
posts/s, or when they waited). Batches fill up only when posts wait, so
the child takes over when the worker is behind and throughput is what counts; a worker
that keeps up sees small batches and reads them itself, with no round trip (about
1.5 ms, more on a busy 2-core machine where the child waits for a core). Measured with
``vigil bench``'s latency at half load on 2 cores with every batch sent to the child,
a queue built up in 4 of 21 runs (p99 to scored 1.1–7.7 s against 0.2–1.0 s).

Readings are the same wherever they are made (same code, same weights), so a child that
dies, hangs or cannot start costs speed, never a post or a different score: the call in
flight and every call after it are read in the inference thread instead (log
``text_reader_lost``), and a new child is tried ``retry_after_s`` later.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from models.text_reading import TextReader, TextReading, from_rows

__all__ = ["ProcessTextReader"]

_LEN = struct.Struct("!I")
_REPO = Path(__file__).resolve().parent.parent


class ChildLost(Exception):
    """The child did not answer: it exited, hung past the timeout, or sent garbage."""


def _read_exactly(fd: int, n: int, deadline: float) -> bytes:
    chunks, left = [], n
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise ChildLost("no answer in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChildLost("the child closed its output")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_frame(stream: Any, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LEN.pack(len(data)) + data)
    stream.flush()


class ProcessTextReader:
    """``reader(texts, given_langs, communities) -> [TextReading]``, read by a child
    process (:meth:`TextReader.read`'s contract).

    ``local`` reads instead while there is no child. Not thread-safe: one caller (the
    inference thread) at a time."""

    def __init__(self, local: TextReader, *, min_batch: int = 32,
                 start_timeout_s: float = 120.0,
                 call_timeout_s: float = 30.0, retry_after_s: float = 30.0, log=None,
                 lost_counter=None):
        self.local = local
        self.min_batch = min_batch
        self.start_timeout_s = start_timeout_s
        self.call_timeout_s = call_timeout_s
        self.retry_after_s = retry_after_s
        self.log, self.lost_counter = log, lost_counter  # structlog logger, prometheus Counter
        self._proc: Optional[subprocess.Popen] = None
        self._next_try = 0.0  # monotonic time before which no child is started
        self._stopping = False
        self._sent: set[str] = set()
        self.lost = 0         # children that failed so far

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> bool:
        """Start the child and wait until its weights are loaded; False if it failed."""
        self._next_try = time.monotonic() + self.retry_after_s
        self._sent = set()  # communities whose rules this child has
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(_REPO), os.environ.get("PYTHONPATH", "")) if p)}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "agents.text_process"], cwd=_REPO, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
            reply = self._receive(time.monotonic() + self.start_timeout_s)
            if reply != ("ready", None):
                raise ChildLost(f"unexpected first answer {reply!r:.80}")
        except (OSError, ChildLost) as exc:
            self._lose(exc)
            return False
        if self.log:
            self.log.info("text_reader_started", pid=self._proc.pid)
        return True

    def __call__(self, texts: Sequence[str], given_langs: Sequence[Optional[str]],
                 communities: Sequence[str]) -> list[TextReading]:
        if len(texts) < self.min_batch:  # see the module's docstring
            return self.local.read(texts, given_langs, communities)
        return self.collect(texts, given_langs, communities, self.send(texts, given_langs,
                                                                      communities))

    def send(self, texts: Sequence[str], given_langs: Sequence[Optional[str]],
             communities: Sequence[str]) -> bool:
        """Hand a batch to the child (starting one if it is time); False where there is
        no child to read it. :meth:`collect` gets the readings either way."""
        if not self.running and (self._stopping or time.monotonic() < self._next_try
                                 or not self.start()):
            return False
        try:
            # a community's rules (its configured terms) cross once per child
            new = {c: self.local.rules_for(c) for c in set(communities) - self._sent}
            _write_frame(self._proc.stdin, ("read", (list(texts), list(given_langs),
                                                     list(communities), new)))
            self._sent |= new.keys()
            return True
        except Exception as exc:  # whatever failed, the worker can read this batch itself
            self._lose(exc)
            return False

    def collect(self, texts: Sequence[str], given_langs: Sequence[Optional[str]],
                communities: Sequence[str], sent: bool) -> list[TextReading]:
        """The readings of the batch :meth:`send` was given (``sent``: what it said)."""
        if sent:
            try:
                kind, body = self._receive(time.monotonic() + self.call_timeout_s)
                if kind != "rows" or len(body) != len(texts):
                    raise ChildLost(f"{kind}: {body!r:.200}")
                return from_rows(body)
            except Exception as exc:  # the worker reads this batch itself
                self._lose(exc)
        return self.local.read(texts, given_langs, communities)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the child's input: it answers the request it has, then exits. A call
        after this reads locally (the worker is stopping; no new child is started)."""
        self._stopping = True
        proc = self._proc
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def _receive(self, deadline: float) -> tuple:
        fd = self._proc.stdout.fileno()
        (n,) = _LEN.unpack(_read_exactly(fd, _LEN.size, deadline))
        try:
            return pickle.loads(_read_exactly(fd, n, deadline))
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ChildLost(f"unreadable answer: {exc}") from exc

    def _lose(self, exc: Exception) -> None:
        self._next_try = time.monotonic() + self.retry_after_s
        if self._stopping:
            return
        self.lost += 1
        if self.lost_counter is not None:
            self.lost_counter.inc()
        if self.log:
            self.log.error("text_reader_lost", error=str(exc)[:300], lost=self.lost,
                           retry_after_s=self.retry_after_s,
                           hint="posts are read in the worker itself meanwhile: slower, "
                                "same scores")
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass


def serve(inp=None, out=None) -> None:
    """The child's loop: load, say ready, answer each request until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inp = inp or sys.stdin.buffer
    if out is None:
        # the answers get the real stdout to themselves: anything a library prints
        # while loading goes to stderr instead of into the protocol
        out = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
    rules: dict = {}  # community -> its RuleScorer, as the worker sent it
    reader = TextReader(rules.__getitem__).load()
    _write_frame(out, ("ready", None))
    while True:
        head = inp.read(_LEN.size)
        if len(head) < _LEN.size:
            return  # the worker closed the pipe or died
        (n,) = _LEN.unpack(head)
        kind, body = pickle.loads(inp.read(n))
        try:
            if kind != "read":
                raise ValueError(f"unknown request {kind!r}")
            texts, langs, communities, new_rules = body
            rules.update(new_rules)
            _write_frame(out, ("rows", reader.read_rows(texts, langs, communities)))
        except Exception as exc:  # the worker logs it and reads this batch itself
            _write_frame(out, ("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    serve()
