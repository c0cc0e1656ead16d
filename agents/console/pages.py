"""The console's HTML: server-rendered, escaped, no external resources; one small script
(``static/console.js``) for live updates and one-click actions. Landmarks, labels and
buttons a screen reader can name; a table that stacks on a phone (``static/console.css``).
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Optional
from urllib.parse import quote, urlencode

from agents.console.auth import User
from models.incident_board import Filters, Incident

__all__ = ["page", "login_page", "list_page", "rows", "incident_page", "review_page",
           "reports_page"]

TYPES = ("moderation", "safety", "trend", "pipeline")
SEVERITIES = ("critical", "high", "medium", "low")
STATUSES = ("open", "triggered", "updated", "acknowledged", "resolved")


def page(title: str, body: str, *, user: Optional[User] = None, csrf: str = "") -> str:
    who = (f'<span class="who">{escape(user.name)} ({escape(user.role)})</span>'
           f'<form method="post" action="/console/logout"><input type="hidden" name="csrf" '
           f'value="{escape(csrf)}"><button>Log out</button></form>') if user else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="csrf" content="{escape(csrf)}"><title>{escape(title)} · Vigil</title>'
            f'<link rel="stylesheet" href="/console/static/console.css"></head><body>'
            f'<header><a href="/console" class="brand">Vigil</a>'
            f'<a href="/console/review">Review queue</a><a href="/console/reports">Reports</a>'
            f'{who}</header>'
            f'<main id="main">{body}</main><script src="/console/static/console.js"></script>'
            f'</body></html>')


def login_page(error: str = "") -> str:
    err = f'<p role="alert" class="error">{escape(error)}</p>' if error else ""
    return page("Log in", f'<h1>Log in</h1>{err}<form method="post" action="/console/login">'
                          f'<label>User <input name="user" autocomplete="username" required></label>'
                          f'<label>Password <input name="password" type="password" '
                          f'autocomplete="current-password" required></label>'
                          f'<button type="submit">Log in</button></form>')


def _select(name: str, label: str, options: Iterable[str], chosen: str) -> str:
    opts = "".join(f'<option value="{escape(o)}"{" selected" if o == chosen else ""}>'
                   f'{escape(o or "any")}</option>' for o in ("", *options))
    return f'<label>{label} <select name="{name}">{opts}</select></label>'


def rows(incidents: list[Incident]) -> str:
    out = []
    for inc in incidents:
        e = inc.latest
        href = "/console/incident?key=" + quote(inc.dedup_key, safe="")
        out.append(
            f'<tr data-key="{escape(inc.dedup_key)}" class="sev-{escape(e.get("severity", ""))}">'
            f'<td data-label="Severity">{escape(e.get("severity", ""))}</td>'
            f'<td data-label="Status" class="status">{escape(inc.status)}</td>'
            f'<td data-label="Incident"><a href="{href}">{escape(e.get("title", ""))}</a>'
            f'<div class="muted">{escape(e.get("summary", ""))}</div>'
            f'<div class="muted">Recommended: {escape(e.get("recommended_action", ""))} · '
            f'<a href="{escape(e.get("runbook_url", ""))}">Runbook</a></div></td>'
            f'<td data-label="Community">{escape(e.get("community", ""))} '
            f'<span class="muted">{escape(e.get("platform", ""))} · {escape(e.get("type", ""))}</span></td>'
            f'<td data-label="Seen">{escape(e.get("first_seen", ""))} → {escape(e.get("last_seen", ""))}'
            f' <span class="muted">×{int(e.get("occurrence_count") or 0)}</span></td>'
            f'<td data-label="Acknowledged by">{escape(inc.acknowledged_by)}</td></tr>')
    return "".join(out) or '<tr><td colspan="6">No incidents match.</td></tr>'


def list_page(user: User, csrf: str, incidents: list[Incident], f: Filters, communities: list[str],
              platforms: list[str]) -> str:
    chosen = next(iter(f.communities)) if f.communities and len(f.communities) == 1 else ""
    filters = (f'<form class="filters" method="get" action="/console" aria-label="Filter incidents">'
               + _select("community", "Community", communities, chosen)
               + _select("platform", "Platform", platforms, f.platform)
               + _select("type", "Type", TYPES, f.type)
               + _select("severity", "Severity", SEVERITIES, f.severity)
               + _select("status", "Status", STATUSES, f.status)
               + '<button type="submit">Filter</button></form>')
    query = urlencode({k: v for k, v in (("community", chosen), ("platform", f.platform),
                                         ("type", f.type), ("severity", f.severity),
                                         ("status", f.status)) if v})
    return page("Incidents", f'<h1>Incidents</h1>{filters}'
                             f'<table id="incidents" data-rows="/console/rows?{escape(query)}">'
                             f'<caption class="sr-only">Open first, most severe first, newest first'
                             f'</caption><thead><tr><th>Severity</th><th>Status</th><th>Incident</th>'
                             f'<th>Community</th><th>Seen</th><th>Acknowledged by</th></tr></thead>'
                             f'<tbody aria-live="polite">{rows(incidents)}</tbody></table>',
                user=user, csrf=csrf)


def _button(verb: str, text: str, community: str, ref: str, enabled: bool) -> str:
    if not enabled:
        return ""
    return (f'<button class="act" data-verb="{verb}" data-community="{escape(community)}" '
            f'data-ref="{escape(ref)}">{escape(text)}</button>')


def _chart(points: list) -> str:
    """Volume (bars) and sentiment (line, -1..1) over the trend's windows, as inline SVG."""
    if not points:
        return ""
    w, h, n = 480, 120, len(points)
    top = max(1, max(int(v or 0) for _, v, _ in points))
    step = w / max(1, n)
    bars = "".join(f'<rect x="{i * step:.1f}" y="{h - (int(v or 0) / top) * (h - 10):.1f}" '
                   f'width="{max(1.0, step - 2):.1f}" height="{(int(v or 0) / top) * (h - 10):.1f}" '
                   f'fill="#7aa6d6"><title>{escape(str(t))}: {int(v or 0)} posts</title></rect>'
                   for i, (t, v, _) in enumerate(points))
    line = " ".join(f"{i * step + step / 2:.1f},{h / 2 - float(s or 0) * (h / 2 - 5):.1f}"
                    for i, (_, _, s) in enumerate(points))
    return (f'<figure><svg role="img" aria-label="Volume and sentiment over time" viewBox="0 0 {w} {h}" '
            f'width="100%" height="{h}" style="max-width:{w}px">{bars}'
            f'<polyline points="{line}" fill="none" stroke="#b03030" stroke-width="2"/></svg>'
            f'<figcaption>Posts per window (bars, most {top}) and mean sentiment '
            f'(line, −1 to +1), {escape(str(points[0][0]))} to {escape(str(points[-1][0]))} UTC'
            f'</figcaption></figure>')


