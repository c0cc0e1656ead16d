"""The report's figures on hand-written live records: durations from the wall clock,
the funnel, recidivism after a warning, on-call verdicts and agreement with moderators."""

from __future__ import annotations

from models.eventtime import parse_event_time, to_iso
from models.report_figures import Period, ReportRecords, compute

T0 = parse_event_time("2026-11-09T00:00:00Z")
WEEK = Period(T0, T0 + 7 * 86400)


def post(i: int, author: str, at: float, flagged: bool, community: str = "r/x") -> dict:
    return {"post": {"platform": "reddit", "community": community, "post_id": f"p{i}",
                     "author_id": author, "text": "t", "created_at": to_iso(at),
                     "ingested_at": to_iso(at)},
            "toxicity": 0.9 if flagged else 0.1, "sentiment": 0.5 if not flagged else -0.5,
            "model_version": "m", "decision": "escalate" if flagged else "none",
            "scored_at": to_iso(at)}


def message(key: str, n: int, status: str, first: float, created: float, **evidence) -> dict:
    return {"id": f"{key}#{n}", "dedup_key": key, "type": key.split(":")[0], "severity": "medium",
            "status": status, "community": "r/x", "platform": "reddit", "title": "", "summary": "",
            "recommended_action": "", "runbook_url": "", "first_seen": to_iso(first),
            "last_seen": to_iso(first), "occurrence_count": 1, "created_at": to_iso(created),
            "evidence": evidence}


def records() -> ReportRecords:
    h = 3600.0
    scored = [post(1, "a_1", T0 + h, True), post(2, "a_1", T0 + 5 * h, True),
              post(3, "a_2", T0 + 2 * h, True), post(4, "a_3", T0 + 3 * h, False),
              post(5, "a_2", T0 - h, True)]  # the previous week
    m1, m2, m3 = "moderation:reddit:r/x:a_1", "moderation:reddit:r/x:a_2", "trend:t1"
    escalations = [
        message(m1, 0, "triggered", T0 + h, T0 + h + 20, author_id="a_1", recommended="warn"),
        message(m1, 0, "triggered", T0 + h, T0 + h + 20, author_id="a_1", recommended="warn"),  # re-sent
        message(m1, 1, "acknowledged", T0 + h, T0 + h + 620),
        message(m1, 2, "resolved", T0 + h, T0 + h + 4220),
        message(m2, 0, "triggered", T0 + 2 * h, T0 + 2 * h + 40, author_id="a_2",
                recommended="timeout"),
        message(m3, 0, "triggered", T0 + 3 * h, T0 + 3 * h + 100, trend_id="t1"),
        message(m3, 1, "acknowledged", T0 + 3 * h, T0 + 3 * h + 400),
    ]
    labels = [
        {"post_id": "p1", "community": "r/x", "label": "toxic", "action": "remove",
         "moderator_id": "m", "time": to_iso(T0 + 2 * h)},
        {"post_id": "p4", "community": "r/x", "label": "toxic", "action": "remove",
         "moderator_id": "m", "time": to_iso(T0 + 4 * h)},
        {"post_id": "p4", "community": "r/x", "label": "not_toxic", "action": "approve",
         "moderator_id": "m", "time": to_iso(T0 + 6 * h)},  # the appeal replaces it
        {"post_id": "", "community": "r/x", "label": "false_alarm", "action": "none",
         "moderator_id": "m", "time": to_iso(T0 + 4 * h), "trend_id": "t1"},
        {"post_id": "", "community": "r/x", "label": "real", "action": "none",
         "moderator_id": "m", "time": to_iso(T0 + 5 * h), "trend_id": "t2"},
    ]
    return ReportRecords(scored, [], escalations, labels, live=True)


def test_headline_and_funnel():
    f = compute(records(), WEEK)
    cur, prev = f["headline"]["current"], f["headline"]["previous"]
    assert (cur["posts"], cur["authors"], prev["posts"]) == (4, 3, 1)
    assert cur["toxic_share"] == 0.75
    assert (cur["raised"], cur["acknowledged"], cur["resolved"]) == (3, 2, 1)


def test_times_to_action_from_the_wall_clock():
    eff = compute(records(), WEEK)["effectiveness"]
    assert eff["durations"]["post_to_escalation"] == [20.0, 40.0, 100.0]
    assert eff["post_to_escalation"]["median_s"] == 40.0
    assert eff["post_to_escalation"]["p90_s"] == 88.0  # 40 + 0.8 * (100 - 40)
    assert sorted(eff["durations"]["escalation_to_ack"]) == [300.0, 600.0]
    assert eff["durations"]["ack_to_resolve"] == [3600.0]


def test_repeat_offenders_and_recidivism():
    eff = compute(records(), WEEK)["effectiveness"]
    assert eff["violating_authors"] == 2 and eff["repeat_offenders"] == 1
    assert eff["top_repeat_offenders"] == [{"community": "r/x", "author": "a_1", "flagged_posts": 2}]
    # a_1 warned at 01:00 posted p2 (flagged) at 05:00; a_2's timeout had no sequel
    assert (eff["warned_or_timed_out"], eff["violated_again"], eff["recidivism"]) == (2, 1, 0.5)


def test_verdicts_and_agreement_use_the_latest_label():
    eff = compute(records(), WEEK)["effectiveness"]
    assert eff["false_alarms"] == {"false_alarm": 1, "real": 1, "share": 0.5}
    # p1 flagged + toxic: agree; p4 not flagged + not_toxic (appeal): agree
    assert eff["agreement"]["current"] == {"labels": 2, "agree": 2, "share": 1.0}
    assert eff["agreement"]["previous"]["labels"] == 0


def test_a_replay_leaves_wall_clock_durations_out():
    r = records()
    r.live = False
    eff = compute(r, WEEK)["effectiveness"]
    assert eff["escalation_to_ack"]["n"] == 0 and eff["ack_to_resolve"]["n"] == 0
    assert eff["durations"]["post_to_escalation"] == [0.0, 0.0, 0.0]  # raised by the post itself
