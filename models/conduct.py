"""The repeat-offender ledger: from one author's violations to a recommended action.

Vigil recommends, a human decides. For each author in each community the ledger keeps
the recent violations and the last recommendation, and answers one question per new
violation: on this community's ladder (note, warn, timeout, suspend, ban), where does
this author stand now?

Semantics:

* **Event time only.** Ages are measured from the violation's own ``ts`` (when the
  post was written), never the wall clock, so a replay gives the same answers.
* **Decayed strikes per window.** For each ladder step, the violations written in
  ``(ts - within_s, ts]`` count with weight ``0.5 ** (age / decay_half_life_s)``. A step
  is reached when that weighted count is at least ``strikes - 0.5`` (it rounds to the
  step's strikes): N violations in quick succession always reach the N-strike step,
  while the same violations spread over months fade and do not climb the ladder.
* **Highest step wins.** The recommendation is the most severe step reached; below the
  first step it is ``none``.
* **Bans need cause.** With ``ban_requires_severe_or_persistent`` a ``ban`` step only
  yields ``ban`` when a violation in its window is severe or a ``suspend`` has been
  recommended for this author before (they came back after a suspension). Otherwise
  it is capped at ``suspend`` and the reason says why.
* **No stepping down soon after.** Within the window of the step that earned the last
  recommendation, a new violation is never answered with a milder action: a ``note``
  five minutes after a ``timeout`` is another ``timeout``.
* **Redelivery is a no-op.** A violation whose ``post_id`` the state already holds
  changes nothing and returns the previous recommendation.

>>> day = 86400.0
>>> policy = ConductPolicy(DEFAULT_LADDER)
>>> state = ConductState()
>>> [policy.record(state, Violation(t * 3600.0, f"p{t}", "insult", 0.9, False)).action
...  for t in range(4)]
['note', 'warn', 'timeout', 'suspend']
>>> r = policy.record(state, Violation(5 * 3600.0, "p5", "profanity", 0.85, False))
>>> r.action, r.duration_s == 7 * day
('suspend', True)
>>> r.reason
'5th violation in 30 days (insult, insult, insult, insult, profanity): 7 d suspension'
>>> policy.record(state, Violation(5 * 3600.0, "p5", "profanity", 0.85, False)) == r
True
>>> severity_for(r.action)
'high'
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass, field
from typing import Optional

__all__ = ["ACTIONS", "Violation", "LadderStep", "Ladder", "Recommendation", "ConductState",
           "ConductPolicy", "DEFAULT_LADDER", "severity_for", "action_rank"]

#: Ordered by severity, mildest first.
ACTIONS = ("none", "note", "warn", "timeout", "suspend", "ban")
_RANK = {a: i for i, a in enumerate(ACTIONS)}
_SEVERITY = {"none": "low", "note": "low", "warn": "medium", "timeout": "medium",
             "suspend": "high", "ban": "critical"}
#: Actions that can carry a duration (a note or a warning has none).
_TIMED = frozenset({"timeout", "suspend", "ban"})
_HOUR, _DAY = 3600.0, 86400.0


def action_rank(action: str) -> int:
    """Position of ``action`` in :data:`ACTIONS` (0 = none)."""
    try:
        return _RANK[action]
    except KeyError:
        raise ValueError(f"{action!r} is not one of {', '.join(ACTIONS)}") from None


def severity_for(action: str) -> str:
    """Escalation severity for a recommended action.

    >>> [severity_for(a) for a in ACTIONS]
    ['low', 'low', 'medium', 'medium', 'high', 'critical']
    """
    action_rank(action)
    return _SEVERITY[action]


@dataclass(frozen=True)
class Violation:
    ts: float  # event time of the post, epoch seconds
    post_id: str
    category: str
    score: float
    severe: bool


@dataclass(frozen=True)
class LadderStep:
    strikes: int
    within_s: float
    action: str
    duration_s: Optional[float] = None


@dataclass(frozen=True)
class Ladder:
    """One community's escalation ladder (from ``config/communities.toml``)."""

    steps: tuple[LadderStep, ...]
    decay_half_life_s: float
    ban_requires_severe_or_persistent: bool = True

    def validate(self) -> None:
        """Raise ``ValueError`` naming the offending key, e.g. ``steps[2].action: ...``.

        >>> Ladder((LadderStep(2, 60, "warn"), LadderStep(1, 60, "note")), 60).validate()
        Traceback (most recent call last):
        ...
        ValueError: steps[1].strikes: 1 must be greater than steps[0].strikes (2)
        """
        if not (isinstance(self.decay_half_life_s, (int, float))
                and not isinstance(self.decay_half_life_s, bool)
                and self.decay_half_life_s > 0):  # inf = no decay; NaN fails here
            raise ValueError(f"decay_half_life: {self.decay_half_life_s!r} must be a "
                             "positive number of seconds")
        if not self.steps:
            raise ValueError("steps: a ladder needs at least one step")
        prev: Optional[LadderStep] = None
        for i, step in enumerate(self.steps):
            key = f"steps[{i}]"
            if step.action not in _RANK:
                raise ValueError(f"{key}.action: {step.action!r} is not one of "
                                 f"{', '.join(ACTIONS)}")
            if (isinstance(step.strikes, bool) or not isinstance(step.strikes, int)
                    or step.strikes < 1):
                raise ValueError(f"{key}.strikes: {step.strikes!r} must be a whole number >= 1")
            if not _positive_finite(step.within_s):
                raise ValueError(f"{key}.within: {step.within_s!r} must be a positive, "
                                 "finite number of seconds")
            if step.duration_s is not None:
                if step.action not in _TIMED:
                    raise ValueError(f"{key}.duration: a {step.action!r} has no duration "
                                     f"(only {', '.join(sorted(_TIMED))} do)")
                if not _positive_finite(step.duration_s):
                    raise ValueError(f"{key}.duration: {step.duration_s!r} must be a positive, "
                                     "finite number of seconds")
            if prev is not None:
                if step.strikes <= prev.strikes:
                    raise ValueError(f"{key}.strikes: {step.strikes} must be greater than "
                                     f"steps[{i - 1}].strikes ({prev.strikes})")
                if _RANK[step.action] < _RANK[prev.action]:
                    raise ValueError(f"{key}.action: {step.action!r} is milder than "
                                     f"steps[{i - 1}].action ({prev.action!r}); actions must "
                                     "not decrease up the ladder")
            prev = step

    def step_for(self, action: str) -> Optional[LadderStep]:
        """The highest step recommending ``action``, if the ladder has one."""
        for step in reversed(self.steps):
            if step.action == action:
                return step
        return None


