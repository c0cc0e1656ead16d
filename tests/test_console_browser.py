"""The on-call console in a real headless Chromium (issue 18): log in, see an incident a
live worker raised from posts on the real broker, open it, acknowledge it with one click
and see the status change on the page and on ``escalations``; a viewer cannot act; an
action without the CSRF token, or in another community, is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, produce, start_worker, stop_worker
from tests.test_notify_integration import escalations_for, toxic_burst
from tests.test_serve_integration import Serve

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
PASSWORD = "correct horse battery"
SHOTS = REPO / "var" / "screenshots"


def add_user(serve: Serve, name: str, role: str, communities: str = "*") -> None:
    done = subprocess.run([sys.executable, "-m", "agents.cli", "users", "add", name, "--role", role,
                           "--communities", communities, "--password-stdin"], input=PASSWORD + "\n",
                          env=serve.env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def login(browser, serve: Serve, name: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(serve.url + "/console")
    assert page.url.endswith("/console/login")  # not logged in: sent to the login page
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(serve.url + "/console")
    return context, page


def test_acknowledge_from_the_console_and_who_may_not(broker, tmp_path, browser):
    worker = start_worker(broker, tmp_path, VIGIL_INCIDENT_QUIET_S="86400")
    (tmp_path / "serve").mkdir()
    serve = Serve(broker, tmp_path / "serve")
    try:
        add_user(serve, "maya", "moderator", "r/console")
        add_user(serve, "vic", "viewer")
        add_user(serve, "otto", "moderator", "r/elsewhere")
        produce(broker.bootstrap, toxic_burst("troll", "r/console", 0)[:2])
        first = escalations_for(broker, "r/console", lambda es: len(es) >= 1)[0]

        context, page = login(browser, serve, "maya")
        key = first["dedup_key"]
        row = page.locator(f'tr[data-key="{key}"]')
        row.wait_for(timeout=30_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "console-incidents.png"), full_page=True)
        row.get_by_role("link").first.click()  # the incident (the other is its runbook)
        page.locator(f'h1[data-key="{key}"]').wait_for()
        assert "you" in page.locator("ul.posts").inner_text()  # the evidence post
        page.screenshot(path=str(SHOTS / "console-incident.png"), full_page=True)
        # what a screen reader gets (the ARIA tree): landmarks, a heading, every control named
        import re

        aria = page.locator("body").aria_snapshot()
        assert re.search(r"- main", aria) and re.search(r"""- '?heading ".+" \[level=1\]""", aria), aria
        # (YAML quotes a line that holds a colon)
        controls = re.findall(r"- '?(button|textbox|link)\b(.*)", aria)
        assert controls and all(re.match(r' ".+"', rest) for _, rest in controls), aria
        names = set(re.findall("- '?button \"([^\"]+)\"", aria))
        assert {"Acknowledge", "Resolve", "Toxic", "Not toxic"} <= names, aria
        page.get_by_role("button", name="Acknowledge").click()
        # applied once the worker's escalation comes back: the page reloads with it
        page.locator('dd[data-fact="Status"]', has_text="acknowledged").wait_for(timeout=30_000)
        acked = escalations_for(broker, "r/console", lambda es: any(e["status"] == "acknowledged"
                                                                     for e in es))
        ack = next(e for e in acked if e["status"] == "acknowledged")
        assert ack["evidence"]["action_source"] == "console"
        assert ack["evidence"]["acknowledged_by"] not in ("maya", "")  # a pseudonym
        history = page.locator("#history").inner_text()
        assert "acknowledged" in history and "console" in history

        # an action without the CSRF token is refused, with it the session's works
        body = {"verb": "note", "community": "r/console", "ref": first["dedup_key"], "note": "x"}
        no_csrf = page.request.post(serve.url + "/console/act", data=json.dumps(body),
                                    headers={"Content-Type": "application/json"})
        assert no_csrf.status == 403
        context.close()

        # a viewer sees no buttons and cannot act even with the session's own token
        context, page = login(browser, serve, "vic")
        page.goto(serve.url + "/console/incident?key=" + key)
        page.locator(f'h1[data-key="{key}"]').wait_for()
        assert page.get_by_role("button", name="Resolve").count() == 0
        csrf = page.locator('meta[name="csrf"]').get_attribute("content")
        denied = page.request.post(serve.url + "/console/act", data=json.dumps(
            {**body, "verb": "resolve"}), headers={"Content-Type": "application/json",
                                                   "X-CSRF-Token": csrf})
        assert denied.status == 403
        context.close()

        # a moderator of another community cannot act here, nor see it
        context, page = login(browser, serve, "otto")
        assert page.locator(f'tr[data-key="{key}"]').count() == 0
        csrf = page.locator('meta[name="csrf"]').get_attribute("content")
        elsewhere = page.request.post(serve.url + "/console/act", data=json.dumps(
            {**body, "verb": "resolve"}), headers={"Content-Type": "application/json",
                                                   "X-CSRF-Token": csrf})
        assert elsewhere.status == 403
        context.close()
        statuses = [e["status"] for e in escalations_for(broker, "r/console",
                                                         lambda es, n=len(acked): len(es) >= n)]
        assert "resolved" not in statuses
        audit = [json.loads(x) for x in (tmp_path / "serve" / "data" / "console_audit.jsonl")
                 .read_text().splitlines()]
        assert [(a["user"], a["outcome"]) for a in audit] == [
            ("maya", "applied"), ("maya", "refused_csrf"), ("vic", "refused_forbidden"),
            ("otto", "refused_forbidden")]
    finally:
        serve.stop()
        stop_worker(worker)


