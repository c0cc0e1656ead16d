"""A worker that is behind takes bigger calls than one scoring batch.

A call's fixed cost (three acknowledged sends, its changelog) is shared by its posts;
without embeddings a call is cheap per post, so the worker takes up to
``VIGIL_WORKER_BATCH_SIZE`` (auto: 512) waiting inputs at once, not the API's scoring
batch of 64. Measured in README's Performance section."""

from __future__ import annotations

import json

import pytest

from tests.conftest import produce, start_worker, stop_worker, total

pytestmark = pytest.mark.integration

POSTS = 2000


def _posts(n: int) -> list[tuple]:
    out = []
    for i in range(n):
        community = f"r/batch{i % 8}"
        post = {"platform": "reddit", "community": community, "id": f"wb-{i}",
                "author": f"member{i % 50}", "text": f"post number {i} about the patch notes",
                "created_at": f"2026-11-02T08:{(i // 60) % 60:02d}:{i % 60:02d}Z"}
        out.append((community.encode(), json.dumps(post).encode(), {"vigil-platform": "reddit"}))
    return out


def test_a_worker_behind_takes_calls_bigger_than_a_scoring_batch(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    produce(broker.bootstrap, _posts(POSTS))  # waiting before the worker starts: it is behind
    worker = start_worker(broker, tmp_path, VIGIL_EMBEDDINGS="false")
    try:
        m = worker.wait_for(lambda m: total(m, "vigil_posts_scored_total") >= POSTS,
                            timeout_s=120)
        calls = total(m, "vigil_stage_duration_seconds_count", stage="normalize")
        # one scoring batch (64) per call would take at least 32 calls
        assert 0 < calls < POSTS / 64 / 2, f"{calls} calls for {POSTS} waiting posts"
        ready = [json.loads(line) for line in worker.log_path.read_text().splitlines()
                 if '"worker_ready"' in line]
        children = Settings.load(env={"VIGIL_EMBEDDINGS": "false"}).text_reader_children
        assert children >= 1  # auto: 2 on a machine of 2 cores or more, else 1
        assert [(r["batch"], r["text_reader"]) for r in ready] == [
            (512, f"{children} child processes")]
        assert [r["event_loop"] for r in ready] == ["uvloop"]  # a dependency (pyproject)
    finally:
        stop_worker(worker)

