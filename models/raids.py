"""Coordinated activity (raids, brigading) per community, in event time.

A raid is many near-duplicate posts from accounts that are new to the community (or
back after a long silence), packed into a short event-time window: copy-paste spam,
slogans with small edits, emoji variants. Each post counts in three steps:

1. **Who.** An author is *new/silent* if never seen before, or last seen more than
   ``silent_s`` ago; they then count as a newcomer for ``newcomer_s`` after that arrival
   (so a raid account posting every few minutes keeps counting, not just its first
   post). Most traffic comes from known authors and stops here: a couple of dict
   look-ups, no text work. Authors are kept in last-seen order and the stalest is
   evicted beyond ``max_authors_tracked`` (an evicted author who returns looks new).
2. **What.** A newcomer's text is normalised (:func:`normalise_text`) and cut into
   character ``shingle``-grams; it joins the first cluster of the window whose
   representative (the cluster's first post) has Jaccard similarity ≥ ``similarity``,
   or founds a new one (greedy, O(window posts × clusters), both bounded by
   ``max_window_posts``). Texts shorter than ``min_chars`` once normalised ("hi all",
   "lol") are too generic to call copy-paste and are not clustered.
3. **Raid.** When a cluster holds ``min_posts`` posts from ≥ ``min_authors`` distinct
   newcomers within ``window_s``, a raid *rises*, once. It has a stable ``raid_id``
   (a hash of the cluster's first post id in the window and that post's time: no
   community in it) and stays active while newcomers keep posting texts similar to its
   representative; the first event more than ``window_s`` after the last such post
   *resolves* it (checked as events arrive, so a community that goes quiet resolves on
   its next post). One raid is active at a time; another cluster that qualifies
   meanwhile fires after the first resolves, on its next post.

**Warm-up.** On a cold start every author is "new", so a fresh state raises nothing
until it has seen ``warmup_posts`` posts *and* ``warmup_s`` of event time (or
``silent_s`` of event time, whichever comes first); authors first seen during the
warm-up count as established members, not newcomers.

Event time only: windows follow the highest event time seen (the watermark), posts
more than ``window_s`` behind it update last-seen times but are not clustered.

>>> d = RaidDetector(RaidParams(min_posts=4, min_authors=3, warmup_s=600, warmup_posts=20))
>>> s = RaidState()
>>> warm = [d.observe(s, t * 60.0, f"p{t}", f"m{t % 5}", f"topic {t} talk") for t in range(30)]
>>> raid = [d.observe(s, 2000.0 + i, f"r{i}", f"new{i}", f"JOIN discord.gg/x{i} NOW{'!' * i}")
...         for i in range(5)]
>>> [(x.state, x.posts, x.authors, x.exemplar_text) for out in raid for x in out]
[('rising', 4, 4, 'JOIN discord.gg/x0 NOW')]
>>> later = d.observe(s, 4000.0, "q", "m1", "anyone around?")
>>> [(x.state, x.posts, x.raid_id == raid[3][0].raid_id) for x in later]
[('resolved', 5, True)]
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Optional

__all__ = ["RaidParams", "RaidState", "RaidSignal", "RaidDetector", "normalise_text",
           "shingles", "jaccard"]

_BUCKETS = 15  # post counters per window, for new_author_share

# A URL keeps only its host (usually the point of the spam; scheme and path vary per
# copy), moved to the end of the text: raiders paste the link at varying places.
_URL = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)?((?:[a-z0-9\-]+\.)+[a-z]{2,})(?::\d+)?"
                  r"(?:[/?#]\S*)?")
_SCHEME_URL = re.compile(r"[a-z][a-z0-9+.\-]*://\S*")  # scheme but no recognisable host
_MENTION = re.compile(r"<[@#][!&]?\d+>|(?<!\w)[@＠][\w.\-]+|(?<!\w)/?u/[\w\-]+")
# Everything but letters and whitespace becomes a space: punctuation, digits, and emoji
# with their variation selectors, joiners and skin tones (raiders swap emoji to dodge
# filters, so 🔥 and 🚀 variants of a slogan are the same slogan).
_NON_TEXT = re.compile(r"[\W\d_]+")
_REPEAT = re.compile(r"(.)\1+")


def normalise_text(text: str, max_chars: int = 2000) -> str:
    """The text as compared for copy-paste: NFKC (so 𝐛𝐨𝐥𝐝 and ｆｕｌｌｗｉｄｔｈ letters are
    letters), case-folded, mentions dropped, each URL reduced to its host and moved to
    the end, digits, punctuation and emoji dropped, runs of a repeated character
    collapsed to one ("NOWWW" -> "now"), whitespace collapsed.

    >>> normalise_text("JOIN discord.gg/xyz NOW!!!") == normalise_text("join  discord.gg/abc now!")
    True
    >>> normalise_text("JOIN discord.gg/xyz NOW!!!")
    'join now discord g'
    >>> normalise_text("𝐅𝐑𝐄𝐄 nitro 👍🏽👍️ @mod <@123> https://t.co/AbC99 soooo gooood 4U")
    'fre nitro so god u t co'
    """
    t = unicodedata.normalize("NFKC", text[:max_chars]).casefold()
    t = _MENTION.sub(" ", t)
    hosts = [m.group(1) for m in _URL.finditer(t)]
    if hosts:
        t = _URL.sub(" ", t) + " " + " ".join(hosts)
    t = _SCHEME_URL.sub(" ", t)
    t = _NON_TEXT.sub(" ", t)
    t = _REPEAT.sub(r"\1", t)
    return " ".join(t.split())


def shingles(norm: str, k: int = 5) -> frozenset:
    """Character ``k``-grams of a normalised text (the whole text if shorter).

    >>> sorted(shingles("join now", 5))
    ['in no', 'join ', 'n now', 'oin n']
    """
    if len(norm) <= k:
        return frozenset((norm,))
    return frozenset([norm[i:i + k] for i in range(len(norm) - k + 1)])


def jaccard(a: frozenset, b: frozenset) -> float:
    """|a ∩ b| / |a ∪ b|.

    >>> jaccard(frozenset("abc"), frozenset("bcd"))
    0.5
    """
    inter = len(a & b)
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


@dataclass(frozen=True)
class RaidParams:
    window_s: float = 900.0
    silent_s: float = 7 * 86400.0  # unseen this long: counts as new again
    newcomer_s: float = 86400.0  # after (re)arrival, an author counts as new this long
    min_posts: int = 8
    min_authors: int = 5
    similarity: float = 0.6  # Jaccard over character shingles of the normalised text
    shingle: int = 5
    min_chars: int = 12  # shorter normalised texts are too generic to cluster
    warmup_s: float = 86400.0
    warmup_posts: int = 200
    max_authors_tracked: int = 50_000
    max_window_posts: int = 500
    max_authors_sample: int = 100
    max_exemplars: int = 3
    max_text_chars: int = 2000  # of a post, normalised; representatives keep 280


@dataclass
class RaidState:
    """One community's raid state; ``to_dict``/``from_dict`` (JSON-safe) for a Faust
    table keyed by community."""

    first_ts: Optional[float] = None
    watermark: float = float("-inf")
    n_posts: int = 0
    warm: bool = False
    # author_id -> last seen, stalest first; author_id -> arrival, for current newcomers
    authors: "OrderedDict[str, float]" = field(default_factory=OrderedDict)
    newcomers: "OrderedDict[str, float]" = field(default_factory=OrderedDict)
    # [bucket index, posts, posts by newcomers], the last _BUCKETS buckets of window_s
    buckets: list = field(default_factory=list)
    # newcomer posts in the window, oldest first: [ts, post_id, author_id, cluster, sim]
    recent: list = field(default_factory=list)
    # cluster id -> [normalised representative, its raw text, posts in window]; greedy
    # matching goes in this (creation) order
    clusters: dict = field(default_factory=dict)
    next_cluster: int = 0
    # the raid in progress
    active: bool = False
    raid_id: str = ""
    raid_cluster: str = ""
    raid_norm: str = ""
    raid_text: str = ""
    raid_start: float = 0.0
    raid_first_seen: float = 0.0
    raid_last: float = 0.0
    raid_posts: int = 0
    raid_authors: list = field(default_factory=list)  # a bounded sample
    raid_author_count: int = 0  # exact up to max_authors_sample, then an upper bound
    raid_sim_sum: float = 0.0
    raid_total: int = 0  # all community posts since the raid's window start
    raid_new: int = 0  # of which by newcomers
    raid_exemplars: list = field(default_factory=list)
    # derived, not persisted: shingle sets of cluster representatives (and "raid")
    _shingles: dict = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        d["authors"] = dict(self.authors)
        d["newcomers"] = dict(self.newcomers)
        d["buckets"] = [list(b) for b in self.buckets]
        d["recent"] = [list(r) for r in self.recent]
        d["clusters"] = {k: list(v) for k, v in self.clusters.items()}
        d["raid_authors"] = list(self.raid_authors)
        d["raid_exemplars"] = list(self.raid_exemplars)
        if d["watermark"] == float("-inf"):
            d["watermark"] = None  # JSON has no infinities
        return d

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "RaidState":
        if not d:
            return cls()
        names = {f.name for f in fields(cls) if not f.name.startswith("_")}
        s = cls(**{k: v for k, v in d.items() if k in names})
        s.authors = OrderedDict(s.authors)
        s.newcomers = OrderedDict(s.newcomers)
        if s.watermark is None:
            s.watermark = float("-inf")
        return s


@dataclass(frozen=True)
class RaidSignal:
    state: str  # "rising" | "resolved"
    raid_id: str
    window_start: float  # event time of the raid's first post
    first_seen: float  # event time the raid was detected
    posts: int
    authors: int
    new_author_share: float  # of all community posts since window_start
    similarity: float  # mean Jaccard of the raid's posts to its representative
    exemplar_post_ids: tuple[str, ...]
    exemplar_text: str
    last_seen: float = 0.0  # event time of the raid's latest post


class RaidDetector:
    def __init__(self, params: RaidParams):
        self.p = params
        self._bucket_s = params.window_s / _BUCKETS

    def observe(self, s: RaidState, ts: float, post_id: str, author_id: str,
                text: str) -> list[RaidSignal]:
        """Count one post into its community's state; return the signals it causes."""
        p = self.p
        out: list[RaidSignal] = []
        if s.first_ts is None:
            s.first_ts = ts
        if ts > s.watermark:
            s.watermark = ts
        s.n_posts += 1
        if s.active and s.watermark - s.raid_last > p.window_s:
            out.append(self._signal(s, "resolved"))
            self._end_raid(s)
        if not s.warm:
            span = s.watermark - s.first_ts
            s.warm = (s.n_posts >= p.warmup_posts and span >= p.warmup_s) or span >= p.silent_s

        # 1. who: new/silent (or recently arrived) author?
        authors, newcomers = s.authors, s.newcomers
        last = authors.get(author_id)
        if last is None or ts - last > p.silent_s:
            fresh = s.warm  # during warm-up everyone is taken as an established member
            if fresh:
                newcomers[author_id] = ts
                newcomers.move_to_end(author_id)
                if len(newcomers) > p.max_authors_tracked:
                    newcomers.popitem(last=False)
        else:
            arrived = newcomers.get(author_id)
            fresh = arrived is not None and ts - arrived <= p.newcomer_s
        if last is None:
            authors[author_id] = ts
            if len(authors) > p.max_authors_tracked:
                authors.popitem(last=False)
        elif ts > last:
            authors[author_id] = ts
            authors.move_to_end(author_id)
        self._count(s, ts, fresh)
        if not fresh or ts < s.watermark - p.window_s:
            return out

        # 2. what: cluster the newcomer's text with the window's other newcomer posts
        norm = normalise_text(text, p.max_text_chars)
        if len(norm) < p.min_chars:
            return out
        sh = shingles(norm, p.shingle)
        self._expire(s)
        cid, sim = self._assign(s, norm, sh, text)
        s.recent.append([ts, post_id, author_id, cid, round(sim, 4)])
        if len(s.recent) > p.max_window_posts:
            self._drop_oldest(s)

        # 3. raid: feed the active one, or see whether this cluster is one
        if s.active:
            if cid == s.raid_cluster:
                raid_sim = sim
            else:
                raid_sim = jaccard(sh, self._rep(s, "raid"))
            if raid_sim >= p.similarity:
                s.raid_last = max(s.raid_last, ts)
                s.raid_posts += 1
                s.raid_sim_sum += raid_sim
                if author_id not in s.raid_authors:
                    s.raid_author_count += 1
                    if len(s.raid_authors) < p.max_authors_sample:
                        s.raid_authors.append(author_id)
        elif s.warm and s.clusters[cid][2] >= p.min_posts:
            members = [r for r in s.recent if r[3] == cid]
            distinct = list(dict.fromkeys(r[2] for r in members))
            if len(distinct) >= p.min_authors:
                out.append(self._start_raid(s, ts, cid, members, distinct))
        return out

    # -- counting -----------------------------------------------------------------

    def _count(self, s: RaidState, ts: float, fresh: bool) -> None:
        """Per-bucket post counters over the last window, for ``new_author_share``."""
        b = int(ts // self._bucket_s)
        bk = s.buckets
        if bk and bk[-1][0] == b:
            e = bk[-1]
        elif not bk or b > bk[-1][0]:
            e = [b, 0, 0]
            bk.append(e)
            while bk[0][0] <= b - _BUCKETS:
                del bk[0]
            self._expire_newcomers(s)
        else:  # out of order: the bucket if still kept
            e = next((x for x in reversed(bk) if x[0] == b), None)
        if e is not None:
            e[1] += 1
            e[2] += fresh
        if s.active:
            s.raid_total += 1
            s.raid_new += fresh

    def _expire_newcomers(self, s: RaidState) -> None:
        horizon = s.watermark - self.p.newcomer_s
        nc = s.newcomers
        while nc and next(iter(nc.values())) < horizon:
            nc.popitem(last=False)

    # -- clustering -----------------------------------------------------------------

    def _rep(self, s: RaidState, cid: str) -> frozenset:
        sh = s._shingles.get(cid)
        if sh is None:
            norm = s.raid_norm if cid == "raid" else s.clusters[cid][0]
            sh = s._shingles[cid] = shingles(norm, self.p.shingle)
        return sh

    def _assign(self, s: RaidState, norm: str, sh: frozenset, text: str) -> tuple[str, float]:
        """Greedy: the first cluster whose representative is similar enough, else a new one."""
        t = self.p.similarity
        n = len(sh)
        for cid, c in s.clusters.items():
            rep = self._rep(s, cid)
            m = len(rep)
            if min(n, m) < t * max(n, m):  # Jaccard <= min/max: cannot reach t
                continue
            j = jaccard(sh, rep)
            if j >= t:
                c[2] += 1
                return cid, j
        cid = str(s.next_cluster)
        s.next_cluster += 1
        s.clusters[cid] = [norm[:280], text[:280], 1]
        if len(norm) <= 280:
            s._shingles[cid] = sh
        return cid, 1.0

    def _expire(self, s: RaidState) -> None:
        horizon = s.watermark - self.p.window_s
        while s.recent and s.recent[0][0] < horizon:
            self._drop_oldest(s)

    def _drop_oldest(self, s: RaidState) -> None:
        cid = s.recent.pop(0)[3]
        c = s.clusters[cid]
        c[2] -= 1
        if c[2] <= 0:
            del s.clusters[cid]
            s._shingles.pop(cid, None)

    # -- raids ----------------------------------------------------------------------

    def _start_raid(self, s: RaidState, ts: float, cid: str, members: list,
                    distinct: list) -> RaidSignal:
        p = self.p
        first = min(members, key=lambda r: r[0])
        s.active = True
        s.raid_start = first[0]
        s.raid_id = "raid-" + hashlib.blake2b(f"{first[1]}|{first[0]!r}".encode(),
                                              digest_size=8).hexdigest()
        s.raid_cluster = cid
        s.raid_norm, s.raid_text = s.clusters[cid][0], s.clusters[cid][1]
        s._shingles["raid"] = self._rep(s, cid)
        s.raid_first_seen = ts
        s.raid_last = max(r[0] for r in members)
        s.raid_posts = len(members)
        s.raid_authors = distinct[:p.max_authors_sample]
        s.raid_author_count = len(distinct)
        s.raid_sim_sum = sum(r[4] for r in members)
        s.raid_exemplars = [r[1] for r in sorted(members, key=lambda r: r[0])][:p.max_exemplars]
        # counts since the raid's first post, from the window's buckets
        b0 = int(s.raid_start // self._bucket_s)
        s.raid_total = sum(b[1] for b in s.buckets if b[0] >= b0)
        s.raid_new = sum(b[2] for b in s.buckets if b[0] >= b0)
        return self._signal(s, "rising")

    def _end_raid(self, s: RaidState) -> None:
        s.active = False
        s.raid_id = s.raid_cluster = s.raid_norm = s.raid_text = ""
        s.raid_posts = s.raid_author_count = s.raid_total = s.raid_new = 0
        s.raid_sim_sum = 0.0
        s.raid_authors, s.raid_exemplars = [], []
        s._shingles.pop("raid", None)

    def _signal(self, s: RaidState, state: str) -> RaidSignal:
        return RaidSignal(
            state=state, raid_id=s.raid_id, window_start=s.raid_start,
            first_seen=s.raid_first_seen, posts=s.raid_posts, authors=s.raid_author_count,
            new_author_share=round(s.raid_new / max(s.raid_total, 1), 4),
            similarity=round(s.raid_sim_sum / max(s.raid_posts, 1), 4),
            exemplar_post_ids=tuple(s.raid_exemplars), exemplar_text=s.raid_text,
            last_seen=s.raid_last,
        )
