"""Several text-reading children, each reading a slice of a call's posts at once.

One child (:class:`agents.text_process.ProcessTextReader`) reads while the inference
thread waits for it, so a non-ML worker's call is its own work plus the child's, one
after the other. Measured on a 2-core VM draining 60,000 posts with one child: the
worker's threads ~65 % of a core, the child ~55 %, the machine ~130 % busy of 200 %:
the worker was waiting on its child, not short of CPU. Two children read the two halves
of a call side by side (see README, Performance, for what that changed).

Slices are contiguous and answered in order, so the readings are those one reader would
give (tests compare them); each child keeps :class:`ProcessTextReader`'s guarantees: one
that dies, hangs or cannot start has its slice read in the worker, and is tried again
later.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

from agents.text_process import ProcessTextReader
from models.text_reading import TextReader, TextReading

__all__ = ["TextReaderPool"]


class TextReaderPool:
    """``pool(texts, given_langs, communities) -> [TextReading]`` with ``processes``
    children; batches under ``min_batch`` are read in the worker, and a slice is never
    smaller than ``min_batch`` (fewer children take part in a small call). Not
    thread-safe: one caller (the inference thread) at a time."""

    def __init__(self, local: TextReader, *, processes: int = 2, min_batch: int = 32,
                 **child_options):
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self.local = local
        self.min_batch = min_batch
        self.children = [ProcessTextReader(local, min_batch=1, **child_options)
                         for _ in range(processes)]

    @property
    def running(self) -> bool:
        return all(c.running for c in self.children)

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.children)

    def start(self) -> bool:
        """Start every child, side by side (each waits for its weights); True if all of
        them started."""
        with ThreadPoolExecutor(len(self.children)) as threads:
            return all(list(threads.map(ProcessTextReader.start, self.children)))

    def stop(self, timeout_s: float = 5.0) -> None:
        for c in self.children:
            c.stop(timeout_s)

    def __call__(self, texts: Sequence[str], given_langs: Sequence[Optional[str]],
                 communities: Sequence[str]) -> list[TextReading]:
        if len(texts) < self.min_batch:
            return self.local.read(texts, given_langs, communities)
        bounds = slices(len(texts), min(len(self.children), len(texts) // self.min_batch))
        parts = [(texts[a:b], given_langs[a:b], communities[a:b]) for a, b in bounds]
        # every slice is handed over before any answer is awaited: the children read at
        # the same time, and a slice without a child is read here meanwhile
        sent = [child.send(*part) for child, part in zip(self.children, parts)]
        read: list = [None] * len(parts)
        for i in sorted(range(len(parts)), key=lambda i: sent[i]):  # local reads first
            read[i] = self.children[i].collect(*parts[i], sent[i])
        return [r for rows in read for r in rows]


def slices(n: int, k: int) -> list[tuple[int, int]]:
    """``k`` contiguous (start, end) ranges covering ``range(n)``, sizes differing by at
    most one.

    >>> slices(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    >>> slices(5, 1)
    [(0, 5)]
    """
    k = max(1, min(k, n)) if n else 1
    size, extra = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        end = start + size + (1 if i < extra else 0)
        out.append((start, end))
        start = end
    return out
