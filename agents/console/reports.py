"""The console's reports: ``vigil report`` from the live topics, built and read in the console.

    GET  /console/reports              the reports in ``<data_dir>/reports/`` the user may
                                       see, newest first, and a form to build one now
    POST /console/reports              {community, days, csrf}: build one now, 303 to the list
    GET  /console/reports/file/{name}  one report's ``.html``, ``.pdf`` or ``.json``

Who sees a report: its community is the one its ``.json`` names, and only if the file
name is the one :func:`agents.report.report_name` gives that community and period; the
name alone holds only a slug, which two communities can share ("r/a b", "r/a-b"). A
report of all communities, or one whose community cannot be told (no .json, or one for
another name), is for users who see every community ("*"). A user builds what they may
see: one of their communities, or any and all of them with "*". Building writes no
record, so viewers may build too. The POST is checked like ``/console/act`` (session,
CSRF token, Origin) and leaves an audit line. The build (topics, matplotlib, weasyprint)
runs on its own thread, one at a time; the request waits for it, at most BUILD_WAIT_S.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import structlog
from aiohttp import web

from agents.console import pages
from agents.console.auth import User

__all__ = ["Reports", "NAME", "build_files", "missing_dependency"]

log = structlog.get_logger("vigil.console")
NAME = re.compile(r"vigil-report-(?P<slug>[a-z0-9-]*)-(?P<start>\d{8}T\d{4}Z)-"
                  r"(?P<end>\d{8}T\d{4}Z)\.(?P<ext>html|pdf|json)")
TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json; charset=utf-8"}
# a report is a document: its own styles and data: charts, never a script
FILE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
MAX_DAYS, MAX_COMMUNITY, BUILD_WAIT_S = 92, 200, 300.0
SOURCE = "the live topics (built from the on-call console)"


def _to_list() -> web.Response:  # 303 to the list, returned (raising it loses the audit)
    return web.Response(status=303, headers={"Location": "/console/reports"})


def missing_dependency() -> str:
    """Why no report can be built here ("" when it can)."""
    if all(importlib.util.find_spec(m) is not None for m in ("matplotlib", "weasyprint")):
        return ""
    return "Reports need matplotlib and weasyprint: pip install 'vigil[report]'"


def build_files(bootstrap: str, folder: Path, community: Optional[str], days: int, now: float):
    """Blocking: the report of the ``days`` up to ``now`` from the live topics."""
    from agents.report import build_report, default_period, topics_since
    from agents.report_sources import from_topics
    from models.report_figures import ReportRecords

    # live records: the period ends now, whatever they hold
    period = default_period(ReportRecords([], [], [], [], live=True), days=days, now=now)
    records, unreadable = from_topics(bootstrap, since=topics_since(period))
    return build_report(records, folder, period=period, community=community,
                        source=SOURCE), unreadable


def may_see(user: User, community: Optional[str], known: bool = True) -> bool:
    if not known or community is None:
        return "*" in user.communities
    return user.may_see(community)


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc).timestamp()


def _shown(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]} {text[9:11]}:{text[11:13]}"


class Reports:
    def __init__(self, console, settings):
        self.console = console  # agents.console.routes.Console: sessions, pages, audit
        self.folder = Path(settings.data_dir) / "reports"
        self.bootstrap = settings.bootstrap_servers
        self.building: Optional[dict] = None
        self._known: dict[str, tuple] = {}  # stem -> (json stat, community, known)
        self._pool: Optional[ThreadPoolExecutor] = None

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/console/reports", self.list)
        app.router.add_post("/console/reports", self.build)
        app.router.add_get("/console/reports/file/{name}", self.file)
        app.on_cleanup.append(self.close)

    async def close(self, app: web.Application) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    # -- what is there, and whose ------------------------------------------------------
    def community(self, stem: str) -> tuple[Optional[str], bool]:
        """The report's community, and whether it could be told."""
        path = self.folder / f"{stem}.json"
        try:
            st = path.stat()
        except OSError:
            return None, False
        stat = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._known.get(stem)
        if cached is None or cached[0] != stat:
            from agents.report import report_name
            from models.report_figures import Period

            m = NAME.fullmatch(f"{stem}.json")
            try:
                community = json.loads(path.read_text(encoding="utf-8"))["community"]
                known = (community is None or isinstance(community, str)) and m is not None and (
                    report_name(community, Period(_stamp(m["start"]), _stamp(m["end"]))) == stem)
            except (OSError, ValueError, KeyError, TypeError):
                community, known = None, False
            cached = self._known[stem] = (stat, community if known else None, known)
        return cached[1], cached[2]

    def visible(self, user: User) -> list[dict]:
        groups: dict[str, dict] = {}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    m = NAME.fullmatch(entry.name)
                    if m is None or not entry.is_file():
                        continue
                    stem = entry.name[:-len(m["ext"]) - 1]
                    g = groups.setdefault(stem, {"stem": stem, "start": _shown(m["start"]),
                                                 "end": _shown(m["end"]), "formats": set(),
                                                 "t": 0.0})
                    g["formats"].add(m["ext"])
                    g["t"] = max(g["t"], entry.stat().st_mtime)
        except OSError:  # no folder yet, or a file gone while listed
            pass
        out = []
        for stem, g in groups.items():
            community, known = self.community(stem)
            if may_see(user, community, known):
                out.append({**g, "community": (community or "all communities") if known else
                            "unknown (no .json)"})
        return sorted(out, key=lambda g: (g["end"], g["t"]), reverse=True)

    def _render(self, request: web.Request, user: User, csrf: str, *, status: int = 200,
                error: str = "") -> web.Response:
        feed = self.console.feed
        seen = {*feed.board.communities(), *feed.queue.communities(),
                *(c for c in user.communities if c != "*")}
        choices = sorted(c for c in seen if c and user.may_see(c))
        may_all = "*" in user.communities
        default = "" if may_all else next(iter(user.communities), "")
        b = self.building
        building = (f"A report is being built (since {time.strftime('%H:%M', time.gmtime(b['at']))}"
                    f" UTC, {b['community'] or 'all communities'}, {b['days']} days); it appears "
                    f"here when it is done." if b and may_see(user, b["community"]) else
                    "A report is being built; try again when it is done." if b else "")
        html = pages.reports_page(user, csrf, self.visible(user), choices, default=default,
                                  may_all=may_all, max_days=MAX_DAYS, missing=missing_dependency(),
                                  building=building, error=error)
        return self.console._page(request, html, status=status)

    # -- routes -------------------------------------------------------------------------
    async def list(self, request: web.Request) -> web.Response:
        user, csrf = self.console._need_user(request)
        return self._render(request, user, csrf)

    async def build(self, request: web.Request) -> web.Response:
        c = self.console
        user, csrf = c._who(request)
        if user is None:
            return c._page(request, pages.page("Log in", '<h1>Log in first</h1><p><a href='
                                                         '"/console/login">Log in</a></p>'), 401)
        form = await request.post()
        token = request.headers.get("X-CSRF-Token") or form.get("csrf")
        body = {"verb": "report", "community": str(form.get("community", ""))[:MAX_COMMUNITY],
                "ref": "days=" + str(form.get("days", ""))[:8]}
        if c.forged(request, csrf, token):
            return c._audit(user, "refused_csrf", body, self._render(
                request, user, csrf, status=403, error="Refused: the form is stale or from "
                                                       "another site; reload the page."))
        community, days = form.get("community", ""), form.get("days", "7")
        if not isinstance(community, str) or not isinstance(days, str):
            return self._render(request, user, csrf, status=400, error="Bad request.")
        community = community.strip()
        if len(community) > MAX_COMMUNITY or any(ch < " " or ch == "\x7f" for ch in community):
            return self._render(request, user, csrf, status=400, error=(
                f"Community: at most {MAX_COMMUNITY} characters, no control characters."))
        n = int(days.strip()) if days.strip().isdecimal() and len(days.strip()) <= 3 else 0
        if not 1 <= n <= MAX_DAYS:
            return self._render(request, user, csrf, status=400,
                                error=f"Days: a whole number from 1 to {MAX_DAYS}.")
        wanted = None if community in ("", "*") else community
        if not may_see(user, wanted):
            return c._audit(user, "refused_forbidden", body, self._render(
                request, user, csrf, status=403, error="You may not build reports for "
                f"{community or 'all communities'}."))
        if missing_dependency():
            return self._render(request, user, csrf, status=503)
        if self.building is not None:
            return self._render(request, user, csrf, status=409)
        return await self._run(request, user, csrf, wanted, n, body)

    async def _run(self, request, user: User, csrf: str, community: Optional[str], days: int,
                   body: dict) -> web.Response:
        from agents.report_charts import ReportDependencyMissing

        c, now = self.console, time.time()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vigil-console-report")
        self.building = {"community": community, "days": days, "at": now}
        future = asyncio.get_running_loop().run_in_executor(
            self._pool, build_files, self.bootstrap, self.folder, community, days, now)
        future.add_done_callback(self._done)
        finished, _ = await asyncio.wait({future}, timeout=BUILD_WAIT_S)
        if not finished:  # it goes on; the list says so until it is there
            return c._audit(user, "report_building", body, _to_list())
        try:
            files, unreadable = future.result()
        except ReportDependencyMissing as exc:
            return c._audit(user, "report_failed", body,
                            self._render(request, user, csrf, status=503, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - the broker down, a full disk: said, not raised
            return c._audit(user, "report_failed", body, self._render(
                request, user, csrf, status=500,
                error=f"The report could not be built: {type(exc).__name__}: {exc}"))
        log.info("console_report_built", user=user.name, community=community, days=days,
                 report=files.json.stem if files.json else None, unreadable=unreadable,
                 **{k: round(v, 3) for k, v in files.timings_s.items()})
        return c._audit(user, "report_built", body, _to_list())

    def _done(self, future) -> None:
        self.building = None
        if not future.cancelled() and future.exception() is not None:
            log.error("console_report_failed", error=repr(future.exception()))

    async def file(self, request: web.Request) -> web.StreamResponse:
        user, csrf = self.console._need_user(request)
        name = request.match_info["name"]
        m = NAME.fullmatch(name)
        path = self.folder / name
        if (m is None or not path.is_file()
                or path.resolve().parent != self.folder.resolve()
                or not may_see(user, *self.community(name[:-len(m["ext"]) - 1]))):
            return self.console._page(request, pages.page(
                "Not found", "<h1>No such report</h1>", user=user, csrf=csrf), status=404)
        return web.FileResponse(path, headers={
            "Content-Type": TYPES[m["ext"]], "Content-Security-Policy": FILE_CSP,
            "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})
