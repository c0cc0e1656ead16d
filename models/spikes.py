"""Spikes in a community's *share* of some kind of post (toxic, negative), in event time.

Volume can stay flat while the mood turns: a harassment pile-on or a wave of anger
after a bad patch shows as a jump in the share of toxic or negative posts. Each
tumbling window's share is compared with an EWMA of past windows' shares (weighted by
their size). A spike starts when the open window has at least ``min_posts`` posts, its
share exceeds the baseline by ``min_lift`` and the count is this unlikely under a
binomial(n, baseline) (``max_p``); it resolves at the first window that closes back
under baseline + ``min_lift`` / 2. One spike: one ``rising``, one ``resolved``.

>>> d = ShareSpikeDetector(ShareParams(window_s=60, min_posts=8, min_history=5))
>>> s = ShareState()
>>> calm = [d.observe(s, t * 6.0, i % 10 == 0) for i, t in enumerate(range(600))]  # 10% share
>>> sum(len(x) for x in calm)
0
>>> angry = [d.observe(s, 3600 + i * 3.0, i % 10 < 7) for i in range(20)]        # 70% share
>>> [sig.state for out in angry for sig in out]
['rising']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from models.plain_data import as_plain_dict

__all__ = ["ShareParams", "ShareState", "ShareSignal", "ShareSpikeDetector", "binom_sf"]


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space.

    >>> round(binom_sf(7, 10, 0.1), 7)
    9.1e-06
    """
    if k <= 0:
        return 1.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                          + i * lp + (n - i) * lq)
    return min(1.0, total)


@dataclass(frozen=True)
class ShareParams:
    window_s: float = 600.0
    min_posts: int = 8
    min_history: int = 6  # windows with posts before the baseline is trusted
    min_lift: float = 0.25  # absolute share above baseline, e.g. 10% -> 35%
    max_p: float = 1e-4
    alpha: float = 0.1
    prior_share: float = 0.05  # a floor: a community with no toxic posts yet still has one


@dataclass
class ShareState:
    window_start: Optional[float] = None
    n: int = 0
    k: int = 0
    share: float = 0.0  # EWMA of closed windows' shares
    history: int = 0
    active: bool = False
    spike_start: float = 0.0
    first_seen: float = 0.0
    peak_share: float = 0.0

    def baseline(self) -> float:
        return max(self.share, 0.0)

    def to_dict(self) -> dict:
        return as_plain_dict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "ShareState":
        return cls(**d) if d else cls()


@dataclass(frozen=True)
class ShareSignal:
    state: str  # "rising" | "resolved"
    window_start: float
    window_end: float
    first_seen: float
    posts: int
    share: float
    baseline: float
    p_value: float


class ShareSpikeDetector:
    def __init__(self, params: ShareParams):
        self.p = params

    def observe(self, s: ShareState, ts: float, hit: bool) -> list[ShareSignal]:
        p = self.p
        out: list[ShareSignal] = []
        if s.window_start is None:
            s.window_start = math.floor(ts / p.window_s) * p.window_s
        if ts < s.window_start:
            return out
        if ts >= s.window_start + p.window_s:
            out.extend(self._close(s, ts))
        s.n += 1
        s.k += int(hit)
        if s.active:
            s.peak_share = max(s.peak_share, s.k / s.n)
            return out
        base = max(s.baseline(), p.prior_share)
        if (s.history >= p.min_history and s.n >= p.min_posts
                and s.k / s.n >= base + p.min_lift):
            pv = binom_sf(s.k, s.n, base)
            if pv <= p.max_p:
                s.active, s.spike_start, s.first_seen = True, s.window_start, ts
                s.peak_share = s.k / s.n
                out.append(ShareSignal("rising", s.window_start, s.window_start + p.window_s,
                                       ts, s.n, round(s.k / s.n, 4), round(base, 4), pv))
        return out

    def _close(self, s: ShareState, ts: float) -> list[ShareSignal]:
        p = self.p
        out: list[ShareSignal] = []
        end = s.window_start + p.window_s
        share = s.k / s.n if s.n else 0.0
        if s.active:
            if share < max(s.baseline(), p.prior_share) + p.min_lift / 2 or s.n == 0:
                out.append(ShareSignal("resolved", s.spike_start, end, s.first_seen, s.n,
                                       round(s.peak_share, 4), round(s.baseline(), 4), 1.0))
                s.active = False
        elif s.n:
            # Weight by size: a window of 2 posts says little about the community's mood.
            w = p.alpha * min(1.0, s.n / p.min_posts)
            s.share = share if s.history == 0 else s.share + w * (share - s.share)
            s.history += 1
        if s.active and ts >= end + p.window_s:  # a silent window ends a spike too
            out.append(ShareSignal("resolved", s.spike_start, end + p.window_s, s.first_seen,
                                   0, round(s.peak_share, 4), round(s.baseline(), 4), 1.0))
            s.active = False
        s.window_start = math.floor(ts / p.window_s) * p.window_s
        s.n = s.k = 0
        return out
