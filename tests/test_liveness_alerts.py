"""The alerts that watch Vigil's processes themselves (rules/vigil.liveness.rules.yml),
tested by promtool on synthetic series, and the links every alert carries."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "config" / "prometheus" / "rules"
LIVENESS = RULES / "vigil.liveness.rules.yml"


def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    return binary


def alerts() -> list[dict]:
    return [rule for path in sorted(RULES.glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]


def test_liveness_rules_check_and_their_unit_tests_pass():
    check = subprocess.run([promtool(), "check", "rules", str(LIVENESS)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 4 rules found" in check.stdout
    # a worker absent fires, present does not; a connector down or stalled fires, one
    # never started or healthy does not (config/prometheus/tests/*.liveness*)
    unit = subprocess.run([promtool(), "test", "rules",
                           str(ROOT / "config/prometheus/tests/vigil.liveness.rules.test.yml")],
                          capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_unit_tests_fail_when_the_worker_alert_is_gone(tmp_path):
    # the test file is not vacuous: without the absent() rule its cases fail
    doc = yaml.safe_load(LIVENESS.read_text())
    doc["groups"][0]["rules"] = [r for r in doc["groups"][0]["rules"]
                                 if r["alert"] != "VigilNoWorkerRunning"]
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules" / LIVENESS.name).write_text(yaml.safe_dump(doc))
    test = ROOT / "config/prometheus/tests/vigil.liveness.rules.test.yml"
    (tmp_path / "tests" / test.name).write_text(test.read_text())
    unit = subprocess.run([promtool(), "test", "rules", str(tmp_path / "tests" / test.name)],
                          capture_output=True, text=True)
    assert unit.returncode != 0 and "VigilNoWorkerRunning" in unit.stdout + unit.stderr


def test_alerts_select_jobs_prometheus_scrapes():
    config = yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    used = {m for rule in alerts() for m in re.findall(r'job="([^"]+)"', rule["expr"])}
    assert used and used <= jobs, used - jobs


def test_every_alert_links_to_a_runbook_in_the_readme_not_a_foreign_repository():
    # GitHub's anchors: "### Runbooks: workers" -> #runbooks-workers
    headings = re.findall(r"^#{2,3} (.+)$", (ROOT / "README.md").read_text(), re.M)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    for rule in alerts():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("README.md#"), (rule["alert"], url)
        assert url.split("#", 1)[1] in anchors, (rule["alert"], url)


def test_alertmanager_accepts_the_inhibition_of_worker_down_by_no_worker():
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool (Debian package prometheus-alertmanager) is not installed")
    path = ROOT / "config/alertmanager/alertmanager.yml"
    inhibits = yaml.safe_load(path.read_text())["inhibit_rules"]
    assert any(r["source_matchers"] == ['alertname="VigilNoWorkerRunning"'] for r in inhibits)
    check = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
