"""The incident ledger and the drafts that feed it."""

from __future__ import annotations

import dataclasses

import pytest

from models.bursts import BurstSignal
from models.escalation import (Draft, safety_draft, IncidentLedger, IncidentState, escalation_id,
                               moderation_draft, trend_draft)


def draft(severity="medium", ts=100.0, resolve=False, key="moderation:reddit:r/x:a_1"):
    return Draft(key, "moderation", severity, "r/x", "reddit", "t", "s", "review", {}, ts,
                 resolve=resolve)


def signal(kind="threat", severity="medium", state="rising") -> BurstSignal:
    return BurstSignal(state=state, kind=kind, severity=severity, window_start=600.0,
                       window_end=1200.0, volume=40, baseline=4.0, zscore=4.2,
                       growth_rate=10.0, sentiment=-0.5 if kind == "threat" else 0.6,
                       toxicity_share=0.0, first_seen=650.0, top_terms=("outage", "refund"),
                       exemplars=(("p1", "servers down"), ("p2", "refund me")))


def test_trigger_update_resolve_sequence():
    led, st = IncidentLedger(), None
    statuses = []
    for i, d in enumerate([draft(ts=100), draft(ts=150), draft(ts=120), draft(ts=200, resolve=True)]):
        st, status = led.apply(st, d, source_id=f"p{i}")
        statuses.append(status)
    assert statuses == ["triggered", "updated", "updated", "resolved"]
    assert st.status == "resolved" and st.occurrence_count == 3
    assert (st.first_seen, st.last_seen) == (100, 200)  # out-of-order ts does not rewind


def test_redelivered_source_changes_nothing():
    led = IncidentLedger()
    st, _ = led.apply(None, draft(), "p1")
    before = dataclasses.replace(st, sources=list(st.sources))
    st2, status = led.apply(st, draft(severity="high", ts=999), "p1")
    assert status is None and st2 == before
    _, status = led.apply(st, draft(resolve=True), "p1")  # even a resolve with a seen id
    assert status is None and st.status == "triggered"


@pytest.mark.parametrize("state", [None, "resolved"])
def test_resolve_of_nothing_emits_nothing(state):
    led = IncidentLedger()
    st = None
    if state:
        st, _ = led.apply(None, draft(), "p1")
        st, _ = led.apply(st, draft(resolve=True), "r1")
    new, status = led.apply(st, draft(resolve=True), "r2")
    assert status is None
    assert new is st


def test_retrigger_after_resolve_starts_fresh():
    led = IncidentLedger()
    st, _ = led.apply(None, draft(severity="high", ts=100), "p1")
    st, _ = led.apply(st, draft(ts=110), "p2")
    st, _ = led.apply(st, draft(resolve=True, ts=120), "r1")
    st, status = led.apply(st, draft(severity="medium", ts=500), "p3")
    assert status == "triggered"
    assert (st.occurrence_count, st.first_seen, st.severity) == (1, 500, "medium")


def test_severity_only_escalates():
    led = IncidentLedger()
    st, _ = led.apply(None, draft(severity="medium"), "p1")
    seen = []
    for i, sev in enumerate(["low", "high", "medium", "critical", "low"]):
        st, _ = led.apply(st, draft(severity=sev), f"q{i}")
        seen.append(st.severity)
    assert seen == ["medium", "high", "high", "critical", "critical"]


def test_sources_are_bounded():
    led = IncidentLedger(max_sources=4)
    st = None
    for i in range(10):
        st, _ = led.apply(st, draft(), f"p{i}")
    assert st.sources == ["p6", "p7", "p8", "p9"]
    assert st.occurrence_count == 10


def test_state_dict_roundtrip():
    st, _ = IncidentLedger().apply(None, draft(), "p1")
    assert IncidentState.from_dict(st.to_dict()) == st
    assert IncidentState.from_dict(None) is None


