"""Which escalations go to which notifier: routes, minimum severity, quiet hours and
rate caps. Pure: the delivery loop (``connectors/notifiers/delivery.py``) asks
:meth:`RoutePolicy.decide` for each escalation and does what it says.

Rules, in order, per route:

1. **match**: the escalation's ``type`` (moderation, safety, trend, pipeline) and, for
   trends, ``kind`` (threat, opportunity) must be among the route's; ``communities``
   (empty: all) narrows further.
2. **statuses**: a route delivers only the statuses it wants (PagerDuty: triggered and
   resolved; updates would re-page nobody but add noise).
3. **resolves follow their trigger**: a resolve or update is delivered only when this
   route delivered the incident's trigger (or cannot know, after a restart), so a
   suppressed trigger never surfaces as a lonely resolve.
4. **min severity**: triggers below the route's ``min_severity`` are dropped.
5. **quiet hours** (route's time zone): triggers below ``quiet_min_severity`` are dropped
   while quiet; they stay on the ``escalations`` topic and in Grafana.
6. **rate cap**: at most ``rate_per_hour`` triggers per community per route (token
   bucket, burst = the hourly rate); beyond it, dropped and counted. Resolves are never
   capped: an open page must be closable.

>>> p = RoutePolicy(Route("pd", "pagerduty", types=("safety", "moderation"),
...                       min_severity="high", statuses=("triggered", "resolved")))
>>> esc = {"type": "safety", "severity": "critical", "status": "triggered",
...        "community": "r/x", "dedup_key": "k1", "evidence": {}}
>>> p.decide(esc, now=0.0)
'deliver'
>>> p.decide({**esc, "status": "updated"}, now=1.0)
'status'
>>> p.decide({**esc, "status": "resolved"}, now=2.0)
'deliver'
>>> p.decide({**esc, "dedup_key": "k2", "severity": "medium"}, now=3.0)
'severity'
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional
from zoneinfo import ZoneInfo

__all__ = ["Route", "RoutePolicy", "SEVERITY_RANK", "DECISIONS"]

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
#: what decide() answers; every answer but "deliver" is a reason for not delivering
DECISIONS = ("deliver", "no_match", "status", "no_trigger", "severity", "quiet_hours",
             "rate_cap")


@dataclass(frozen=True)
class Route:
    name: str
    sink: str  # pagerduty | slack | discord | webhook
    types: tuple[str, ...] = ("moderation", "safety", "trend", "pipeline")
    kinds: tuple[str, ...] = ("threat", "opportunity")  # for trends
    communities: tuple[str, ...] = ()  # empty: every community
    statuses: tuple[str, ...] = ("triggered", "updated", "acknowledged", "resolved")
    min_severity: str = "low"
    quiet_hours: Optional[tuple[str, str]] = None  # ("22:00", "07:00"), route's tz
    quiet_min_severity: str = "critical"  # what still gets through while quiet
    timezone: str = "UTC"
    rate_per_hour: float = 20.0
    settings: dict = field(default_factory=dict, compare=False)  # the sink's own

    def __post_init__(self):
        for name in (self.min_severity, self.quiet_min_severity):
            if name not in SEVERITY_RANK:
                raise ValueError(f"route {self.name}: unknown severity {name!r} "
                                 f"(one of {', '.join(SEVERITY_RANK)})")
        if self.quiet_hours is not None:
            for t in self.quiet_hours:
                dt.time.fromisoformat(t)  # ValueError names the bad value
        ZoneInfo(self.timezone)  # raises on an unknown zone
        if self.rate_per_hour <= 0:
            raise ValueError(f"route {self.name}: rate_per_hour must be positive")


def _kind(esc: dict) -> str:
    return (esc.get("evidence") or {}).get("kind") or "threat"


class RoutePolicy:
    def __init__(self, route: Route, *, remember: int = 10_000):
        self.route = route
        self._tz = ZoneInfo(route.timezone)
        self._buckets: dict[str, tuple[float, float]] = {}  # community -> (tokens, at)
        # dedup_key -> whether this route delivered its trigger (bounded)
        self._triggers: "OrderedDict[str, bool]" = OrderedDict()
        self._remember = remember

    def decide(self, esc: dict, *, now: float) -> str:
        r = self.route
        if esc["type"] not in r.types or (
                esc["type"] == "trend" and _kind(esc) not in r.kinds) or (
                r.communities and esc["community"] not in r.communities):
            return "no_match"
        status, key = esc["status"], esc["dedup_key"]
        if status != "triggered":
            if status not in r.statuses:
                return "status"
            # Unknown (e.g. after a restart): deliver; closing a page twice is harmless.
            return "deliver" if self._triggers.get(key, True) else "no_trigger"
        decision = self._decide_trigger(esc, now)
        self._triggers[key] = decision == "deliver"
        self._triggers.move_to_end(key)
        while len(self._triggers) > self._remember:
            self._triggers.popitem(last=False)
        return decision

    def _decide_trigger(self, esc: dict, now: float) -> str:
        r = self.route
        if "triggered" not in r.statuses:
            return "status"
        rank = SEVERITY_RANK.get(esc["severity"], 0)
        if rank < SEVERITY_RANK[r.min_severity]:
            return "severity"
        if self.quiet(now) and rank < SEVERITY_RANK[r.quiet_min_severity]:
            return "quiet_hours"
        tokens, at = self._buckets.get(esc["community"], (r.rate_per_hour, now))
        tokens = min(r.rate_per_hour, tokens + max(0.0, now - at) * r.rate_per_hour / 3600.0)
        if tokens < 1.0:
            self._buckets[esc["community"]] = (tokens, now)
            return "rate_cap"
        self._buckets[esc["community"]] = (tokens - 1.0, now)
        return "deliver"

    def quiet(self, now: float) -> bool:
        """Whether ``now`` (unix seconds) falls in the route's quiet hours.

        >>> p = RoutePolicy(Route("s", "slack", quiet_hours=("22:00", "07:00")))
        >>> p.quiet(dt.datetime(2026, 11, 2, 23, 30, tzinfo=dt.timezone.utc).timestamp())
        True
        >>> p.quiet(dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.timezone.utc).timestamp())
        False
        """
        if self.route.quiet_hours is None:
            return False
        start, end = (dt.time.fromisoformat(t) for t in self.route.quiet_hours)
        local = dt.datetime.fromtimestamp(now, self._tz).time()
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # spans midnight