def incident_page(user: User, csrf: str, inc: Incident, posts: Optional[dict] = None,
                  trend_points: Optional[list] = None) -> str:
    """``posts``: (community, post_id) -> the post as scored, when the console saw it."""
    posts_seen = posts or {}
    e, ev = inc.latest, inc.latest.get("evidence") or {}
    c, act = e.get("community", ""), user.may_act(e.get("community", ""))
    actions = ""
    if inc.open and act:
        actions = ('<div class="actions" role="group" aria-label="Incident actions">'
                   + ("" if inc.acknowledged_by else _button("ack", "Acknowledge", c, inc.dedup_key, True))
                   + ("" if e.get("type") == "trend" else _button("resolve", "Resolve", c, inc.dedup_key, True))
                   + '<label>Note <input id="note" maxlength="500"></label>'
                   + _button("note", "Add note", c, inc.dedup_key, True) + '</div>')
    posts = ""
    for i, (pid, snippet) in enumerate(zip(ev.get("post_ids") or [], ev.get("snippets") or [])):
        label = ("" if e.get("type") == "trend" else
                 _button("toxic", "Toxic", c, pid, act) + _button("not_toxic", "Not toxic", c, pid, act))
        seen = posts_seen.get((c, str(pid))) or {}
        fired = "".join(f"<li>{escape(x)}</li>" for x in seen.get("explanation", []))
        posts += (f'<li><blockquote data-post="{escape(str(pid))}">{escape(str(snippet))}</blockquote>'
                  f'<div class="muted">post {escape(str(pid))}'
                  + (f' · author {escape(str(ev.get("author_id")))}' if ev.get("author_id") and i == 0 else "")
                  + (f' · {escape(str(seen.get("created_at")))} · score {seen["toxicity"]:.2f} '
                     f'(community threshold {seen["threshold"]:.2f})' if seen.get("toxicity") is not None
                     and seen.get("threshold") is not None else "")
                  + '</div>' + (f'<ul class="fired">{fired}</ul>' if fired else "") + label + '</li>')
    strikes = "".join(
        f'<li><blockquote>{escape(str((posts_seen.get((c, str(p))) or {}).get("text") or p))}</blockquote>'
        f'<div class="muted">{escape(str((posts_seen.get((c, str(p))) or {}).get("created_at") or ""))}</div></li>'
        for p in ev.get("history_post_ids") or [])
    facts = "".join(f'<dt>{escape(k)}</dt><dd data-fact="{escape(k)}">{escape(str(v))}</dd>' for k, v in (
        ("Status", inc.status), ("Severity", e.get("severity")), ("Community", c),
        ("Platform", e.get("platform")), ("Type", e.get("type")),
        ("First seen", e.get("first_seen")), ("Last seen", e.get("last_seen")),
        ("Occurrences", e.get("occurrence_count")), ("Acknowledged by", inc.acknowledged_by or "—"),
        ("Toxicity", ev.get("toxicity", "—")), ("Terms", ", ".join(ev.get("terms") or ev.get("top_terms") or [])),
        ("Earlier posts by this author", len(ev.get("history_post_ids") or []))) if v is not None)
    trend = ""
    if e.get("type") == "trend" and ev.get("trend_id"):
        trend = ('<div class="actions" role="group" aria-label="Trend verdict">'
                 + _button("real", "Real", c, ev["trend_id"], act)
                 + _button("false_alarm", "False alarm", c, ev["trend_id"], act) + '</div>'
                 + f'<p>volume {escape(str(ev.get("volume")))} against a baseline of '
                 f'{escape(str(ev.get("baseline")))}, sentiment {escape(str(ev.get("sentiment")))}</p>'
                 + _chart(trend_points or []))
    history = "".join(f'<li><time>{escape(str(h["at"]))}</time> {escape(h["status"])}'
                      + (f' by {escape(h["by"])}' if h["by"] else "")
                      + (f' via {escape(h["source"])}' if h.get("source") else "")
                      + f' — {escape(h["summary"])}</li>' for h in inc.history)
    return page(e.get("title", "Incident"),
                f'<h1 data-key="{escape(inc.dedup_key)}">{escape(e.get("title", ""))}</h1>'
                f'<p>{escape(e.get("summary", ""))}</p><p><strong>Recommended:</strong> '
                f'{escape(e.get("recommended_action", ""))} · <a href="{escape(e.get("runbook_url", ""))}">'
                f'Runbook</a></p><p role="status" id="applied" aria-live="polite"></p>{actions}'
                f'<dl class="facts" id="facts">{facts}</dl>{trend}<h2>Evidence</h2><ul class="posts">{posts}</ul>'
                + (f'<h2>The author\'s earlier violations</h2><ol class="posts">{strikes}</ol>' if strikes else "")
                + f'<h2>History</h2><ol id="history">{history}</ol>', user=user, csrf=csrf)