def test_escalation_id_deterministic_and_distinct():
    k = "moderation:reddit:r/x:a_1"
    assert escalation_id(k, 1, 1, "triggered") == escalation_id(k, 1, 1, "triggered")
    ids = {escalation_id(k, inc, n, s) for inc in (1, 2) for n in (1, 2)
           for s in ("triggered", "updated", "resolved")}
    ids.add(escalation_id(k + "2", 1, 1, "triggered"))
    assert len(ids) == 13


@pytest.mark.parametrize("action,severity,duration", [("note", "low", None),
                                                      ("timeout", "medium", 86400.0),
                                                      ("ban", "critical", None)])
def test_moderation_draft_carries_the_recommendation(action, severity, duration):
    text = "you absolute idiot " * 20
    d = moderation_draft(platform="reddit", community="r/x", post_id="p1", author_id="a_1",
                         text=text, toxicity=0.93, terms=("idiot",), url=None, event_ts=5.0,
                         action=action, reason="3rd violation in 7 days", severity=severity,
                         category="insult", duration_s=duration, history=("p0", "p1"))
    assert d.severity == severity and d.type == "moderation" and not d.resolve
    assert d.dedup_key == "moderation:reddit:r/x:a_1"  # grouped per author and community
    assert len(d.evidence["snippets"][0]) == 200 and d.evidence["snippets"][0].endswith("...")
    assert "idiot" in d.summary and "3rd violation in 7 days" in d.summary
    assert d.evidence["recommended"] == action and d.evidence["history_post_ids"] == ["p0", "p1"]
    assert "a human decides" in d.recommended_action
    if duration:
        assert "24 h" in d.recommended_action


def test_safety_draft_is_per_post_and_critical_for_threats():
    d = safety_draft(platform="discord", community="g/#x", post_id="p9", author_id="a_2",
                     text="I know where you live", categories={"threat": 0.9, "insult": 0.0},
                     severe=("threat",), url=None, event_ts=1.0,
                     explanation=["combined p=0.97", "threat: \"I know where you live\""])
    assert d.type == "safety" and d.severity == "critical"
    assert d.dedup_key == "safety:discord:g/#x:p9"
    assert d.evidence["categories"] == {"threat": 0.9}


def test_trend_draft_neutral_is_none():
    assert trend_draft(community="c", platform="p", trend_id="t",
                       signal=signal(kind="neutral", severity="low")) is None


@pytest.mark.parametrize("include", [True, False])
def test_trend_draft_opportunities(include):
    d = trend_draft(community="c", platform="p", trend_id="t",
                    signal=signal(kind="opportunity", severity="low"),
                    include_opportunities=include)
    assert (d is not None) is include
    if d:
        assert d.title.startswith("Praise") and d.severity == "low"


@pytest.mark.parametrize("severity,min_severity,emitted", [
    ("medium", "medium", True), ("high", "medium", True), ("low", "medium", False),
    ("medium", "high", False), ("critical", "high", True),
])
def test_trend_draft_min_severity(severity, min_severity, emitted):
    d = trend_draft(community="c", platform="p", trend_id="t1",
                    signal=signal(severity=severity), min_severity=min_severity)
    assert (d is not None) is emitted


def test_trend_draft_fields_and_resolve():
    d = trend_draft(community="r/x", platform="reddit", trend_id="r/x:volume:T",
                    signal=signal())
    assert d.dedup_key == "trend:r/x:volume:T" and not d.resolve
    assert d.evidence["post_ids"] == ["p1", "p2"] and "outage" in d.title
    assert d.event_ts == 650.0
    r = trend_draft(community="r/x", platform="reddit", trend_id="r/x:volume:T",
                    signal=signal(state="resolved"))
    assert r.resolve and r.dedup_key == d.dedup_key


@pytest.mark.parametrize("kind", ["neutral", "opportunity", "threat"])
def test_every_resolve_reaches_the_ledger(kind):
    """Filters apply to triggers only: an open incident must always be able to resolve."""
    from models.bursts import BurstSignal

    sig = BurstSignal(state="resolved", kind=kind, severity="low", window_start=0.0,
                      window_end=600.0, volume=30, baseline=3.0, zscore=9.0, growth_rate=10.0,
                      sentiment=0.0, toxicity_share=0.0, first_seen=10.0, top_terms=(),
                      exemplars=())
    draft = trend_draft(community="c", platform="p", trend_id="c:volume:t", signal=sig,
                        include_opportunities=False, min_severity="high")
    assert draft is not None and draft.resolve
    ledger = IncidentLedger()
    assert ledger.apply(None, draft, "r") == (None, None)  # nothing open: nothing emitted


