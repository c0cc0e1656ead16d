"""The repeat-offender ledger: ladder, decay, ban gating, idempotency, persistence."""

from __future__ import annotations

import json

import pytest

from models.conduct import (ACTIONS, DEFAULT_LADDER, ConductPolicy, ConductState, Ladder,
                            LadderStep, Recommendation, Violation, severity_for)

H, D = 3600.0, 86400.0
T0 = 1_793_606_400.0  # 2026-11-02T08:00:00Z: event time, far from the wall clock


def v(hours: float, pid: str, category: str = "insult", severe: bool = False,
      score: float = 0.9) -> Violation:
    return Violation(T0 + hours * H, pid, category, score, severe)


@pytest.fixture
def policy() -> ConductPolicy:
    return ConductPolicy(DEFAULT_LADDER)


def test_ladder_progression_over_event_time(policy):
    state = ConductState()
    recs = [policy.record(state, v(0, "p1")),
            policy.record(state, v(3, "p2", "profanity")),  # 2 within 24 h
            policy.record(state, v(30, "p3")),  # 3 within 7 d
            policy.record(state, v(72, "p4", "spam"))]  # 4 within 30 d
    assert [r.action for r in recs] == ["note", "warn", "timeout", "suspend"]
    assert [r.duration_s for r in recs] == [None, None, 24 * H, 7 * D]
    assert recs[2].reason == "3rd violation in 7 days (insult, profanity, insult): 24 h timeout"
    assert recs[1].reason.startswith("2nd violation in 24 hours (insult, profanity)")
    assert recs[3].violations == ("p1", "p2", "p3", "p4")  # the evidence
    assert 3.5 < recs[3].strikes < 4  # decayed, but still the 4th strike
    assert state.last_action == "suspend" and state.last_action_ts == T0 + 72 * H


def test_only_event_time_matters(policy, monkeypatch):
    import time

    monkeypatch.setattr(time, "time", lambda: 0.0)  # a wall clock that is way off
    state = ConductState()
    assert policy.record(state, v(0, "p1")).action == "note"
    assert policy.record(state, v(1, "p2")).action == "warn"


def test_second_violation_outside_the_warn_window_is_a_note(policy):
    state = ConductState()
    policy.record(state, v(0, "p1"))
    rec = policy.record(state, v(48, "p2"))  # 2 days later: not 2 within 24 h
    assert rec.action == "note"
    assert rec.reason.startswith("1st violation in 24 hours (insult)")


def test_strikes_spread_over_months_do_not_climb(policy):
    state = ConductState()
    recs = [policy.record(state, v(day * 24, f"p{day}")) for day in range(0, 300, 25)]
    assert {r.action for r in recs} == {"note"}
    assert max(r.strikes for r in recs) <= 1.0


def test_decay_keeps_old_strikes_from_reaching_a_step():
    # No decay: 4 violations over 29 days reach "4 within 30 d".
    no_decay = ConductPolicy(Ladder(DEFAULT_LADDER.steps, float("inf")))
    # Fast decay (half-life 5 d): the old ones have faded below the step.
    fast = ConductPolicy(Ladder(DEFAULT_LADDER.steps, 5 * D))
    hours = [0, 10 * 24, 20 * 24, 29 * 24]
    s1, s2 = ConductState(), ConductState()
    a = [no_decay.record(s1, v(h, f"p{h}")).action for h in hours]
    b = [fast.record(s2, v(h, f"p{h}")).action for h in hours]
    assert a[-1] == "suspend"
    assert b[-1] == "note"


def ban_ladder(gate: bool = True) -> Ladder:
    return Ladder((LadderStep(1, D, "note"), LadderStep(3, 7 * D, "suspend", 7 * D),
                   LadderStep(5, 30 * D, "ban")), 30 * D, gate)


def test_ban_capped_without_severe_or_prior_suspend_and_reason_says_why():
    policy = ConductPolicy(Ladder((LadderStep(1, D, "note"), LadderStep(2, D, "ban")), 30 * D))
    state = ConductState()
    policy.record(state, v(0, "p1"))
    rec = policy.record(state, v(1, "p2"))
    assert rec.action == "suspend"
    assert "ban step reached" in rec.reason and "severe" in rec.reason
    assert "suspended before" in rec.reason


def test_ban_with_a_severe_violation_in_the_window():
    policy = ConductPolicy(Ladder((LadderStep(1, D, "note"), LadderStep(2, D, "ban")), 30 * D))
    state = ConductState()
    policy.record(state, v(0, "p1", "threat", severe=True))
    rec = policy.record(state, v(1, "p2"))
    assert rec.action == "ban" and rec.duration_s is None
    assert rec.reason == "2nd violation in 24 hours (threat, insult): permanent ban"
    assert severity_for(rec.action) == "critical"


def test_ban_after_a_prior_suspend_is_persistent():
    policy = ConductPolicy(ban_ladder())
    state = ConductState()
    actions = [policy.record(state, v(h * 12, f"p{h}")).action for h in range(6)]
    # the 3rd is suspended; the 5th reaches the ban step after that suspension
    assert actions == ["note", "note", "suspend", "suspend", "ban", "ban"]


def test_ban_gate_can_be_switched_off():
    policy = ConductPolicy(Ladder((LadderStep(1, D, "note"), LadderStep(2, D, "ban")), 30 * D,
                                  ban_requires_severe_or_persistent=False))
    state = ConductState()
    policy.record(state, v(0, "p1"))
    assert policy.record(state, v(1, "p2")).action == "ban"


