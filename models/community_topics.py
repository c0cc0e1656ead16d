"""Topics for every community one worker scores: assignment plus a cached label.

``models.topics`` is the algorithm on one community's state; this keeps one state per
community and answers "which topic, and what is it called" for each post. A label is
c-TF-IDF over up to 300 terms, so it is recomputed when the topic is new, every
``relabel_every`` posts it gains, or after a merge, not on every post.

The state lives in memory beside the embedder (the score stage is the only place the
vectors exist) and is saved with :meth:`snapshot` / :meth:`restore`: at ~170 KB a
community it is too big to write to a changelog per post.

>>> import numpy as np
>>> e = np.eye(4, dtype=np.float32)
>>> ct = CommunityTopics(TopicParams())
>>> ct.assign("r/acme", 0.0, e[0], "Servers down, cannot login", "p1")
('t0', 'cannot, down, login, servers')
>>> ct.assign("r/acme", 9.0, e[0], "login servers down again", "p2")[0]
't0'
>>> ct.assign("r/other", 9.0, e[0], "love the new map", "p3")     # its own topic ids
('t0', 'love, map')
>>> restored = CommunityTopics(TopicParams())
>>> restored.restore(ct.snapshot())
2
>>> restored.assign("r/acme", 20.0, e[0], "servers still down", "p4")[0]
't0'
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from models.topics import OnlineTopics, TopicParams, TopicState

__all__ = ["CommunityTopics", "TopicParams"]


class CommunityTopics:
    def __init__(self, params: TopicParams, *, label_terms: int = 4, relabel_every: int = 10):
        self.model = OnlineTopics(params)
        self.label_terms = label_terms
        self.relabel_every = relabel_every
        self.states: dict[str, TopicState] = {}
        # (community, topic) -> (topic's post count when labelled, label)
        self._labels: dict[tuple[str, str], tuple[int, str]] = {}

    def assign(self, community: str, ts: float, vector: np.ndarray, text: str,
               post_id: str) -> tuple[str, str]:
        """The post's topic id and the topic's current label."""
        state = self.states.get(community)
        if state is None:
            state = self.states[community] = TopicState()
        a = self.model.observe(state, ts, vector, text, post_id)
        for gone in (*(old for old, _ in a.merged), *a.dropped):
            self._labels.pop((community, gone), None)
        for _, kept in a.merged:
            self._labels.pop((community, kept), None)
        count = state.topics[a.topic_id]["count"]
        cached = self._labels.get((community, a.topic_id))
        if cached is None or count - cached[0] >= self.relabel_every:
            label = ", ".join(self.model.label(state, a.topic_id, self.label_terms))
            cached = self._labels[(community, a.topic_id)] = (count, label)
        return a.topic_id, cached[1]

    def topic_count(self, community: str) -> int:
        state = self.states.get(community)
        return len(state.topics) if state else 0

    def snapshot(self) -> dict:
        """Plain JSON for a checkpoint file."""
        return {"format": 1, "communities": {c: s.to_dict() for c, s in self.states.items()}}

    def restore(self, snap: Optional[dict], *, keep_live: bool = True) -> int:
        """Load a snapshot; communities already live here win (they are newer) unless
        ``keep_live`` is false. Returns the number of communities restored."""
        if not snap or snap.get("format") != 1:
            return 0
        n = 0
        for community, d in snap.get("communities", {}).items():
            if keep_live and community in self.states:
                continue
            self.states[community] = TopicState.from_dict(d)
            for key in [k for k in self._labels if k[0] == community]:
                del self._labels[key]
            n += 1
        return n