# --- on-call actions ------------------------------------------------------------------
def test_acknowledge_once_then_updates_continue_and_resolve_closes():
    from models.escalation import action_draft

    led = IncidentLedger()
    st, _ = led.apply(None, dataclasses.replace(draft(), type="moderation"), "p1")
    st.type = "moderation"
    ack, why = action_draft(st, "acknowledge", "sam", "looking")
    st, status = led.apply(st, ack, "action:acknowledge:sam:t1")
    assert (status, st.acknowledged_by, st.occurrence_count) == ("acknowledged", "sam", 1)
    assert st.last_seen == 100.0  # an action does not move the incident's time
    assert led.apply(st, ack, "action:acknowledge:sam:t1")[1] is None  # redelivered
    again, why = action_draft(st, "acknowledge", "alex")
    assert again is None and why == "already_acknowledged"
    st, status = led.apply(st, draft(ts=300.0), "p2")
    assert status == "updated" and st.acknowledged_by == "sam"
    ids = {escalation_id(st.dedup_key, st.incident, 1, "acknowledged"),
           escalation_id(st.dedup_key, st.incident, 2, "updated")}
    assert len(ids) == 2
    resolve, _ = action_draft(st, "resolve", "sam")
    st, status = led.apply(st, resolve, "action:resolve:sam:t2")
    assert status == "resolved"
    assert action_draft(st, "acknowledge", "sam") == (None, "already_resolved")
    # the next offence is a new incident, not yet acknowledged
    st, status = led.apply(st, draft(ts=400.0), "p3")
    assert (status, st.incident, st.acknowledged_by) == ("triggered", 2, "")


def test_trend_incidents_are_acknowledged_but_not_resolved_by_hand():
    from models.escalation import action_draft

    st = IncidentState("trend:r/x:volume:t", "triggered", "high", 0.0, 10.0, 1, type="trend",
                       community="r/x", platform="reddit", title="Outage trend")
    assert action_draft(st, "acknowledge", "sam")[0].acknowledge
    assert action_draft(st, "resolve", "sam") == (None, "trend_resolves_itself")
    assert action_draft(st, "snooze", "sam") == (None, "unknown_action")


# --- feed health ----------------------------------------------------------------------
def test_feed_health_needs_both_count_and_share_and_recovers_only_on_a_clean_window():
    from models.feed_health import FeedHealthMonitor, FeedHealthParams, FeedHealthState

    m = FeedHealthMonitor(FeedHealthParams(window_s=60, min_dead=5, min_ok=3))
    s = FeedHealthState()
    # a busy healthy feed with a few bad payloads: share too low, never failing
    changes = [m.observe(s, i * 0.5, ok=i % 10 != 0, reason="invalid_json") for i in range(100)]
    assert set(changes) == {None} and not s.failing
    s = FeedHealthState()
    changes = [m.observe(s, 100.0 + i, ok=False, reason="missing_field") for i in range(6)]
    assert changes.count("failing") == 1 and s.failing
    # windows of 60 s from 100: [160, 220) is a quarter dead letters and does not
    # recover; [220, 280) is clean and recovers when it closes, even after a silence
    for i in range(3):
        m.observe(s, 170.0 + i, ok=True)
    assert m.observe(s, 175.0, ok=False, reason="missing_field") is None
    for i in range(4):
        assert m.observe(s, 230.0 + i, ok=True) is None
    assert s.failing and FeedHealthState.from_dict(s.to_dict()) == s
    assert m.observe(s, 2000.0, ok=True) == "recovered"
    assert not s.failing and s.window_start == 1960.0 and s.ok == 1
