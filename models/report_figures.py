"""The weekly community report's figures, from what Vigil wrote: pure and deterministic.

Inputs are the records as they are on the topics (or in ``vigil replay --out``): scored
posts, trend signals, escalation messages and moderators' labels, as plain dicts. The
same records give the same figures, whatever their order on input (every list is
sorted by a total key before it is used); nothing here reads a clock.

Two clocks appear in the records. **Event time** (a post's ``created_at``, a trend's
``window_end``, an incident's ``first_seen``) decides which period a record belongs to.
**Processing time** (an escalation message's ``created_at``) says when on-call was
told and when they acted; it is meaningful only for records a live worker wrote
(``live=True``): in a replay every message is stamped when the replay ran, so the
durations that need it are left out (None), and the post-to-escalation time falls back
to the event time of the post that raised it.

Every figure's definition is in :data:`DEFINITIONS` (the report prints them as
footnotes). Authors appear only as the pseudonyms the pipeline gave them.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from models.report_incidents import Incident, event_ts as _ts, incidents_from_messages

__all__ = ["Period", "ReportRecords", "compute", "DEFINITIONS", "quantile"]

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

DEFINITIONS = {
    "posts": "Scored posts whose event time (created_at) falls in the period.",
    "authors": "Distinct pseudonymised authors among those posts.",
    "toxic_share": "Posts the pipeline flagged (decision escalate or safety) / posts.",
    "sentiment": "Mean VADER compound sentiment of the posts, from -1 to 1.",
    "raised": "Incidents (escalations grouped by dedup key) whose first occurrence "
              "(first_seen, event time) falls in the period.",
    "acknowledged": "Of those, incidents acknowledged by on-call (by the time of the data).",
    "resolved": "Of those, incidents resolved (by on-call, or by going quiet).",
    "post_to_escalation": "From the incident's first post (first_seen) to the escalation "
                          "message that raised it: its wall-clock time on a live worker; in "
                          "a replay, the event time of the post that raised it.",
    "escalation_to_ack": "From the raising message to the acknowledgement message, "
                         "wall-clock time; live records only.",
    "ack_to_resolve": "From the acknowledgement to the resolve message, wall-clock time; "
                      "live records only.",
    "repeat_offenders": "Authors with two or more flagged posts in the period.",
    "recidivism": "Authors recommended a warning or a timeout in the period who posted "
                  "another flagged post in the same community after it, in the period.",
    "false_alarms": "Moderators' labels 'false_alarm' on trend incidents in the period, "
                    "and their share of all trend verdicts (false_alarm + real).",
    "agreement": "Moderators' toxic / not_toxic labels in the period whose post Vigil "
                 "scored: the share where Vigil's decision (flagged or not) matched.",
    "threats": "Trends classified threat or opportunity whose windows end in the period, "
               "ranked by severity, then peak volume (posts per window).",
}


@dataclass(frozen=True)
class Period:
    """Event time ``[start, end)`` in seconds since the epoch."""

    start: float
    end: float

    def __contains__(self, ts: Optional[float]) -> bool:
        return ts is not None and self.start <= ts < self.end

    def previous(self) -> "Period":
        return Period(self.start - (self.end - self.start), self.start)


@dataclass
class ReportRecords:
    scored: list[dict]
    trends: list[dict]
    escalations: list[dict]
    labels: list[dict]
    live: bool = True  # escalation messages stamped by a live worker (wall clock)


def quantile(values: Iterable[float], q: float) -> Optional[float]:
    """Linear-interpolated quantile (numpy's default); None for no values.

    >>> quantile([1, 2, 3, 4], 0.5), quantile([10], 0.9), quantile([], 0.5)
    (2.5, 10.0, None)
    """
    xs = list(values)
    return float(np.quantile(xs, q)) if xs else None


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "median_s": quantile(values, 0.5), "p90_s": quantile(values, 0.9)}


def _flagged(s: dict) -> bool:
    return s.get("decision", "none") != "none"


def _headline(posts: list[dict], incidents: list[Incident]) -> dict:
    n = len(posts)
    return {
        "posts": n,
        "authors": len({p["post"]["author_id"] for p in posts}),
        "toxic_share": (sum(map(_flagged, posts)) / n) if n else None,
        "sentiment": statistics.fmean(p["sentiment"] for p in posts) if n else None,
        "raised": len(incidents),
        "acknowledged": sum(i.acknowledged_at is not None for i in incidents),
        "resolved": sum(i.resolved_at is not None for i in incidents),
    }


def _in(community: Optional[str], record_community: Optional[str]) -> bool:
    return community is None or record_community == community


def compute(records: ReportRecords, period: Period, community: Optional[str] = None,
            bin_s: Optional[float] = None) -> dict:
    """Every figure of the report for ``period`` (and the one before it, to compare)."""
    previous = period.previous()
    scored = sorted((s for s in records.scored if _in(community, s["post"]["community"])),
                    key=lambda s: (_ts(s["post"]["created_at"]) or 0.0, s["post"]["post_id"]))
    cur_posts = [s for s in scored if _ts(s["post"]["created_at"]) in period]
    prev_posts = [s for s in scored if _ts(s["post"]["created_at"]) in previous]
    incidents = [i for i in incidents_from_messages(records.escalations, live=records.live)
                 if _in(community, i.community)]
    cur_inc = [i for i in incidents if i.first_seen in period]
    prev_inc = [i for i in incidents if i.first_seen in previous]
    labels = sorted((lb for lb in records.labels if _in(community, lb.get("community"))),
                    key=lambda lb: (lb.get("time", ""), lb.get("post_id", ""), lb.get("label", "")))
    durations = {name: [d for i in cur_inc if (d := getattr(i, f"{name}_s")) is not None]
                 for name in ("post_to_escalation", "escalation_to_ack", "ack_to_resolve")}
    bin_s = bin_s or (3600.0 if period.end - period.start <= 7 * 86400 else 86400.0)
    return {
        "period": {"start": period.start, "end": period.end},
        "previous": {"start": previous.start, "end": previous.end},
        "community": community,
        "live": records.live,
        "headline": {"current": _headline(cur_posts, cur_inc),
                     "previous": _headline(prev_posts, prev_inc)},
        "series": _series(cur_posts, prev_posts, period, bin_s),
        "trends": _trends(records.trends, period, community, cur_inc, labels),
        "effectiveness": {
            **{name: _summary(values) for name, values in durations.items()},
            "durations": durations,
            **_offenders(cur_posts, incidents, period),
            "false_alarms": _false_alarms(labels, period),
            "agreement": _agreement(labels, scored, period, previous),
        },
        "definitions": DEFINITIONS,
    }


def _series(cur: list[dict], prev: list[dict], period: Period, bin_s: float) -> dict:
    """Posts, flagged posts and mean sentiment per bin; the previous period aligned on
    the current one (bin k of each)."""
    bins = max(1, math.ceil((period.end - period.start) / bin_s))

    def per_bin(posts: list[dict], start: float) -> dict:
        count, flagged, senti = [0] * bins, [0] * bins, [0.0] * bins
        for p in posts:
            k = min(bins - 1, int((_ts(p["post"]["created_at"]) - start) // bin_s))
            count[k] += 1
            flagged[k] += _flagged(p)
            senti[k] += p["sentiment"]
        return {"posts": count, "flagged": flagged,
                "sentiment": [senti[k] / count[k] if count[k] else None for k in range(bins)]}

    return {"bin_s": bin_s, "starts": [period.start + k * bin_s for k in range(bins)],
            "current": per_bin(cur, period.start),
            "previous": per_bin(prev, period.previous().start)}


def _trends(signals: list[dict], period: Period, community: Optional[str],
            incidents: list[Incident], labels: list[dict]) -> list[dict]:
    by_id: dict[str, list[dict]] = {}
    for s in signals:
        if (s.get("kind") in ("threat", "opportunity") and _in(community, s.get("community"))
                and _ts(s.get("window_end")) in period):
            by_id.setdefault(s["trend_id"], []).append(s)
    verdicts: dict[str, list[str]] = {}
    for lb in labels:
        if lb.get("trend_id") and lb.get("label") in ("real", "false_alarm"):
            verdicts.setdefault(lb["trend_id"], []).append(lb["label"])
    incident_of = {i.trend_id: i for i in incidents if i.trend_id}
    out = []
    for trend_id, sigs in by_id.items():
        sigs.sort(key=lambda s: (_ts(s["window_end"]), s.get("state", ""), s.get("volume", 0)))
        worst = min(sigs, key=lambda s: SEVERITY_RANK.get(s.get("severity"), 9))
        last = sigs[-1]
        inc = incident_of.get(trend_id)
        out.append({
            "trend_id": trend_id, "kind": last["kind"], "category": last.get("category"),
            "community": last["community"], "platform": last.get("platform"),
            "topic_label": last.get("topic_label"), "severity": worst.get("severity"),
            "peak_volume": max(s.get("volume", 0) for s in sigs),
            "sentiment": statistics.fmean(s.get("sentiment", 0.0) for s in sigs),
            "terms": list(dict.fromkeys(t for s in sigs for t in s.get("top_terms", [])))[:8],
            "exemplars": list(dict.fromkeys(e for s in sigs for e in s.get("exemplars", [])))[:3],
            "curve": [(_ts(s["window_end"]), s.get("volume", 0)) for s in sigs],
            "first_seen": _ts(sigs[0].get("first_seen")) or _ts(sigs[0]["window_start"]),
            "last_state": last.get("state"),
            "outcome": _outcome(inc, verdicts.get(trend_id, [])),
        })
    out.sort(key=lambda t: (SEVERITY_RANK.get(t["severity"], 9), -t["peak_volume"],
                            t["first_seen"] or 0.0, t["trend_id"]))
    return out


def _outcome(incident: Optional[Incident], verdicts: list[str]) -> str:
    parts = []
    if incident is None:
        parts.append("no incident raised")
    else:
        parts.append("acknowledged" if incident.acknowledged_at is not None else "not acknowledged")
        parts.append("resolved" if incident.resolved_at is not None else "still open")
    if verdicts:
        parts.append(f"moderators: {verdicts[-1].replace('_', ' ')}")
    return ", ".join(parts)


def _offenders(posts: list[dict], incidents: list[Incident], period: Period) -> dict:
    flagged_at: dict[tuple[str, str], list[float]] = {}
    for p in posts:
        if _flagged(p):
            key = (p["post"]["community"], p["post"]["author_id"])
            flagged_at.setdefault(key, []).append(_ts(p["post"]["created_at"]))
    repeat = sorted(((len(ts), key) for key, ts in flagged_at.items() if len(ts) >= 2),
                    key=lambda r: (-r[0], r[1]))
    warned: dict[tuple[str, str], float] = {}
    for inc in incidents:
        for ts, action in inc.recommendations:
            if action in ("warn", "timeout") and ts in period and inc.author_id:
                key = (inc.community, inc.author_id)
                warned[key] = min(warned.get(key, ts), ts)
    again = sorted(key for key, ts in warned.items()
                   if any(t > ts for t in flagged_at.get(key, [])))
    return {
        "violating_authors": len(flagged_at),
        "repeat_offenders": len(repeat),
        "top_repeat_offenders": [{"community": c, "author": a, "flagged_posts": n}
                                 for n, (c, a) in repeat[:10]],
        "warned_or_timed_out": len(warned),
        "violated_again": len(again),
        "recidivism": len(again) / len(warned) if warned else None,
    }


def _false_alarms(labels: list[dict], period: Period) -> dict:
    verdicts = [lb["label"] for lb in labels
                if lb.get("label") in ("real", "false_alarm") and _ts(lb.get("time")) in period]
    fa = verdicts.count("false_alarm")
    return {"false_alarm": fa, "real": verdicts.count("real"),
            "share": fa / len(verdicts) if verdicts else None}


def _agreement(labels: list[dict], scored: list[dict], *periods: Period) -> dict:
    verdicts = [lb for lb in labels if lb.get("label") in ("toxic", "not_toxic")]
    # the latest score of a post (an edit is scored again) against its latest label
    decision = ({(s["post"]["community"], s["post"]["post_id"]): _flagged(s) for s in scored}
                if verdicts else {})
    out = []
    for period in periods:
        latest = {(lb.get("community"), lb.get("post_id")): lb for lb in verdicts
                  if _ts(lb.get("time")) in period}
        pairs = [(decision[key], lb["label"] == "toxic") for key, lb in sorted(latest.items())
                 if key in decision]
        agree = sum(a == b for a, b in pairs)
        out.append({"labels": len(pairs), "agree": agree,
                    "share": agree / len(pairs) if pairs else None})
    return dict(zip(("current", "previous"), out))
