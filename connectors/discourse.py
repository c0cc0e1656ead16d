"""Discourse: every new post of a forum, by polling its REST API or from its webhooks.

``mode = "poll"`` (default), the REST API (docs.discourse.org): ``GET {base_url}/posts.json``
answers ``{"latest_posts": [...]}``, the newest public posts of regular type, 50 per page,
highest ``id`` first; ``?before=<id>`` pages older (``id < before``). Auth headers
``Api-Key`` and ``Api-Username`` (optional on a public forum). Category slugs in
``categories`` are resolved once via ``GET /categories.json?include_subcategories=true``
(``category_list.categories[].id/slug/subcategory_list``). Rate limits answer 429 with
``Retry-After`` (PoliteHttp waits at least that long). The cursor is the highest post
id seen; a poll pages back with ``before`` until it reaches it (at most ``max_pages``),
a first run takes one page, not the forum's history.

``mode = "webhook"``: Discourse POSTs one event per request (Admin > API > Webhooks,
content type application/json, "Post" events) with headers ``X-Discourse-Event-Type``
(``post``, ``ping``, ...), ``X-Discourse-Event`` (``post_created``, ``post_edited``,
``post_destroyed``, ``post_recovered``), ``X-Discourse-Instance`` (the forum's base
URL), ``X-Discourse-Event-Id`` (new on every attempt, so never a dedupe key) and
``X-Discourse-Event-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``; the body
is ``{"post": {...}}`` (the poll item's fields plus ``topic_archetype``,
``category_slug``). Answers: 200 once the broker has the post (Discourse retries
anything else), 401 for a missing or wrong signature, 413 over ``max_body_bytes``, 200
and nothing produced for ``ping``, other event types, private messages (never read:
Vigil watches the public forum) and categories not configured. The signature carries no
timestamp, so a replayed request within the dedupe window is dropped by post id.

Produced: the post object as sent (a poll item; a webhook body), marked with the forum's
base URL as ``"discourse_instance"`` (the poller's ``base_url``, a webhook's
``X-Discourse-Instance``) so the parser can link the post, keyed by
``community`` (default: base_url's host, else the ``X-Discourse-Instance`` host): one
forum is one community; its categories are in ``meta``. RawPost ids: ``<id>``, an edit
``<id>@<version>`` (Discourse bumps ``version`` per revision; edits inside its grace
period keep the version and are not re-scored), a deletion ``delete:<id>``. Deletion is
read from the post (``deleted_at``, or ``user_deleted`` for a post its author withdrew);
Discourse before 3.2 serialised ``post_destroyed`` before trashing the post, so such a
body is produced as ``{"discourse_event": "post_destroyed", "post": {...}}``. The
canonical post id is ``<topic_id>/<post_number>`` (what a reply names; see
:mod:`models.parsers.discourse`); these RawPost ids only dedupe.

Moderators teach through the same webhook: with "Flag" events also ticked, a flag
staff agreed or disagreed with (``flag_agreed``/``flag_disagreed``) is produced as
``{"discourse_event": <event>, "flag": {...}}`` (RawPost id ``flag:<id>:<event>``), and a
``post_destroyed`` body names ``deleted_by`` (a removal by staff unless it is the
author); :mod:`models.parsers.discourse` turns both into labels.

    [discourse]
    name = "acme"                         # cursor/metrics name: discourse:acme
    mode = "poll"                         # or "webhook"
    base_url = "https://forum.acme.com"
    community = "forum.acme.com"          # default: base_url's host
    api_key_env = "DISCOURSE_API_KEY"     # optional on a public forum
    api_username = "vigil"                # a low-privilege user: it reads what they can
    categories = ["support", 12]          # optional: slugs or ids (subcategories by name)
    poll_interval_s = 30
    max_pages = 10
    # webhook mode:
    # secret_env = "DISCOURSE_WEBHOOK_SECRET"
    # host = "0.0.0.0"; port = 8091; path = "/discourse"; max_body_bytes = 262144
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import urlsplit

import structlog

from connectors.polling import Page, PoliteHttp, PollingSource, RawPost, secret_from_env
from connectors.push import PushSource, Rejected
from models.eventtime import EventTimeError, parse_event_time
from models.parsers.discourse import _deleted, _int

__all__ = ["DiscourseSource", "DiscourseWebhookSource", "sign"]

log = structlog.get_logger("vigil.connect")


def _host(url: str) -> Optional[str]:
    return urlsplit(url).netloc or None


def _instance(headers: Mapping[str, str]) -> Optional[str]:
    """The forum's base URL a webhook names (``X-Discourse-Instance``), if it is one."""
    url = (headers.get("X-Discourse-Instance") or "").rstrip("/")
    return url if urlsplit(url).scheme in ("http", "https") and _host(url) else None


