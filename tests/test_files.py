"""File connector: JSONL passthrough, CSV mapping, and FileSource into a RawSink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import RawSink
from connectors.files import ColumnMapping, FileFormatError, FileSource, iter_file
from models.eventtime import parse_event_time

LINES = [
    # spacing, key order and non-ASCII exactly as a platform wrote them
    b'{"platform":"reddit", "community":"r/acmegames","id":"rd-1","text":"caf\\u00e9 \xf0\x9f\x8e\x89",'
    b'"created_at":"2026-11-02T08:00:00Z"}',
    b'{"platform": "discord", "community": "acme/#general", "id": 7, "text": "hi",'
    b' "created_at": 1793606460000}',
    b'{"platform": "reddit", "community": "r/x", "id": "rd-2", "text": "cut',
    b'["not", "an", "object"]',
]


class ListSink(RawSink):
    def __init__(self):
        self.produced: list[tuple] = []
        self.flushes = 0

    def produce(self, community, payload, *, fmt, platform, connector):
        self.produced.append((community, payload, fmt, platform, connector))

    def flush(self):
        self.flushes += 1


@pytest.fixture
def jsonl(tmp_path) -> Path:
    path = tmp_path / "stream.jsonl"
    path.write_bytes(b"\r\n".join(LINES[:2]) + b"\n\n  \n" + b"\n".join(LINES[2:]) + b"\n")
    return path


def test_jsonl_passthrough_is_byte_for_byte(jsonl):
    rows = list(iter_file(jsonl))
    assert [r.payload for r in rows] == LINES
    assert [r.line_no for r in rows] == [1, 2, 5, 6]  # blank lines skipped, numbering kept
    assert rows[0].community == "r/acmegames" and rows[0].platform == "reddit"
    assert rows[0].ts == parse_event_time("2026-11-02T08:00:00Z")
    assert rows[1].ts == 1793606460.0  # epoch ms read as event time


@pytest.mark.parametrize("index", [2, 3])
def test_malformed_lines_yielded_as_is(jsonl, index):
    row = list(iter_file(jsonl))[index]
    assert row.payload == LINES[index]
    assert row.ts is None and row.community is None


def test_jsonl_with_custom_mapping_is_remapped(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps({"body": "hello", "when": "2026-11-02T08:00:00Z",
                                "score": 3}) + "\n")
    (row,) = iter_file(path, ColumnMapping(text_col="body", time_col="when", platform="forum"))
    obj = json.loads(row.payload)
    assert obj["text"] == "hello" and obj["platform"] == "forum"
    assert obj["community"] == "export" and obj["meta"] == {"score": 3}


def write_csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_mapping_to_vigil_payload(tmp_path):
    path = write_csv(tmp_path, "labels.csv",
                     "msg,ts,uid,room,label,empty\n"
                     "\"hola, amigos 👋\",2026-11-02T08:00:00Z,u1,lobby,0,\n"
                     "second post,2026-11-02T08:05:00Z,u2,,1,\n")
    mapping = ColumnMapping(text_col="msg", time_col="ts", author_col="uid",
                            community_col="room", platform="forum")
    rows = list(iter_file(path, mapping))
    objs = [json.loads(r.payload) for r in rows]
    assert [o["platform"] for o in objs] == ["forum", "forum"]
    assert [o["community"] for o in objs] == ["lobby", "labels"]  # column, else file stem
    assert [r.community for r in rows] == ["lobby", "labels"]
    assert objs[0]["text"] == "hola, amigos 👋" and objs[0]["author"] == "u1"
    assert [o["meta"] for o in objs] == [{"label": "0"}, {"label": "1"}]
    assert objs[1]["id"] == "labels.csv:3"  # no id column: file name and line
    assert [r.line_no for r in rows] == [2, 3]
    assert rows[1].ts == parse_event_time("2026-11-02T08:05:00Z")
    assert all(r.platform == "forum" for r in rows)


def test_tsv_and_default_platform(tmp_path):
    path = write_csv(tmp_path, "dump.tsv",
                     "text\tcreated_at\tid\nhi there\t2026-11-02T08:00:00Z\tx1\n")
    (row,) = iter_file(path)
    obj = json.loads(row.payload)
    assert (obj["text"], obj["id"], obj["platform"]) == ("hi there", "x1", "file")
    assert row.platform == "file" and row.ts == parse_event_time("2026-11-02T08:00:00Z")


def test_csv_epoch_time_column(tmp_path):
    path = write_csv(tmp_path, "dump.csv", "text,created_at\nhi there,1793606400\n")
    (row,) = iter_file(path)
    assert row.ts == 1793606400.0
    assert parse_event_time(json.loads(row.payload)["created_at"]) == 1793606400.0


@pytest.mark.parametrize("header,missing", [("body,created_at\n", "text"),
                                            ("text,posted\n", "created_at")])
def test_missing_column_lists_columns(tmp_path, header, missing):
    path = write_csv(tmp_path, "bad.csv", header + "a,b\n")
    with pytest.raises(FileFormatError) as info:
        list(iter_file(path))
    msg = str(info.value)
    assert repr(missing) in msg
    for col in header.strip().split(","):
        assert col in msg


def test_unknown_suffix(tmp_path):
    path = write_csv(tmp_path, "posts.txt", "hello\n")
    with pytest.raises(FileFormatError):
        list(iter_file(path))


def test_file_source_produces_every_row(jsonl):
    sink = ListSink()
    stats = FileSource(sink, jsonl, speed=0).run()
    assert (stats.read, stats.produced) == (4, 4)
    assert [p[1] for p in sink.produced] == LINES
    assert [p[0] for p in sink.produced] == ["r/acmegames", "acme/#general", None, None]
    assert [p[3] for p in sink.produced] == ["reddit", "discord", "unknown", "unknown"]
    assert {(p[2], p[4]) for p in sink.produced} == {("vigil", "file")}
    assert sink.flushes >= 1


def test_file_source_stop(jsonl):
    sink = ListSink()
    src = FileSource(sink, jsonl)
    src.stop()
    assert src.run().produced == 0 and sink.produced == []


def test_sample_stream_valid_count():
    sample = Path(__file__).resolve().parents[1] / "connectors" / "sample_data" / "community_stream.jsonl"
    rows = list(iter_file(sample))
    assert len(rows) == 686  # connectors/sample_data/README.md
    assert sum(r.ts is None for r in rows) == 2  # the cut-off JSON line and "yesterday-ish"
