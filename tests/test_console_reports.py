"""The console's Reports page on ``vigil serve``: a live worker scores posts on the real
broker; a user builds the community report from the live topics in the console, sees it
listed and downloads it (HTML, PDF, JSON). Only logged-in users, only with the session's
CSRF token from this site, only for communities they see; names outside the report
pattern are never served; bad input is a 400; without matplotlib and weasyprint the page
says what to install."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from agents.console.auth import UserStore
from tests.conftest import produce, start_worker, stop_worker
from tests.test_feedback_integration import scored_by_id
from tests.test_notify_integration import TOXIC
from tests.test_serve_integration import Serve

PASSWORD = "correct horse battery"
COMMUNITY = "r/reports"
USERS = [("ada", "admin", ("*",)), ("rita", "viewer", (COMMUNITY,)),
         ("otto", "moderator", ("r/elsewhere",))]
CALM = ["lovely build, thanks for sharing", "what time does the stream start?",
        "the new patch fixed my crash", "great tournament yesterday"]


class Browser:
    """The console as a browser sends it forms: cookies kept, redirects followed."""

    def __init__(self, serve: Serve):
        self.url = serve.url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(
            http.cookiejar.CookieJar()))

    def go(self, path: str, form: dict | None = None, headers: dict | None = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.url + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=180) as resp:
                return resp.status, resp.url, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.url, err.headers, err.read()

    def login(self, name: str) -> "Browser":
        status, url, _, _ = self.go("/console/login", {"user": name, "password": PASSWORD})
        assert status == 200 and url.endswith("/console"), (status, url)
        return self

    def page(self) -> str:
        status, _, _, body = self.go("/console/reports")
        assert status == 200
        return body.decode()

    def build(self, community: str, days: str = "7", *, csrf: str | None = None,
              origin: str | None = None):
        if csrf is None:
            csrf = re.search(r'<meta name="csrf" content="([^"]+)"', self.page())[1]
        return self.go("/console/reports", {"csrf": csrf, "community": community, "days": days},
                       {"Origin": origin or self.url})


def post(i: int, text: str, created_at: int) -> tuple:
    body = {"platform": "reddit", "community": COMMUNITY, "id": f"rep-{i}",
            "author": "troll" if text in TOXIC else f"fan-{i}", "text": text,
            "created_at": created_at}
    return COMMUNITY.encode(), json.dumps(body).encode(), {"vigil-platform": "reddit"}


@pytest.fixture(scope="module")
def site(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    worker = start_worker(broker, tmp, VIGIL_EMBEDDINGS="false")
    (tmp / "serve").mkdir()
    serve = Serve(broker, tmp / "serve")
    try:
        users = UserStore(tmp / "serve" / "data" / "console_users.json")
        for name, role, communities in USERS:
            users.add(name, PASSWORD, role, communities)
        now = int(time.time())
        posts = [post(i, text, now - 3600 + 60 * i) for i, text in enumerate(TOXIC + CALM)]
        produce(broker.bootstrap, posts)
        scored_by_id(broker.bootstrap, {f"rep-{i}" for i in range(len(posts))})
        serve.n_posts, serve.data = len(posts), tmp / "serve" / "data"
        yield serve
    finally:
        serve.stop()
        stop_worker(worker)


@pytest.fixture(scope="module")
def built(site) -> str:
    """ada (every community) builds the week's report of r/reports; its file stem."""
    ada = Browser(site).login("ada")
    status, url, _, body = ada.build(COMMUNITY)
    assert status == 200 and url.endswith("/console/reports"), (status, body[-2000:])
    stems = re.findall(r"vigil-report-r-reports-\d{8}T\d{4}Z-\d{8}T\d{4}Z", body.decode())
    assert stems, body.decode()[-2000:]
    return stems[0]


@pytest.mark.integration
def test_the_reports_page_needs_a_login(site):
    anonymous = Browser(site)
    for path in ("/console/reports", "/console/reports/file/vigil-report-all-"
                                     "20261101T0000Z-20261108T0000Z.html"):
        status, url, _, _ = anonymous.go(path)
        assert url.endswith("/console/login"), (path, status, url)
    status, _, _, _ = anonymous.go("/console/reports", {"community": COMMUNITY, "days": "7"},
                                   {"Origin": site.url})
    assert status == 401
    assert not (site.data / "reports").exists()


