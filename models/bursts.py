"""Volume bursts per community, in event time, against an adaptive baseline.

Each community's posts fall into tumbling event-time windows of ``window_s``. When a
window closes, its count updates an exponentially weighted mean and variance of
"posts per window" (Welford-style EWMA, ``alpha``). While a window is open, the running
count is compared with that baseline; once it exceeds ``mean + z·σ`` (σ floored at the
Poisson σ = √mean, so a very regular community does not alert on noise), at least
``min_count`` posts, and the count is this unlikely under Poisson(mean) (``max_p``: at a
few posts per window the z-score alone fired on ~12% of random days), a burst starts.
It ends at the first window that closes back
under ``mean + 2σ``. Windows inside a burst do not feed the baseline, so a long burst
does not teach the detector that bursts are normal.

Before that, a window that gets half-way (``z/2``, ``min_count/2`` and ``√max_p``) reports
``emerging`` once: a candidate for dashboards, never a page, which either becomes the
burst's ``rising`` or simply stops. One burst is one trend with a stable ``trend_id`` and
a lifecycle: ``rising`` when it starts; at each window of the burst that closes, ``peaking`` (the window matched or beat
the burst's best so far) or ``fading`` (below its best, still far above normal); and
``resolved`` at the first window back to normal. Downstream updates one incident with
these instead of raising new ones.

>>> from models.bursts import BurstDetector, BurstParams
>>> d = BurstDetector(BurstParams(window_s=60, z=4, min_count=8, min_history=5, alpha=0.2))
>>> state = BurstState()
>>> quiet = [d.observe(state, t * 20.0, f"q{t}", "all fine here", 0.1, False) for t in range(30)]
>>> sum(len(s) for s in quiet)
0
>>> burst = [d.observe(state, 600 + i, f"b{i}", "servers down again", -0.6, False) for i in range(20)]
>>> [(s.state, s.kind) for out in burst for s in out]
[('emerging', 'threat'), ('rising', 'threat')]
>>> after = [d.observe(state, 700 + t * 20.0, f"a{t}", "ok now", 0.2, False) for t in range(10)]
>>> [s.state for out in after for s in out]
['peaking', 'resolved']
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from models.plain_data import as_plain_dict

__all__ = ["BurstParams", "BurstState", "BurstSignal", "BurstDetector", "top_terms",
           "terms_of", "poisson_sf"]

_WORD = re.compile(r"[a-z][a-z0-9'\-]{2,}")
STOPWORDS = frozenset("""
the and for are but not you all any can had her was one our out has him his how its
let may new now old see two way who did get got just than that this with have from they
will your what when been were into more some them then there these would about which
their also only over such very even much like after back still here dont cant im ive
its thats youre theyre isnt wasnt again really today because could should being every
http https www com amp
""".split())


def terms_of(text: str) -> set[str]:
    """The distinct content words of a post (lower-case, no stopwords, no URL parts).

    >>> sorted(terms_of("RT Servers DOWN again http://t.co/x the servers!"))
    ['down', 'servers']
    """
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


#: An hour needs this many closed windows (two days at 10-minute windows) before its
#: own profile replaces the overall level; each window moves it this much.
SEASON_READY = 12
SEASON_ALPHA = 0.2


def _ewma(mean: float, var: float, x: float, alpha: float) -> tuple[float, float]:
    diff = x - mean
    incr = alpha * diff
    return mean + incr, (1 - alpha) * (var + diff * incr)


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed in log space (no scipy on the hot path).

    >>> round(poisson_sf(12, 3.5), 6), poisson_sf(0, 3.5)
    (0.000289, 1.0)
    """
    if k <= 0:
        return 1.0
    log_lam = math.log(lam)
    # P(X < k) = sum_{i<k} exp(i·log λ − λ − log i!)
    cdf = sum(math.exp(i * log_lam - lam - math.lgamma(i + 1)) for i in range(k))
    return max(0.0, 1.0 - cdf)


def top_terms(counts: "Counter[str] | dict[str, int]", n: int = 5) -> list[str]:
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


@dataclass(frozen=True)
class BurstParams:
    window_s: float = 600.0
    z: float = 4.0
    min_count: int = 8
    min_history: int = 6
    alpha: float = 0.1
    max_p: float = 1e-5  # the window must also be this unlikely under Poisson(mean)
    max_exemplars: int = 3
    sample_size: int = 30  # texts kept per burst for classifying what it is about
    max_terms_tracked: int = 200


