"""Bursts of one *topic* inside a community, measured against its share of the talk.

A topic found online (``models.topics``) is often born in the surge that makes it news:
it has no history of its own, so an absolute baseline (``models.bursts``) would need
hours of it before firing. What is known is the community: how many posts it has in a
window, and what share each topic usually takes. A topic bursts when, in the open
tumbling window, it takes ``k`` of the community's ``n`` posts and

* ``k >= min_count`` and ``k / n >= base + min_lift``, and
* ``k`` is this unlikely under Binomial(n, base): ``P(X >= k) <= max_p``,

where ``base`` is the EWMA of the topic's share in closed windows (0 for a topic never
seen), floored at ``prior_share``. A new topic therefore needs to take a clear bite of
the conversation, not just exist; an established topic needs to grow well past its
usual share. The burst resolves at the first closed window where the topic's share is
back under ``base + min_lift / 2`` (its share is not learnt while it bursts) or the
topic falls silent. Lifecycle: ``rising`` once, ``peaking`` when a closed window is half
again as big as the last one reported, ``resolved`` once.

State is small on purpose (it is written to a table per post): the open window's counts
per topic, the priors of topics that still carry a share, and the few bursts running.

>>> d = TopicBurstDetector(TopicBurstParams(window_s=60, min_history=3))
>>> s = TopicBurstState()
>>> calm = [d.observe(s, i * 6.0, f"t{i % 5}", "", f"c{i}", "chat", 0.1, False)
...         for i in range(100)]                      # five topics, 20% each
>>> sum(len(x) for x in calm)
0
>>> leak = [d.observe(s, 600 + i * 3.0, "t9" if i % 4 else "t1", "leak, patch", f"l{i}",
...                   "patch notes leaked", -0.2, False) for i in range(20)]
>>> [(sig.topic_id, sig.state, sig.posts, sig.community_posts) for out in leak for sig in out]
[('t9', 'rising', 8, 11)]
>>> after = [d.observe(s, 700 + i * 6.0, f"t{i % 5}", "", f"a{i}", "chat", 0.1, False)
...          for i in range(20)]
>>> [(sig.topic_id, sig.state) for out in after for sig in out]
[('t9', 'peaking'), ('t9', 'resolved')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from models.plain_data import as_plain_dict
from models.spikes import binom_sf

__all__ = ["TopicBurstParams", "TopicBurstState", "TopicBurstSignal", "TopicBurstDetector"]


@dataclass(frozen=True)
class TopicBurstParams:
    window_s: float = 600.0
    min_count: int = 8  # topic posts in the window before it can burst
    min_history: int = 6  # closed community windows before any topic can burst
    min_lift: float = 0.25  # absolute share above the topic's usual share
    # Stricter than a volume burst's 1e-5: every live topic is tested on every post, and
    # early in a window (9 of the first 11 posts) 1e-5 fired about once in 3 days on a
    # steady five-topic chat. At 1e-7 a new topic still fires at 8 of 8 posts (p≈4e-11).
    max_p: float = 1e-7
    alpha: float = 0.1  # EWMA weight of one full window in a topic's usual share
    prior_share: float = 0.05  # the floor under a topic's usual share
    min_prior: float = 0.002  # a usual share below this is forgotten (bounded state)
    max_exemplars: int = 3
    sample_size: int = 20  # texts kept per running burst
    snippet_chars: int = 160


@dataclass
class TopicBurstState:
    window_start: Optional[float] = None
    n: int = 0  # community posts in the open window
    # topic -> [posts, sentiment sum, toxic posts, [[post_id, snippet], ...], label]
    # for the open window
    window: dict = field(default_factory=dict)
    prior: dict = field(default_factory=dict)  # topic -> usual share (EWMA)
    history: int = 0  # closed windows with posts
    # topic -> the burst running on it (see TopicBurstDetector._start)
    active: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return as_plain_dict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "TopicBurstState":
        return cls(**d) if d else cls()

    def dominant(self) -> Optional[tuple[str, int, str]]:
        """The topic with most posts in the open window: id, count and label."""
        if not self.window:
            return None
        tid = max(self.window, key=lambda t: (self.window[t][0], t))
        return tid, self.window[tid][0], self.window[tid][4]


@dataclass(frozen=True)
class TopicBurstSignal:
    state: str  # "rising" | "peaking" | "resolved"
    topic_id: str
    label: str
    window_start: float
    window_end: float
    first_seen: float
    posts: int  # the topic's posts in the window (the peak window for a resolve)
    community_posts: int
    share: float
    baseline: float  # the topic's usual share
    p_value: float
    sentiment: float  # mean over the burst's posts so far
    toxicity_share: float
    exemplars: tuple[tuple[str, str], ...]
    sample: tuple[str, ...]
    folded: bool  # part of another incident: kept for the record, not raised
    annotation: Optional[dict] = None  # what the caller stored on the burst (run["class"])


class TopicBurstDetector:
    def __init__(self, params: TopicBurstParams):
        self.p = params

    def observe(self, s: TopicBurstState, ts: float, topic_id: str, label: str,
                post_id: str, text: str, sentiment: float, toxic: bool,
                ) -> list[TopicBurstSignal]:
        """Count one post of ``topic_id``; the signals it causes (closing windows first)."""
        p = self.p
        out: list[TopicBurstSignal] = []
        if s.window_start is None:
            s.window_start = math.floor(ts / p.window_s) * p.window_s
        if ts < s.window_start:
            return out  # late beyond the open window, as in models.bursts
        if ts >= s.window_start + p.window_s:
            out.extend(self._close(s, ts))
        s.n += 1
        w = s.window.get(topic_id)
        if w is None:
            w = s.window[topic_id] = [0, 0.0, 0, [], ""]
        w[0] += 1
        w[1] += sentiment
        w[2] += int(toxic)
        # Exemplars from a topic's second post on: most topics have one post a window,
        # and this state is written per post.
        if w[0] >= 2:
            w[4] = label
            if len(w[3]) < p.max_exemplars:
                w[3].append([post_id, text[: p.snippet_chars]])
        run = s.active.get(topic_id)
        if run is not None:
            run["posts"] += 1
            run["sentiment_sum"] += sentiment
            run["toxic"] += int(toxic)
            run["label"] = label or run["label"]
            if len(run["sample"]) < p.sample_size:
                run["sample"].append(text[:280])
            if len(run["exemplars"]) < p.max_exemplars:
                run["exemplars"].append([post_id, text[: p.snippet_chars]])
            return out
        k, n = w[0], s.n
        base = max(s.prior.get(topic_id, 0.0), p.prior_share)
        if s.history >= p.min_history and k >= p.min_count and k / n >= base + p.min_lift:
            pv = binom_sf(k, n, base)
            if pv <= p.max_p:
                run = s.active[topic_id] = {
                    "start": s.window_start, "first_seen": ts, "label": label,
                    "base": base, "posts": k, "sentiment_sum": w[1], "toxic": w[2],
                    "peak": k, "peak_n": n, "reported": k, "folded": False,
                    "exemplars": [list(e) for e in w[3][: p.max_exemplars]] or
                                 [[post_id, text[: p.snippet_chars]]],
                    "sample": [text[:280]],
                }
                out.append(self._signal(s, topic_id, run, "rising", s.window_start + p.window_s,
                                        k, n, pv))
        return out

    def fold(self, s: TopicBurstState, topic_id: str) -> None:
        """Mark a running burst as part of another incident: no more signals for it
        are raised (``folded`` is set on them) until it resolves."""
        if topic_id in s.active:
            s.active[topic_id]["folded"] = True

    def _close(self, s: TopicBurstState, ts: float) -> list[TopicBurstSignal]:
        p = self.p
        out: list[TopicBurstSignal] = []
        end = s.window_start + p.window_s
        silent_gap = ts >= end + p.window_s  # at least one empty window follows
        for tid, run in list(s.active.items()):
            k = s.window.get(tid, [0])[0]
            share = k / s.n if s.n else 0.0
            if silent_gap or share < run["base"] + p.min_lift / 2:
                out.append(self._signal(s, tid, run, "resolved", end if not silent_gap
                                        else end + p.window_s, run["peak"], run["peak_n"], 1.0))
                del s.active[tid]
                continue
            if k > run["peak"]:
                run["peak"], run["peak_n"] = k, s.n
            if k >= 1.5 * run["reported"]:
                run["reported"] = k
                out.append(self._signal(s, tid, run, "peaking", end, k, s.n, 1.0))
        if s.n:
            weight = p.alpha * min(1.0, s.n / p.min_count)
            for tid in set(s.prior) | set(s.window):
                if tid in s.active:
                    continue  # a burst does not teach its topic what usual is
                share = s.window.get(tid, [0])[0] / s.n
                prior = s.prior.get(tid, 0.0)
                prior += weight * (share - prior)
                if prior >= p.min_prior:
                    s.prior[tid] = prior
                else:
                    s.prior.pop(tid, None)
            s.history += 1
        s.window_start = math.floor(ts / p.window_s) * p.window_s
        s.n = 0
        s.window = {}
        return out

    def _signal(self, s: TopicBurstState, tid: str, run: dict, state: str, window_end: float,
                k: int, n: int, pv: float) -> TopicBurstSignal:
        posts = max(run["posts"], 1)
        return TopicBurstSignal(
            state=state, topic_id=tid, label=run["label"], window_start=run["start"],
            window_end=window_end, first_seen=run["first_seen"], posts=k, community_posts=n,
            share=round(k / max(n, 1), 4), baseline=round(run["base"], 4), p_value=pv,
            sentiment=round(run["sentiment_sum"] / posts, 4),
            toxicity_share=round(run["toxic"] / posts, 4),
            exemplars=tuple((str(a), str(b)) for a, b in run["exemplars"]),
            sample=tuple(run["sample"]), folded=bool(run["folded"]),
            annotation=run.get("class"))