#: 1 strike -> note; 2 in 24 h -> warn; 3 in 7 d -> 24 h timeout; 4 in 30 d -> 7 d
#: suspension; 6 in 90 d -> ban. Strikes halve every 30 days.
DEFAULT_LADDER = Ladder(
    steps=(LadderStep(1, 24 * _HOUR, "note"),
           LadderStep(2, 24 * _HOUR, "warn"),
           LadderStep(3, 7 * _DAY, "timeout", 24 * _HOUR),
           LadderStep(4, 30 * _DAY, "suspend", 7 * _DAY),
           LadderStep(6, 90 * _DAY, "ban")),
    decay_half_life_s=30 * _DAY,
)


@dataclass(frozen=True)
class Recommendation:
    action: str
    reason: str  # one human sentence for the community manager
    strikes: float  # decayed strike count in the window the reason cites
    duration_s: Optional[float]
    violations: tuple[str, ...]  # post ids in that window: the evidence

    def to_dict(self) -> dict:
        return {**asdict(self), "violations": list(self.violations)}

    @classmethod
    def from_dict(cls, d: dict) -> "Recommendation":
        return cls(**{**d, "violations": tuple(d.get("violations", ()))})


@dataclass
class ConductState:
    """One author in one community; ``to_dict``/``from_dict`` for a Faust table."""

    # [ts, post_id, category, score, severe], oldest first, bounded by the policy
    violations: list = field(default_factory=list)
    last_action: str = "none"
    last_action_ts: float = 0.0
    last_duration_s: Optional[float] = None
    suspended_ts: Optional[float] = None  # event time of the latest "suspend" recommended
    last_recommendation: Optional[dict] = None  # returned again on redelivery

    def seen(self, post_id: str) -> bool:
        return any(v[1] == post_id for v in self.violations)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "ConductState":
        if not d:
            return cls()
        d = dict(d)
        d["violations"] = [list(v) for v in d.get("violations", [])]
        return cls(**d)