@dataclass
class BurstState:
    """One community's detector state; ``to_dict``/``from_dict`` for a Faust table."""

    window_start: Optional[float] = None
    count: int = 0
    mean: float = 0.0
    var: float = 0.0
    n_windows: int = 0
    # the burst in progress, if any; the burst_* aggregates cover the open window
    # when no burst is active
    active: bool = False
    burst_start: float = 0.0
    burst_first_seen: float = 0.0
    burst_count: int = 0
    burst_peak: int = 0
    burst_zscore: float = 0.0
    burst_kind: str = ""  # decided when the burst triggers, kept until it resolves
    burst_peak_window: int = 0  # highest closed-window count of the burst
    burst_reported: str = ""  # the lifecycle state last reported, and at what volume
    burst_reported_volume: int = 0
    burst_sentiment_sum: float = 0.0
    burst_toxic: int = 0
    burst_terms: dict = field(default_factory=dict)
    burst_exemplars: list = field(default_factory=list)  # [post_id, snippet]
    burst_sample: list = field(default_factory=list)  # texts, for the trend classifier
    emerged: Optional[float] = None  # the window that last reported "emerging"
    platform: str = ""
    # hour-of-day profile (UTC): EWMA mean/variance of window counts per hour, and how
    # many windows taught each hour; used once an hour has SEASON_READY windows
    season_mean: list = field(default_factory=lambda: [0.0] * 24)
    season_var: list = field(default_factory=lambda: [0.0] * 24)
    season_n: list = field(default_factory=lambda: [0] * 24)

    def expected(self) -> tuple[float, float]:
        """Mean and σ of the open window's count: the hour's own profile once it has
        enough history (a daily rhythm is not a burst), else the overall level."""
        h = int(((self.window_start or 0.0) // 3600) % 24)
        if self.season_n[h] >= SEASON_READY:
            m, v = self.season_mean[h], self.season_var[h]
        else:
            m, v = self.mean, self.var
        return m, max(math.sqrt(v), math.sqrt(max(m, 1.0)))

    def sigma(self) -> float:
        return self.expected()[1]

    def zscore(self, count: int) -> float:
        m, sd = self.expected()
        return (count - m) / sd

    def learn_window(self, count: int, alpha: float, window_start: float = 0.0) -> None:
        """EWMA update of the level and of the window's hour with one closed count."""
        if self.n_windows == 0:
            self.mean, self.var = float(count), 0.0
        else:
            self.mean, self.var = _ewma(self.mean, self.var, count, alpha)
        self.n_windows += 1
        h = int((window_start // 3600) % 24)
        if self.season_n[h] == 0:
            self.season_mean[h], self.season_var[h] = float(count), 0.0
        else:
            self.season_mean[h], self.season_var[h] = _ewma(
                self.season_mean[h], self.season_var[h], count, SEASON_ALPHA)
        self.season_n[h] += 1

    def to_dict(self) -> dict:
        return as_plain_dict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "BurstState":
        return cls(**d) if d else cls()


@dataclass(frozen=True)
class BurstSignal:
    """What the detector says about a community burst; maps onto ``TrendSignal``."""

    state: str  # "emerging" | "rising" | "peaking" | "fading" | "resolved"
    kind: str  # "threat" | "opportunity" | "neutral"
    severity: str
    window_start: float
    window_end: float
    volume: int
    baseline: float
    zscore: float
    growth_rate: float
    sentiment: float
    toxicity_share: float
    first_seen: float
    top_terms: tuple[str, ...]
    exemplars: tuple[tuple[str, str], ...]  # (post_id, snippet)
    sample: tuple[str, ...] = ()  # up to sample_size texts of the burst


class BurstDetector:
    def __init__(self, params: BurstParams):
        self.p = params

    def observe(self, s: BurstState, ts: float, post_id: str, text: str,
                sentiment: float, toxic: bool) -> list[BurstSignal]:
        """Count one post into its community's state; return the signals it causes."""
        p = self.p
        out: list[BurstSignal] = []
        if s.window_start is None:
            s.window_start = math.floor(ts / p.window_s) * p.window_s
        if ts < s.window_start:
            return out  # late beyond the open window: scored elsewhere, not counted here
        if ts >= s.window_start + p.window_s:
            out.extend(self._close_windows(s, ts))
        s.count += 1
        # Aggregates cover the open window, or the whole burst while one is active.
        self._accumulate(s, post_id, text, sentiment, toxic)
        if s.active:
            s.burst_peak = max(s.burst_peak, s.count)
            s.burst_zscore = max(s.burst_zscore, s.zscore(s.count))
            return out
        if s.n_windows < p.min_history:
            return out
        z = s.zscore(s.count)
        if (s.count >= p.min_count and z >= p.z
                and poisson_sf(s.count, max(s.expected()[0], 0.5)) <= p.max_p):
            s.active = True
            s.burst_start, s.burst_first_seen = s.window_start, ts
            s.burst_peak = s.count
            s.burst_zscore = s.zscore(s.count)
            s.burst_kind = ""
            s.burst_peak_window = 0
            s.burst_reported, s.burst_reported_volume = "rising", s.count
            out.append(self._signal(s, "rising", s.window_start + p.window_s))
        elif (s.emerged != s.window_start and z >= p.z / 2
              and s.count >= max(2, math.ceil(p.min_count / 2))
              and poisson_sf(s.count, max(s.expected()[0], 0.5)) <= math.sqrt(p.max_p)):
            # Half-way to a burst (in z and in log-probability): worth a look on a
            # dashboard, not a page. Once a window.
            s.emerged = s.window_start
            s.burst_zscore = z
            sig = self._signal(s, "emerging", s.window_start + p.window_s, start=s.window_start,
                               first_seen=ts)
            s.burst_kind = ""  # a candidate does not decide what the burst will be
            out.append(sig)
        return out

    def _close_windows(self, s: BurstState, ts: float) -> list[BurstSignal]:
        p = self.p
        out: list[BurstSignal] = []
        closed_end = s.window_start + p.window_s
        if s.active:
            if s.count < s.expected()[0] + 2 * s.sigma():
                out.append(self._signal(s, "resolved", closed_end))
                s.active = False
            else:
                # A window of the burst closed: still climbing (peaking) or past its
                # highest window but not yet back to normal (fading).
                state = "peaking" if s.count >= s.burst_peak_window else "fading"
                # Report changes, not every window: a transition, or a peak that grew
                # by half since the last one reported (a days-long crisis would
                # otherwise update on-call every ten minutes).
                news = (state != s.burst_reported
                        or (state == "peaking" and s.count >= 1.5 * s.burst_reported_volume))
                s.burst_peak_window = max(s.burst_peak_window, s.count)
                if news:
                    s.burst_reported, s.burst_reported_volume = state, s.count
                    out.append(self._signal(s, state, closed_end, volume=s.count))
        else:
            s.learn_window(s.count, p.alpha, s.window_start)
        # Empty windows between the closed one and ``ts`` are zero-count windows.
        gap = int((ts - closed_end) // p.window_s)
        for k in range(min(gap, int(5 / p.alpha))):  # beyond that the EWMA has forgotten
            if s.active:
                out.append(self._signal(s, "resolved", closed_end + p.window_s))
                s.active = False
            else:
                s.learn_window(0, p.alpha, closed_end + k * p.window_s)
        s.window_start = math.floor(ts / p.window_s) * p.window_s
        s.count = 0
        if not s.active:
            s.burst_count, s.burst_sentiment_sum, s.burst_toxic = 0, 0.0, 0
            s.burst_terms, s.burst_exemplars, s.burst_sample = {}, [], []
        return out

    def _accumulate(self, s: BurstState, post_id: str, text: str, sentiment: float,
                    toxic: bool) -> None:
        s.burst_count += 1
        s.burst_sentiment_sum += sentiment
        s.burst_toxic += int(toxic)
        terms = s.burst_terms
        for w in terms_of(text):
            terms[w] = terms.get(w, 0) + 1
        if len(terms) > self.p.max_terms_tracked:  # keep the strongest half
            keep = top_terms(terms, self.p.max_terms_tracked // 2)
            s.burst_terms = {t: terms[t] for t in keep}
        if len(s.burst_exemplars) < self.p.max_exemplars:
            s.burst_exemplars.append([post_id, text[:160]])
        if len(s.burst_sample) < self.p.sample_size:
            s.burst_sample.append(text[:280])

    def _signal(self, s: BurstState, state: str, window_end: float,
                volume: Optional[int] = None, start: Optional[float] = None,
                first_seen: Optional[float] = None) -> BurstSignal:
        n = max(s.burst_count, 1)
        sentiment = s.burst_sentiment_sum / n
        tox_share = s.burst_toxic / n
        # One burst, one kind: downstream pairs the resolve with the trigger.
        if s.burst_kind:
            kind = s.burst_kind
        elif sentiment <= -0.05 or tox_share >= 0.3:
            kind = "threat"
        elif sentiment >= 0.05:
            kind = "opportunity"
        else:
            kind = "neutral"
        s.burst_kind = kind
        if kind == "threat":
            severity = "high" if s.burst_zscore >= 2 * self.p.z else "medium"
        else:
            severity = "low"
        if volume is None:
            volume = s.burst_peak if state == "resolved" else s.count
        return BurstSignal(
            state=state, kind=kind, severity=severity,
            window_start=s.burst_start if start is None else start, window_end=window_end,
            volume=volume, baseline=round(s.expected()[0], 3), zscore=round(s.burst_zscore, 3),
            growth_rate=round(volume / max(s.expected()[0], 1.0), 3),
            sentiment=round(sentiment, 4), toxicity_share=round(tox_share, 4),
            first_seen=s.burst_first_seen if first_seen is None else first_seen,
            top_terms=tuple(top_terms(s.burst_terms)),
            exemplars=tuple((str(a), str(b)) for a, b in s.burst_exemplars),
            sample=tuple(s.burst_sample),
        )
