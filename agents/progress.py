"""Progress of long offline runs (``vigil replay``, ``vigil eval``) on stderr.

On a terminal, a tqdm bar; anywhere else (a log file, a pipe, CI) no carriage return
ever reaches the stream, which would turn a log into one unreadable line: at most a
plain line now and then, so a long run in a log still shows it is alive.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, TextIO

__all__ = ["Progress", "progress"]

#: how often a non-terminal stream gets a line: rare enough to keep logs short
PLAIN_EVERY_S = 30.0


class Progress:
    """The interface both forms share: ``update(done)`` with an absolute count."""

    def update(self, done: int, **postfix) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Bar(Progress):
    def __init__(self, total: int, desc: str, unit: str, stream: TextIO):
        from tqdm import tqdm

        try:  # a pty that reports no size (CI, `script`): tqdm would draw nothing at all
            size = os.get_terminal_size(stream.fileno())
        except (AttributeError, OSError, ValueError):
            size = os.terminal_size((0, 0))
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=True,
                        ncols=size.columns or 80, nrows=size.lines or 24,
                        unit_scale=total >= 10_000)

    def update(self, done: int, **postfix) -> None:
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


class _Lines(Progress):
    """A plain line every ``every_s`` seconds: no ``\\r``, no terminal codes."""

    def __init__(self, total: int, desc: str, unit: str, stream: TextIO, every_s: float):
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.every_s = every_s
        self.start = self.last = time.monotonic()

    def update(self, done: int, **postfix) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s or done >= self.total:
            return  # the caller reports the end itself
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        extra = "".join(f" {k}={v}" for k, v in postfix.items())
        print(f"{self.desc}: {done}/{self.total} {self.unit} "
              f"({100.0 * done / max(self.total, 1):.0f}%, {rate:,.0f} {self.unit}/s){extra}",
              file=self.stream, flush=True)


def progress(total: int, desc: str, unit: str = "rows", *, stream: Optional[TextIO] = None,
             every_s: float = PLAIN_EVERY_S) -> Progress:
    """A tqdm bar when ``stream`` (stderr by default) is a terminal, else plain lines.

    >>> import io
    >>> p = progress(10, "replay", stream=io.StringIO(), every_s=0.0)
    >>> p.update(5); "\\r" in p.stream.getvalue(), p.stream.getvalue().startswith("replay: 5/10")
    (False, True)
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return _Bar(total, desc, unit, stream)
    return _Lines(total, desc, unit, stream, every_s)
