"""``vigil replay``: the offline path, over files and over a topic range."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from models.eventtime import parse_event_time
from agents.cli import main
from tests.conftest import (DLQ_REASON_OF_SAMPLE_KIND, SAMPLE, SHARED_DATA, produce,
                            read_topic, sample_lines, sample_truth)

OUTPUTS = ("scored.jsonl", "trends.jsonl", "escalations.jsonl", "summary.json")
CRISISLEX = SHARED_DATA / "crisislex_t26" / "crisislex_t26_labeled_all_with_time.csv"


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_adds_up(summary: dict) -> None:
    assert summary["rows"] == (summary["normalized"] + summary["duplicates"]
                               + summary["dead_lettered_total"])
    assert summary["dead_lettered_total"] == sum(summary["dead_lettered"].values())
    assert summary["scored"] == summary["normalized"]


def test_replay_of_the_sample_matches_its_ground_truth(tmp_path):
    assert main(["replay", str(SAMPLE), "--out", str(tmp_path)]) == 0
    for name in OUTPUTS:
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    truth = sample_truth()
    assert_adds_up(summary)
    assert summary["rows"] == len(sample_lines())
    assert set(summary["dead_lettered"]) == {DLQ_REASON_OF_SAMPLE_KIND[m["kind"]]
                                             for m in truth["malformed"] if m["kind"] != "dup"}
    scored = lines(tmp_path / "scored.jsonl")
    assert len(scored) == summary["scored"]
    assert {s["post"]["post_id"] for s in scored if s["decision"] == "escalate"} == set(truth["toxic_ids"])
    # Each burst: one rising signal in its community, inside its true window, then a resolve.
    trends = lines(tmp_path / "trends.jsonl")
    for burst in truth["bursts"]:
        everything = [t for t in trends if t["community"] == burst["community"]]
        # a half-way candidate may come first, in the burst's own window and trend
        emerging = [t for t in everything if t["state"] == "emerging"]
        assert all(burst["start"] <= t["first_seen"] <= burst["end"] for t in emerging)
        mine = [t for t in everything if t["state"] != "emerging"]
        states = [t["state"] for t in mine]
        assert states[0] == "rising" and states[-1] == "resolved"
        assert set(states[1:-1]) <= {"peaking", "fading"}
        assert len({t["trend_id"] for t in mine}) == 1
        assert burst["start"] <= mine[0]["first_seen"] <= burst["end"]
        assert mine[0]["kind"] == {"complaint": "threat", "praise": "opportunity"}[burst["kind"]]
    assert len(lines(tmp_path / "escalations.jsonl")) == sum(summary["escalations"].values())


def test_replay_maps_columns_of_a_foreign_csv(tmp_path):
    csv = tmp_path / "forum.csv"
    csv.write_text("msg,ts,mid,who,board,label\n"
                   "great update thanks,2026-11-02T08:00:00Z,1,ann,general,ok\n"
                   "you are a fucking idiot,2026-11-02T08:01:00Z,2,bob,general,toxic\n"
                   "no time here,,3,cy,general,ok\n")
    out = tmp_path / "out"
    assert main(["replay", str(csv), "--out", str(out), "--text-col", "msg", "--time-col", "ts",
                 "--id-col", "mid", "--author-col", "who", "--community-col", "board",
                 "--platform", "discourse"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert_adds_up(summary)
    assert summary["dead_lettered"] == {"missing_field": 1}
    scored = lines(out / "scored.jsonl")
    assert [(s["post"]["platform"], s["post"]["community"], s["post"]["post_id"]) for s in scored] \
        == [("discourse", "general", "1"), ("discourse", "general", "2")]
    assert scored[1]["decision"] == "escalate" and scored[1]["post"]["meta"] == {"label": "toxic"}


@pytest.mark.skipif(not CRISISLEX.is_file(), reason=f"needs ../shared/data ({CRISISLEX} absent)")
def test_replay_of_crisislex_completes_and_adds_up(tmp_path, monkeypatch):
    # Counting and ordering are under test, not MiniLM: 28k embeddings take minutes.
    monkeypatch.setenv("VIGIL_EMBEDDINGS", "false")
    assert main(["replay", str(CRISISLEX), "--out", str(tmp_path),
                 "--time-col", "created_at_utc_from_snowflake", "--id-col", "tweet_id",
                 "--community-col", "event", "--platform", "x"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert_adds_up(summary)
    with CRISISLEX.open() as fh:
        import csv
        rows = sum(1 for _ in csv.DictReader(fh))
    assert summary["rows"] == rows
    assert summary["communities"] == 26
    # its events in Spain, Italy, Brazil and Latin America are tweeted in their languages
    assert sum(summary["languages"].values()) == summary["scored"]
    assert {"en", "es", "it", "pt"} <= set(summary["languages"])
    assert summary["language_unsupported"] == sum(
        n for lang, n in summary["languages"].items() if lang not in ("en", "und"))
    assert summary["language_unsupported"] > 1000
    times = [s["post"]["created_at"] for s in lines(tmp_path / "scored.jsonl")]
    assert times == sorted(times)  # event-time order


@pytest.mark.integration
def test_replay_of_a_topic_range_reads_it_and_produces_nothing(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    # as the file connector sends a file: keyed by community, in event-time order (a
    # topic is replayed in its log order per partition, as the worker reads it)
    from tests.test_replay_equals_live import _rows
    produce(broker.bootstrap, [(key, raw, {"vigil-format": "vigil"}) for _, raw, key in _rows()])
    time.sleep(0.5)
    out = tmp_path / "topic"
    assert main(["replay", "--topic", "posts.raw", "--from", "2000-01-01T00:00:00Z",
                 "--to", "2100-01-01T00:00:00Z", "--broker", broker.url, "--out", str(out),
                 "--idle-timeout", "2"]) == 0
    from_topic = json.loads((out / "summary.json").read_text())
    assert_adds_up(from_topic)
    assert main(["replay", str(SAMPLE), "--out", str(tmp_path / "file")]) == 0
    from_file = json.loads((tmp_path / "file" / "summary.json").read_text())
    for key in ("rows", "normalized", "duplicates", "dead_lettered", "toxic", "trends",
                "escalations"):
        assert from_topic[key] == from_file[key], key
    for live in ("posts.normalized", "posts.scored", "escalations", "posts.dlq"):
        assert read_topic(broker.bootstrap, live, until=lambda ms: False, timeout_s=1.5) == []


def test_replay_raises_one_raid_incident_for_near_duplicates_from_new_accounts(tmp_path, monkeypatch):
    """Two days of ordinary traffic from regulars, then 30 new accounts post the same
    slogan with small edits: one raid trend (rising, resolved), one threat incident."""
    monkeypatch.setenv("VIGIL_EMBEDDINGS", "false")  # raids, not MiniLM, are under test
    import random

    rng = random.Random(11)
    t0, rows, n = 1793606400, [], 0
    chat = ["anyone up for ranked", "what build are you running", "patch notes look good",
            "gg everyone", "how do I unlock act two", "nice clip", "servers feel smooth today"]
    for minute in range(0, 2 * 24 * 60, 7):
        n += 1
        rows.append({"platform": "discord", "community": "g/x", "id": f"c{n}",
                     "author": f"regular{rng.randint(1, 150)}",
                     "text": f"{rng.choice(chat)} {rng.randint(1, 999)}", "created_at": t0 + minute * 60})
    raid_at = t0 + 2 * 86400 + 3600
    for i in range(30):
        rows.append({"platform": "discord", "community": "g/x", "id": f"r{i}", "author": f"fresh{i}",
                     "text": f"JOIN discord.gg/free{i} NOW!!! this server is DEAD lol {'!' * (i % 3)}",
                     "created_at": raid_at + i * 15})
    for k in range(40):  # the regulars carry on, so event time moves past the raid
        rows.append({"platform": "discord", "community": "g/x", "id": f"after{k}",
                     "author": f"regular{rng.randint(1, 150)}", "text": f"{rng.choice(chat)} {k}",
                     "created_at": raid_at + 1800 + k * 60})
    data = tmp_path / "raid.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    assert main(["replay", str(data), "--out", str(out)]) == 0
    raids = [t for t in lines(out / "trends.jsonl") if t["topic_id"] == "raid"]
    assert [t["state"] for t in raids] == ["rising", "resolved"]
    assert raid_at <= parse_event_time(raids[0]["first_seen"]) <= raid_at + 15 * 30
    assert raids[0]["kind"] == "threat" and raids[0]["category"] == "harassment_campaign"
    incidents = [e for e in lines(out / "escalations.jsonl") if e["title"].startswith("Raid in")]
    assert [e["status"] for e in incidents] == ["triggered", "resolved"]
