"""Trend evaluation in event time: constructed CrisisLex-format events with a known
onset, then structural invariants on the real CrisisLex T26 streams when present."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from agents.trend_evaluation import SNOWFLAKE_EPOCH_MS, evaluate_trends
from models.bursts import BurstParams
from tests.conftest import SHARED_DATA

CRISISLEX_DIR = SHARED_DATA / "crisislex_t26"
PARAMS = BurstParams()  # the live defaults: 600 s windows, z=4, min_count=8, ...
DAY = 86400


def _epoch(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()


def _snowflake(ts: float, seq: int) -> str:
    return str(((int(ts * 1000) - SNOWFLAKE_EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def _write_event(root: Path, name: str, *, start_day: str, duration: int,
                 calm: tuple[float, float], end_tail: float,
                 bursts: list[tuple[float, str]], calm_every: float = 300.0,
                 burst_posts: int = 60, burst_every: float = 10.0) -> None:
    """One event in CrisisLex T26's formats: steady calm traffic (one post per
    ``calm_every`` s) over ``calm``, bursts of ``burst_posts`` posts at the given starts
    (their text labelled), Included=N after the event period ends at ``end_tail``."""
    onset = _epoch(start_day) if "-" in start_day else datetime.strptime(
        start_day, "%d/%m/%Y").replace(tzinfo=timezone.utc).timestamp()
    period_end = onset + duration * DAY
    (root / f"{name}-event_description.json").write_text(json.dumps({
        "name": name.replace("_", " "),
        "time": {"development": "Instantaneous", "duration": duration, "year": 2020,
                 "month": "Jan.", "start_day": start_day},
        "location": {"country": "Testland", "location_description": "Springfield"},
        "categorization": {"category": "Natural", "type": "Floods"},
        "keywords": ["#TestFlood", "river flood", "#Springfield"],
    }), encoding="utf-8")
    posts: list[tuple[float, str]] = []
    t = calm[0]
    while t < calm[1]:
        posts.append((t, ""))
        t += calm_every
    for start, text in bursts:
        posts += [(start + i * burst_every, text) for i in range(burst_posts)]
    t = calm[1]
    while t < end_tail:
        posts.append((t, ""))
        t += calm_every
    posts.sort()
    rows, labelled = [], []
    for seq, (ts, text) in enumerate(posts):
        tid = _snowflake(ts, seq)
        stamp = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%a %b %d %H:%M:%S +0000 %Y")
        rows.append([stamp, tid, "Y" if ts <= period_end else "N"])
        if text:
            labelled.append([tid, text, "Eyewitness", "Affected individuals",
                             "Related and informative"])
        elif seq % 7 == 0:  # some labelled calm chatter too
            labelled.append([tid, "nice weather at the market today", "Not labeled",
                             "Not labeled", "Not related"])
    rows.reverse()  # the real files are not in time order
    with (root / f"{name}-tweetids_entire_period.csv").open("w", newline="") as fh:
        fh.write("Timestamp, Tweet-ID, Included(Y/N)\n")
        csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    with (root / f"{name}-tweets_labeled.csv").open("w", newline="", encoding="utf-8") as fh:
        fh.write("Tweet ID, Tweet Text, Information Source, Information Type, Informativeness\n")
        csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC).writerows(labelled)


FLOOD_TEXT = "River flood hits Springfield, roads closed #TestFlood"
ONSET = _epoch("2020-01-03")


@pytest.fixture()
def mini(tmp_path: Path) -> Path:
    # Calm from two days before onset; the burst 6 h after onset; calm to a day past the end.
    _write_event(tmp_path, "2020_Test_flood", start_day="2020-01-03", duration=2,
                 calm=(ONSET - 2 * DAY, ONSET + 2 * DAY), end_tail=ONSET + 3 * DAY,
                 bursts=[(ONSET + 6 * 3600 + 30, FLOOD_TEXT)])
    # Same event shape (day-first start_day, as Alberta's file writes it), plus a burst
    # 2.5 days before onset: outside the one-day grace, so a false alarm.
    _write_event(tmp_path, "2020_Test_early", start_day="03/01/2020", duration=2,
                 calm=(ONSET - 4 * DAY, ONSET + 2 * DAY), end_tail=ONSET + 3 * DAY,
                 bursts=[(ONSET - 2.5 * DAY, "concert tickets sold out at the arena"),
                         (ONSET + 6 * 3600 + 30, FLOOD_TEXT)])
    return tmp_path


def test_burst_after_onset_is_detected_in_its_first_window_without_false_alarms(mini):
    result = evaluate_trends(mini, PARAMS, events=["2020_Test_flood"])
    [row] = result["events"]
    assert not row["missed"]
    assert row["alerts"] == 1 and row["false_alarms"] == 0
    # the burst starts at onset + 6 h + 30 s; the alert comes inside its first window
    assert 6.0 <= row["delay_h"] <= 6.0 + PARAMS.window_s / 3600
    assert row["first_alert"].startswith("2020-01-03T06:")
    # calm = one day before the grace day + one day after the period
    assert row["calm_days"] == pytest.approx(2.0, abs=0.01)
    assert row["label_names_event"] is True
    assert {"flood", "springfield", "testflood"} <= set(row["label_terms"])
    assert row["onset"] == "2020-01-03T00:00:00Z" and row["n_posts"] > 1000
    s = result["summary"]
    assert (s["n_events"], s["detected"], s["missed"]) == (1, 1, 0)
    assert s["false_alarms_per_calm_day"] == 0.0
    assert s["label_names_event_share"] == 1.0 and s["posts_per_s"] > 0
    assert result["params"]["window_s"] == PARAMS.window_s


def test_pre_onset_burst_counts_as_a_false_alarm(mini):
    result = evaluate_trends(mini, PARAMS)
    rows = {r["event"]: r for r in result["events"]}
    early = rows["2020_Test_early"]
    assert early["onset"] == "2020-01-03T00:00:00Z"  # dd/mm/yyyy parsed
    assert early["false_alarms"] == 1 and early["alerts"] == 2
    assert not early["missed"] and 6.0 <= early["delay_h"] <= 6.2
    assert early["label_names_event"] is True  # the label is the onset burst's, not the early one
    s = result["summary"]
    assert (s["n_events"], s["detected"], s["false_alarms"]) == (2, 2, 1)
    assert s["false_alarms_per_calm_day"] == pytest.approx(1 / (2.0 + 4.0), rel=0.01)


def test_alert_within_the_grace_day_before_onset_is_a_detection(tmp_path):
    """start_day is a UTC day; a burst 3 h before it is the event, not a false alarm."""
    _write_event(tmp_path, "2020_Test_tz", start_day="2020-01-03", duration=2,
                 calm=(ONSET - 3 * DAY, ONSET + 2 * DAY), end_tail=ONSET + 2 * DAY,
                 bursts=[(ONSET - 3 * 3600, FLOOD_TEXT)])
    [row] = evaluate_trends(tmp_path, PARAMS)["events"]
    assert not row["missed"] and row["false_alarms"] == 0 and row["delay_h"] == 0.0


def test_quiet_event_is_missed_and_absent_volume_file_is_skipped(tmp_path):
    _write_event(tmp_path, "2020_Test_quiet", start_day="2020-01-03", duration=2,
                 calm=(ONSET - 2 * DAY, ONSET + 2 * DAY), end_tail=ONSET + 2 * DAY, bursts=[])
    result = evaluate_trends(tmp_path, PARAMS, events=["2020_Test_quiet", "2020_No_volume"])
    [row] = result["events"]
    assert row["missed"] and row["delay_h"] is None and row["first_alert"] is None
    assert row["label_names_event"] is None and row["alerts"] == 0
    s = result["summary"]
    assert s["skipped"] == ["2020_No_volume"]
    assert (s["detected"], s["missed"], s["median_delay_h"], s["label_names_event_share"]) == (
        0, 1, None, None)


@pytest.mark.skipif(not CRISISLEX_DIR.is_dir(),
                    reason=f"needs ../shared/data ({CRISISLEX_DIR} absent)")
def test_real_crisislex_streams_structural_invariants():
    result = evaluate_trends(CRISISLEX_DIR, PARAMS)
    rows, s = result["events"], result["summary"]
    assert s["n_events"] == len(rows) == 25  # every event but Boston has a volume file
    assert "2013_Boston_bombings" not in {r["event"] for r in rows}
    assert s["detected"] + s["missed"] == s["n_events"]
    assert s["n_posts"] == sum(r["n_posts"] for r in rows) > 100_000
    for r in rows:
        assert r["n_posts"] > 0 and r["alerts"] >= r["false_alarms"] >= 0
        assert r["calm_days"] >= 0 and r["stream_start"] <= r["stream_end"]
        if r["missed"]:
            assert r["delay_h"] is None and r["label_names_event"] is None
        else:
            assert r["delay_h"] >= 0 and isinstance(r["label_names_event"], bool)
            assert len(r["label_terms"]) <= 10
    if s["detected"]:
        assert 0 <= s["median_delay_h"] <= s["worst_delay_h"]
        assert 0.0 <= s["label_names_event_share"] <= 1.0
    assert s["posts_per_s"] > 0
