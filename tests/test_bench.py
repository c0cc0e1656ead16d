"""The benchmark harness: its corpus, its arithmetic, its report, and `vigil bench` on a
real broker. Nothing here asserts a speed: the bench measures, tests check behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from kafka.partitioner.default import murmur2

from bench.corpus import COMMUNITIES, TOXIC, make_corpus, texts_of
from bench.pipeline import _pct
from bench.worker_profile import summarise
from bench.run import KEYS, STEPS, table
from tests.conftest import REPO


def test_corpus_is_realistic_and_deterministic():
    values, keys = make_corpus(3000, seed=5)
    posts = [json.loads(v) for v in values]
    lengths = [len(p["text"].split()) for p in posts]
    assert min(lengths) >= 3 and max(lengths) <= 120 + 2  # toxic lines carry a mention
    assert [k.decode() for k in keys] == [p["community"] for p in posts]
    assert {p["community"] for p in posts} == {c for _, c in COMMUNITIES}
    texts = texts_of(values)
    toxic = sum(any(t in x for t in TOXIC) for x in texts) / len(texts)
    repeated = 1 - len(set(texts)) / len(texts)
    assert 0.01 < toxic < 0.06 and 0.02 < repeated < 0.10
    assert len({p["id"] for p in posts}) == len(posts)
    assert make_corpus(50, seed=5, start=0) == make_corpus(50, seed=5, start=0)
    assert make_corpus(50, seed=5, start=0) != make_corpus(50, seed=6, start=0)


def test_corpus_communities_spread_evenly_over_four_partitions():
    # the scale-out measurement gives each of two workers the same share of posts
    spread = Counter((murmur2(c.encode()) & 0x7FFFFFFF) % 4 for _, c in COMMUNITIES)
    assert sorted(spread.values()) == [3, 3, 3, 3]


def test_percentiles_pick_from_the_sorted_sample():
    xs = [float(i) for i in range(101)][::-1]
    assert (_pct(xs, 0.5), _pct(xs, 0.99), _pct(xs, 1.0)) == (50.0, 99.0, 100.0)
    assert _pct([], 0.99) is None


def test_profile_summary_shares_threads_self_and_inclusive():
    raw = "\n".join([
        "thread (1): MainThread;run (mode/worker.py:1);"
        "normalize (/x/streams/stages/normalize.py:9) 30",
        "thread (1): MainThread;run (mode/worker.py:1);select (selectors.py:5) 10",
        "thread (2): vigil-inference_0;score (/x/streams/stages/score.py:3);"
        "polarity (vader.py:2) 60",
    ])
    text = summarise(raw)
    assert text.startswith("100 samples")
    assert "60.0%  thread (2): vigil-inference_0" in text
    assert "40.0%  thread (1): MainThread" in text
    assert "60.0%  polarity (vader.py)" in text  # self time
    assert "60.0%  score (/x/streams/stages/score.py)" in text  # inclusive, own code only
    assert "40.0%  run (mode/worker.py)" in text
    assert "select" not in text.split("inclusive:")[1]
    assert summarise("") == "no samples (was the worker busy?)"


def test_table_reports_a_partial_run_with_dashes():
    r = dict.fromkeys(KEYS) | {"passthrough_posts_per_s": 70123.4, "machine": "m", "elapsed_s": 3}
    text = table(r)
    assert "raw pass-through (aiokafka) | 70,123" in text
    assert "Vigil full pipeline | —" in text and "nonml_ratio — (target ≥ 0.50, aim 0.70)" in text


def _bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agents.cli", "bench", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.integration
def test_vigil_bench_json_has_every_key_and_measures_on_a_real_broker():
    done = _bench("--quick", "--only", "passthrough,forward", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(KEYS) <= set(result)
    assert result["passthrough_posts_per_s"] > 0 and result["faust_forward_posts_per_s"] > 0
    # not measured in this run: present, and null rather than a made-up number
    assert result["nonml_ratio"] is None and result["pipeline_posts_per_s"] is None
    assert result["details"]["steps"] == ["passthrough", "forward"]
    assert "2/2 bare Faust forward" in done.stderr


def test_vigil_bench_rejects_an_unknown_step():
    done = _bench("--only", "passthrough,warp")
    assert done.returncode != 0 and "unknown --only warp" in done.stderr
    assert set(STEPS) >= {"passthrough", "forward", "model", "nonml", "pipeline", "scaleout"}


def test_the_forward_scaleout_waits_for_a_settled_group(tmp_path):
    from bench.limits import _wait_settled

    files = [tmp_path / "forward-0.assigned", tmp_path / "forward-1.assigned"]
    files[0].write_text("4")  # the first worker alone holds every partition: still joining
    with pytest.raises(TimeoutError, match="never settled"):
        _wait_settled(files, partitions=4, timeout_s=1.5)
    files[0].write_text("2")
    files[1].write_text("2")
    _wait_settled(files, partitions=4, timeout_s=10)  # returns: both own some, all owned
