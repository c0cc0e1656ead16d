"""The Grafana dashboards, proved without Grafana: a real Prometheus (Debian package
``prometheus``) scrapes a real worker processing the bundled sample stream, a real
``vigil notify`` and a real ``vigil connect reddit`` (against a local Reddit), loads the repo's rules, and answers every panel's PromQL through its
HTTP API the way Grafana would ask it. A query error, or a panel with no series or no
finite value, fails the test. Each dashboard is first imported as Grafana imports a
shared one, into a Grafana whose Prometheus has another uid: its queries, annotations
included, are what runs."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from streams.broker import free_port
from tests.test_callbacks_integration import SLACK_SECRET, slack_click, wait_healthy
from tests.test_serve_integration import Serve
from tests.conftest import (REPO, SAMPLE, Recorder, produce, sample_lines, start_worker,
                            stop_worker, total)
from tests.test_reddit_connector import FakeReddit, post, start_connector
from tests import test_youtube_connector as youtube

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus")
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
RULES = REPO / "config" / "prometheus" / "rules"
PROVISIONED = REPO / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
# the jobs of config/prometheus/prometheus.yml, which the alert rules select on
JOBS = {"worker": "vigil", "notify": "vigil-notify", "connect": "vigil-connect", "api": "vigil-api"}
# a Grafana of someone else's, whose Prometheus has its own uid
IMPORTED_UID = "P1809F7CD0C75ACF3"
SCRAPE_S = 1
# What Grafana substitutes; with a 1 s scrape its $__rate_interval would be 4 s, too
# short for a test whose traffic comes in one go, so a wider window is used.
RATE_INTERVAL = "30s"


def _get(port: int, path: str, **params: str) -> dict:
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _query_range(port: int, expr: str, start: float, end: float, step: float = 1) -> dict:
    try:
        return _get(port, "/api/v1/query_range", query=expr, start=f"{start:.3f}",
                    end=f"{end:.3f}", step=f"{step:g}")
    except urllib.error.HTTPError as exc:  # 400 on a bad query: say which
        return json.loads(exc.read() or b"{}") or {"status": "error", "error": str(exc)}


def _query(port: int, expr: str, at: float) -> dict:
    try:
        return _get(port, "/api/v1/query", query=expr, time=f"{at:.3f}")
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}") or {"status": "error", "error": str(exc)}


def _finite(result: list[dict]) -> bool:
    values = [v for series in result for v in series.get("values", [series.get("value")]) if v]
    return any(math.isfinite(float(v[1])) for v in values)


def panels_of(dashboard: dict) -> list[dict]:
    out = []

    def walk(panels):
        for panel in panels:
            if panel.get("targets"):
                out.append(panel)
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    return out


def imported(path: Path, uid: str = IMPORTED_UID) -> dict:
    """What Grafana's import (Dashboards > Import) makes of a shared dashboard: the
    datasource the user picks for each ``__inputs`` entry replaces ``${NAME}`` in the
    whole JSON text."""
    text = path.read_text()
    for entry in json.loads(text).get("__inputs", []):
        text = text.replace("${" + entry["name"] + "}", uid)
    return json.loads(text)


def datasource_refs(node, where: str = "") -> list[tuple[str, object]]:
    """Every ``datasource`` value anywhere in the JSON, with where it is."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                found.append((where, value))
            found.extend(datasource_refs(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(datasource_refs(value, f"{where}/{i}"))
    return found


def substitute(expr: str, *, range_s: float, community: str = ".*", platform: str = ".*") -> str:
    return (expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__range", f"{int(range_s)}s")
            .replace("$community", community).replace("$platform", platform))


@pytest.fixture(scope="module")
def observed(broker, tmp_path_factory):
    """Worker + notifier + Prometheus, after the sample stream went through them."""
    if PROMETHEUS is None:
        pytest.skip("the prometheus binary is not installed (Debian package 'prometheus'; "
                    ".ci/run installs it)")
    tmp = tmp_path_factory.mktemp("prometheus")
    started = time.time()
    worker = start_worker(broker, tmp)
    recorder = Recorder()
    notify_port = free_port()
    routes = tmp / "routes.toml"
    callback_port = free_port()  # on-call's clicks come back here
    routes.write_text(f'[callbacks]\nport = {callback_port}\nhost = "127.0.0.1"\n'
                      f'slack_signing_secret_env = "TEST_SLACK_SECRET"\n'
                      f'[[routes]]\nname = "oncall-hook"\nsink = "webhook"\n'
                      f'[routes.settings]\nurl = "{recorder.url}/hook"\n'
                      f'signing_key_env = "TEST_HOOK_KEY"\n')
    notifier = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "notify", "--routes", str(routes),
         "--metrics-port", str(notify_port)],
        env={**os.environ, "VIGIL_BROKER": broker.url, "TEST_HOOK_KEY": "k",
             "TEST_SLACK_SECRET": SLACK_SECRET, "VIGIL_LOG_FORMAT": "json"},
        cwd=REPO, stdout=(tmp / "notify.log").open("wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    # a platform connector, polling a local Reddit that rate-limits it once
    fake = FakeReddit()
    fake.posts = [post(i) for i in range(1, 4)]  # one page: a first run does not backfill
    fake.script = [(429, {"Retry-After": "1"})]
    connect_port = free_port()
    connector = start_connector(broker, tmp, fake, metrics_port=connect_port)
    # and a YouTube connector, for the quota panel
    fake_yt = youtube.FakeYouTube()
    fake_yt.threads = {youtube.TRAILER: [youtube.thread("yt1", 60), youtube.thread("yt2", 120)]}
    yt_port = free_port()
    yt_connector = youtube.start_connector(broker, tmp, fake_yt, metrics_port=yt_port,
                                           log="youtube.log")
    # the scoring API, answering a Perspective client
    (tmp / "api").mkdir()
    api = Serve(broker, tmp / "api")
    prom_port = free_port()
    # the repo's rules as they are, but evaluated every scrape instead of every 30 s
    rules = tmp / "rules"
    rules.mkdir()
    for path in RULES.glob("*.yml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            group["interval"] = f"{SCRAPE_S}s"
        (rules / path.name).write_text(yaml.safe_dump(doc))
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_S}s\n  evaluation_interval: {SCRAPE_S}s\n"
        f"rule_files:\n  - {rules}/*.yml\n"
        "scrape_configs:\n"
        f"  - job_name: {JOBS['worker']}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{worker.web_port}']\n"
        f"  - job_name: {JOBS['notify']}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{notify_port}']\n"
        f"  - job_name: {JOBS['connect']}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{connect_port}', '127.0.0.1:{yt_port}']\n"
        f"  - job_name: {JOBS['api']}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{api.port}']\n")
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=(tmp / "prometheus.log").open("wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert prom.poll() is None, (tmp / "prometheus.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "prometheus never became ready"
            time.sleep(0.3)

        # a Perspective client's first requests, seconds before its last (rates need both)
        api.analyze("thanks for the patch, it works now")
        assert api.call("analyze", {"comment": {"text": "x"}, "requestedAttributes": {}})[0] == 400
        # the sample stream (8 h of posts) through the real file connector in ~10 s, so
        # that it spans several scrapes as live traffic would
        subprocess.run([sys.executable, "-m", "agents.cli", "connect", "file", "--input",
                        str(SAMPLE), "--speed", "3000", "--broker", broker.url],
                       cwd=REPO, check=True, timeout=120, capture_output=True)
        # the sample, the local Reddit's posts and the local YouTube's comments
        lines = len(sample_lines()) + len(fake.posts) + 2

        def all_through(m: dict) -> bool:
            settled = (total(m, "vigil_posts_normalized_total") + total(m, "vigil_posts_duplicate_total")
                       + total(m, "vigil_posts_dead_lettered_total"))
            return (total(m, "vigil_posts_ingested_total") == settled == lines
                    and total(m, "vigil_posts_scored_total") == total(m, "vigil_posts_normalized_total")
                    and total(m, "vigil_trend_signals_total", state="resolved") >= 2)

        worker.wait_for(all_through, timeout_s=180)
        # moderators label some posts: the learner's panels need labels
        labels = [(b"r/acmesupport", json.dumps({
            "post_id": f"fb-{i}", "community": "r/acmesupport", "label": label, "action": "none",
            "moderator_id": "mod_1", "time": "2026-11-02T12:00:00Z", "text": text}).encode(), {})
            for i, (label, text) in enumerate(
                [("toxic", "you are a fucking idiot"), ("not_toxic", "thanks, that fixed it"),
                 ("toxic", "shut up moron"), ("not_toxic", "great patch notes today")] * 3)]
        produce(broker.bootstrap, labels, topic="moderation.feedback")
        worker.wait_for(lambda m: total(m, "vigil_feedback_labels_total") >= len(labels),
                        timeout_s=60)
        recorder.wait(lambda: len(recorder.accepted("/hook")) >= 3, timeout_s=60)
        # a moderator marks a post toxic from a Slack alert
        wait_healthy(f"http://127.0.0.1:{callback_port}", notifier, tmp / "notify.log")
        assert slack_click(f"http://127.0.0.1:{callback_port}",
                           json.dumps([1, "toxic", "r/acmesupport", "fb-0"]),
                           recorder.url + "/respond", secret=SLACK_SECRET) == 200
        # the platforms' own moderation: a Twitch timeout (of a member who just wrote)
        # and a Discord deletion
        produce(broker.bootstrap, [
            (b"twitch:#acmegames", json.dumps({
                "command": "PRIVMSG", "channel": "#acmegames", "prefix": "u42!u42@u42.tmi.twitch.tv",
                "params": ["#acmegames"], "text": "you are all trash", "raw": "",
                "tags": {"id": "tw-42", "user-id": "42",
                         "tmi-sent-ts": str(int(time.time() * 1000) - 5000)}}).encode(),
             {"vigil-format": "twitch", "vigil-platform": "twitch"}),
            (b"twitch:#acmegames", json.dumps({
                "command": "CLEARCHAT", "channel": "acmegames", "prefix": "tmi.twitch.tv",
                "params": ["#acmegames"], "text": "troll", "raw": "",
                "tags": {"ban-duration": "600", "room-id": "1001", "target-user-id": "42",
                         "tmi-sent-ts": str(int(time.time() * 1000))}}).encode(),
             {"vigil-format": "twitch", "vigil-platform": "twitch"}),
            (b"acme-discord/#general", json.dumps({"t": "MESSAGE_DELETE", "d": {
                "id": "1300000000000000001", "channel_id": "12", "guild_id": "11"}}).encode(),
             {"vigil-format": "discord", "vigil-platform": "discord"})])
        worker.wait_for(lambda m: total(m, "vigil_platform_events_total") >= 2
                        and total(m, "vigil_moderator_labels_published_total") >= 1, timeout_s=60)
        recorder.wait(lambda: recorder.accepted("/respond"), timeout_s=30)
        api.analyze("the servers are down again")  # a request between scrapes, for rates
        time.sleep(6 * SCRAPE_S)  # a few scrapes and rule evaluations after the last post
        yield {"port": prom_port, "start": started, "end": time.time(), "worker": worker,
               "log": tmp / "prometheus.log"}
    finally:
        api.stop()
        for proc in (prom, notifier, connector, yt_connector):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_worker(worker)
        recorder.server.shutdown()
        fake.close()
        fake_yt.close()


def test_the_harness_uses_the_deployment_job_names():
    # the alert rules select on these; a harness with other names would not test them
    config = yaml.safe_load((REPO / "config" / "prometheus" / "prometheus.yml").read_text())
    assert set(JOBS.values()) <= {job["job_name"] for job in config["scrape_configs"]}


def test_prometheus_scrapes_both_targets_and_loads_the_rules(observed):
    port = observed["port"]
    targets = _get(port, "/api/v1/targets")["data"]["activeTargets"]
    assert sorted((t["labels"]["job"], t["health"]) for t in targets) == [
        ("vigil", "up"), ("vigil-api", "up"), ("vigil-connect", "up"), ("vigil-connect", "up"),
        ("vigil-notify", "up")], targets
    groups = _get(port, "/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) >= 13
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    # the recording rules produce series from the worker's real metrics
    for rule in (r for r in rules if r["type"] == "recording"):
        if rule["name"].startswith("route:"):
            continue  # counts failures; there were none
        assert _query(port, rule["name"], observed["end"])["data"]["result"], rule["name"]
    # every process alive: the liveness alerts evaluate (health ok above) and stay quiet
    liveness = {r["name"]: r for r in rules if r["name"] in (
        "VigilNoWorkerRunning", "VigilWorkerDown", "VigilConnectorDown", "VigilConnectorStalled")}
    assert len(liveness) == 4 and all(r["state"] == "inactive" for r in liveness.values()), [
        (r["name"], r["state"]) for r in liveness.values()]
    # and the series VigilNoWorkerRunning looks for is there for the worker's job
    assert _query(port, f'absent(vigil_build_info{{job="{JOBS["worker"]}"}})',
                  observed["end"])["data"]["result"] == []


def test_every_process_exports_its_build_info(observed):
    from importlib.metadata import version

    reply = _query(observed["port"], "vigil_build_info", observed["end"])
    series = reply["data"]["result"]
    assert sorted(s["metric"]["job"] for s in series) == sorted(
        [JOBS["worker"], JOBS["notify"], JOBS["connect"], JOBS["connect"], JOBS["api"]]), series
    for s in series:
        labels = s["metric"]
        assert s["value"][1] == "1"
        assert labels["version"] == version("vigil")
        assert labels["python"] == platform.python_version()
        assert re.fullmatch(r"[0-9a-f]{12}|unknown", labels["revision"]), labels


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_imports_into_a_grafana_with_another_datasource_uid(path):
    provisioned = {d["uid"] for d in yaml.safe_load(PROVISIONED.read_text())["datasources"]}
    raw = json.loads(path.read_text())
    assert [(i["name"], i["type"], i["pluginId"]) for i in raw["__inputs"]] == [
        ("DS_PROMETHEUS", "datasource", "prometheus")]
    dashboard = imported(path)
    text = json.dumps(dashboard)
    # nothing of the repo's own datasource, nor an input left unsubstituted
    assert not any(uid in text for uid in provisioned), provisioned
    assert "${DS_" not in text
    # the datasource variable defaults to the datasource picked at import
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    ds = variables["datasource"]
    assert (ds["type"], ds["query"], ds["current"]["value"]) == (
        "datasource", "prometheus", IMPORTED_UID)
    # every panel, target, variable and annotation goes through the variable
    refs = datasource_refs({k: v for k, v in dashboard.items() if k != "__inputs"})
    builtin = {"type": "grafana", "uid": "-- Grafana --"}
    wrong = [(where, ref) for where, ref in refs
             if ref != {"type": "prometheus", "uid": "${datasource}"}
             and not (ref == builtin and where.startswith("/annotations/list/"))]
    assert not wrong, wrong
    for panel in panels_of(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    queries = [v for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert queries and all(v["datasource"]["uid"] == "${datasource}" for v in queries)
    annotations = [a for a in dashboard["annotations"]["list"] if "expr" in a]
    assert annotations and all(a["datasource"]["uid"] == "${datasource}" for a in annotations)


def test_the_provisioned_grafana_has_one_prometheus_for_the_variable_to_fall_back_to():
    # provisioning does not substitute ${DS_PROMETHEUS}: the datasource variable then
    # takes the only Prometheus there is, the repo's (which is also the default)
    sources = yaml.safe_load(PROVISIONED.read_text())["datasources"]
    prometheus = [d for d in sources if d["type"] == "prometheus"]
    assert len(prometheus) == 1 and prometheus[0]["isDefault"] is True


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_annotation_query_runs_and_escalations_mark_the_sample_incidents(observed, path):
    dashboard = imported(path)
    port, start, end = observed["port"], observed["start"], observed["end"]
    annotations = [a for a in dashboard["annotations"]["list"] if "expr" in a]
    assert any("vigil_escalations_total" in a["expr"] for a in annotations)
    failures = []
    for annotation in annotations:
        assert annotation["target"]["expr"] == annotation["expr"]
        step = int(annotation["step"].rstrip("s"))
        # Grafana asks annotations for the dashboard's range at their step, aligned on it
        steps = math.ceil((end - start) / step)
        expr = substitute(annotation["expr"], range_s=end - start)
        reply = _query_range(port, expr, end - steps * step, end, step=step)
        if reply.get("status") != "success":
            failures.append(f"{annotation['name']}: {expr}: {reply.get('error')}")
            continue
        if "vigil_escalations_total" not in expr:
            continue  # Vigil's own alerts: none fire while all is well
        result = reply["data"]["result"]
        if not result:
            failures.append(f"{annotation['name']}: no incident marked: {expr}")
        # the title and text templates name labels the series carry
        for series in result:
            for label in re.findall(r"\{\{(\w+)\}\}",
                                    annotation["titleFormat"] + annotation["textFormat"]):
                if label not in series["metric"]:
                    failures.append(f"{annotation['name']}: no label {label}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_returns_data(observed, path):
    dashboard = imported(path)
    port, start, end = observed["port"], observed["start"], observed["end"]
    failures = []
    for panel in panels_of(dashboard):
        results = []
        for target in panel["targets"]:
            expr = substitute(target["expr"], range_s=end - start)
            reply = (_query(port, expr, end) if target.get("instant")
                     else _query_range(port, expr, start, end))
            if reply.get("status") != "success":
                failures.append(f"{panel['title']}: {expr}: {reply.get('error')}")
                continue
            if not reply["data"]["result"]:
                failures.append(f"{panel['title']}: no series: {expr}")
            results.extend(reply["data"]["result"])
        if results and not _finite(results):
            failures.append(f"{panel['title']}: only NaN/Inf values")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_variables_list_values_and_narrow_the_panels(observed, path):
    dashboard = imported(path)
    port, end = observed["port"], observed["end"]
    values = {}
    queries = {v["name"]: v for v in dashboard["templating"]["list"] if v["type"] == "query"}
    assert list(queries) == ["platform", "community"]
    for var in queries.values():
        m = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
        series, label = m.group(1), m.group(2)
        series = series.replace("$platform", ".*")
        reply = _get(port, f"/api/v1/label/{label}/values", **{"match[]": series})
        values[label] = reply["data"]
    # the sample's platforms, the local Reddit's and YouTube's posts, the Twitch message
    assert set(values["platform"]) == {"reddit", "discord", "youtube", "twitch"}
    assert set(values["community"]) == {"r/acmegames", "r/acmesupport", "acme-discord/#general",
                                        "youtube:acme/trailer", "twitch:#acmegames"}
    # picking the Discord platform narrows the community variable to Discord's community
    chained = queries["community"]["query"]["query"]
    series = re.fullmatch(r"label_values\((.+), community\)", chained).group(1)
    reply = _get(port, "/api/v1/label/community/values",
                 **{"match[]": series.replace("$platform", "discord")})
    assert reply["data"] == ["acme-discord/#general"]
    # and a chosen community filters every panel grouped by community down to it
    for panel in panels_of(dashboard):
        for target in panel["targets"]:
            if "$community" not in target["expr"] or "community" not in target["expr"].split("$")[0]:
                continue
            expr = substitute(target["expr"], range_s=end - observed["start"],
                              community="r/acmesupport")
            result = _query(port, expr, end)["data"]["result"]
            assert {s["metric"].get("community", "r/acmesupport") for s in result} <= {
                "r/acmesupport"}, (panel["title"], result)
