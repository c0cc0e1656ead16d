"""``vigil report`` from a replay: every number checked against the replay's records,
the PDF rendered to PNG pages (pdftoppm) with every chart in it, deterministic output,
no author in clear. On the bundled sample and on CrisisLexT26 (../shared/data)."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from agents.cli import main
from models.eventtime import parse_event_time
from tests.conftest import SAMPLE
from agents.report_html import TREND_CARDS
from tests.test_replay import CRISISLEX

CHART_LABELS = ("posts per ", "mean sentiment", "minutes (box: quartiles",
                "incidents raised in the period")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()] if path.is_file() else []


@pytest.fixture(scope="module")
def sample_replay(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample-replay")
    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIL_PSEUDONYM_KEY", "test-key")
    try:
        assert main(["replay", str(SAMPLE), "--out", str(out)]) == 0
    finally:
        mp.undo()
    return out


def _report(replay: Path, out: Path, *extra: str) -> tuple[dict, dict]:
    assert main(["report", "--replay", str(replay), "--out", str(out), *extra]) == 0
    [figures_path] = out.glob("vigil-report-*.json")
    figures = json.loads(figures_path.read_text())
    return figures, {p.suffix: p for p in out.glob("vigil-report-*")}


def check_against_inputs(figures: dict, replay: Path, community=None) -> None:
    """Every headline and effectiveness number recomputed here from the raw records."""
    start, end = (parse_event_time(figures["period"][k]) for k in ("start", "end"))
    mine = lambda c: community is None or c == community  # noqa: E731
    scored = [s for s in _lines(replay / "scored.jsonl") if mine(s["post"]["community"])
              and start <= parse_event_time(s["post"]["created_at"]) < end]
    head = figures["headline"]["current"]
    assert head["posts"] == len(scored)
    assert head["authors"] == len({s["post"]["author_id"] for s in scored})
    flagged = [s for s in scored if s["decision"] != "none"]
    if scored:
        assert head["toxic_share"] == pytest.approx(len(flagged) / len(scored))
        assert head["sentiment"] == pytest.approx(statistics.fmean(s["sentiment"] for s in scored))
    # the charted series add up to the headline
    assert sum(figures["series"]["current"]["posts"]) == len(scored)
    assert sum(figures["series"]["current"]["flagged"]) == len(flagged)
    # incidents: one per "triggered" message (ids unique), by event time of first_seen
    messages = list({m["id"]: m for m in _lines(replay / "escalations.jsonl")}.values())
    triggered = [m for m in messages if m["status"] == "triggered" and mine(m["community"])
                 and start <= parse_event_time(m["first_seen"]) < end]
    assert head["raised"] == len(triggered)
    assert 0 <= head["acknowledged"] <= head["raised"] and 0 <= head["resolved"] <= head["raised"]
    resolved_keys = {m["dedup_key"] for m in messages if m["status"] == "resolved"}
    assert head["resolved"] <= sum(m["dedup_key"] in resolved_keys for m in triggered)
    eff = figures["effectiveness"]
    # a replay has no wall clock: post -> escalation in event time, the rest left out
    delays = [parse_event_time(m["last_seen"]) - parse_event_time(m["first_seen"])
              for m in triggered]
    assert eff["post_to_escalation"]["n"] == len(delays)
    if delays:
        assert eff["post_to_escalation"]["median_s"] == pytest.approx(statistics.median(delays))
    assert eff["escalation_to_ack"]["n"] == 0 and eff["ack_to_resolve"]["n"] == 0
    by_author: dict = {}
    for s in flagged:
        key = (s["post"]["community"], s["post"]["author_id"])
        by_author[key] = by_author.get(key, 0) + 1
    assert eff["violating_authors"] == len(by_author)
    assert eff["repeat_offenders"] == sum(n >= 2 for n in by_author.values())
    assert [o["flagged_posts"] for o in eff["top_repeat_offenders"]] == sorted(
        (n for n in by_author.values() if n >= 2), reverse=True)[:10]
    assert eff["violated_again"] <= eff["warned_or_timed_out"]
    # every trend listed: a threat or opportunity with a window ending in the period
    signals = _lines(replay / "trends.jsonl")
    for t in figures["trends"]:
        mine_ = [s for s in signals if s["trend_id"] == t["trend_id"]
                 and start <= parse_event_time(s["window_end"]) < end]
        assert t["kind"] in ("threat", "opportunity") and mine_
        assert t["peak_volume"] == max(s["volume"] for s in mine_)
    expected = {s["trend_id"] for s in signals if s["kind"] in ("threat", "opportunity")
                and mine(s["community"]) and start <= parse_event_time(s["window_end"]) < end}
    assert {t["trend_id"] for t in figures["trends"]} == expected


def check_pdf(pdf: Path, tmp: Path, trends: int) -> int:
    """The PDF as PNG pages: each chart's text is in it, and no page is blank."""
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp / "page")], check=True)
    pages = sorted(tmp.glob("page-*.png"))
    assert pages
    from PIL import Image

    for page in pages:
        grey = Image.open(page).convert("L")
        dark = sum(grey.histogram()[:200]) / (grey.width * grey.height)
        assert dark > 0.005, f"{page.name} is blank"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    for label in CHART_LABELS:
        assert label in text, f"chart with {label!r} missing from the PDF"
    assert text.count("posts / window") == min(trends, TREND_CARDS)  # a curve per trend card
    return len(pages)