@pytest.mark.integration
def test_a_report_is_built_from_the_live_topics_listed_and_downloaded(site, built):
    ada = Browser(site).login("ada")
    page = ada.page()
    assert '<a href="/console/reports">Reports</a>' in page  # in the console's header
    row = re.search(rf"<tr><td[^>]*>{built}</td>.*?</tr>", page)[0]
    assert COMMUNITY in row and " UTC" in row
    for ext in ("html", "pdf", "json"):
        assert f'href="/console/reports/file/{built}.{ext}"' in row
    status, _, headers, html = ada.go(f"/console/reports/file/{built}.html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    assert "Community report" in html.decode() and COMMUNITY in html.decode()
    status, _, headers, pdf = ada.go(f"/console/reports/file/{built}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert pdf.startswith(b"%PDF")
    status, _, headers, raw = ada.go(f"/console/reports/file/{built}.json")
    figures = json.loads(raw)
    assert status == 200 and figures["community"] == COMMUNITY and figures["live"] is True
    assert figures["headline"]["current"]["posts"] == site.n_posts  # the live worker's posts
    assert figures["headline"]["current"]["toxic_share"] > 0
    audit = [json.loads(x) for x in (site.data / "console_audit.jsonl").read_text().splitlines()]
    assert {"user": "ada", "outcome": "report_built", "verb": "report",
            "community": COMMUNITY}.items() <= audit[0].items()


@pytest.mark.integration
def test_only_report_files_in_the_folder_are_served(site, built):
    ada = Browser(site).login("ada")
    (site.data / "reports" / "notes.txt").write_text("not a report")
    for name in ("..%2Fconsole_users.json", "%2E%2E%2Fconsole_users.json", "console_users.json",
                 "notes.txt", f"{built}.svg", f"{built}.html%0A", f"{built}.html.gz",
                 f"..%2F..%2Freports%2F{built}.html", "vigil-report-all-20261101T0000Z-"
                 "20261108T0000Z.html", f"..%2F{built}.json"):
        status, _, _, body = ada.go("/console/reports/file/" + name)
        assert status == 404, (name, status)
        assert b'"users"' not in body
    status, _, _, _ = ada.go("/console/reports/file/../console_users.json")
    assert status == 404


@pytest.mark.integration
def test_a_user_of_one_community_sees_and_builds_only_theirs(site, built):
    rita = Browser(site).login("rita")  # a viewer of r/reports
    assert built in rita.page()
    status, _, _, pdf = rita.go(f"/console/reports/file/{built}.pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    status, _, _, body = rita.build("")  # all communities: not hers to read
    assert status == 403 and "all communities" in body.decode()
    otto = Browser(site).login("otto")  # a moderator of r/elsewhere
    assert built not in otto.page()
    for ext in ("html", "pdf", "json"):
        status, _, _, body = otto.go(f"/console/reports/file/{built}.{ext}")
        assert status == 404 and b"%PDF" not in body and b"Community report" not in body
    status, _, _, body = otto.build(COMMUNITY)
    assert status == 403 and "You may not build reports for r/reports" in body.decode()
    audit = [json.loads(x) for x in (site.data / "console_audit.jsonl").read_text().splitlines()]
    refused = [(a["user"], a["outcome"], a["community"]) for a in audit
               if a["outcome"] == "refused_forbidden"]
    assert refused == [("rita", "refused_forbidden", ""), ("otto", "refused_forbidden", COMMUNITY)]


@pytest.mark.integration
def test_bad_input_and_forged_forms_are_refused(site, built):
    ada = Browser(site).login("ada")
    before = sorted(p.name for p in (site.data / "reports").iterdir())
    for days in ("0", "93", "-1", "7.5", "seven", "", "1e2", "0007" + "0" * 5000):
        status, _, _, body = ada.build(COMMUNITY, days)
        assert status == 400 and "Days: a whole number from 1 to 92" in body.decode(), days
    for community in ("r/" + "x" * 300, "r/a\nb", "r/a\x00b"):
        status, _, _, body = ada.build(community)
        assert status == 400 and "Community: at most 200 characters" in body.decode()
    status, _, _, _ = ada.build(COMMUNITY, csrf="not-the-token")
    assert status == 403
    status, _, _, _ = ada.build(COMMUNITY, origin="https://evil.example")
    assert status == 403
    assert sorted(p.name for p in (site.data / "reports").iterdir()) == before


def test_without_matplotlib_and_weasyprint_the_page_says_what_to_install(tmp_path, monkeypatch):
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from agents.console import reports
    from agents.console.routes import Console
    from config.settings import Settings

    settings = Settings.load(env={}, data_dir=str(tmp_path))
    UserStore(tmp_path / "console_users.json").add("ada", PASSWORD, "admin")
    console = Console(settings, send=None, pseudonymize=None)
    monkeypatch.setattr(reports, "missing_dependency",
                        lambda: "Reports need matplotlib and weasyprint: pip install 'vigil[report]'")

    async def scenario():
        app = web.Application()
        console.routes(app)
        async with TestClient(TestServer(app)) as client:
            await client.post("/console/login", data={"user": "ada", "password": PASSWORD})
            page = await (await client.get("/console/reports")).text()
            assert "pip install 'vigil[report]'" in page and "disabled>Build report" in page
            csrf = re.search(r'<meta name="csrf" content="([^"]+)"', page)[1]
            resp = await client.post("/console/reports", allow_redirects=False,
                                     data={"csrf": csrf, "community": "r/a", "days": "7"})
            assert resp.status == 503 and "pip install 'vigil[report]'" in await resp.text()

    asyncio.run(scenario())
    assert not (tmp_path / "reports").exists()