def _raw_post(post: Any, community: str, payload: bytes, *, deleted: bool = False) -> RawPost:
    """Just enough of the post to key and dedupe it; validating is the pipeline's job."""
    created = time.time()
    if not isinstance(post, Mapping) or _int(post.get("id")) is None:
        return RawPost("sha256:" + hashlib.sha256(payload).hexdigest(), community, payload, created)
    pid, version = post["id"], _int(post.get("version")) or 1
    try:
        created = parse_event_time(post.get("created_at"))
    except (EventTimeError, TypeError, ValueError):
        pass
    if deleted or _deleted(post):
        return RawPost(f"delete:{pid}", community, payload, created)
    return RawPost(f"{pid}@{version}" if version > 1 else str(pid), community, payload, created)


def _categories(cfg: Mapping[str, Any]) -> set[str]:
    return {str(c).strip().lower() for c in cfg.get("categories") or ()}


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Discourse-Event-Signature`` Discourse sends for ``body``.

    >>> sign(b"s3cret", b'{"ping":"OK"}')[:15]
    'sha256=9609237a'
    """
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class DiscourseSource(PollingSource):
    platform = fmt = "discourse"

    def __init__(self, name: str, sink, cursors, *, base_url: str, community: Optional[str] = None,
                 api_key: Optional[str] = None, api_username: Optional[str] = None,
                 categories: Iterable[str] = (), interval_s: float = 30.0, max_pages: int = 10):
        super().__init__(name, sink, cursors, interval_s=interval_s)
        self.base_url = base_url.rstrip("/")
        self.community = community or _host(self.base_url) or "discourse"
        self.headers = {"Accept": "application/json"}
        if api_key:
            self.headers["Api-Key"] = api_key
        if api_username:
            self.headers["Api-Username"] = api_username
        self.categories, self.max_pages = set(categories), max_pages
        self._wanted: Optional[set[int]] = None

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors):
        mode = cfg.get("mode", "poll")
        if mode == "webhook":
            return DiscourseWebhookSource.from_config(name, cfg, sink, cursors)
        if mode != "poll":
            raise ValueError(f"discourse: mode must be 'poll' or 'webhook', not {mode!r}")
        if not cfg.get("base_url"):
            raise ValueError("discourse: base_url is required in poll mode")
        return cls(name, sink, cursors, base_url=cfg["base_url"], community=cfg.get("community"),
                   api_key=secret_from_env("discourse", cfg, "api_key_env",
                                           required="api_key_env" in cfg),
                   api_username=cfg.get("api_username"), categories=_categories(cfg),
                   interval_s=float(cfg.get("poll_interval_s", 30)),
                   max_pages=int(cfg.get("max_pages", 10)))

    async def _get(self, http: PoliteHttp, path: str, params: dict) -> dict:
        _, _, body = await http.request("GET", self.base_url + path, params=params,
                                        headers=self.headers)
        return json.loads(body)

    async def _wanted_ids(self, http: PoliteHttp) -> Optional[set[int]]:
        if not self.categories or self._wanted is not None:
            return self._wanted
        wanted = {int(c) for c in self.categories if c.isdigit()}
        slugs = {c for c in self.categories if not c.isdigit()}
        if slugs:
            reply = await self._get(http, "/categories.json", {"include_subcategories": "true"})
            stack = list((reply.get("category_list") or {}).get("categories") or [])
            while stack:
                cat = stack.pop()
                if str(cat.get("slug", "")).lower() in slugs:
                    wanted.add(cat["id"])
                    slugs.discard(str(cat["slug"]).lower())
                stack.extend(cat.get("subcategory_list") or [])
            if slugs:
                log.warning("discourse_unknown_categories", connector=self.key, slugs=sorted(slugs))
        self._wanted = wanted
        return wanted

    async def fetch(self, http: PoliteHttp, cursor: dict) -> Page:
        last = cursor.get("last_id")
        wanted = await self._wanted_ids(http)
        posts: list[RawPost] = []
        before, top, pages = None, last, 0
        while pages < self.max_pages:
            reply = await self._get(http, "/posts.json", {"before": str(before)} if before else {})
            pages += 1
            items = [i for i in reply.get("latest_posts") or [] if isinstance(i, dict)]
            ids = [i["id"] for i in items if _int(i.get("id")) is not None]
            reached = False
            for item in items:
                pid = _int(item.get("id"))
                if pid is not None and last is not None and pid <= last:
                    reached = True
                    continue  # produced by an earlier poll
                if pid is not None:
                    top = max(top or pid, pid)
                if wanted is not None and item.get("category_id") not in wanted:
                    continue
                payload = json.dumps({"discourse_instance": self.base_url, **item},
                                     ensure_ascii=False, separators=(",", ":")).encode()
                posts.append(_raw_post(item, self.community, payload))
            if reached or not ids or last is None:
                break  # caught up, the forum's first post, or a first run's one page
            before = min(ids)
        else:
            log.warning("discourse_gap", connector=self.key, pages=pages, since_id=last,
                        hint="more new posts than max_pages pages between polls")
        return Page(posts, {"last_id": top} if top is not None else {})


class DiscourseWebhookSource(PushSource):
    platform = fmt = "discourse"
    accepted_status = 200  # Discourse counts any 2xx as delivered; 200 is what it shows

    def __init__(self, name: str, sink, *, secret: bytes, community: Optional[str] = None,
                 categories: Iterable[str] = (), **kw: Any):
        super().__init__(name, sink, **kw)
        if not secret:
            raise ValueError("discourse: a webhook secret is required")
        self.secret, self.community, self.categories = secret, community, set(categories)

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors=None):
        community = cfg.get("community") or (_host(cfg["base_url"]) if cfg.get("base_url") else None)
        return cls(name, sink, secret=secret_from_env("discourse", cfg, "secret_env").encode(),
                   community=community, categories=_categories(cfg),
                   host=cfg.get("host", "127.0.0.1"), port=int(cfg.get("port", 8091)),
                   path=cfg.get("path", "/discourse"),
                   max_body_bytes=int(cfg.get("max_body_bytes", 256 * 1024)))

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        given = headers.get("X-Discourse-Event-Signature") or ""
        if not given.startswith("sha256="):
            raise Rejected(401, "missing X-Discourse-Event-Signature")
        if not hmac.compare_digest(sign(self.secret, body).encode(), given.encode()):
            raise Rejected(401, "signature does not match")

    def posts(self, headers: Mapping[str, str], body: bytes) -> list[RawPost]:
        event = headers.get("X-Discourse-Event") or ""
        kind = headers.get("X-Discourse-Event-Type") or event.split("_")[0]
        if kind == "flag" and event in ("flag_agreed", "flag_disagreed"):
            return self._flag(event, body, self.community or _host(
                headers.get("X-Discourse-Instance") or "") or "discourse")
        if kind != "post":  # ping, or topic/user events the webhook was also set up for
            log.debug("discourse_event_ignored", connector=self.key, discourse_event=event,
                      type=kind)
            return []
        community = (self.community or _host(headers.get("X-Discourse-Instance") or "")
                     or "discourse")
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
        post = obj.get("post") if isinstance(obj, dict) else None
        if not isinstance(post, dict):  # signed but not a post: the pipeline dead-letters it
            return [_raw_post(None, community, body)]
        if post.get("topic_archetype") == "private_message":
            return []
        if self.categories and not ({str(post.get("category_id")),
                                     str(post.get("category_slug") or "").lower()} & self.categories):
            return []
        marks = {"discourse_instance": instance} if (instance := _instance(headers)) else {}
        if event == "post_destroyed" and not _deleted(post):
            body = json.dumps({"discourse_event": event, **marks, **obj},
                              ensure_ascii=False).encode()
            return [_raw_post(post, community, body, deleted=True)]
        if marks:
            body = json.dumps({**marks, **obj}, ensure_ascii=False).encode()
        return [_raw_post(post, community, body)]

    def _flag(self, event: str, body: bytes, community: str) -> list[RawPost]:
        """Staff's verdict on a flag: the body, marked with the event, keyed by flag."""
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
        flag = obj.get("flag") if isinstance(obj, dict) else None
        if not isinstance(flag, dict) or flag.get("id") is None:
            return [_raw_post(None, community, body)]
        marked = json.dumps({"discourse_event": event, **obj}, ensure_ascii=False).encode()
        return [RawPost(f"flag:{flag['id']}:{event}", community, marked, time.time())]
