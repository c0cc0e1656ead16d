"""The worker's text readings in a child process (agents/text_process.py): the same
readings as in the worker itself, and a child that dies, hangs, cannot start or is
interrupted costs speed, never a post or a different score; no child outlives its
worker."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from structlog.testing import capture_logs

from agents.text_process import ProcessTextReader
from models.rules import RuleScorer
from models.text_reading import TextReader, from_rows
from streams.pipeline import Pipeline
from config.settings import Settings, SettingsError

TEXTS = ["thanks, see you at the meetup", "shut up you fucking idiot",
         "hola amigos, ¿cómo estáis todos hoy? espero que bien", "gg ez", "",
         "I will find where you live", "Ceci n'est pas une pipe, mais un message en français",
         "😀😀😀", "check https://example.com @someone #great stuff"]
LANGS = [None, None, None, None, None, "en", None, None, "und"]
COMMS = ["r/a", "r/b"] * 4 + ["r/a"]
SWAPPED = ["r/b" if c == "r/a" else "r/a" for c in COMMS]
# r/b's moderators deny a term of their own: the child must apply it there, not in r/a
RULES = {"r/a": RuleScorer(),
         "r/b": RuleScorer([{"kind": "phrase", "value": "the meetup", "category": "spam"}])}


@pytest.fixture(scope="module")
def local() -> TextReader:
    return TextReader(RULES.__getitem__).load()


@pytest.fixture
def reader():
    r = ProcessTextReader(TextReader(RULES.__getitem__), retry_after_s=0.0, min_batch=1)
    yield r
    r.stop()


def _child_pid(r: ProcessTextReader) -> int:
    assert r.running
    return r._proc.pid


def test_the_child_reads_exactly_what_the_worker_would(reader, local):
    assert reader.start()
    assert reader(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
    assert reader(TEXTS, LANGS, SWAPPED) == local.read(TEXTS, LANGS, SWAPPED)
    assert reader(TEXTS, LANGS, COMMS)[0].rules.scores["spam"] == 0  # r/a
    assert reader(TEXTS, LANGS, SWAPPED)[0].rules.scores["spam"] > 0  # r/b's own term
    # the packed form that crosses the pipe loses nothing
    assert from_rows(local.read_rows(TEXTS, LANGS, COMMS)) == local.read(TEXTS, LANGS, COMMS)
    assert reader([], [], []) == []


def test_a_killed_child_costs_one_local_call_then_a_new_child_takes_over(reader, local):
    assert reader.start()
    first = _child_pid(reader)
    os.kill(first, signal.SIGKILL)
    assert reader(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)  # read locally
    assert reader.lost == 1 and not reader.running
    assert reader(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)  # retry_after_s=0: new child
    assert reader.running and _child_pid(reader) != first


def test_a_child_that_does_not_start_in_time_leaves_the_reading_to_the_worker(local):
    import structlog

    from prometheus_client import CollectorRegistry, Counter

    registry = CollectorRegistry()
    counter = Counter("vigil_text_reader_lost_total", "test", registry=registry)
    r = ProcessTextReader(TextReader(RULES.__getitem__), start_timeout_s=0.01,
                          retry_after_s=3600, log=structlog.get_logger("test"), min_batch=1,
                          lost_counter=counter)
    try:
        with capture_logs() as logs:
            assert r(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
            assert r(TEXTS[:2], LANGS[:2], COMMS[:2]) == local.read(TEXTS[:2], LANGS[:2], COMMS[:2])
        assert not r.running and r.lost == 1  # not retried before retry_after_s
        assert registry.get_sample_value("vigil_text_reader_lost_total") == 1
        lost = [e for e in logs if e["event"] == "text_reader_lost"]
        assert len(lost) == 1 and "in time" in lost[0]["error"]
    finally:
        r.stop()


def test_ctrl_c_to_the_process_group_does_not_stop_the_child(reader, local):
    assert reader.start()
    pid = _child_pid(reader)
    os.kill(pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to every process
    time.sleep(0.2)
    assert reader(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
    assert reader.running and _child_pid(reader) == pid and reader.lost == 0


def test_a_small_batch_is_read_in_the_worker_without_waking_the_child(local):
    r = ProcessTextReader(TextReader(RULES.__getitem__), min_batch=len(TEXTS))
    try:
        assert r(TEXTS[:-1], LANGS[:-1], COMMS[:-1]) == local.read(TEXTS[:-1], LANGS[:-1],
                                                                    COMMS[:-1])
        assert not r.running  # not even started for it
        assert r(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
        assert r.running and r.lost == 0
    finally:
        r.stop()


def test_stop_ends_the_child_and_later_calls_read_locally_without_a_new_one(local):
    r = ProcessTextReader(TextReader(RULES.__getitem__), retry_after_s=0.0, min_batch=1)
    assert r.start()
    proc = r._proc
    r.stop()
    assert proc.poll() is not None  # exited on its closed input, not left behind
    with capture_logs() as logs:
        assert r(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
    assert not r.running and r.lost == 0 and logs == []


def test_the_score_stage_gives_the_same_scored_posts_with_either_reader():
    from dataclasses import replace

    from streams.records import Post
    from tests.pipeline_kit import new_pipeline, normalize

    posts = []
    for i, (text, lang) in enumerate(zip(TEXTS, LANGS)):
        raw = json.dumps({"platform": "reddit", "community": "r/x", "id": f"p{i}",
                          "author": f"a{i}", "text": text or "(no text)",
                          "created_at": f"2026-11-02T08:{i:02d}:00Z"}).encode()
        post = normalize(new_pipeline(), raw, fmt=None)
        assert isinstance(post, Post)
        posts.append(replace(post, lang=lang))
    here, there = new_pipeline(), new_pipeline()
    r = ProcessTextReader(there.score.reader, min_batch=1)
    there.score.read = r
    try:
        a = [s.asdict() for s in here.score.score(posts)]
        b = [s.asdict() for s in there.score.score(posts)]
        assert r.running and r.lost == 0
    finally:
        r.stop()
    for x in a + b:
        x.pop("scored_at")
    assert a == b and {x["lang"] for x in a} >= {"en", "es", "fr"}


def test_by_default_a_child_reads_only_without_embeddings_and_a_bare_pipeline_reads_itself():
    def child(**env):
        return Settings.load(env={f"VIGIL_{k}": v for k, v in env.items()}).text_reader_child

    # the values one by one: Settings.text_reader_child's doctest
    assert Settings.load(env={}).text_reader_process == "auto"
    assert child(EMBEDDINGS="false") and not child()  # MiniLM: reading is a few per cent
    with pytest.raises(SettingsError, match="auto, true or false"):
        child(TEXT_READER_PROCESS="sometimes")
    assert isinstance(Pipeline(Settings.load(env={})).score.read.__self__, TextReader)


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            out += [int(c) for c in fh.read().split()]
    return out


def _reader_child(pid: int, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in _children(pid):
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                if b"agents.text_process" in fh.read():
                    return child
        time.sleep(0.2)
    raise AssertionError("the worker started no text reader")


def _gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True  # exited, waiting for its (dead) parent's reaper
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.integration
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_no_reader_outlives_its_worker(broker, tmp_path, how):
    from tests.conftest import produce, start_worker, stop_worker, total

    worker = start_worker(broker, tmp_path, VIGIL_EMBEDDINGS="false")  # auto: a child reads
    try:
        child = _reader_child(worker.proc.pid)
        post = {"platform": "reddit", "community": "r/reader", "id": f"tr-{how}",
                "author": "someone", "text": "shut up you fucking idiot",
                "created_at": "2026-11-02T08:00:00Z"}
        produce(broker.bootstrap, [(b"r/reader", json.dumps(post).encode(),
                                    {"vigil-platform": "reddit"})])
        worker.wait_for(lambda m: total(m, "vigil_posts_scored_total") >= 1)
        assert "text_reader_lost" not in worker.log_path.read_text()
        worker.proc.send_signal(getattr(signal, how))
        worker.proc.wait(30)
        assert _gone(child), f"text reader {child} outlived its worker ({how})"
    finally:
        stop_worker(worker)


def test_a_pool_of_children_reads_slices_side_by_side_exactly_as_the_worker_would(local):
    from agents.text_pool import TextReaderPool

    pool = TextReaderPool(TextReader(RULES.__getitem__), processes=3, min_batch=2,
                          retry_after_s=3600)
    try:
        assert pool.start() and pool.running
        pids = [_child_pid(c) for c in pool.children]
        # 9 posts in three slices of 3, each read by its own child, answers in order;
        # r/b's own term reaches whichever child reads an r/b post
        assert pool(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
        assert pool(TEXTS, LANGS, SWAPPED) == local.read(TEXTS, LANGS, SWAPPED)
        assert all(c._sent == {"r/a", "r/b"} for c in pool.children)
        # 3 posts: one slice (none smaller than min_batch), read by the first child only
        assert pool(TEXTS[:3], LANGS[:3], SWAPPED[:3]) == local.read(TEXTS[:3], LANGS[:3],
                                                                     SWAPPED[:3])
        assert pool([TEXTS[0]], [None], ["r/b"]) == local.read([TEXTS[0]], [None], ["r/b"])
        # a child killed between calls: its slice is read in the worker, the others' not
        os.kill(pids[1], signal.SIGKILL)
        with capture_logs():
            assert pool(TEXTS, LANGS, COMMS) == local.read(TEXTS, LANGS, COMMS)
        assert pool.lost == 1 and not pool.children[1].running
        assert [_child_pid(pool.children[i]) for i in (0, 2)] == [pids[0], pids[2]]
        assert pool(TEXTS, LANGS, SWAPPED) == local.read(TEXTS, LANGS, SWAPPED)
    finally:
        pool.stop()
    assert all(c._proc is None or c._proc.poll() is not None for c in pool.children)