def test_redelivered_post_is_idempotent(policy):
    state = ConductState()
    policy.record(state, v(0, "p1"))
    second = policy.record(state, v(1, "p2"))
    before = json.dumps(state.to_dict(), sort_keys=True)
    again = policy.record(state, v(1, "p2"))
    assert again == second
    assert json.dumps(state.to_dict(), sort_keys=True) == before
    # an older post redelivered changes nothing either
    assert policy.record(state, v(0, "p1")) == second
    assert len(state.violations) == 2


def test_no_backwards_recommendation_soon_after():
    ladder = Ladder((LadderStep(1, D, "note"), LadderStep(2, D, "warn"),
                     LadderStep(3, D, "timeout", D)), 30 * D)
    policy, state = ConductPolicy(ladder), ConductState()
    assert [policy.record(state, v(h, f"p{h}")).action for h in (0, 1, 2)] == \
        ["note", "warn", "timeout"]
    # 23 h later the 24 h window holds 2 violations (a warning on its own): still a timeout
    rec = policy.record(state, v(25, "p25"))
    assert rec.action == "timeout" and rec.duration_s == D
    assert rec.reason == ("2nd violation in 24 hours (insult, insult): 24 h timeout (kept from "
                          "the 24 h timeout recommended 23 h earlier rather than stepping "
                          "down to a warning)")
    # a post written before all the others but delivered late: never a note either
    late = policy.record(state, v(-10, "early"))
    assert late.action == "timeout" and "recommended for a later post" in late.reason
    # once the timeout's 24 h window has passed, a lone violation is a note again
    assert policy.record(state, v(25 + 30, "p55")).action == "note"


def test_no_backwards_within_the_same_action_by_duration():
    ladder = Ladder((LadderStep(1, H, "note"), LadderStep(2, D, "timeout", H),
                     LadderStep(3, D, "timeout", D)), 30 * D)
    policy, state = ConductPolicy(ladder), ConductState()
    durations = [policy.record(state, v(h, f"p{h}")).duration_s for h in (0, 1, 2)]
    assert durations == [None, H, D]
    # 23 h later only 1 violation in 24 h: would be a note; stays a 24 h timeout
    rec = policy.record(state, v(25, "p25"))
    assert (rec.action, rec.duration_s) == ("timeout", D)


def test_state_json_round_trip_continues_identically(policy):
    events = [v(0, "p1"), v(2, "p2", "spam"), v(20, "p3"), v(70, "p4", "threat", True),
              v(71, "p5"), v(90, "p6"), v(75, "late"), v(2, "p2", "spam")]
    straight, straight_state = [], ConductState()
    for e in events:
        straight.append(policy.record(straight_state, e))
    resumed, state = [], ConductState()
    for e in events:
        state = ConductState.from_dict(json.loads(json.dumps(state.to_dict())))
        resumed.append(policy.record(state, e))
    assert resumed == straight
    assert state.to_dict() == json.loads(json.dumps(straight_state.to_dict()))
    assert ConductState.from_dict(None) == ConductState()
    rec = straight[-1]
    assert Recommendation.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_history_is_bounded():
    policy = ConductPolicy(DEFAULT_LADDER, max_violations=5)
    state = ConductState()
    for i in range(12):
        policy.record(state, v(i, f"p{i}"))
    assert [row[1] for row in state.violations] == [f"p{i}" for i in range(7, 12)]


def test_out_of_order_violations_are_kept_in_event_time_order(policy):
    state = ConductState()
    policy.record(state, v(10, "b"))
    policy.record(state, v(5, "a"))
    assert [row[1] for row in state.violations] == ["a", "b"]


def test_below_the_first_step_is_none():
    policy = ConductPolicy(Ladder((LadderStep(2, D, "warn"),), 30 * D))
    rec = policy.record(ConductState(), v(0, "p1"))
    assert rec.action == "none" and rec.reason.endswith(": no action")
    assert severity_for("none") == "low"


def test_severity_for():
    assert [severity_for(a) for a in ACTIONS] == ["low", "low", "medium", "medium", "high",
                                                  "critical"]
    with pytest.raises(ValueError, match="'jail' is not one of"):
        severity_for("jail")


@pytest.mark.parametrize("ladder, message", [
    (Ladder((), D), r"steps: a ladder needs at least one step"),
    (Ladder((LadderStep(1, D, "note"),), 0), r"decay_half_life: 0 must be a positive"),
    (Ladder((LadderStep(1, D, "jail"),), D), r"steps\[0\]\.action: 'jail' is not one of none"),
    (Ladder((LadderStep(0, D, "note"),), D), r"steps\[0\]\.strikes: 0 must be"),
    (Ladder((LadderStep(1, 0, "note"),), D), r"steps\[0\]\.within: 0 must be a positive"),
    (Ladder((LadderStep(1, D, "note"), LadderStep(1, D, "warn")), D),
     r"steps\[1\]\.strikes: 1 must be greater than steps\[0\]\.strikes \(1\)"),
    (Ladder((LadderStep(1, D, "warn"), LadderStep(2, D, "note")), D),
     r"steps\[1\]\.action: 'note' is milder than steps\[0\]\.action \('warn'\)"),
    (Ladder((LadderStep(1, D, "warn", H),), D), r"steps\[0\]\.duration: a 'warn' has no"),
    (Ladder((LadderStep(1, D, "timeout", -1.0),), D), r"steps\[0\]\.duration: -1.0 must be"),
    (Ladder((LadderStep(1, float("nan"), "note"),), D), r"steps\[0\]\.within"),
])
def test_ladder_validate_errors(ladder, message):
    with pytest.raises(ValueError, match=message):
        ladder.validate()
    with pytest.raises(ValueError):
        ConductPolicy(ladder)


def test_default_ladder_is_valid():
    DEFAULT_LADDER.validate()
