"""Online topic discovery per community: what a trend is *about*, in event time.

Each community keeps at most ``max_topics`` topics. A topic is a unit centroid in the
post-embedding space (MiniLM, see ``models.embeddings``) with a decayed weight, decayed
term counts and a few exemplar posts. A post joins the most similar centroid when the
cosine is at least ``join_similarity``; the centroid then moves to the weighted running
mean ``normalise(w·c + x)`` (online spherical k-means with the decayed weight ``w`` as
the count, so a topic keeps following its conversation as it drifts). Otherwise the post
seeds a new topic, evicting the lowest-weight topic once ``max_topics`` are live. Every
``maintain_every`` posts (or ``maintain_s`` of event time, whichever comes first) pairs
of centroids at or above ``merge_similarity`` merge, the older id surviving (the merge
is recorded in ``TopicState.merged`` and reported on the assignment), and topics unseen
for ``expire_s`` are dropped.

Why this and not river's stream clusterers:

* Stable ids. DBSTREAM and TextClust keep micro-clusters and re-derive macro-clusters
  on request (shared-density connected components; hierarchical clustering into a
  fixed ``num_macro``), so a macro id can change meaning between two calls. Here an id
  like ``"t12"`` names one topic for its whole life; merges say which id survived.
  Downstream counts per topic in event-time windows (for instance a ``BurstDetector``
  keyed by community and topic id) need exactly that.
* Event time. DBSTREAM fades by observation count; TextClust by an observation counter
  or a caller's clock. Decay here uses the posts' own timestamps with a half-life, so a
  replay decays exactly like the live run and a late post counts as decayed.
* Cost. DBSTREAM stores centres as dicts and measures Euclidean distance feature by
  feature (384 Python-level operations per micro-cluster per post); TextClust works on
  token TF-IDF, not embeddings, and recomputes IDF over every micro-cluster per post.
  Here a post costs one (k × 384) float32 mat-vec plus O(terms in the post) dict updates:
  about 28 µs at 40 topics on the 2-core reference machine, embedding excluded.
* Bounded memory. Topics ≤ ``max_topics``, terms per topic ≤ ``max_terms``, background
  terms ≤ ``max_background``, merge records ≤ ``max_merged``; neither river model caps
  its number of micro-clusters.
* Serialisable state. ``TopicState.to_dict`` is plain JSON for a Faust table; the river
  models are Python objects (pickle only). At 40 topics of short posts it is ~170 KB
  (centroids ~125 KB of it) and ~450 KB with every cap full; ``to_dict`` plus
  ``json.dumps`` takes ~5 ms, so persist it per window or batch, not per post.

Decay. A topic's weight is stored as of its ``last_ts`` and decayed lazily when touched:
``w(t) = weight · 2^(−(t − last_ts)/half_life_s)``. Term counts (per topic and the
community background) are stored relative to a reference time ``terms_ts`` / ``bg_ts``:
the count as of ``t`` is ``stored · 2^(−(t − ref)/half_life_s)``, and a post at ``t``
adds ``2^((t − ref)/half_life_s)``. That is the same decayed count without rescaling
hundreds of terms on every post; the reference moves forward (one rescale of the dict)
once it is a half-life old.

Labels are class-based TF-IDF (BERTopic's c-TF-IDF with document frequencies, since
``terms_of`` gives the distinct terms of a post). At the state's latest event time::

    score(t, c) = n(t, c) / n(c) · log(1 + A / f(t))

where ``n(t, c)`` is the decayed number of topic ``c``'s posts containing term ``t``,
``n(c)`` the topic's decayed weight, ``A`` the mean decayed weight of the live topics
(the average topic size) and ``f(t) = max(background(t), n(t, c))`` the decayed number of
the community's posts containing ``t``. A term all topics use gets a small log factor;
a term only this topic uses gets about ``log(1 + A / n(c))``. Stopwords never enter
(``models.bursts.terms_of``). Ties break alphabetically.

Constructed 4-d vectors (real ones are 384-d MiniLM embeddings):

>>> import numpy as np
>>> e = np.eye(4, dtype=np.float32)
>>> model, s = OnlineTopics(TopicParams()), TopicState()
>>> model.observe(s, 0.0, e[0], "Servers down, cannot login", "p1")
TopicAssignment(topic_id='t0', similarity=1.0, created=True, merged=(), dropped=())
>>> a = model.observe(s, 60.0, e[0] + 0.4 * e[1], "login servers down again", "p2")
>>> a.topic_id, a.created, round(a.similarity, 3)
('t0', False, 0.928)
>>> model.observe(s, 90.0, e[2], "love the new map", "p3").topic_id
't1'
>>> model.label(s, "t0", 3), model.label(s, "t1")
(['down', 'login', 'servers'], ['love', 'map'])
>>> model.exemplars(s, "t1")
[('p3', 'love the new map')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from models.bursts import terms_of

__all__ = ["TopicParams", "TopicState", "TopicAssignment", "OnlineTopics"]

_MIN_COUNT = 0.01  # decayed term counts below this are dropped when a dict is rescaled


@dataclass(frozen=True)
class TopicParams:
    join_similarity: float = 0.55  # cosine of post to centroid needed to join a topic
    # cosine between centroids at which two topics merge. With MiniLM, one theme split
    # into two topics (its first posts seeded both) leaves centroids at 0.63-0.83, while
    # distinct themes of one community sit at 0.0-0.25: at 0.8 most splits never healed
    # (17 of 20 shuffles of the test themes left a theme under 80% in one topic), at 0.7
    # none did
    merge_similarity: float = 0.7
    max_topics: int = 40
    expire_s: float = 3 * 86400.0  # a topic unseen this long is dropped
    half_life_s: float = 6 * 3600.0  # decay of topic weights and term counts
    max_terms: int = 300  # per topic
    exemplars: int = 3
    max_background: int = 2000  # community-wide term counts kept for c-TF-IDF
    maintain_every: int = 100  # merge/expire every this many posts ...
    maintain_s: float = 3600.0  # ... or this much event time, whichever first
    max_merged: int = 200  # merge records (old id -> surviving id) kept
    snippet_chars: int = 160


@dataclass(eq=False)
class TopicState:
    """One community's topics; ``to_dict``/``from_dict`` for a Faust table.

    ``topics[tid]`` holds ``centroid`` (unit float32 array in memory, a list rounded to
    4 decimals in ``to_dict``), ``weight`` (decayed post count as of ``last_ts``),
    ``first_ts``, ``last_ts``, ``count`` (posts ever), ``terms`` (decayed counts relative
    to ``terms_ts``) and ``exemplars`` (``[post_id, snippet, similarity]``, the most
    central posts seen). ``background`` holds the community's decayed term counts
    relative to ``bg_ts``. ``merged`` maps a merged-away id to the id that absorbed it.
    """

    topics: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)
    bg_ts: Optional[float] = None
    next_id: int = 0
    ts: Optional[float] = None  # latest event time seen
    n_seen: int = 0
    maintained_ts: Optional[float] = None
    merged: dict = field(default_factory=dict)
    # not serialised: the centroids stacked for one mat-vec per post
    _ids: list = field(default_factory=list, init=False, repr=False)
    _mat: Optional[np.ndarray] = field(default=None, init=False, repr=False)

    def to_dict(self) -> dict:
        topics = {}
        for tid, t in self.topics.items():
            c = np.asarray(t["centroid"], dtype=np.float64)
            topics[tid] = {
                "centroid": np.round(c, 4).tolist(),
                "weight": t["weight"], "first_ts": t["first_ts"], "last_ts": t["last_ts"],
                "count": t["count"],
                "terms": {k: round(v, 4) for k, v in t["terms"].items()},
                "terms_ts": t["terms_ts"],
                "exemplars": [list(x) for x in t["exemplars"]],
            }
        return {"topics": topics,
                "background": {k: round(v, 4) for k, v in self.background.items()},
                "bg_ts": self.bg_ts, "next_id": self.next_id, "ts": self.ts,
                "n_seen": self.n_seen, "maintained_ts": self.maintained_ts,
                "merged": dict(self.merged)}

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "TopicState":
        if not d:
            return cls()
        topics = {}
        for tid, t in d.get("topics", {}).items():
            t = dict(t)
            t["centroid"] = np.asarray(t["centroid"], dtype=np.float32)
            t["terms"] = dict(t["terms"])
            t["exemplars"] = [list(x) for x in t["exemplars"]]
            topics[tid] = t
        return cls(topics=topics, background=dict(d.get("background", {})),
                   bg_ts=d.get("bg_ts"), next_id=d.get("next_id", 0), ts=d.get("ts"),
                   n_seen=d.get("n_seen", 0), maintained_ts=d.get("maintained_ts"),
                   merged=dict(d.get("merged", {})))


@dataclass(frozen=True)
class TopicAssignment:
    topic_id: str
    similarity: float  # cosine of the post to the topic's centroid before it moved
    created: bool
    # maintenance that ran on this post: (merged-away id, surviving id) pairs, and ids
    # dropped (expired, or evicted to make room for a new topic)
    merged: tuple[tuple[str, str], ...] = ()
    dropped: tuple[str, ...] = ()


def _decay(dt: float, half_life: float) -> float:
    return 2.0 ** (-dt / half_life)


def _bump(counts: dict, ref: Optional[float], ts: float, terms, half_life: float,
          cap: int) -> tuple[dict, float]:
    """Add one post's terms at ``ts`` to counts kept relative to ``ref``."""
    if ref is None:
        ref = ts
    inc = 2.0 ** ((ts - ref) / half_life)
    if inc > 2.0:  # the reference is over a half-life old: rescale to ``ts``
        f = 1.0 / inc
        counts = {k: v * f for k, v in counts.items() if v * f >= _MIN_COUNT}
        ref, inc = ts, 1.0
    for w in terms:
        counts[w] = counts.get(w, 0.0) + inc
    if len(counts) > cap:  # keep the strongest three quarters
        counts = dict(sorted(counts.items(), key=lambda kv: -kv[1])[: cap * 3 // 4])
    return counts, ref


class OnlineTopics:
    def __init__(self, params: TopicParams):
        if params.max_topics < 1 or params.half_life_s <= 0:
            raise ValueError("max_topics must be >= 1 and half_life_s > 0")
        self.p = params

    # -- the hot path ---------------------------------------------------------------
    def observe(self, s: TopicState, ts: float, vector: np.ndarray, text: str,
                post_id: str) -> TopicAssignment:
        """Assign one post (its unit embedding and text) to a topic, creating one if none
        is similar enough."""
        p = self.p
        ts = float(ts)
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(v))
        if not norm > 0.0:
            raise ValueError("a topic needs a non-zero embedding")
        if abs(norm - 1.0) > 1e-3:
            v = v / norm
        if s.ts is None or ts > s.ts:
            s.ts = ts
        if s.maintained_ts is None:
            s.maintained_ts = s.ts
        s.n_seen += 1
        merged: list[tuple[str, str]] = []
        dropped: list[str] = []
        if s.n_seen % p.maintain_every == 0 or s.ts - s.maintained_ts >= p.maintain_s:
            self._maintain(s, merged, dropped)

        terms = terms_of(text)
        s.background, s.bg_ts = _bump(s.background, s.bg_ts, ts, terms, p.half_life_s,
                                      p.max_background)
        mat = self._matrix(s)
        if mat is not None:
            sims = mat @ v
            i = int(np.argmax(sims))
            sim = float(sims[i])
            if sim >= p.join_similarity:
                tid = s._ids[i]
                self._join(s, i, tid, ts, v, terms, text, post_id, sim)
                return TopicAssignment(tid, sim, False, tuple(merged), tuple(dropped))
        while len(s.topics) >= p.max_topics:
            victim = min(s.topics, key=lambda k: self.weight(s, k, ts))
            self._drop(s, victim)
            dropped.append(victim)
        tid = f"t{s.next_id}"
        s.next_id += 1
        s.topics[tid] = {
            "centroid": v.copy(), "weight": 1.0, "first_ts": ts, "last_ts": ts, "count": 1,
            "terms": {w: 1.0 for w in terms}, "terms_ts": ts,
            # the seed ranks as a borderline member: more central posts replace it
            "exemplars": [[post_id, text[: p.snippet_chars], p.join_similarity]],
        }
        s._mat = None
        return TopicAssignment(tid, 1.0, True, tuple(merged), tuple(dropped))

    def _join(self, s: TopicState, i: int, tid: str, ts: float, v: np.ndarray, terms,
              text: str, post_id: str, sim: float) -> None:
        p = self.p
        t = s.topics[tid]
        if ts >= t["last_ts"]:
            w = t["weight"] * _decay(ts - t["last_ts"], p.half_life_s)
            inc = 1.0
            t["last_ts"] = ts
        else:  # a late post counts as already decayed
            w = t["weight"]
            inc = _decay(t["last_ts"] - ts, p.half_life_s)
        c = t["centroid"] * np.float32(w) + v * np.float32(inc)
        c /= np.linalg.norm(c)
        t["centroid"] = c
        s._mat[i] = c
        t["weight"] = w + inc
        t["count"] += 1
        t["terms"], t["terms_ts"] = _bump(t["terms"], t["terms_ts"], ts, terms,
                                          p.half_life_s, p.max_terms)
        ex = t["exemplars"]
        snippet = text[: p.snippet_chars]
        if any(x[1] == snippet for x in ex):
            return
        entry = [post_id, snippet, round(sim, 4)]
        if len(ex) < p.exemplars:
            ex.append(entry)
        else:
            j = min(range(len(ex)), key=lambda k: ex[k][2])
            if entry[2] > ex[j][2]:
                ex[j] = entry

    def _matrix(self, s: TopicState) -> Optional[np.ndarray]:
        if s._mat is None or len(s._ids) != len(s.topics):
            if not s.topics:
                s._ids, s._mat = [], None
                return None
            s._ids = list(s.topics)
            for t in s.topics.values():
                t["centroid"] = np.asarray(t["centroid"], dtype=np.float32)
            s._mat = np.stack([t["centroid"] for t in s.topics.values()])
        return s._mat

    # -- maintenance ----------------------------------------------------------------
    def maintain(self, s: TopicState) -> tuple[list[tuple[str, str]], list[str]]:
        """Merge and expire now (``observe`` does it every ``maintain_every`` posts or
        ``maintain_s``); returns ``(merged-away id, surviving id)`` pairs and dropped ids.
        """
        merged: list[tuple[str, str]] = []
        dropped: list[str] = []
        if s.ts is not None:
            self._maintain(s, merged, dropped)
        return merged, dropped

    def _maintain(self, s: TopicState, merged: list, dropped: list) -> None:
        p = self.p
        now = s.ts
        s.maintained_ts = now
        for tid in [k for k, t in s.topics.items() if now - t["last_ts"] > p.expire_s]:
            self._drop(s, tid)
            dropped.append(tid)
        while len(s.topics) > 1:
            mat = self._matrix(s)
            sims = mat @ mat.T
            np.fill_diagonal(sims, -np.inf)
            a, b = divmod(int(np.argmax(sims)), len(s._ids))
            if sims[a, b] < p.merge_similarity:
                break
            ta, tb = s._ids[a], s._ids[b]
            keep, gone = sorted((ta, tb), key=lambda k: (s.topics[k]["first_ts"],
                                                         int(k[1:])))
            self._merge(s, keep, gone)
            merged.append((gone, keep))

    def _merge(self, s: TopicState, keep: str, gone: str) -> None:
        p = self.p
        k, g = s.topics[keep], s.topics.pop(gone)
        last = max(k["last_ts"], g["last_ts"])
        wk = k["weight"] * _decay(last - k["last_ts"], p.half_life_s)
        wg = g["weight"] * _decay(last - g["last_ts"], p.half_life_s)
        c = k["centroid"] * np.float32(wk) + g["centroid"] * np.float32(wg)
        k["centroid"] = (c / np.linalg.norm(c)).astype(np.float32)
        k["weight"], k["last_ts"] = wk + wg, last
        k["first_ts"] = min(k["first_ts"], g["first_ts"])
        k["count"] += g["count"]
        ref = max(k["terms_ts"], g["terms_ts"])
        terms: dict = {}
        for t in (k, g):
            f = _decay(ref - t["terms_ts"], p.half_life_s)
            for w, n in t["terms"].items():
                terms[w] = terms.get(w, 0.0) + n * f
        if len(terms) > p.max_terms:
            terms = dict(sorted(terms.items(), key=lambda kv: -kv[1])[: p.max_terms])
        k["terms"], k["terms_ts"] = terms, ref
        ex, seen = [], set()
        for x in sorted(k["exemplars"] + g["exemplars"], key=lambda x: -x[2]):
            if x[1] not in seen:
                seen.add(x[1])
                ex.append(x)
        k["exemplars"] = ex[: p.exemplars]
        for old, new in s.merged.items():
            if new == gone:
                s.merged[old] = keep
        s.merged.pop(gone, None)
        s.merged[gone] = keep
        while len(s.merged) > p.max_merged:
            del s.merged[next(iter(s.merged))]
        s._mat = None

    def _drop(self, s: TopicState, tid: str) -> None:
        del s.topics[tid]
        for old in [o for o, n in s.merged.items() if n == tid]:
            del s.merged[old]
        s._mat = None

    # -- reading --------------------------------------------------------------------
    def resolve(self, s: TopicState, topic_id: str) -> Optional[str]:
        """The live id for ``topic_id`` (itself, or the topic it merged into), or None
        when it expired or was evicted."""
        if topic_id in s.topics:
            return topic_id
        target = s.merged.get(topic_id)
        return target if target in s.topics else None

    def weight(self, s: TopicState, topic_id: str, ts: Optional[float] = None) -> float:
        """The topic's decayed post count at ``ts`` (default: the latest event time)."""
        t = s.topics[topic_id]
        now = s.ts if ts is None else ts
        return t["weight"] * _decay(max(now - t["last_ts"], 0.0), self.p.half_life_s)

    def label(self, s: TopicState, topic_id: str, n: int = 5) -> list[str]:
        """The ``n`` terms most distinctive of the topic (c-TF-IDF, module docstring)."""
        tid = self.resolve(s, topic_id)
        if tid is None:
            return []
        t, hl, now = s.topics[tid], self.p.half_life_s, s.ts
        size = self.weight(s, tid)
        if not size > 0.0:
            return []
        avg = sum(self.weight(s, k) for k in s.topics) / len(s.topics)
        scale_t = _decay(now - t["terms_ts"], hl)
        scale_b = _decay(now - s.bg_ts, hl) if s.bg_ts is not None else 0.0
        bg = s.background
        scored = []
        for w, c in t["terms"].items():
            ntc = c * scale_t
            if not ntc > 0.0:
                continue
            f = max(bg.get(w, 0.0) * scale_b, ntc)
            scored.append((-(ntc / size) * math.log1p(avg / f), w))
        scored.sort()
        return [w for _, w in scored[:n]]

    def exemplars(self, s: TopicState, topic_id: str) -> list[tuple[str, str]]:
        """(post_id, snippet) of the topic's most central posts seen, best first."""
        tid = self.resolve(s, topic_id)
        if tid is None:
            return []
        ex = sorted(s.topics[tid]["exemplars"], key=lambda x: -x[2])
        return [(str(x[0]), str(x[1])) for x in ex]
