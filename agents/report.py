"""``vigil report``: the weekly community report and effectiveness review, as an HTML
page and a PDF, from a replay's output or from the live topics.

    records (agents.report_sources) -> figures (models.report_figures, pure)
        -> HTML with charts (agents.report_html, agents.report_charts) -> PDF

The period is event time: by default the 7 days up to now (live) or up to the hour
after the newest post (a replay), compared with the period just before. Files are
named after the community and the period, so a scheduled run (README: cron line)
fills a folder without overwriting an older report; a third file, ``.json``, holds
every figure for whoever wants the numbers.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.eventtime import parse_event_time, to_iso
from models.report_figures import Period, ReportRecords, compute

__all__ = ["ReportFiles", "build_report", "default_period", "report_name", "topics_since",
           "zone"]

FORMATS = ("html", "pdf", "json")


@dataclass(frozen=True)
class ReportFiles:
    html: Optional[Path]
    pdf: Optional[Path]
    json: Optional[Path]
    figures: dict
    timings_s: dict


def zone(name: str):
    """>>> zone("Europe/London").key
    'Europe/London'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as UTC or "
                         "Europe/London)") from None


def default_period(records: ReportRecords, *, days: float, end: Optional[str] = None,
                   now: Optional[float] = None) -> Period:
    """``days`` up to ``end``; without it, up to now (live) or the hour after the
    newest post (replay: its data ends where the replayed file ended)."""
    if end is not None:
        stop = parse_event_time(end)
    elif records.live:
        stop = time.time() if now is None else now
    else:
        newest = max((parse_event_time(s["post"]["created_at"]) for s in records.scored),
                     default=time.time() if now is None else now)
        stop = math.floor(newest / 3600.0) * 3600.0 + 3600.0
    return Period(stop - days * 86400.0, stop)


def topics_since(period: Period) -> float:
    """Broker time to read the topics from for ``period``: the start of the previous
    period, less a day for trends and incidents that began just before it."""
    return period.previous().start - 86400.0


def report_name(community: Optional[str], period: Period) -> str:
    """>>> report_name("r/acme games", Period(0, 7 * 86400))
    'vigil-report-r-acme-games-19700101T0000Z-19700108T0000Z'
    """
    slug = re.sub(r"[^A-Za-z0-9]+", "-", community).strip("-").lower() if community else "all"
    stamp = lambda ts: time.strftime("%Y%m%dT%H%MZ", time.gmtime(ts))  # noqa: E731
    return f"vigil-report-{slug}-{stamp(period.start)}-{stamp(period.end)}"


def _version(labels: dict) -> str:
    rev = labels.get("revision", "unknown")
    return labels["version"] + ("" if rev == "unknown" else f" ({rev[:10]})")


def build_report(records: ReportRecords, out_dir: Path, *, period: Period,
                 community: Optional[str] = None, tz_name: str = "UTC",
                 source: str = "", formats: tuple[str, ...] = FORMATS) -> ReportFiles:
    from agents import report_html
    from streams.build_info import build_labels

    tz = zone(tz_name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.perf_counter()
    figures = compute(records, period, community)
    timings["figures_s"] = time.perf_counter() - started
    base = out_dir / report_name(community, period)
    paths: dict[str, Optional[Path]] = {"html": None, "pdf": None, "json": None}
    if "json" in formats:
        paths["json"] = base.with_suffix(".json")
        readable = {**figures, "period": {k: to_iso(v) for k, v in figures["period"].items()},
                    "previous": {k: to_iso(v) for k, v in figures["previous"].items()}}
        paths["json"].write_text(json.dumps(readable, indent=1, sort_keys=True, default=str) + "\n")
    if "html" in formats or "pdf" in formats:
        t = time.perf_counter()
        html = report_html.render_html(figures, tz=tz, tz_name=tz_name, source=source,
                                       version=_version(build_labels()))
        timings["html_s"] = time.perf_counter() - t
        if "html" in formats:
            paths["html"] = base.with_suffix(".html")
            paths["html"].write_text(html, encoding="utf-8")
        if "pdf" in formats:
            t = time.perf_counter()
            paths["pdf"] = base.with_suffix(".pdf")
            report_html.write_pdf(html, paths["pdf"])
            timings["pdf_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    return ReportFiles(paths["html"], paths["pdf"], paths["json"], figures, timings)
