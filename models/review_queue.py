"""The review queue: posts a community's moderators should label next, so that a new
community teaches Vigil its norms in an afternoon.

A scored post is a candidate when it sits near or above its community's threshold
(``toxicity >= threshold - band``): the decisions that matter, including the flags a
community may consider fine; and whatever its score when it is in a language the
English-only scorers cannot read (``lang_supported`` false: its score is a lower bound). Most uncertain first (closest to the threshold), then
newest. Bounded per community; a labelled post leaves the queue.

>>> q = ReviewQueue(band=0.25, per_community=3)
>>> [q.add({"post": {"post_id": pid, "community": "r/x", "text": pid}, "toxicity": tox,
...         "threshold": 0.8}) for pid, tox in [("a", 0.2), ("b", 0.79), ("c", 0.99), ("d", 0.62)]]
[False, True, True, True]
>>> [i["post_id"] for i in q.items("r/x")]
['b', 'd', 'c']
>>> q.labelled("r/x", "b"); [i["post_id"] for i in q.items("r/x")]
['d', 'c']
>>> q.add({"post": {"post_id": "e", "community": "r/x", "text": "Ihr seid alle ..."},
...        "toxicity": 0.05, "threshold": 0.8, "lang": "de", "lang_supported": False})
True
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["ReviewQueue"]


class ReviewQueue:
    def __init__(self, band: float = 0.25, per_community: int = 500):
        self.band, self.per_community = band, per_community
        self._by_community: dict[str, OrderedDict] = {}
        self._done: set = set()

    def add(self, scored: dict) -> bool:
        post = scored.get("post") or {}
        community, pid = post.get("community"), post.get("post_id")
        tox, thr = scored.get("toxicity"), scored.get("threshold")
        if not community or not pid or tox is None or thr is None or (community, pid) in self._done:
            return False
        # a post the English-only scorers cannot read may be under-scored: a person reads it
        unreadable = scored.get("lang_supported") is False
        if tox < thr - self.band and not unreadable:
            return False
        q = self._by_community.setdefault(community, OrderedDict())
        q[pid] = {"post_id": pid, "community": community, "text": post.get("text", ""),
                  "toxicity": tox, "threshold": thr, "author_id": post.get("author_id"),
                  "created_at": post.get("created_at"), "platform": post.get("platform"),
                  # the lexical prior and the community's learnt score, when it has one
                  "prior": (scored.get("categories") or {}).get("profanity"),
                  "learnt": (scored.get("categories") or {}).get("learned"),
                  "lang": scored.get("lang"), "lang_supported": not unreadable}
        q.move_to_end(pid)
        while len(q) > self.per_community:
            q.popitem(last=False)
        return True

    def labelled(self, community: str, post_id: str) -> None:
        self._done.add((community, post_id))
        self._by_community.get(community, {}).pop(post_id, None)

    def items(self, community: str, limit: int = 100) -> list[dict]:
        q = list(self._by_community.get(community, {}).values())
        newest = {p["post_id"]: i for i, p in enumerate(q)}
        return sorted(q, key=lambda p: (abs(p["toxicity"] - p["threshold"]),
                                        -newest[p["post_id"]]))[:limit]

    def communities(self) -> list[str]:
        return sorted(c for c, q in self._by_community.items() if q)
