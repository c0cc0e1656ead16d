"""moderator_labels: what moderators did on the platform -> labels on moderation.feedback.

Shapes::

    ScoredPost                                -> remembered (community, id, author, text)
    NotAPost("moderation_action", fields)     -> ModerationFeedback per post it concerns
      fields["moderation"]: the action in the same words for every platform
      (see :mod:`models.moderator_labels`)

Labels go out on ``moderation.feedback`` like any other (a CLI label, a chat click) and
are learnt from there by every worker, so the path from a Twitch CLEARMSG to a changed
score is the one a hand-written label takes. Each label carries the post's text, so
the worker that learns it need not have scored the post, the moderator as a pseudonym,
``source`` = ``<platform>:<what the platform called the action>`` and an idempotency
key derived from the platform's action, so a connector that delivers an action twice
(a webhook retry, a listing polled again) teaches once.

State (soft, in memory): the posts scored in the last ``moderator_label_window_s``.
"""

from __future__ import annotations

from typing import Optional

from config.settings import Settings
from models.eventtime import EventTimeError, parse_event_time, to_iso
from models.moderator_labels import (ModeratorAction, RecentPosts, idempotency_key,
                                     read_action, targets)
from models.normalize import NotAPost
from models.pseudonym import Pseudonymizer
from streams.records import ModerationFeedback, ScoredPost

__all__ = ["ModeratorLabelStage"]


class ModeratorLabelStage:
    def __init__(self, settings: Settings, pseudonymize: Pseudonymizer):
        self.pseudonymize = pseudonymize
        self.recent = RecentPosts(window_s=settings.moderator_label_window_s)

    def remember(self, scored: ScoredPost) -> None:
        post = scored.post
        try:
            t = parse_event_time(post.created_at)
        except EventTimeError:
            return
        self.recent.remember(post.community, post.post_id, post.author_id, post.text, t)

    def deleted(self, event: NotAPost) -> None:
        """A deletion: Discord's audit log names the member, not the post, afterwards."""
        community, pid = event.fields.get("community"), event.fields.get("post_id")
        if community and pid is not None:
            self.recent.mark_deleted(community, str(pid))

    def labels(self, event: NotAPost, fallback_time: float
               ) -> tuple[Optional[ModeratorAction], list[ModerationFeedback]]:
        """The action (None when it teaches nothing) and the labels it gives."""
        fields = event.fields
        community, platform = fields.get("community"), str(fields.get("platform") or "other")
        try:
            t = parse_event_time(fields.get("created_at"))
        except EventTimeError:
            t = fallback_time
        action = read_action(fields.get("moderation"), time=t)
        if action is None or not community:
            return None, []
        moderator = (self.pseudonymize(platform, action.moderator) if action.moderator
                     else "unknown")
        out = []
        for target in targets(action, community, self.recent,
                              lambda user: self.pseudonymize(platform, user)):
            key = idempotency_key(community, action.source, action.event_id or str(t),
                                  target.post_id, target.label)
            out.append(ModerationFeedback(
                post_id=target.post_id, community=community, label=target.label,
                action=action.action, moderator_id=moderator, time=to_iso(t),
                text=target.text, source=action.source, idempotency_key=key))
        return action, out
