"""The report as one self-contained HTML page (charts inline as SVG), and its PDF.

The PDF is the same HTML laid out by WeasyPrint for A4 paper, so the page and the
print never disagree. Everything taken from the records is escaped; mentions of users
in exemplar posts (``@name``, ``u/name``) are masked, and authors appear only as the
pipeline's pseudonyms.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, tzinfo
from html import escape
from typing import Optional

from agents import report_charts as charts

__all__ = ["render_html", "write_pdf", "mask_mentions"]

TREND_CARDS = 20  # the rest of the ranked trends as table rows, without curves
_MENTION = re.compile(r"(?<![\w/])(?:@|u/|/u/)[A-Za-z0-9_\-]{2,}")
NOTES = ["posts", "authors", "toxic_share", "sentiment", "raised", "acknowledged", "resolved",
         "threats", "post_to_escalation", "escalation_to_ack", "ack_to_resolve",
         "repeat_offenders", "recidivism", "false_alarms", "agreement"]

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; color: #111;
       max-width: 190mm; margin: 0 auto; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; margin: 6mm 0 2mm;
     border-bottom: 1px solid #444; } h3 { font-size: 10.5pt; margin: 3mm 0 1mm; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }
th, td { border-bottom: 1px solid #bbb; padding: 1mm 2mm; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #333; font-size: 8.5pt; } .chart { margin: 2mm 0; } .chart img { width: 100%; }
.trend { page-break-inside: avoid; border: 1px solid #999; padding: 2mm 3mm; margin: 2mm 0; }
.trend .spark img { width: 70mm; float: right; margin-left: 3mm; }
.badge { border: 1px solid #111; padding: 0 1.5mm; font-size: 8pt; text-transform: uppercase; }
.badge.threat { background: #111; color: #fff; }
section { page-break-inside: auto; } .notes { font-size: 7.8pt; color: #222; }
sup { font-size: 6.5pt; }
"""


def mask_mentions(text: str) -> str:
    """>>> mask_mentions("thanks @sam_1 and u/kit-9, email me")
    'thanks @user and @user, email me'
    """
    return _MENTION.sub("@user", text)


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode()).decode()
    return f'<img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _note(key: str) -> str:
    return f'<sup><a href="#note-{key}">{NOTES.index(key) + 1}</a></sup>'


def _num(v, kind: str = "int") -> str:
    if v is None:
        return "—"
    if kind == "pct":
        return f"{100 * v:.1f} %"
    if kind == "float":
        return f"{v:+.3f}"
    return f"{v:,}"


