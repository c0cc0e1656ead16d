"""Reddit: new posts and comments of configured subreddits, over OAuth2 (app-only).

API shape (reddit.com/dev/api): ``POST /api/v1/access_token`` with HTTP basic auth
(client id, secret) and ``grant_type=client_credentials`` gives a bearer token for
``oauth.reddit.com``; ``GET /r/{sub}/new`` and ``GET /r/{sub}/comments`` return a
Listing (``data.children`` newest first, ``data.after`` the fullname to page older).
Rate limits come as ``X-Ratelimit-Used/Remaining/Reset``; Reddit asks for a
descriptive User-Agent.

Each feed's cursor is the creation time of the newest item produced; a poll pages back
with ``after`` until it reaches it (at most ``max_pages``). Items are produced as the
Listing child (``{"kind": "t3"|"t1", "data": {...}}``) byte for byte, keyed
``r/<subreddit>`` as the item names it; deleted and removed items are skipped at the
source and counted.

    [reddit]
    client_id_env = "REDDIT_CLIENT_ID"
    client_secret_env = "REDDIT_CLIENT_SECRET"
    user_agent = "vigil/1.0 (by u/your_account)"
    subreddits = ["acmegames", "acmesupport"]
    comments = true
    poll_interval_s = 30
    # moderators teach: read each subreddit's moderation log (removals, spam markings,
    # approvals, bans). Needs a "script" app of an account that moderates the
    # subreddits with the "Manage Posts & Comments" permission (scope modlog); its
    # password grant replaces the app-only token.
    modlog = true
    username_env = "REDDIT_USERNAME"
    password_env = "REDDIT_PASSWORD"

The moderation log (``GET /r/{sub}/about/log``) is one more feed with the same cursor
rule; its entries are produced as Listing children (``{"kind": "modaction", ...}``), id
``ModAction_...``. Listed items a moderator removed (``removed_by_category``) are
produced too; :mod:`models.parsers.reddit` decides who removed them.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping, Optional

import aiohttp

from connectors.polling import (Page, PlatformError, PoliteHttp, PollingSource, RawPost,
                                secret_from_env)
from models.parsers.reddit import community_name

__all__ = ["RedditSource"]

DELETED = ("[deleted]", "[removed]")


class RedditSource(PollingSource):
    platform = fmt = "reddit"

    def __init__(self, name: str, sink, cursors, *, client_id: str, client_secret: str,
                 user_agent: str, subreddits: list[str], comments: bool = True,
                 interval_s: float = 30.0, max_pages: int = 10,
                 auth_url: str = "https://www.reddit.com/api/v1/access_token",
                 api_url: str = "https://oauth.reddit.com", modlog: bool = False,
                 username: Optional[str] = None, password: Optional[str] = None):
        super().__init__(name, sink, cursors, interval_s=interval_s)
        self.client_id, self.client_secret, self.user_agent = client_id, client_secret, user_agent
        if modlog and not (username and password):
            raise ValueError("reddit: modlog = true needs username_env and password_env "
                             "(a moderator account's script app)")
        self.username, self.password = username, password
        self.feeds = [f"/r/{s}/new" for s in subreddits]
        if comments:
            self.feeds += [f"/r/{s}/comments" for s in subreddits]
        if modlog:
            self.feeds += [f"/r/{s}/about/log" for s in subreddits]
        self.max_pages, self.auth_url, self.api_url = max_pages, auth_url, api_url.rstrip("/")
        self._token: Optional[str] = None
        self._token_expires = 0.0

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors) -> "RedditSource":
        return cls(name, sink, cursors, client_id=_env(cfg, "client_id_env"),
                   client_secret=_env(cfg, "client_secret_env"),
                   user_agent=cfg.get("user_agent") or "vigil/1.0",
                   subreddits=list(cfg["subreddits"]), comments=cfg.get("comments", True),
                   interval_s=float(cfg.get("poll_interval_s", 30)),
                   max_pages=int(cfg.get("max_pages", 10)),
                   auth_url=cfg.get("auth_url", "https://www.reddit.com/api/v1/access_token"),
                   api_url=cfg.get("api_url", "https://oauth.reddit.com"),
                   modlog=bool(cfg.get("modlog", False)),
                   username=_env(cfg, "username_env") if cfg.get("username_env") else None,
                   password=_env(cfg, "password_env") if cfg.get("password_env") else None)

    async def _auth(self, http: PoliteHttp) -> str:
        if self._token and time.time() < self._token_expires - 60:
            return self._token
        # a moderator's own token reads the moderation log; the app's reads the rest
        grant = ({"grant_type": "password", "username": self.username,
                  "password": self.password} if self.username and self.password
                 else {"grant_type": "client_credentials"})
        _, _, body = await http.request(
            "POST", self.auth_url, data=grant,
            auth=aiohttp.BasicAuth(self.client_id, self.client_secret),
            headers={"User-Agent": self.user_agent})
        reply = json.loads(body)
        self._token = reply["access_token"]
        self._token_expires = time.time() + float(reply.get("expires_in", 3600))
        return self._token

    async def _listing(self, http: PoliteHttp, path: str, after: Optional[str]) -> dict:
        params = {"limit": "100", "raw_json": "1", **({"after": after} if after else {})}
        for attempt in (1, 2):
            token = await self._auth(http)
            try:
                _, _, body = await http.request(
                    "GET", self.api_url + path, params=params,
                    headers={"Authorization": f"bearer {token}", "User-Agent": self.user_agent})
                return json.loads(body)["data"]
            except PlatformError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                self._token = None  # expired or revoked early: fetch a new one once

    async def fetch(self, http: PoliteHttp, cursor: dict) -> Page:
        feeds = dict(cursor.get("feeds", {}))
        posts, skipped = [], 0
        for path in self.feeds:
            newest = feeds.get(path)
            after, pages, top = None, 0, newest
            while pages < self.max_pages:
                data = await self._listing(http, path, after)
                pages += 1
                children = data.get("children") or []
                reached = False
                for child in children:
                    d = child.get("data") or {}
                    created = float(d.get("created_utc") or 0)
                    if newest is not None and created < newest:
                        reached = True
                        continue  # older than what we already produced
                    top = max(top or created, created)
                    if d.get("author") in DELETED and (d.get("body") in DELETED
                                                       or d.get("selftext") in DELETED):
                        skipped += 1
                        continue
                    # named as Reddit names it, as the parser does: r/<subreddit>
                    community = community_name(d) or f"r/{path.split('/')[2]}"
                    posts.append(RawPost(str(d.get("name") or d.get("id")), community,
                                         json.dumps(child, separators=(",", ":")).encode(), created))
                after = data.get("after")
                # first run: one page only, not the subreddit's whole history
                if reached or not after or newest is None:
                    break
            if top is not None:
                feeds[path] = top
        return Page(posts, {"feeds": feeds}, skipped=skipped)


def _env(cfg: Mapping[str, Any], key: str) -> str:
    return secret_from_env("reddit", cfg, key)