def test_a_community_teaches_its_norms_from_the_review_queue_with_the_keyboard(broker, tmp_path,
                                                                                browser):
    from tests.conftest import total
    from tests.test_feedback_integration import BANTER, post, scored_by_id

    worker = start_worker(broker, tmp_path)
    (tmp_path / "serve").mkdir()
    serve = Serve(broker, tmp_path / "serve")
    try:
        add_user(serve, "mia", "moderator", "r/metalheads")
        rounds = [(f"q{r}-{i}", text) for r in range(2) for i, text in enumerate(BANTER)]
        produce(broker.bootstrap, [post(pid, "r/metalheads", text, k)
                                   for k, (pid, text) in enumerate(rounds)])
        before = scored_by_id(broker.bootstrap, {pid for pid, _ in rounds})
        context, page = login(browser, serve, "mia")
        page.goto(serve.url + "/console/review?community=r%2Fmetalheads")
        items = page.locator("li.review")
        items.first.wait_for(timeout=30_000)
        n = items.count()
        assert n >= 12, n
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "console-review.png"), full_page=True)
        for _ in range(n):  # the keyboard only: "n" = not toxic, then the next post
            page.keyboard.press("n")
        page.wait_for_function(f"document.querySelectorAll('li.review.done').length >= {n}")
        worker.wait_for(lambda m: total(m, "vigil_feedback_labels_total", outcome="learned") >= n)
        # the same banter later: the community's own norm now weighs in
        later = [post(f"later-{i}", "r/metalheads", text, 1000 + i) for i, text in enumerate(BANTER[:5])]
        produce(broker.bootstrap, later)
        after = scored_by_id(broker.bootstrap, {f"later-{i}" for i in range(5)})
        was = [before[f"q0-{i}"]["toxicity"] for i in range(5)]
        now = [after[f"later-{i}"]["toxicity"] for i in range(5)]
        assert sum(now) < sum(was) - 0.5, (was, now)
        page.reload()
        assert "labels learnt in r/metalheads" in page.locator("#stats").inner_text()
        context.close()
    finally:
        serve.stop()
        stop_worker(worker)


def test_logins_are_rate_limited_and_the_sso_header_is_trusted_from_the_proxy_only(broker, tmp_path):
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    (tmp_path / "a").mkdir()
    serve = Serve(broker, tmp_path / "a")
    try:
        add_user(serve, "sam", "viewer")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(
            http.cookiejar.CookieJar()))

        def attempt(password: str) -> int:
            data = urllib.parse.urlencode({"user": "sam", "password": password}).encode()
            try:
                return opener.open(serve.url + "/console/login", data=data, timeout=30).status
            except urllib.error.HTTPError as err:
                return err.code

        assert [attempt("wrong password!") for _ in range(5)] == [401] * 5
        assert attempt(PASSWORD) == 429  # even the right one, for a minute
        # without a trusted proxy configured, the header is just a header
        req = urllib.request.Request(serve.url + "/console", headers={"X-Forwarded-User": "sam"})
        assert urllib.request.urlopen(req, timeout=30).url.endswith("/console/login")
    finally:
        serve.stop()
    (tmp_path / "b").mkdir()
    serve = Serve(broker, tmp_path / "b", extra_env={"VIGIL_CONSOLE_TRUSTED_PROXY": "127.0.0.1"})
    try:
        add_user(serve, "sam", "viewer")
        req = urllib.request.Request(serve.url + "/console", headers={"X-Forwarded-User": "sam"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.url.endswith("/console") and b"sam (viewer)" in resp.read()
        req = urllib.request.Request(serve.url + "/console", headers={"X-Forwarded-User": "nobody"})
        assert urllib.request.urlopen(req, timeout=30).url.endswith("/console/login")
    finally:
        serve.stop()