def _change(cur, prev, kind: str) -> str:
    if cur is None or prev is None:
        return "—"
    if kind == "pct":
        return f"{100 * (cur - prev):+.1f} pts"
    if kind == "float":
        return f"{cur - prev:+.3f}"
    if prev == 0:
        return f"{cur - prev:+,}" + (" (new)" if cur else "")
    return f"{cur - prev:+,} ({100 * (cur - prev) / prev:+.0f} %)"


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _when(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%a %d %b %Y %H:%M")


def render_html(figures: dict, *, tz: tzinfo, tz_name: str, source: str, version: str) -> str:
    p, prev = figures["period"], figures["previous"]
    who = figures["community"] or "all communities"
    head = figures["headline"]
    rows = [("posts", "Posts", "int"), ("authors", "Active authors", "int"),
            ("toxic_share", "Share of flagged posts", "pct"),
            ("sentiment", "Mean sentiment", "float"), ("raised", "Incidents raised", "int"),
            ("acknowledged", "… acknowledged", "int"), ("resolved", "… resolved", "int")]
    headline = "".join(
        f"<tr><td>{label}{_note(key)}</td><td class=n>{_num(head['current'][key], kind)}</td>"
        f"<td class=n>{_num(head['previous'][key], kind)}</td>"
        f"<td class=n>{_change(head['current'][key], head['previous'][key], kind)}</td></tr>"
        for key, label, kind in rows)
    eff = figures["effectiveness"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Vigil report: {escape(who)}, {_when(p['start'], tz)} to {_when(p['end'], tz)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Community report: {escape(who)}</h1>",
        f"<p class=meta>Period {_when(p['start'], tz)} to {_when(p['end'], tz)} ({escape(tz_name)}, "
        f"event time), compared with {_when(prev['start'], tz)} to {_when(prev['end'], tz)}. "
        f"Built by Vigil {escape(version)} from {escape(source)}"
        + ("" if figures["live"] else " (a replay: durations that need a wall clock are left out)")
        + ".</p>",
        "<section><h2>Headline figures</h2><table><tr><th>Figure</th><th class=n>This period</th>"
        f"<th class=n>Previous</th><th class=n>Change</th></tr>{headline}</table>",
        f"<div class=chart>{_img(charts.volume_chart(figures['series'], tz, tz_name), 'Posts over time')}</div>",
        f"<div class=chart>{_img(charts.sentiment_chart(figures['series'], tz, tz_name), 'Sentiment over time')}</div>",
        "</section>",
        _trends_section(figures["trends"], tz, tz_name),
        _effectiveness_section(eff, head["current"]),
        _notes(figures["definitions"]),
        "</body></html>",
    ]
    return "\n".join(parts)


def _trends_section(trends: list[dict], tz: tzinfo, tz_name: str) -> str:
    out = [f"<section><h2>Threats and opportunities{_note('threats')}</h2>"]
    if not trends:
        out.append("<p>No trend was classified a threat or an opportunity in the period.</p>")
    for rank, t in enumerate(trends[:TREND_CARDS], start=1):
        exemplars = "".join(f"<li>{escape(mask_mentions(e))}</li>" for e in t["exemplars"])
        out.append(
            f"<div class=trend><div class=spark>{_img(charts.trend_curve(t['curve'], tz, tz_name), 'Volume curve')}</div>"
            f"<h3>{rank}. <span class='badge {escape(t['kind'])}'>{escape(t['kind'])}</span> "
            f"{escape(t['category'] or t['topic_label'] or '')}: {escape(t['community'])}</h3>"
            f"<p>Severity <b>{escape(t['severity'] or '')}</b>; peak {t['peak_volume']} posts per "
            f"window; mean sentiment {t['sentiment']:+.2f}; first seen {_when(t['first_seen'], tz)}; "
            f"last state {escape(t['last_state'] or '')}.<br>Terms: {escape(', '.join(t['terms']) or '—')}"
            f"<br>What was done: {escape(t['outcome'])}.</p>"
            f"<ul>{exemplars}</ul></div>")
    if len(trends) > TREND_CARDS:
        rows = "".join(
            f"<tr><td class=n>{rank}</td><td>{escape(t['kind'])}</td>"
            f"<td>{escape(t['category'] or t['topic_label'] or '')}</td><td>{escape(t['community'])}</td>"
            f"<td>{escape(t['severity'] or '')}</td><td class=n>{t['peak_volume']}</td>"
            f"<td>{escape(t['outcome'])}</td></tr>"
            for rank, t in enumerate(trends[TREND_CARDS:], start=TREND_CARDS + 1))
        out.append(f"<h3>The other {len(trends) - TREND_CARDS}</h3><table><tr><th class=n>#</th>"
                   "<th>Kind</th><th>Category</th><th>Community</th><th>Severity</th>"
                   f"<th class=n>Peak</th><th>What was done</th></tr>{rows}</table>")
    out.append("</section>")
    return "".join(out)


def _effectiveness_section(eff: dict, current: dict) -> str:
    rows = "".join(
        f"<tr><td>{label}{_note(key)}</td><td class=n>{_duration(eff[key]['median_s'])}</td>"
        f"<td class=n>{_duration(eff[key]['p90_s'])}</td><td class=n>{eff[key]['n']}</td></tr>"
        for key, label in (("post_to_escalation", "Post to escalation"),
                           ("escalation_to_ack", "Escalation to acknowledgement"),
                           ("ack_to_resolve", "Acknowledgement to resolve")))
    offenders = "".join(
        f"<tr><td>{escape(o['community'])}</td><td>{escape(o['author'])}</td>"
        f"<td class=n>{o['flagged_posts']}</td></tr>" for o in eff["top_repeat_offenders"])
    fa, ag = eff["false_alarms"], eff["agreement"]
    return "".join([
        "<section><h2>Moderation effectiveness</h2><h3>Time to action</h3>",
        "<table><tr><th>Time</th><th class=n>Median</th><th class=n>90th percentile</th>"
        f"<th class=n>Incidents</th></tr>{rows}</table>",
        f"<div class=chart>{_img(charts.time_to_action_chart(eff['durations']), 'Time to action')}</div>",
        "<h3>Incident funnel</h3>",
        f"<div class=chart style='width:60%'>{_img(charts.funnel_chart(current), 'Incident funnel')}</div>",
        f"<h3>Repeat offenders{_note('repeat_offenders')}</h3>",
        f"<p>{eff['repeat_offenders']} of {eff['violating_authors']} authors with flagged posts "
        f"posted two or more. Recidivism{_note('recidivism')}: {eff['violated_again']} of "
        f"{eff['warned_or_timed_out']} authors recommended a warning or timeout violated again "
        f"({_num(eff['recidivism'], 'pct')}).</p>",
        ("<table><tr><th>Community</th><th>Author (pseudonym)</th><th class=n>Flagged posts</th>"
         f"</tr>{offenders}</table>" if offenders else ""),
        f"<h3>On-call verdicts and the learnt model</h3><p>False alarms{_note('false_alarms')}: "
        f"{fa['false_alarm']} (real: {fa['real']}; share {_num(fa['share'], 'pct')}). "
        f"Agreement with moderators{_note('agreement')}: {_num(ag['current']['share'], 'pct')} "
        f"of {ag['current']['labels']} labels, previous period {_num(ag['previous']['share'], 'pct')} "
        f"of {ag['previous']['labels']}.</p></section>"])


def _notes(definitions: dict) -> str:
    items = "".join(f"<li id=note-{key}>{escape(definitions[key])}</li>" for key in NOTES)
    return f"<section class=notes><h2>Definitions</h2><ol>{items}</ol></section>"


def write_pdf(html: str, path) -> None:
    try:
        import weasyprint
    except ImportError:
        raise charts.ReportDependencyMissing("PDF reports need weasyprint: "
                                             "pip install 'vigil[report]'") from None
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html).write_pdf(str(path))
