"""``vigil report``: the community report from a replay's output or the live topics.

Checked before the slow part (reading topics, drawing charts): the folder, the period,
the time zone and the formats; a missing plotting library exits 2 with the pip line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.cli_support import (UsageError, emit_json, require_dir, require_out_dir,
                                require_range, say, settings_from)

__all__ = ["cmd_report", "add_report_command"]


def add_report_command(command, json_flag) -> None:
    sp = command("report", "the weekly community report as HTML and PDF",
                 "Build the community report (headline figures against the previous "
                 "period, threats and opportunities, moderation effectiveness, charts) as "
                 "an HTML page, a PDF and the figures as JSON, into --out. From a `vigil "
                 "replay --out` folder (--replay) or from the live topics (default).",
                 broker=True)
    sp.add_argument("--replay", type=Path, metavar="DIR",
                    help="a `vigil replay --out` folder (default: the live topics)")
    sp.add_argument("--community", help="one community, as Vigil names it, e.g. r/acmegames "
                                        "(default: all)")
    sp.add_argument("--days", type=float, default=7.0,
                    help="length of the period in days, event time")
    sp.add_argument("--end", metavar="TIME",
                    help="end of the period, ISO-8601 or epoch (default: now for the topics, "
                         "the hour after the newest post for a replay)")
    sp.add_argument("--tz", default="UTC", help="time zone of dates and chart axes (IANA name)")
    sp.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                    help="output directory (files named after the community and period)")
    sp.add_argument("--format", default="html,pdf,json",
                    help="comma-separated: html, pdf, json")
    sp.add_argument("--idle-timeout", type=float, default=3.0,
                    help="topics: stop reading a topic after this many quiet seconds")
    json_flag(sp, "the files written and the headline figures as one JSON document")
    sp.set_defaults(fn=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from agents.report import FORMATS, build_report, default_period, topics_since, zone
    from agents.report_charts import ReportDependencyMissing
    from models.eventtime import parse_event_time

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    if not formats or set(formats) - set(FORMATS):
        raise UsageError(f"--format: choose from {', '.join(FORMATS)}, not {args.format!r}")
    require_range(args.days, "--days", 0, 366, low_open=True, high_open=False)
    try:
        zone(args.tz)
    except ValueError as exc:
        raise UsageError(f"--tz: {exc}") from None
    if args.end is not None:
        try:
            parse_event_time(args.end)
        except Exception:
            raise UsageError(f"--end: not a time: {args.end!r}") from None
    require_out_dir(args.out)
    if {"html", "pdf"} & set(formats):
        try:
            import matplotlib  # noqa: F401
            import weasyprint  # noqa: F401
        except ImportError:
            raise UsageError("reports need matplotlib and weasyprint: "
                             "pip install 'vigil[report]'") from None
    if args.replay is not None:
        from agents.report_sources import ReportSourceError, from_replay

        try:
            records, unreadable = from_replay(require_dir(args.replay, "--replay"))
        except ReportSourceError as exc:
            raise UsageError(f"--replay: {exc}") from None
        period = default_period(records, days=args.days, end=args.end)  # ends with its data
        source = f"a replay ({args.replay})"
    else:
        from agents.report_sources import from_topics
        from models.report_figures import ReportRecords

        settings = settings_from(args)
        # live records: the period ends at --end or now, whatever they hold
        period = default_period(ReportRecords([], [], [], [], live=True), days=args.days,
                                end=args.end)
        say(args, f"reading Vigil's topics on {settings.broker} ...")
        records, unreadable = from_topics(settings.bootstrap_servers, topics_since(period),
                                          idle_timeout_s=args.idle_timeout)
        source = f"the topics on {settings.broker}"
    try:
        files = build_report(records, args.out, period=period, community=args.community,
                             tz_name=args.tz, source=source, formats=formats)
    except ReportDependencyMissing as exc:
        raise UsageError(str(exc)) from None
    written = [str(p) for p in (files.html, files.pdf, files.json) if p is not None]
    head = files.figures["headline"]["current"]
    if args.json:
        emit_json({"files": written, "headline": head, "unreadable": unreadable,
                   "timings_s": files.timings_s})
    if sum(unreadable.values()):
        say(args, f"skipped unreadable records: {unreadable}")
    say(args, f"{head['posts']} posts, {head['raised']} incidents, "
              f"{len(files.figures['trends'])} threats/opportunities -> {', '.join(written)}")
    return 0
