"""Vigil's Grafana dashboards, declared once here and written as JSON into
``grafana/dashboards/`` (what Grafana's file provider loads).

    python grafana/build.py          # write the JSON files
    python grafana/build.py --check  # fail if the committed JSON differs (a test runs it)

Every dashboard has the ``community`` and ``platform`` variables; every query filters
on whichever of the two labels its metric carries. The queries are proved against a
real Prometheus scraping a worker in ``tests/test_dashboards_prometheus.py``.

Portable: no datasource uid is written anywhere. Every panel, query, variable and
annotation uses the ``datasource`` variable, whose default is the ``DS_PROMETHEUS``
input (``__inputs``, as Grafana's "Export for sharing externally" writes it). Importing
a file into any Grafana asks for a Prometheus and substitutes its uid for
``${DS_PROMETHEUS}``; the repo's provisioned Grafana (which does no substitution) has
one Prometheus datasource, which the variable then falls back to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

OUT = Path(__file__).resolve().parent / "dashboards"
INPUT = "DS_PROMETHEUS"
DS = {"type": "prometheus", "uid": "${datasource}"}
C = 'community=~"$community"'
P = 'platform=~"$platform"'
RATE = "[$__rate_interval]"
RANGE = "[$__range]"


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict:
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend or "__auto"}
    t.update({"instant": True, "range": False} if instant else {"range": True})
    return t


def panel(title: str, description: str, *targets: dict, kind: str = "timeseries",
          unit: str = "short", w: int = 12, h: int = 8, stack: bool = False,
          minimum: Optional[float] = None, maximum: Optional[float] = None) -> dict:
    defaults: dict = {"unit": unit}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if stack:
        defaults["custom"] = {"stacking": {"mode": "normal", "group": "A"}, "fillOpacity": 30}
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "gridPos": {"w": w, "h": h}, "fieldConfig": {"defaults": defaults, "overrides": []},
         "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)]}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    elif kind in ("stat", "bargauge"):
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "orientation": "horizontal"}
    elif kind == "table":
        p["options"] = {"showHeader": True}
    return p


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"w": 24, "h": 1}}


def variable(name: str, label: str, metric: str) -> dict:
    q = f"label_values({metric}, {name})"
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "definition": q, "query": {"query": q, "refId": f"{label}Variable"},
            "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1, "hide": 0, "options": [], "regex": ""}


def datasource_variable() -> dict:
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "regex": "", "hide": 0, "refresh": 1,
            "includeAll": False, "multi": False, "options": [],
            "current": {"selected": False, "text": "Prometheus", "value": "${" + INPUT + "}"}}


def escalation_annotation(name: str, colour: str, matchers: str = "") -> dict:
    """Incidents opened (status="triggered"), from the escalations counter, not from
    ``ALERTS``: Vigil's incidents are not Prometheus alerts. ``increase`` ignores the
    counter resets of a worker restart (``changes`` would mark each one); the ``unless
    offset`` arm catches a label set's first incident, whose series is born at 1 and
    which ``increase`` cannot see (no earlier sample). 2 m windows at a 1 m step leave
    no gap between steps."""
    series = "vigil_escalations_total{" + ",".join(
        m for m in ('status="triggered"', matchers, C) if m) + "}"
    by = "sum by (community, type, severity)"
    expr = (f"{by} (increase({series}[2m])) > 0 or {by} ({series} unless {series} offset 2m)")
    return {"name": name, "datasource": DS, "enable": True, "hide": False, "iconColor": colour,
            "expr": expr, "step": "60s", "target": {"expr": expr, "refId": "Anno"},
            "titleFormat": "{{type}} incident opened", "textFormat": "{{community}} ({{severity}})",
            "tagKeys": "type,severity,community", "useValueForTime": False}


def alerts_annotation() -> dict:
    expr = 'sum by (alertname, severity) (ALERTS{alertname=~"Vigil.*", alertstate="firing"})'
    return {"name": "Vigil alerts firing", "datasource": DS, "enable": True, "hide": False,
            "iconColor": "orange", "expr": expr, "step": "60s",
            "target": {"expr": expr, "refId": "Anno"}, "titleFormat": "{{alertname}}",
            "textFormat": "{{severity}}", "tagKeys": "alertname,severity",
            "useValueForTime": False}


INPUTS = [{"name": INPUT, "label": "Prometheus", "description": "The Prometheus that scrapes "
           "Vigil's processes", "type": "datasource", "pluginId": "prometheus",
           "pluginName": "Prometheus"}]


def _requires(panels: list[dict]) -> list[dict]:
    kinds = sorted({p["type"] for p in panels if p["type"] != "row"})
    return ([{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
             {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}]
            + [{"type": "panel", "id": k, "name": k, "version": ""} for k in kinds])


def dashboard(uid: str, title: str, description: str, panels: list[dict],
              annotations: list[dict]) -> dict:
    # Lay panels out left to right, wrapping at 24 columns; a row starts a new line.
    x = y = line_h = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x, line_h = x + w, max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return {
        "__inputs": INPUTS, "__requires": _requires(panels),
        "id": None, "uid": uid, "title": title, "description": description, "tags": ["vigil"],
        "schemaVersion": 39, "version": 1, "editable": False, "graphTooltip": 1,
        "refresh": "30s", "timezone": "browser", "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"},
                                 *annotations]},
        # the datasource first (the others query it); then platform: picking one narrows
        # the communities (a chained variable), so it filters panels whose metrics carry
        # only a community label too
        "templating": {"list": [datasource_variable(),
                                variable("platform", "Platform", "vigil_posts_scored_total"),
                                variable("community", "Community",
                                         "vigil_posts_scored_total{" + P + "}")]},
        "links": [{"title": "Vigil dashboards", "type": "dashboards", "tags": ["vigil"],
                   "asDropdown": True, "includeVars": True, "keepTime": True}],
        "panels": panels,
    }


def _scored(extra: str = "") -> str:
    return "vigil_posts_scored_total{" + ",".join(x for x in (C, P, extra) if x) + "}"


def community_health() -> dict:
    scored, toxic = _scored(), _scored('decision!="none"')
    sentiment = "{" + C + "}"
    return dashboard("vigil-community-health", "Vigil / Community health",
                     "How each community is doing: volume, toxicity, sentiment.", [
        row("Volume"),
        panel("Posts per second by community", "Posts scored per second.",
              target(f"sum by (community) (rate({scored}{RATE}))", "{{community}}"), unit="reqps"),
        panel("Posts in range", "Posts scored over the dashboard's time range.",
              target(f"sum by (community) (increase({scored}{RANGE}))", "{{community}}",
                     instant=True), kind="bargauge"),
        row("Toxicity and sentiment"),
        panel("Toxic share by community",
              "Share of posts the policy escalated (moderation or safety). 0 where none were.",
              target(f"(sum by (community) (rate({toxic}{RATE})) or sum by (community) "
                     f"(rate({scored}{RATE})) * 0) / sum by (community) (rate({scored}{RATE}))",
                     "{{community}}"), unit="percentunit", minimum=0),
        # prometheus_client exposes no _sum for a histogram with negative buckets, so
        # sentiment is read as shares: net sentiment = positive share - negative share
        # (VADER's own cut-offs, +-0.05), the social-listening convention
        panel("Net sentiment by community", "Share of positive posts minus share of negative "
              "posts (VADER compound beyond +-0.05), -1 to 1.",
              target('(sum by (community) (rate(vigil_sentiment_compound_count'
                     f'{sentiment}{RATE})) - sum by (community) (rate(vigil_sentiment_compound_bucket'
                     f'{{le="0.05",{C}}}{RATE})) - sum by (community) (rate('
                     f'vigil_sentiment_compound_bucket{{le="-0.05",{C}}}{RATE}))) / sum by '
                     f"(community) (rate(vigil_sentiment_compound_count{sentiment}{RATE}))",
                     "{{community}}"), minimum=-1, maximum=1),
        panel("Strongly negative share by community", "Share of posts with compound <= -0.5.",
              target('sum by (community) (rate(vigil_sentiment_compound_bucket{le="-0.5",'
                     f'{C}}}{RATE})) / sum by (community) '
                     f"(rate(vigil_sentiment_compound_count{sentiment}{RATE}))", "{{community}}"),
              unit="percentunit", minimum=0),
        panel("Posts by platform", "Which channels each community speaks on.",
              target(f"sum by (platform) (rate({scored}{RATE}))", "{{platform}}"),
              unit="reqps", stack=True),
        # no community label on this counter (languages x communities would multiply)
        panel("Posts by language", "Scored posts by detected language (und: too short or "
              "unsure), and whether the English-only scorers (rules, VADER, the lexical "
              "prior) read them: supported=false are scored by what is language-independent.",
              target("sum by (language, supported) (increase(vigil_posts_language_total"
                     f"{RANGE}))", "{{language}} supported={{supported}}", instant=True),
              kind="bargauge", w=24),
        row("Escalations"),
        panel("Incidents opened by community and type",
              "Escalations triggered (first page of an incident) over the time range.",
              target('sum by (community, type) (increase(vigil_escalations_total{status="triggered",'
                     f"{C}}}{RANGE}))", "{{community}} {{type}}", instant=True),
              kind="bargauge", w=24),
    ], [escalation_annotation("Incidents opened", "red")])


def moderation() -> dict:
    dec = "vigil_moderation_decisions_total{" + C + "}"
    return dashboard("vigil-moderation", "Vigil / Moderation",
                     "What the conduct policy recommends, to whom again, and how the "
                     "toxicity model learns from moderators.", [
        row("Decisions"),
        panel("Decisions by action", "Recommended action per toxic post (note, warn, timeout, "
              "suspend, ban); a moderator decides.",
              target(f"sum by (action) (rate({dec}{RATE}))", "{{action}}"), unit="reqps", stack=True),
        panel("Decisions by category", "What the toxic posts were, over the time range.",
              target(f"sum by (category) (increase({dec}{RANGE}))", "{{category}}", instant=True),
              kind="bargauge"),
        panel("Repeat offences", "Toxic posts by authors already on record in the community, "
              "by the action recommended.",
              target("sum by (community, action) (increase(vigil_repeat_offences_total{"
                     f"{C}}}{RANGE}))", "{{community}} {{action}}", instant=True), kind="bargauge"),
        panel("Platform moderation events", "What the platforms' own moderators and users did: "
              "deletions, moderators' actions (Twitch bans and timeouts, cleared messages, "
              "Discord bulk deletes, Telegram kicks) and notices (joins, raids, retweets).",
              target("sum by (platform, kind) (increase(vigil_platform_events_total{" + P + "}"
                     f"{RANGE}))", "{{platform}} {{kind}}", instant=True), kind="bargauge"),
        panel("Moderation and safety incidents", "Incident messages by status: one trigger per "
              "author, updates as they reoffend, a resolve after the quiet period.",
              target('sum by (status) (rate(vigil_escalations_total{type=~"moderation|safety",'
                     f"{C}}}{RATE}))", "{{status}}"), unit="reqps"),
        row("Learning from moderators"),
        panel("Feedback labels", "Moderator labels received and what the learner did with them.",
              target(f"sum by (label, outcome) (increase(vigil_feedback_labels_total{RANGE}))",
                     "{{label}} {{outcome}}", instant=True), kind="bargauge"),
        panel("Learner ROC-AUC", "Prequential ROC-AUC of the toxicity score over the last 500 "
              "labels (scored before learnt). Falling: the model disagrees with moderators.",
              target("max(vigil_toxicity_online_roc_auc)", "ROC-AUC"), minimum=0, maximum=1,
              unit="percentunit", w=6),
        panel("Labels learnt", "Moderator labels the toxicity model has learnt from.",
              target("max(vigil_toxicity_labels_learned)", "labels"), kind="stat", w=6),
        panel("Moderators' actions on the platforms", "Removals, approvals, timeouts, bans "
              "seen by the connectors, by who did them: only a moderator's action teaches "
              "(an author's deletion or an automatic filter does not).",
              target("sum by (platform, action, by) (increase(vigil_moderator_actions_total{"
                     + P + "}" + f"{RANGE}))", "{{platform}} {{action}} by {{by}}",
                     instant=True), kind="bargauge"),
        panel("Labels from moderators' actions", "Labels the worker published to "
              "moderation.feedback from those actions.",
              target("sum by (platform, label) (rate(vigil_moderator_labels_published_total{"
                     + P + "}" + f"{RATE}))", "{{platform}} {{label}}"), unit="reqps"),
        panel("Clicks and pager webhooks", "Slack and Discord button clicks and PagerDuty "
              "webhooks at vigil notify: accepted, or refused (forged, expired, replayed) and "
              "ignored. Forged or replayed requests are worth a look.",
              target("sum by (tool, outcome) (increase(vigil_callbacks_total" + f"{RANGE}))",
                     "{{tool}} {{outcome}}", instant=True), kind="bargauge"),
        panel("Chat messages updated after a click", "Slack messages replaced through "
              "response_url, by result.",
              target("sum by (tool, result) (rate(vigil_callback_message_updates_total"
                     + f"{RATE}))", "{{tool}} {{result}}"), unit="reqps"),
    ], [escalation_annotation("Moderation and safety incidents", "red",
                              'type=~"moderation|safety"')])


def trends() -> dict:
    sig = "vigil_trend_signals_total{" + C + "}"
    return dashboard("vigil-trends", "Vigil / Trends",
                     "Threats and opportunities trending in each community.", [
        row("Now"),
        panel("Active threats and opportunities", "Trends reported rising and not yet resolved.",
              target("sum by (community, kind) (vigil_trends_active{" + C + "})",
                     "{{community}} {{kind}}"), stack=True),
        panel("Burst score by community", "z-score of the open volume window against the "
              "community's learnt baseline; a burst needs 4 and an unlikely count.",
              target("max by (community) (vigil_burst_zscore{" + C + "})", "{{community}}")),
        row("Lifecycle"),
        panel("Trend signals by state", "emerging (candidate, never paged), rising, peaking, "
              "fading, resolved.",
              target(f"sum by (state) (increase({sig}{RANGE}))", "{{state}}", instant=True),
              kind="bargauge"),
        panel("Trend signals by kind", "Signals per second by kind.",
              target(f"sum by (kind) (rate({sig}{RATE}))", "{{kind}}"), unit="reqps"),
        panel("Emerging candidates by community", "Windows half-way to a burst, over the range.",
              target('sum by (community) (increase(vigil_trend_signals_total{state="emerging",'
                     f"{C}}}{RANGE}))", "{{community}}", instant=True), kind="bargauge"),
        panel("Trend incidents", "Trend escalations by community and status over the range.",
              target('sum by (community, status) (increase(vigil_escalations_total{type="trend",'
                     f"{C}}}{RANGE}))", "{{community}} {{status}}", instant=True), kind="bargauge"),
    ], [escalation_annotation("Trend incidents", "purple", 'type="trend"')])


def pipeline() -> dict:
    ingested, normalized = f"vigil_posts_ingested_total{{{P}}}", f"vigil_posts_normalized_total{{{P}}}"
    return dashboard("vigil-pipeline", "Vigil / Pipeline",
                     "Throughput, loss, latency, lag and notifier health of the Vigil pipeline.", [
        row("Processes"),
        # job names as in config/prometheus/prometheus.yml (vigil, vigil-notify, ...)
        panel("Processes up by job", "Scrape targets answering, per Prometheus job (vigil = "
              "workers, vigil-connect, vigil-notify, vigil-api); a dip is a process down "
              "(alerts VigilWorkerDown, VigilNoWorkerRunning, VigilConnectorDown).",
              target('sum by (job) (up{job=~"vigil.*"})', "{{job}} up"),
              target('sum by (job) (1 - up{job=~"vigil.*"})', "{{job}} down"), minimum=0),
        panel("Versions running", "vigil_build_info: which Vigil version, Python and git "
              "revision each job runs, and how many processes run it. Two rows for a job "
              "during a rolling upgrade; longer than that, a process was left behind.",
              target("count by (job, version, python, revision) (vigil_build_info)",
                     instant=True), kind="table"),
        row("Throughput"),
        panel("Throughput per stage", "Posts per second leaving each stage. A gap between two "
              "lines is loss, dedup or backlog.",
              target(f"sum(rate({ingested}{RATE}))", "ingested"),
              target(f"sum(rate({normalized}{RATE}))", "normalized"),
              target(f"sum(rate({_scored()}{RATE}))", "scored"), unit="reqps"),
        panel("Scored posts by decision", "none, escalate (conduct policy), safety (severe).",
              target(f"sum by (decision) (rate({_scored()}{RATE}))", "{{decision}}"), unit="reqps"),
        panel("Dead-lettered by reason", "Payloads sent to posts.dlq; 0 for every known reason "
              "until one happens.",
              target(f"sum by (reason) (rate(vigil_posts_dead_lettered_total{RATE}))", "{{reason}}"),
              unit="reqps"),
        panel("Dead-letter ratio", "Dead-lettered / ingested (alert at 5%).",
              target(f"sum(rate(vigil_posts_dead_lettered_total{RATE})) / "
                     f"sum(rate(vigil_posts_ingested_total{RATE}))", "ratio"),
              unit="percentunit", minimum=0),
        panel("Duplicates dropped", "Posts dropped as already seen (platform, post id).",
              target(f"sum by (platform) (rate(vigil_posts_duplicate_total{{{P}}}{RATE}))",
                     "{{platform}}"), unit="reqps"),
        panel("Consumer lag", "Messages not yet read on the workers' partitions, by topic.",
              target("sum by (topic) (vigil_consumer_lag_messages)", "{{topic}}")),
        row("Broker and delivery"),
        panel("Broker up", "1 while the broker acknowledges each worker's records and answers "
              "its probe; 0 during an outage (alert after 1 minute).",
              target("min by (instance) (vigil_broker_up)", "{{instance}}"),
              minimum=0, maximum=1, w=6),
        panel("Records acknowledged / sent again", "Records the broker acknowledged, by "
              "topic, and those sent again after a failed or unanswered send.",
              target(f"sum by (topic) (rate(vigil_records_acknowledged_total{RATE}))",
                     "acked {{topic}}"),
              target(f"sum by (topic) (rate(vigil_produce_retries_total{RATE}))",
                     "retried {{topic}}"), unit="reqps", w=6),
        panel("Topics missing / offset gaps / stalls", "Vigil's topics the broker lacks "
              "(recreated at once), input records a consumer skipped, consumers found "
              "stuck (sent back), and text-reading child processes lost (posts read in the "
              "worker meanwhile): all 0 unless something is wrong.",
              target("max(vigil_topics_missing)", "topics missing"),
              target(f"sum(increase(vigil_input_offset_gaps_total{RANGE}))", "offsets skipped"),
              target(f"sum(increase(vigil_consumer_stalls_total{RANGE}))", "consumer stalls"),
              target(f"sum(increase(vigil_text_reader_lost_total{RANGE}))",
                     "text readers lost"), w=6),
        panel("Idle-clock records", "Written into partitions without posts (so their quiet "
              "incidents resolve) and read back.",
              target(f"sum by (direction) (rate(vigil_clock_records_total{RATE}))",
                     "{{direction}}"), unit="reqps", w=6),
        row("Latency"),
        panel("Stage latency p50 / p99", "Per batch (score) or per event (the others).",
              target("histogram_quantile(0.5, sum by (le, stage) (rate("
                     f"vigil_stage_duration_seconds_bucket{RATE})))", "p50 {{stage}}"),
              target("histogram_quantile(0.99, sum by (le, stage) (rate("
                     f"vigil_stage_duration_seconds_bucket{RATE})))", "p99 {{stage}}"), unit="s"),
        panel("End-to-end p99", "From the raw post's broker timestamp to scored / escalated "
              "(alert at 2 s).",
              target("histogram_quantile(0.99, sum by (le) (rate("
                     f"vigil_ingest_to_scored_seconds_bucket{RATE})))", "to scored"),
              target("histogram_quantile(0.99, sum by (le) (rate("
                     f"vigil_ingest_to_escalation_seconds_bucket{RATE})))", "to escalation"), unit="s"),
        panel("Event-time lag by stage", "Wall clock minus the newest event time (large in "
              "replays of old data).",
              target("max by (stage) (vigil_event_time_lag_seconds)", "{{stage}}"), unit="s"),
        panel("Stage errors", "Unexpected errors by stage; 0 until one happens.",
              target(f"sum by (stage) (rate(vigil_stage_errors_total{RATE}))", "{{stage}}"),
              unit="reqps"),
        row("Connectors"),
        panel("Connector posts fetched / produced", "Read from each platform, and produced to "
              "posts.raw (the difference: duplicates and deleted items skipped).",
              target(f"sum by (platform) (rate(vigil_connector_fetched_total{{{P}}}{RATE}))",
                     "fetched {{platform}}"),
              target(f"sum by (platform) (rate(vigil_connector_produced_total{{{P}}}{RATE}))",
                     "produced {{platform}}"), unit="reqps"),
        panel("Connector errors by kind", "rate_limited, server_error, client_error, network, "
              "protocol; retried with backoff except client errors.",
              target("sum by (platform, kind) (rate(vigil_connector_errors_total{" + P + "}"
                     f"{RATE}))", "{{platform}} {{kind}}"), unit="reqps"),
        panel("Connector lag behind the platform", "Wall clock minus the newest produced post's "
              "creation time.",
              target("max by (platform) (vigil_connector_lag_seconds{" + P + "})", "{{platform}}"),
              unit="s", w=8),
        panel("Rate-limit and backoff waits", "Seconds per second a connector waited because "
              "the platform asked it to, or after errors.",
              target("sum by (platform) (rate(vigil_connector_rate_limit_wait_seconds_total{"
                     + P + f"}}{RATE}))", "{{platform}}"), unit="percentunit", w=8),
        panel("Connector items skipped", "Already produced (duplicate) or deleted on the platform.",
              target("sum by (platform, reason) (increase(vigil_connector_skipped_total{" + P + "}"
                     f"{RANGE}))", "{{platform}} {{reason}}", instant=True), kind="bargauge", w=8),
        panel("Daily API quota used", "Share of the platform's daily request quota spent today "
              "(YouTube: units per Pacific day against daily_quota_units); at 100 % the "
              "connector pauses until the quota resets.",
              target("max by (platform) (vigil_connector_quota_used_ratio{" + P + "})",
                     "{{platform}}"), unit="percentunit", minimum=0, maximum=1, w=8),
        row("Escalations and notifiers"),
        panel("Escalations by type / severity", "Escalation messages per second.",
              target("sum by (type, severity) (rate(vigil_escalations_total{" + C + "}"
                     f"{RATE}))", "{{type}} {{severity}}"), unit="reqps"),
        panel("Notifications by route and outcome", "delivered, failed (refused for good), "
              "suppressed by policy (severity, quiet hours, rate cap, backfill).",
              target(f"sum by (route, outcome) (rate(vigil_notifications_total{RATE}))",
                     "{{route}} {{outcome}}"), unit="reqps"),
        panel("Notifier attempts by result", "HTTP attempts: ok, rate_limited, server_error, "
              "network... Retries are normal; failures that last are not.",
              target(f"sum by (route, result) (rate(vigil_notification_attempts_total{RATE}))",
                     "{{route}} {{result}}"), unit="reqps"),
        panel("Notification latency p99", "Escalation produced -> notifier accepted it.",
              target("histogram_quantile(0.99, sum by (le, route) (rate("
                     f"vigil_notification_latency_seconds_bucket{RATE})))", "{{route}}"),
              unit="s", w=6),
        panel("Notifications pending", "Fetched and not yet settled: a retry that lasts is an "
              "outage at the notifier.",
              target("max by (route) (vigil_notification_pending)", "{{route}}"), w=6),
        row("Scoring API (vigil serve)"),
        panel("API requests by outcome", "comments:analyze and comments:suggestscore: ok, or "
              "the error status (invalid_argument, permission_denied, resource_exhausted...).",
              target(f"sum by (method, outcome) (rate(vigil_api_requests_total{RATE}))",
                     "{{method}} {{outcome}}"), unit="reqps"),
        panel("API latency p99", "Request received -> answered, by method.",
              target("histogram_quantile(0.99, sum by (le, method) (rate("
                     f"vigil_api_request_duration_seconds_bucket{RATE})))", "{{method}}"),
              unit="s", w=6),
        panel("API batch size p50", "Texts per model call: concurrent requests share one.",
              target("histogram_quantile(0.5, sum by (le) (rate("
                     f"vigil_api_batch_texts_bucket{RATE})))", "texts"), w=6),
        panel("Toxicity score distribution (time range)", "How scores spread; a shift means "
              "the community or the model changed.",
              target(f"sum by (le) (increase(vigil_toxicity_score_bucket{RANGE}))", "{{le}}",
                     instant=True), kind="bargauge", w=24),
    ], [escalation_annotation("Incidents opened", "red"), alerts_annotation()])


DASHBOARDS = {"vigil-community-health.json": community_health, "vigil-moderation.json": moderation,
              "vigil-trends.json": trends, "vigil-pipeline.json": pipeline}


def render(build) -> str:
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name, build in DASHBOARDS.items():
        path, text = OUT / name, render(build)
        if "--check" in argv:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python grafana/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