def _needs_poppler():
    if not shutil.which("pdftoppm"):
        pytest.skip("needs pdftoppm and pdftotext (Debian poppler-utils; .ci/run installs it)")


def test_sample_report_numbers_charts_and_pdf(sample_replay, tmp_path):
    _needs_poppler()
    figures, files = _report(sample_replay, tmp_path / "out", "--days", "1")
    assert figures["headline"]["current"]["posts"] > 600  # the whole sample in the day
    assert figures["headline"]["current"]["raised"] > 10 and figures["trends"]
    check_against_inputs(figures, sample_replay)
    html = files[".html"].read_text()
    assert html.count("data:image/svg+xml;base64,") == 4 + min(len(figures["trends"]), TREND_CARDS)
    assert "(UTC, event time)" in html
    assert check_pdf(files[".pdf"], tmp_path, len(figures["trends"])) >= 2
    # every figure has its footnote
    for key in figures["definitions"]:
        assert figures["definitions"][key] in html.replace("&#x27;", "'")


def test_one_community_and_the_previous_period(sample_replay, tmp_path):
    figures, _ = _report(sample_replay, tmp_path, "--community", "r/acmegames", "--days",
                         "0.25", "--format", "json")
    check_against_inputs(figures, sample_replay, community="r/acmegames")
    # the previous quarter-day holds the sample's earlier posts: the comparison is real
    prev_start, prev_end = (parse_event_time(figures["previous"][k]) for k in ("start", "end"))
    earlier = [s for s in _lines(sample_replay / "scored.jsonl")
               if s["post"]["community"] == "r/acmegames"
               and prev_start <= parse_event_time(s["post"]["created_at"]) < prev_end]
    assert figures["headline"]["previous"]["posts"] == len(earlier) > 0


def test_same_inputs_same_report_and_no_author_in_clear(sample_replay, tmp_path):
    one, _ = _report(sample_replay, tmp_path / "a", "--days", "1", "--format", "json,html")
    # the same records in another order (the topics interleave partitions differently)
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in ("scored.jsonl", "trends.jsonl", "escalations.jsonl"):
        rows = (sample_replay / name).read_text().splitlines()
        if name != "escalations.jsonl":  # a key's lifecycle keeps its order
            random.Random(7).shuffle(rows)
        (shuffled / name).write_text("\n".join(rows) + "\n")
    two, files = _report(shuffled, tmp_path / "b", "--days", "1", "--format", "json,html")
    assert one == two
    html = files[".html"].read_text()
    raw_authors = set()
    for line in SAMPLE.read_text().splitlines():
        try:
            raw_authors.add(json.loads(line).get("author"))
        except (ValueError, AttributeError):
            pass  # the sample's deliberately malformed lines
    assert raw_authors and not [a for a in raw_authors if a and a in html]


def test_report_usage_errors_exit_2(tmp_path, capsys):
    assert main(["report", "--replay", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert main(["report", "--replay", str(tmp_path), "--out", str(tmp_path)]) == 2  # no scored.jsonl
    assert main(["report", "--replay", str(tmp_path), "--tz", "Mars/Base"]) == 2
    assert main(["report", "--replay", str(tmp_path), "--days", "0"]) == 2
    assert main(["report", "--replay", str(tmp_path), "--format", "docx"]) == 2
    err = capsys.readouterr().err
    assert "no such directory" in err and "Mars/Base" in err and "docx" in err


@pytest.mark.skipif(not CRISISLEX.is_file(), reason=f"needs ../shared/data ({CRISISLEX} absent)")
def test_crisislex_report(tmp_path, monkeypatch):
    _needs_poppler()
    monkeypatch.setenv("VIGIL_EMBEDDINGS", "false")  # counting under test, not MiniLM
    replay = tmp_path / "replay"
    assert main(["replay", str(CRISISLEX), "--out", str(replay), "--time-col",
                 "created_at_utc_from_snowflake", "--id-col", "tweet_id", "--community-col",
                 "event", "--platform", "x"]) == 0
    # all communities over the 7 days up to the newest post (the last event's tail) ...
    figures, _ = _report(replay, tmp_path / "all", "--format", "json")
    check_against_inputs(figures, replay)
    # ... and the largest event over its whole span, against the same span before it
    posts = _lines(replay / "scored.jsonl")
    counts: dict = {}
    for s in posts:
        counts[s["post"]["community"]] = counts.get(s["post"]["community"], 0) + 1
    event = max(sorted(counts), key=counts.get)
    times = [parse_event_time(s["post"]["created_at"]) for s in posts
             if s["post"]["community"] == event]
    days = (max(times) + 1 - min(times)) / 86400
    figures, files = _report(replay, tmp_path / "event", "--community", event, "--days",
                             repr(days), "--end", repr(max(times) + 1))
    assert figures["headline"]["current"]["posts"] == counts[event]
    check_against_inputs(figures, replay, community=event)
    check_pdf(files[".pdf"], tmp_path, len(figures["trends"]))
