"""Files as a platform: CSV or JSONL posts, into ``posts.raw`` or straight into replay.

Vigil's own JSONL (one object per line, fields as in ``connectors/sample_data``) passes
through byte for byte, so a malformed line reaches the dead-letter topic exactly as it
was written. Other files are mapped column by column (``--text-col`` and friends) into
that format; columns that are not mapped travel in ``meta`` so a data scientist can
join Vigil's output back to their labels.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from connectors.base import RawSink, Source, SourceStats
from models.eventtime import EventTimeError, parse_event_time

__all__ = ["ColumnMapping", "FileRow", "iter_file", "FileSource", "FileFormatError"]

csv.field_size_limit(sys.maxsize)  # long posts are data, not an attack on the reader


class FileFormatError(ValueError):
    pass


@dataclass(frozen=True)
class ColumnMapping:
    text_col: str = "text"
    time_col: str = "created_at"
    id_col: str = "id"
    author_col: str = "author"
    community_col: str = "community"
    platform: Optional[str] = None  # a constant platform for every row
    platform_col: str = "platform"

    @property
    def is_vigil_default(self) -> bool:
        return self == ColumnMapping()


@dataclass(frozen=True)
class FileRow:
    line_no: int
    payload: bytes  # what goes onto posts.raw
    community: Optional[str]
    ts: Optional[float]  # event time, when it could be read (for pacing and ordering)
    platform: Optional[str] = None  # for the header and metrics; the payload still decides
    fmt: str = "vigil"  # the payload's format (the vigil-format header on a topic)


def iter_file(path: Path, mapping: ColumnMapping = ColumnMapping()) -> Iterator[FileRow]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        yield from _iter_jsonl(path, mapping)
    elif suffix in (".csv", ".tsv"):
        yield from _iter_csv(path, mapping, "\t" if suffix == ".tsv" else ",")
    else:
        raise FileFormatError(f"{path}: expected a .jsonl or .csv file")


def _iter_jsonl(path: Path, m: ColumnMapping) -> Iterator[FileRow]:
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                yield FileRow(line_no, line, None, None)  # let the pipeline dead-letter it
                continue
            if not isinstance(obj, dict):
                yield FileRow(line_no, line, None, None)
                continue
            payload = line if m.is_vigil_default else _map(obj, m, path, line_no)
            yield FileRow(line_no, payload, _str_or_none(obj.get(m.community_col)),
                          _ts_or_none(obj.get(m.time_col)),
                          m.platform or _str_or_none(obj.get(m.platform_col)))


def _iter_csv(path: Path, m: ColumnMapping, delimiter: str) -> Iterator[FileRow]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        header = reader.fieldnames or []
        for needed in (m.text_col, m.time_col):
            if needed not in header:
                raise FileFormatError(
                    f"{path}: no column {needed!r}; columns are {', '.join(header)} "
                    f"(choose with --text-col / --time-col)")
        for line_no, row in enumerate(reader, 2):
            payload = _map(row, m, path, line_no)
            yield FileRow(line_no, payload, _str_or_none(row.get(m.community_col)) or path.stem,
                          _ts_or_none(row.get(m.time_col)),
                          m.platform or _str_or_none(row.get(m.platform_col)) or "file")


def _map(row: dict, m: ColumnMapping, path: Path, line_no: int) -> bytes:
    used = {m.text_col, m.time_col, m.id_col, m.author_col, m.community_col, m.platform_col}
    out = {
        "platform": m.platform or row.get(m.platform_col) or "file",
        "community": row.get(m.community_col) or path.stem,
        "id": row.get(m.id_col) or f"{path.name}:{line_no}",
        # An empty CSV cell is CSV's way of saying "missing".
        "author": row.get(m.author_col) or None,
        "text": row.get(m.text_col) if row.get(m.text_col) != "" else None,
        "created_at": row.get(m.time_col) if row.get(m.time_col) != "" else None,
        "meta": {k: v for k, v in row.items() if k not in used and k and v not in (None, "")},
    }
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()


def _str_or_none(v: object) -> Optional[str]:
    return v if isinstance(v, str) and v else None


def _ts_or_none(v: object) -> Optional[float]:
    try:
        return parse_event_time(v)
    except EventTimeError:
        return None


class FileSource(Source):
    """Streams a file into ``posts.raw``, at ``speed`` × real time (0: as fast as possible).

    Pacing follows the rows' event times: with ``speed=60`` an hour of posts takes a
    minute. Rows without a readable time are sent at once.
    """

    platform = "file"

    def __init__(self, sink: RawSink, path: Path, mapping: ColumnMapping = ColumnMapping(),
                 speed: float = 0.0):
        super().__init__(sink)
        self.path, self.mapping, self.speed = Path(path), mapping, speed

    def run(self) -> SourceStats:
        start_wall: Optional[float] = None
        start_event: Optional[float] = None
        for row in iter_file(self.path, self.mapping):
            if self._stopped:
                break
            self.stats.read += 1
            if self.speed > 0 and row.ts is not None:
                if start_event is None:
                    start_wall, start_event = time.monotonic(), row.ts
                delay = start_wall + (row.ts - start_event) / self.speed - time.monotonic()
                if delay > 0:
                    self.sink.flush()  # what is due is on the broker before we sleep
                    time.sleep(delay)
            self.sink.produce(row.community, row.payload, fmt="vigil",
                              platform=row.platform or "unknown", connector="file")
            self.stats.produced += 1
        self.sink.flush()
        return self.stats
