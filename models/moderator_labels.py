"""What a moderator did on the platform, as labels on the posts it concerned.

A platform parser reports a moderator's action as a ``moderation_action`` event whose
``moderation`` field says, in the same words for every platform::

    {"action": "remove" | "approve" | "timeout" | "ban" | "kick",
     "by": "moderator" | "author" | "automatic" | "unknown",
     "moderator": platform user id or None,   # who acted (pseudonymised before it leaves)
     "post_ids": [ids of the posts acted on],
     "target_author": platform user id or None,  # a timeout/ban: whose posts
     "text": the acted-on post's text if the platform sent it, else None,
     "source": "<platform>:<what the platform called it>",
     "event_id": the platform's id of the action, if it has one,
     "deleted_only": True when the platform names the member but not the post
                     (Discord's audit log): their posts deleted just before,
     "limit": at most this many of the member's posts (default: all in the window)}

Only ``by == "moderator"`` teaches: an author withdrawing their own post, an automatic
spam filter or Vigil's own recommendation says nothing about the community's norms.
A removal, timeout or ban labels the post(s) ``toxic``; an approval ``not_toxic`` (and,
keyed by post, replaces an earlier removal's label in the learner). A timeout or ban
names a member, not a post: it labels what that member wrote in the community in the
minutes before (``window_s``), which is what the moderator saw.

>>> recent = RecentPosts(window_s=300)
>>> recent.remember("acme", "m1", "u_ana", "you are all idiots", 100.0)
>>> recent.remember("acme", "m2", "u_ana", "seriously, idiots", 160.0)
>>> act = read_action({"action": "timeout", "by": "moderator", "target_author": "ana",
...                    "source": "twitch:clearchat"}, time=200.0)
>>> [(t.post_id, t.label) for t in targets(act, "acme", recent, author_key=lambda a: "u_" + a)]
[('m1', 'toxic'), ('m2', 'toxic')]
>>> read_action({"action": "remove", "by": "author", "post_ids": ["m1"]}, time=0.0) is None
True
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

__all__ = ["ModeratorAction", "Target", "RecentPosts", "read_action", "targets",
           "idempotency_key", "ACTIONS", "LABEL_OF"]

#: the moderator's action -> the label it gives the posts it concerns
LABEL_OF = {"remove": "toxic", "timeout": "toxic", "ban": "toxic", "kick": "toxic",
            "approve": "not_toxic"}
ACTIONS = tuple(LABEL_OF)
ACTORS = ("moderator", "author", "automatic", "unknown")


@dataclass(frozen=True)
class ModeratorAction:
    action: str  # one of ACTIONS
    moderator: Optional[str]
    post_ids: tuple[str, ...]
    target_author: Optional[str]
    text: Optional[str]
    source: str
    event_id: Optional[str]
    time: float  # event time, epoch s
    deleted_only: bool = False
    limit: Optional[int] = None


@dataclass(frozen=True)
class Target:
    """One label to publish: the post, its text (so any worker can learn it) and why."""

    post_id: str
    label: str
    text: Optional[str]


def idempotency_key(*parts: str) -> str:
    """The same parts give the same key, wherever the label was made.

    >>> idempotency_key("acme", "twitch:clearmsg", "m1") == idempotency_key("acme", "twitch:clearmsg", "m1")
    True
    """
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def read_action(moderation: Any, *, time: float) -> Optional[ModeratorAction]:
    """The action a parser described, or None when it teaches nothing (not by a
    moderator, an action that is not a verdict on content, or a malformed report)."""
    if not isinstance(moderation, Mapping) or moderation.get("by") != "moderator":
        return None
    action = moderation.get("action")
    if action not in LABEL_OF:
        return None
    ids = tuple(str(p) for p in moderation.get("post_ids") or () if p not in (None, ""))
    author = moderation.get("target_author")
    if not ids and not author:
        return None
    text = moderation.get("text")
    return ModeratorAction(
        action=action, moderator=_str(moderation.get("moderator")), post_ids=ids,
        target_author=_str(author), text=text if isinstance(text, str) and text.strip() else None,
        source=str(moderation.get("source") or "platform"), event_id=_str(moderation.get("event_id")),
        time=time, deleted_only=bool(moderation.get("deleted_only")),
        limit=moderation.get("limit") if isinstance(moderation.get("limit"), int) else None)


def _str(value: Any) -> Optional[str]:
    return str(value) if value not in (None, "") else None


class RecentPosts:
    """The posts a worker scored in the last ``window_s`` seconds (event time), per
    community: by id, and per author in order. Bounded by ``max_posts`` overall; soft
    state (after a restart, an action on a post from before it names the post only,
    and the learner rebuilds it from the text the platform sent, when it sent one)."""

    def __init__(self, window_s: float = 600.0, max_posts: int = 50_000):
        self.window_s = window_s
        self.max_posts = max_posts
        self._posts: OrderedDict = OrderedDict()  # (community, post_id) -> (author, text, t)
        self._by_author: dict = {}  # (community, author) -> deque[(t, post_id)]
        self._deleted: OrderedDict = OrderedDict()  # (community, post_id) deleted lately

    def remember(self, community: str, post_id: str, author: str, text: str, t: float) -> None:
        key = (community, post_id)
        self._posts[key] = (author, text, t)
        self._posts.move_to_end(key)
        self._by_author.setdefault((community, author), deque()).append((t, post_id))
        while len(self._posts) > self.max_posts:
            (c, _), (a, _, _) = self._posts.popitem(last=False)
            self._trim((c, a), float("-inf"))  # drops only what was evicted

    def mark_deleted(self, community: str, post_id: str) -> None:
        """A post was deleted (by whom, the platform may say only later)."""
        key = (community, post_id)
        if key in self._posts:
            self._deleted[key] = None
            while len(self._deleted) > self.max_posts:
                self._deleted.popitem(last=False)

    def deleted(self, community: str, post_id: str) -> bool:
        return (community, post_id) in self._deleted

    def get(self, community: str, post_id: str) -> Optional[tuple[str, str, float]]:
        """(author, text, event time) of a remembered post."""
        return self._posts.get((community, post_id))

    def by_author(self, community: str, author: str, until: float) -> list[tuple[str, str]]:
        """(post_id, text) of what ``author`` wrote in the window before ``until``."""
        posts = self._by_author.get((community, author))
        if not posts:
            return []
        self._trim((community, author), until - self.window_s)
        out, seen = [], set()
        for t, pid in posts:
            found = self._posts.get((community, pid))
            # an edit is remembered twice; a few seconds of clock skew are forgiven
            if found is not None and t <= until + 5.0 and pid not in seen:
                seen.add(pid)
                out.append((pid, found[1]))
        return out

    def _trim(self, key: tuple, before: float) -> None:
        posts = self._by_author.get(key)
        while posts and (posts[0][0] < before or (key[0], posts[0][1]) not in self._posts):
            posts.popleft()
        if posts is not None and not posts:
            del self._by_author[key]


def targets(action: ModeratorAction, community: str, recent: RecentPosts,
            author_key: Callable[[str], str]) -> list[Target]:
    """The labels one action gives. Named posts first; a timeout or ban that names
    only a member labels that member's recent posts (``author_key`` turns the platform's
    user id into the pseudonym posts carry)."""
    label = LABEL_OF[action.action]
    out: list[Target] = []
    for pid in action.post_ids:
        known = recent.get(community, pid)
        text = action.text if action.text is not None or known is None else known[1]
        out.append(Target(pid, label, text))
    if not action.post_ids and action.target_author:
        posts = recent.by_author(community, author_key(action.target_author), action.time)
        if action.deleted_only:
            posts = [(pid, text) for pid, text in posts if recent.deleted(community, pid)]
        if action.limit is not None:
            posts = posts[-action.limit:]  # the latest
        out.extend(Target(pid, label, text) for pid, text in posts)
    return out
