"""Each community's settings as the stages need them, built once per community.

The communities file is read and validated once at start (a bad file stops the worker
with a clear error), so a community's merged config never changes while a worker runs:
its toxicity policy and conduct ladder are built at its first post, not per post.
"""

from __future__ import annotations

from typing import Optional

from config.communities import CommunitiesConfig, load_communities
from config.settings import Settings
from models.conduct import ConductPolicy
from models.pseudonym import Pseudonymizer
from models.toxicity_model import CommunityPolicy
from streams.records import Post

__all__ = ["Communities"]


class Communities:
    def __init__(self, settings: Settings, pseudonymize: Pseudonymizer,
                 config: Optional[CommunitiesConfig] = None):
        self.config = config or load_communities(settings.communities_file or None,
                                                 pseudonymize=pseudonymize)
        self._merged: dict = {}
        self._policies: dict[str, CommunityPolicy] = {}
        self._conduct: dict[str, ConductPolicy] = {}

    def merged(self, community: str):
        cfg = self._merged.get(community)
        if cfg is None:
            cfg = self._merged[community] = self.config.for_community(community)
        return cfg

    def toxicity_policy(self, community: str) -> CommunityPolicy:
        policy = self._policies.get(community)
        if policy is None:
            c = self.merged(community)
            policy = self._policies[community] = CommunityPolicy(
                c.toxicity_threshold, c.target_precision or None, c.severe_threshold,
                tuple(c.deny_terms), tuple(c.allow_terms),
                getattr(c, "review_budget_per_day", None) or None)
        return policy

    def conduct_policy(self, community: str) -> ConductPolicy:
        policy = self._conduct.get(community)
        if policy is None:
            policy = self._conduct[community] = ConductPolicy(self.merged(community).ladder)
        return policy

    def exempt(self, post: Post) -> bool:
        """The author is exempt by community config (staff, bots): never escalated."""
        cfg = self.merged(post.community)
        roles = post.meta.get("author_roles") or []
        return (post.author_id in cfg.exempt_author_ids
                or (isinstance(roles, list) and any(isinstance(r, str)
                                                    and r.lower() in cfg.exempt_roles
                                                    for r in roles)))