class ConductPolicy:
    def __init__(self, ladder: Ladder, max_violations: int = 50):
        ladder.validate()
        if max_violations < 1:
            raise ValueError("max_violations must be at least 1")
        self.ladder = ladder
        self.max_violations = max_violations

    def record(self, state: ConductState, v: Violation) -> Recommendation:
        """Add ``v`` to ``state`` (in place) and recommend what a moderator should do."""
        if state.seen(v.post_id):  # redelivered after a crash: nothing new
            if state.last_recommendation is not None:
                return Recommendation.from_dict(state.last_recommendation)
            return Recommendation("none", "already recorded", 0.0, None, (v.post_id,))
        entry = [float(v.ts), str(v.post_id), str(v.category), float(v.score), bool(v.severe)]
        keys = [row[0] for row in state.violations]
        state.violations.insert(bisect.bisect_right(keys, entry[0]), entry)

        rec = self._decide(state, v)

        del state.violations[: -self.max_violations]
        if rec.action == "suspend":
            state.suspended_ts = max(state.suspended_ts or v.ts, v.ts)
        state.last_action = rec.action
        state.last_duration_s = rec.duration_s
        state.last_action_ts = max(state.last_action_ts, v.ts)
        state.last_recommendation = rec.to_dict()
        return rec

    # ------------------------------------------------------------------------
    def _earned(self, action: str, duration_s: Optional[float]) -> Optional[LadderStep]:
        """The step that most likely produced a past recommendation."""
        for step in self.ladder.steps:
            if step.action == action and step.duration_s == duration_s:
                return step
        return self.ladder.step_for(action)

    def _window(self, state: ConductState, ts: float, within_s: float) -> tuple[float, list]:
        """Decayed strike count and the violations in ``(ts - within_s, ts]``."""
        rows = [r for r in state.violations if ts - within_s < r[0] <= ts]
        half = self.ladder.decay_half_life_s
        weight = sum(0.5 ** ((ts - r[0]) / half) if math.isfinite(half) else 1.0 for r in rows)
        return weight, rows

    def _decide(self, state: ConductState, v: Violation) -> Recommendation:
        ladder = self.ladder
        reached: Optional[LadderStep] = None
        strikes, rows = self._window(state, v.ts, ladder.steps[0].within_s)
        for step in ladder.steps:
            w, r = self._window(state, v.ts, step.within_s)
            if w >= step.strikes - 0.5:
                reached, strikes, rows = step, w, r
        action = reached.action if reached else "none"
        duration = reached.duration_s if reached else None
        window_s = reached.within_s if reached else ladder.steps[0].within_s
        what = f"{_ordinal(len(rows))} violation in {_span(window_s)} ({_categories(rows)})"
        notes: list[str] = []

        if action == "ban" and ladder.ban_requires_severe_or_persistent:
            severe = any(r[4] for r in rows)
            persistent = state.suspended_ts is not None and state.suspended_ts <= v.ts
            if not (severe or persistent):
                capped = ladder.step_for("suspend")
                action, duration = "suspend", capped.duration_s if capped else None
                notes.append("ban step reached, but capped at suspension: none of these "
                             "was severe and the author has not been suspended before")

        last = state.last_action
        if last in _RANK and _weight(action, duration) < _weight(last, state.last_duration_s):
            earned = self._earned(last, state.last_duration_s)
            hold_s = earned.within_s if earned else 24 * _HOUR
            since = v.ts - state.last_action_ts
            if since < hold_s:
                notes.append(f"kept from the {_phrase(last, state.last_duration_s)} "
                             f"recommended {_ago(since)} rather than stepping down to "
                             f"{_article(_phrase(action, duration))}")
                action, duration = last, state.last_duration_s

        reason = f"{what}: {_phrase(action, duration)}"
        if notes:
            reason += " (" + "; ".join(notes) + ")"
        return Recommendation(action=action, reason=reason, strikes=round(strikes, 3),
                              duration_s=duration, violations=tuple(r[1] for r in rows))


# ---------------------------------------------------------------------------- text
def _positive_finite(x: object) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)
            and math.isfinite(x) and x > 0)


def _ordinal(n: int) -> str:
    """
    >>> [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '103rd']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _unit(seconds: float) -> tuple[float, str]:
    s = float(seconds)
    if s >= 2 * _DAY and s % _DAY == 0:
        return s / _DAY, "d"
    if s >= _HOUR and s % _HOUR == 0:
        return s / _HOUR, "h"
    if s >= 60 and s % 60 == 0:
        return s / 60, "min"
    return s, "s"


def _short(seconds: float) -> str:
    """
    >>> _short(86400), _short(7 * 86400), _short(1800), _short(90)
    ('24 h', '7 d', '30 min', '90 s')
    """
    n, unit = _unit(seconds)
    return f"{n:g} {unit}"


def _span(seconds: float) -> str:
    """
    >>> _span(86400), _span(7 * 86400), _span(3600), _span(90)
    ('24 hours', '7 days', '1 hour', '90 seconds')
    """
    n, unit = _unit(seconds)
    word = {"d": "day", "h": "hour", "min": "minute", "s": "second"}[unit]
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def _ago(seconds: float) -> str:
    if seconds <= 0:
        return "for a later post"  # out-of-order event: the last one is newer
    if seconds < 60:
        return f"{seconds:.0f} s earlier"
    if seconds < _HOUR:
        return f"{seconds / 60:.0f} min earlier"
    if seconds < 2 * _DAY:
        return f"{seconds / _HOUR:.0f} h earlier"
    return f"{seconds / _DAY:.0f} d earlier"


def _weight(action: str, duration: Optional[float]) -> tuple[int, float]:
    """Orders recommendations: by action, then by duration (none = indefinite)."""
    if action in _TIMED:
        return _RANK[action], math.inf if duration is None else duration
    return _RANK[action], 0.0


def _article(phrase: str) -> str:
    if phrase.startswith(("no ", "a ", "an ")):
        return phrase
    return ("an " if phrase[0] in "aeiou8" or phrase.startswith(("11 ", "18 ")) else "a ") + phrase


def _phrase(action: str, duration: Optional[float]) -> str:
    if action == "none":
        return "no action"
    if action == "note":
        return "note on the author's record"
    if action == "warn":
        return "warning"
    noun = {"timeout": "timeout", "suspend": "suspension", "ban": "ban"}[action]
    if duration is None:
        return {"timeout": "timeout", "suspend": "suspension until lifted",
                "ban": "permanent ban"}[action]
    return f"{_short(duration)} {noun}"


def _categories(rows: list, limit: int = 6) -> str:
    cats = [str(r[2]) for r in rows]
    if len(cats) > limit:
        return f"{len(cats) - limit} earlier, " + ", ".join(cats[-limit:])
    return ", ".join(cats)