def review_page(user: User, csrf: str, community: str, communities: list[str], items: list[dict],
                stats: dict) -> str:
    """Posts to label, most uncertain first; keys: j/k move, t toxic, n not toxic."""
    choose = "".join(f'<li><a href="/console/review?community={quote(c, safe="")}"'
                     f'{" aria-current=page" if c == community else ""}>{escape(c)}</a></li>'
                     for c in communities)
    if not community:
        return page("Review queue", f'<h1>Review queue</h1><nav aria-label="Communities"><ul>'
                                    f'{choose or "<li>Nothing to review yet.</li>"}</ul></nav>',
                    user=user, csrf=csrf)
    act = user.may_act(community)
    head = (f'<p id="stats">{int(stats.get("labels", 0))} labels learnt in {escape(community)}; '
            f'the learnt score is trusted at {float(stats.get("trust", 0.0)):.2f} '
            f'(0: the shipped score only; it grows with labels that agree with it).</p>'
            '<p class="muted">Keys: j / k next / previous, t toxic, n not toxic.</p>')
    posts = "".join(
        f'<li class="review" tabindex="0" data-post="{escape(str(p["post_id"]))}">'
        f'<blockquote{_lang_attribute(p.get("lang"))}>{escape(p["text"])}</blockquote>'
        f'<div class="muted">score '
        f'{p["toxicity"]:.2f} (threshold {p["threshold"]:.2f})'
        + (f' · prior {p["prior"]:.2f}' if p.get("prior") is not None else "")
        + (f' · learnt {p["learnt"]:.2f}' if p.get("learnt") is not None else "")
        + (f' · <strong class="lang">language {escape(str(p.get("lang")))}: not read by the '
           f'English-only scorers, read it yourself</strong>'
           if p.get("lang_supported") is False else "")
        + f' · {escape(str(p.get("created_at") or ""))}</div>'
        + _button("toxic", "Toxic", community, str(p["post_id"]), act)
        + _button("not_toxic", "Not toxic", community, str(p["post_id"]), act) + '</li>'
        for p in items)
    return page(f"Review {community}", f'<h1>Review queue: {escape(community)}</h1>{head}'
                                       f'<ol id="queue">{posts or "<li>Nothing to review.</li>"}</ol>'
                                       f'<nav aria-label="Communities"><ul>{choose}</ul></nav>',
                user=user, csrf=csrf)


