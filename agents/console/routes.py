"""The console's routes on ``vigil serve``'s app.

    GET  /console                 incidents (filters as query parameters)
    GET  /console/rows            the list's rows, for live refresh
    GET  /console/incident?key=K  one incident
    GET  /console/events          server-sent events: an incident changed
    GET  /console/review?community=C   posts to label, keyboard first
    POST /console/act             {verb, community, ref, note}: one action, JSON, CSRF header
    GET|POST /console/reports, GET /console/reports/file/{name}   (:mod:`~agents.console.reports`)
    GET|POST /console/login, POST /console/logout

Every action checks the session, its CSRF token (header ``X-CSRF-Token``, or the form's
``csrf``), the Origin when the browser sends one, and the user's right to act in that
community; then it becomes a record through the same contract as every other path
(``source`` console, the user as a pseudonym, an idempotency key), written with acks=all
before the answer (202), and a line in ``<data_dir>/console_audit.jsonl``. The page shows
it applied when the worker's escalation comes back through :mod:`agents.console.feed`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Optional

import structlog
from aiohttp import web

from agents.console import pages
from agents.console.auth import LoginLimiter, Sessions, User, UserStore
from agents.console.feed import BoardFeed
from agents.console.reports import Reports
from models.eventtime import to_iso
from models.incident_board import Filters
from models.moderator_labels import idempotency_key
from streams.records import IncidentAction, ModerationFeedback

__all__ = ["Console"]

log = structlog.get_logger("vigil.console")
COOKIE = "vigil_session"
STATIC = Path(__file__).with_name("static")
VERBS = {"ack": "acknowledge", "resolve": "resolve", "note": "note", "toxic": "toxic",
         "not_toxic": "not_toxic", "real": "real", "false_alarm": "false_alarm"}


def _see_other(location: str) -> web.Response:
    # a redirect that sets or clears the session cookie: aiohttp deprecates returning
    # its HTTPSeeOther exception as a response (a later release removes it)
    return web.Response(status=303, headers={"Location": location})


class Console:
    def __init__(self, settings, send, pseudonymize, stats=lambda community: {}):
        data = Path(settings.data_dir)
        self.users = UserStore(data / "console_users.json")
        self.sessions, self.limiter = Sessions(), LoginLimiter()
        self.feed = BoardFeed(settings.bootstrap_servers)
        self.audit_path = data / "console_audit.jsonl"
        self.send, self.pseudonymize = send, pseudonymize  # send(topic, key, record) -> awaitable
        self.stats = stats  # community -> {"labels", "trust"}: what the learnt model has
        self.streams: set = set()  # the tasks serving /console/events
        self.trusted_proxy = settings.console_trusted_proxy
        self.user_header = settings.console_user_header
        self.reports = Reports(self, settings)  # community reports, built on demand

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/console", self.list)
        r.add_get("/console/rows", self.rows)
        r.add_get("/console/incident", self.incident)
        r.add_get("/console/events", self.events)
        r.add_get("/console/review", self.review)
        r.add_post("/console/act", self.act)
        self.reports.routes(app)
        r.add_get("/console/login", self.login_form)
        r.add_post("/console/login", self.login)
        r.add_post("/console/logout", self.logout)
        r.add_static("/console/static", STATIC)
        app.on_shutdown.append(self.close_streams)

    # -- who is asking ----------------------------------------------------------------
    def _who(self, request: web.Request) -> tuple[Optional[User], str]:
        if self.trusted_proxy and request.remote == self.trusted_proxy:
            name = request.headers.get(self.user_header)
            user = self.users.get(name) if name else None
            if user is not None:  # SSO: the proxy authenticated; a session carries the CSRF
                token = request.cookies.get(COOKIE)
                s = self.sessions.get(token)
                if s is None or s.user != user.name:
                    token, s = self.sessions.open(user.name)
                    request["new_session"] = token
                return user, s.csrf
        s = self.sessions.get(request.cookies.get(COOKIE))
        user = self.users.get(s.user) if s else None
        return (user, s.csrf) if user else (None, "")

    @staticmethod
    def forged(request: web.Request, csrf: str, token: Optional[str]) -> bool:
        """A state-changing request without the session's CSRF token, or sent by a page
        of another site (the Origin, when the browser sends one)."""
        origin = request.headers.get("Origin")
        return (token != csrf or not csrf
                or bool(origin and origin.split("://", 1)[-1] != request.host))

    def _page(self, request: web.Request, html: str, status: int = 200) -> web.Response:
        resp = web.Response(text=html, content_type="text/html", status=status, headers={
            "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store"})
        if request.get("new_session"):
            self._cookie(request, resp, request["new_session"])
        return resp

    @staticmethod
    def _cookie(request: web.Request, resp: web.StreamResponse, token: str) -> None:
        https = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=https,
                        path="/console", max_age=12 * 3600)

    def _need_user(self, request: web.Request) -> tuple[User, str]:
        user, csrf = self._who(request)
        if user is None:
            raise web.HTTPSeeOther("/console/login")
        return user, csrf

    # -- pages ------------------------------------------------------------------------
    def _filters(self, request: web.Request, user: User) -> Filters:
        q = request.query
        visible = [c for c in self.feed.board.communities() if user.may_see(c)]
        wanted = q.get("community", "")
        communities = (frozenset([wanted]) if wanted and user.may_see(wanted)
                       else None if "*" in user.communities else frozenset(visible))
        return Filters(communities, q.get("platform", ""), q.get("type", ""),
                       q.get("severity", ""), q.get("status", ""))

    async def list(self, request: web.Request) -> web.Response:
        user, csrf = self._need_user(request)
        f = self._filters(request, user)
        board = self.feed.board
        communities = [c for c in board.communities() if user.may_see(c)]
        platforms = sorted({i.latest.get("platform", "") for i in board.all()})
        return self._page(request, pages.list_page(user, csrf, board.list(f), f, communities,
                                                   platforms))

    async def rows(self, request: web.Request) -> web.Response:
        user, _ = self._need_user(request)
        return self._page(request, pages.rows(self.feed.board.list(self._filters(request, user))))

    async def incident(self, request: web.Request) -> web.Response:
        user, csrf = self._need_user(request)
        inc = self.feed.board.get(request.query.get("key", ""))
        if inc is None or not user.may_see(inc.latest.get("community", "")):
            return self._page(request, pages.page("Not found", "<h1>No such incident</h1>", user=user,
                                                  csrf=csrf), status=404)
        trend_id = (inc.latest.get("evidence") or {}).get("trend_id")
        return self._page(request, pages.incident_page(user, csrf, inc, self.feed.posts,
                                                       self.feed.trends.get(trend_id or "")))

    async def review(self, request: web.Request) -> web.Response:
        user, csrf = self._need_user(request)
        queue = self.feed.queue
        communities = [c for c in queue.communities() if user.may_see(c)]
        community = request.query.get("community", "")
        if community and not user.may_see(community):
            community = ""
        items = queue.items(community) if community else []
        return self._page(request, pages.review_page(user, csrf, community, communities, items,
                                                     self.stats(community) if community else {}))

    async def events(self, request: web.Request) -> web.StreamResponse:
        user, _ = self._need_user(request)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store"})
        await resp.prepare(request)
        queue: asyncio.Queue = asyncio.Queue()
        self.feed.listeners.add(queue)
        self.streams.add(asyncio.current_task())
        try:
            await resp.write(b": connected\n\n")
            while True:
                try:
                    inc = await asyncio.wait_for(queue.get(), timeout=15)
                except asyncio.TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                if user.may_see(inc.latest.get("community", "")):
                    data = json.dumps({"dedup_key": inc.dedup_key, "status": inc.status,
                                       "acknowledged_by": inc.acknowledged_by})
                    await resp.write(f"event: incident\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.feed.listeners.discard(queue)
            self.streams.discard(asyncio.current_task())
        return resp

    async def close_streams(self, app: web.Application) -> None:
        """On shutdown: open event streams end now, rather than hold the server up."""
        for task in list(self.streams):
            task.cancel()

    # -- actions ----------------------------------------------------------------------
    async def act(self, request: web.Request) -> web.Response:
        user, csrf = self._who(request)
        if user is None:
            return web.json_response({"error": "log in"}, status=401)
        if self.forged(request, csrf, request.headers.get("X-CSRF-Token")):
            return self._audit(user, "refused_csrf", {}, web.json_response({"error": "csrf"}, status=403))
        try:
            body = json.loads(await request.read())
            verb, community, ref = VERBS[body["verb"]], str(body["community"]), str(body["ref"])
            note = str(body.get("note") or "")[:500]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad request"}, status=400)
        if not user.may_act(community):
            return self._audit(user, "refused_forbidden", body,
                               web.json_response({"error": "not allowed"}, status=403))
        record, topic = self._record(user, verb, community, ref, note)
        await self.send(topic, community.encode(), record)
        return self._audit(user, "applied", body, web.json_response({"ok": True}, status=202))

    def _record(self, user: User, verb: str, community: str, ref: str, note: str):
        who, now = self.pseudonymize("console", user.name), to_iso(time.time())
        key = idempotency_key("console", user.name, verb, community, ref, secrets.token_hex(8))
        if verb in ("acknowledge", "resolve", "note"):
            return IncidentAction(dedup_key=ref, community=community, action=verb, actor=who,
                                  time=now, note=note, source="console",
                                  idempotency_key=key), "incidents.actions"
        trend = verb in ("real", "false_alarm")
        text = None
        queued = next((p for p in self.feed.queue.items(community, limit=10**6)
                       if p["post_id"] == ref), None) if not trend else None
        if queued is not None:  # labelled from the review queue: it leaves it
            text = queued["text"]
            self.feed.queue.labelled(community, ref)
        elif not trend:  # the post's words: as scored, else from the incident that showed it
            text = (self.feed.posts.get((community, ref)) or {}).get("text")
            for inc in () if text else self.feed.board.all():
                ev = inc.latest.get("evidence") or {}
                if ref in (ev.get("post_ids") or []):
                    text = (ev.get("snippets") or [None])[list(ev["post_ids"]).index(ref)]
                    break
        return ModerationFeedback(post_id=ref, community=community, label=verb, action="none",
                                  moderator_id=who, time=now, trend_id=ref if trend else None,
                                  text=text, source="console", idempotency_key=key), "moderation.feedback"

    def _audit(self, user: User, outcome: str, body: dict, resp: web.Response) -> web.Response:
        line = {"time": to_iso(time.time()), "user": user.name, "role": user.role,
                "outcome": outcome, **{k: body.get(k) for k in ("verb", "community", "ref")}}
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_path.open("a") as fh:
            fh.write(json.dumps(line) + "\n")
        log.info("console_action", **line)
        return resp

    # -- login ------------------------------------------------------------------------
    async def login_form(self, request: web.Request) -> web.Response:
        return self._page(request, pages.login_page())

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        name, password = str(form.get("user", "")), str(form.get("password", ""))
        ip = request.remote or "?"
        if self.limiter.blocked(f"u:{name}", f"ip:{ip}"):
            return self._page(request, pages.login_page("Too many attempts; wait a minute."), 429)
        user = await asyncio.get_running_loop().run_in_executor(None, self.users.verify, name, password)
        if user is None:
            self.limiter.failed(f"u:{name}", f"ip:{ip}")
            return self._page(request, pages.login_page("Wrong user name or password."), 401)
        token, _ = self.sessions.open(user.name)
        resp = _see_other("/console")
        self._cookie(request, resp, token)
        log.info("console_login", user=user.name)
        return resp

    async def logout(self, request: web.Request) -> web.Response:
        s = self.sessions.get(request.cookies.get(COOKIE))
        form = await request.post()
        if s is not None and form.get("csrf") == s.csrf:
            self.sessions.close(request.cookies.get(COOKIE))
        resp = _see_other("/console/login")
        resp.del_cookie(COOKIE, path="/console")
        return resp