def _lang_attribute(lang) -> str:
    """``lang="de"`` on a quoted post, so screen readers read it in its language."""
    return f' lang="{escape(lang)}"' if isinstance(lang, str) and lang.isalpha() and lang != "und" else ""


def reports_page(user: User, csrf: str, reports: list[dict], communities: list[str], *,
                 default: str, may_all: bool, max_days: int, missing: str = "",
                 building: str = "", error: str = "") -> str:
    """The reports the user may see, newest first, and the form that builds one now.
    ``reports``: {"stem", "community", "start", "end", "formats"}, periods as text."""
    alerts = "".join(f'<p role="alert" class="error">{escape(text, quote=False)}</p>'
                     for text in (error, missing) if text)
    if building:
        alerts += f'<p role="status">{escape(building)}</p>'
    options = "".join(f'<option value="{escape(c)}"></option>' for c in communities)
    hint = "empty: all communities" if may_all else "one of yours"
    form = (f'<form class="filters" method="post" action="/console/reports" '
            f'aria-label="Build a report"><input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<label>Community ({hint}) <input name="community" list="report-communities" '
            f'maxlength="200" value="{escape(default)}"{"" if may_all else " required"}></label>'
            f'<datalist id="report-communities">{options}</datalist>'
            f'<label>Days <input name="days" type="number" min="1" max="{max_days}" value="7" '
            f'required></label><button type="submit"{" disabled" if missing else ""}>'
            f'Build report</button></form><p class="muted">From the live topics: the days up '
            f'to now, compared with the days before. A build takes a minute or so.</p>')
    body = "".join(
        f'<tr><td data-label="Report">{escape(r["stem"])}</td>'
        f'<td data-label="Community">{escape(r["community"])}</td>'
        f'<td data-label="Period">{escape(r["start"])} → {escape(r["end"])} UTC</td>'
        f'<td data-label="Files">' + " · ".join(
            f'<a href="/console/reports/file/{quote(r["stem"] + "." + ext)}">{ext.upper()}</a>'
            for ext in ("html", "pdf", "json") if ext in r["formats"]) + '</td></tr>'
        for r in reports) or '<tr><td colspan="4">No reports yet.</td></tr>'
    return page("Reports", f'<h1>Reports</h1>{alerts}{form}<table id="reports"><caption '
                           f'class="sr-only">Newest first</caption><thead><tr><th>Report</th>'
                           f'<th>Community</th><th>Period</th><th>Files</th></tr></thead>'
                           f'<tbody>{body}</tbody></table>', user=user, csrf=csrf)
