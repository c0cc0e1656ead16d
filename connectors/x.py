"""X (Twitter) API v2: posts matching configured rules from the filtered stream, with
recent search filling what the stream missed (or, without stream access, polling).

API shape (docs.x.com), app-only auth ``Authorization: Bearer <token>``:

- ``GET /2/tweets/search/stream/rules`` lists the active rules (``data[].id/value/tag``);
  ``POST`` there with ``{"delete": {"ids"}}`` / ``{"add": [{"value", "tag"}]}`` makes them
  exactly the configured ones (``meta.summary.invalid`` > 0: refused, the connector stops).
- ``GET /2/tweets/search/stream?tweet.fields=...&expansions=author_id&user.fields=username``:
  one long-lived chunked response of ``\\r\\n``-separated JSON lines ``{"data", "includes":
  {"users"}, "matching_rules": [{"id", "tag"}]}``, blank keep-alives every ~20 s. Nothing
  for ``stall_timeout_s`` (90 s), or a line ``{"errors": [...]}`` (operational-disconnect):
  reconnect. Network errors wait linearly 0.25 s ... 16 s, 5xx double 5 s ... 320 s, 429
  waits for ``x-rate-limit-reset`` (else doubles from 60 s); 401/403/4xx stop it.
- ``GET /2/tweets/search/recent?query=&since_id=|start_time=&next_token=``: newest first,
  ``meta.next_token`` pages older (``max_pages`` at most); it reaches 7 days back and
  refuses older ``since_id``/``start_time``, so those are clamped.
- Any endpoint answering ``x-rate-limit-remaining: 0`` waits for ``x-rate-limit-reset``.

The cursor is, per rule tag, the newest tweet id produced (snowflakes, compared as ints)
or the time the rule was first seen (nothing older is fetched). On every (re)connect,
once the stream answered 200 and before its lines are read (they wait in the socket),
recent search fetches each rule's tweets since the cursor: a disconnect or a restart
loses nothing search has indexed; stream repeats are dropped by id. ``mode = "search"``
(an access level without the stream) runs that search every ``poll_interval_s``.

Produced per tweet, stream and search alike: ``{"data": tweet, "includes": {"users":
[author], "media": [its media], "tweets": [the tweets it references]}, "matching_rules":
[...]}`` (``models.parsers.x_tweet.tweet_payload``) keyed ``x:<first matching tag>``. Retweets are
produced but parsed as ``non_post`` events: their text is a truncated copy of someone
else's words, scored on the original; the event still counts amplification. The stream
sends no deletions. An edit is a new id whose ``edit_history_tweet_ids`` starts with the
original: post_id = the original, revision = the new id.

Moderators' actions: none; Vigil learns nothing from moderators on X. API v2 gives no
community a moderation log and sends no removal events (nor deletions, on the stream or
in search). The one moderator-like act, a conversation's author hiding a reply
(``PUT /2/tweets/:id/hidden``), is done through the API but never reported as an
event, so a connector cannot see it happen. Labels for X come only from people (the
CLI, a chat click).

    [x]
    name = "acme"
    bearer_token_env = "X_BEARER_TOKEN"
    mode = "stream"                # or "search"
    rules = [{value = "(acmegames OR @acmegames) -is:retweet", tag = "acme"},
             {value = "acme lang:de", tag = "acme-de"}]   # tags: unique, required
    poll_interval_s = 60           # search mode (mind the tier's recent-search quota)
    max_pages = 10                 # recent-search pages per rule per fill
    stall_timeout_s = 90
    # api_url = "https://api.x.com"; network_backoff_s = 0.25, network_backoff_cap_s = 16,
    # http_backoff_s = 5, http_backoff_cap_s = 320, rate_limit_backoff_s = 60
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any, Mapping, Optional

import aiohttp
import structlog

from connectors.polling import PlatformError, RawPost, secret_from_env
from connectors.streaming import ProtocolError, Reconnect, StreamingSource
from models.eventtime import EventTimeError, parse_event_time, to_iso
from models.parsers.x import _first_tag, _list
from models.parsers.x_tweet import tweet_payload
from streams import metrics

__all__ = ["XSource"]

log = structlog.get_logger("vigil.connect")

TWEET_FIELDS = ("created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,"
                "lang,entities,edit_history_tweet_ids,note_tweet,attachments")  # note_tweet: long posts
# referenced tweets: their edit history maps a reply's target to the id Vigil carries;
# media: what a photo or video posted alone reads as
FIELDS = {"tweet.fields": TWEET_FIELDS,
          "expansions": "author_id,referenced_tweets.id,attachments.media_keys",
          "user.fields": "username", "media.fields": "type"}
MODES = ("stream", "search")
SEARCH_WINDOW_S = 7 * 86400 - 300  # recent search's reach, with a margin
SNOWFLAKE_EPOCH_MS = 1288834974657


def _json(raw: bytes) -> Any:
    with contextlib.suppress(ValueError):
        return json.loads(raw)


class _Schedule:
    """X's reconnect waits for one kind of failure (``XSource.schedules``): ``first_s``
    growing linearly or doubling up to ``cap_s``; a wait the server named wins."""

    def __init__(self, first_s: float, cap_s: float, linear: bool = False):
        self.first_s, self.cap_s, self.linear, self.attempt = first_s, cap_s, linear, 0

    def next(self, after: Optional[float]) -> float:
        n, self.attempt = self.attempt, self.attempt + 1
        if after is not None:
            return after
        return min(self.cap_s, self.first_s * (n + 1 if self.linear else 2 ** n))

    def reset(self) -> None:
        self.attempt = 0


class XSource(StreamingSource):
    platform = fmt = "x"

    def __init__(self, name: str, sink, cursors, *, token: str, rules: list[dict],
                 mode: str = "stream", api_url: str = "https://api.x.com",
                 poll_interval_s: float = 60.0, max_pages: int = 10,
                 stall_timeout_s: float = 90.0, backoff_s: Optional[dict] = None):
        super().__init__(name, sink, cursors)
        tags = [str(r.get("tag") or "") for r in rules]
        if not rules or "" in tags or len(set(tags)) < len(tags) or mode not in MODES:
            raise ValueError("x: rules need a value and a unique tag each; mode is stream|search")
        self.rules = {t: str(r["value"]) for t, r in zip(tags, rules)}
        self.mode, self.api_url, self.poll_interval_s = mode, api_url.rstrip("/"), poll_interval_s
        self.max_pages, self.stall_timeout_s = max_pages, stall_timeout_s
        self._auth = {"Authorization": f"Bearer {token}", "User-Agent": "vigil/1.0"}
        b = {"network": 0.25, "network_cap": 16.0, "http": 5.0, "http_cap": 320.0,
             "rate_limit": 60.0, "rate_limit_cap": 900.0, **(backoff_s or {})}
        self.schedules = {"network": _Schedule(b["network"], b["network_cap"], linear=True),
                          "http": _Schedule(b["http"], b["http_cap"]),
                          "rate_limit": _Schedule(b["rate_limit"], b["rate_limit_cap"])}
        self.backoff = self.schedules["network"]
        self.rule_ids: dict[str, str] = {}  # tag -> active rule id, once synced
        self._resume_at: dict[str, float] = {}  # endpoint -> epoch its quota resets

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors) -> "XSource":
        backoff = {k.replace("_backoff_s", "").replace("_backoff_cap_s", "_cap"): float(v)
                   for k, v in cfg.items() if "_backoff_" in k}
        return cls(name, sink, cursors, token=secret_from_env("x", cfg, "bearer_token_env"),
                   rules=list(cfg.get("rules") or []), mode=cfg.get("mode", "stream"),
                   api_url=cfg.get("api_url", "https://api.x.com"),
                   poll_interval_s=float(cfg.get("poll_interval_s", 60)),
                   max_pages=int(cfg.get("max_pages", 10)),
                   stall_timeout_s=float(cfg.get("stall_timeout_s", 90)), backoff_s=backoff)

    def _failed(self, kind: str, reason: str, after: Optional[float] = None) -> Reconnect:
        """Pick the schedule the base class's next wait comes from."""
        self.backoff = self.schedules[kind]
        if kind != "network":
            metrics.CONNECTOR_ERRORS.labels(
                platform="x", kind="rate_limited" if kind == "rate_limit" else "server_error").inc()
        return Reconnect(reason, after)

    def _check(self, what: str, status: int, headers: Mapping[str, str]) -> None:
        """Note the endpoint's quota; raise for an answer that is not a success."""
        reset = headers.get("x-rate-limit-reset", "")
        reset = float(reset) + 0.25 if reset.isdigit() else None
        wait = max(0.0, reset - time.time()) if reset else None
        if headers.get("x-rate-limit-remaining") == "0" and reset:
            self._resume_at[what] = reset
        if status < 400:
            return
        if status == 429:
            raise self._failed("rate_limit", f"{what}: HTTP 429", wait)
        if status >= 500:
            raise self._failed("http", f"{what}: HTTP {status}")
        metrics.CONNECTOR_ERRORS.labels(platform="x", kind="client_error").inc()
        hint = " (no filtered-stream access? try mode = \"search\")" if status == 403 else ""
        raise PlatformError(f"x: HTTP {status} from {what}{hint}", status)

    async def _call(self, http: aiohttp.ClientSession, method: str, path: str, **kw) -> dict:
        what = f"{method} {path}"  # its last answer said remaining 0: wait for the reset
        if await self.wait_or_stop(self._resume_at.pop(what, 0.0) - time.time()):
            raise asyncio.CancelledError("stopping")
        async with http.request(method, self.api_url + path, headers=self._auth,
                                timeout=aiohttp.ClientTimeout(total=30), **kw) as resp:
            body = await resp.read()
            self._check(what, resp.status, resp.headers)
        reply = _json(body)
        if not isinstance(reply, dict):
            raise ProtocolError(f"{what}: not a JSON object")
        return reply

    async def session(self, http: aiohttp.ClientSession) -> None:
        connected = None
        try:
            while self.mode == "search":  # until stopped (the base class cancels this)
                await self._fill(http)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=self.poll_interval_s)
            if not self.rule_ids:
                await self._sync_rules(http)
            # (its connect quota is met by the 429 path, which waits for the reset)
            async with http.get(self.api_url + "/2/tweets/search/stream", params=FIELDS,
                                headers=self._auth,
                                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30)) as resp:
                self._check("GET /2/tweets/search/stream", resp.status, resp.headers)
                connected = time.monotonic()
                log.info("x_stream_connected", connector=self.key)
                await self._fill(http)  # what the stream missed; its lines wait meanwhile
                await self._read(resp)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, ProtocolError):
            self.backoff = self.schedules["network"]
            raise
        finally:
            if connected and time.monotonic() - connected >= self.healthy_after_s:
                for schedule in self.schedules.values():
                    schedule.reset()

    async def _read(self, resp: aiohttp.ClientResponse) -> None:
        buf = b""
        while True:
            try:
                chunk = await asyncio.wait_for(resp.content.readany(), self.stall_timeout_s)
            except asyncio.TimeoutError:
                raise ConnectionError(f"stream stalled: silent {self.stall_timeout_s}s") from None
            if not chunk:
                raise self._failed("network", "stream closed by X")
            *lines, buf = (buf + chunk).split(b"\n")
            if len(buf) > 1 << 20:
                raise ProtocolError("stream line over 1 MiB")
            for obj in (_json(line) for line in lines if line.strip()):  # blank: keep-alive
                if not isinstance(obj, dict):
                    metrics.CONNECTOR_ERRORS.labels(platform="x", kind="protocol").inc()
                    log.warning("x_bad_stream_line", connector=self.key)
                elif isinstance(obj.get("data"), dict):
                    await self._emit(obj["data"], obj.get("includes"), obj.get("matching_rules"))
                elif obj.get("errors"):
                    raise self._failed("network", f"stream error: {obj['errors']!s:.300}")

    async def _sync_rules(self, http: aiohttp.ClientSession) -> None:
        path = "/2/tweets/search/stream/rules"
        active = (await self._call(http, "GET", path)).get("data") or []
        want = {(v, t) for t, v in self.rules.items()}
        stale = [r["id"] for r in active if (r.get("value"), r.get("tag")) not in want]
        have = {(r.get("value"), r.get("tag")): r["id"] for r in active}
        add = [{"value": v, "tag": t} for v, t in sorted(want - set(have))]
        if stale:
            await self._call(http, "POST", path, json={"delete": {"ids": stale}})
        if add:
            reply = await self._call(http, "POST", path, json={"add": add})
            if ((reply.get("meta") or {}).get("summary") or {}).get("invalid"):
                errors = [e.get("title") or e.get("message") for e in reply.get("errors") or []]
                raise PlatformError(f"x: rules refused: {errors}", 400)
            have.update({(r.get("value"), r.get("tag")): r["id"] for r in reply.get("data") or []})
        self.rule_ids = {t: have[(v, t)] for (v, t) in want if (v, t) in have}
        log.info("x_rules_synced", connector=self.key, added=len(add), deleted=len(stale))

    async def _fill(self, http: aiohttp.ClientSession) -> None:
        """Recent search since each rule's cursor; produced oldest first, each once."""
        found: dict[int, tuple[dict, Any, list]] = {}
        oldest = time.time() - SEARCH_WINDOW_S
        for tag, value in self.rules.items():
            since = self.cursor.get("since_id", {}).get(tag)
            first_seen = self.cursor.get("since_time", {}).get(tag)
            params = {**FIELDS, "query": value, "max_results": "100"}
            if since and ((int(since) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000 > oldest:
                params["since_id"] = since
            elif since or first_seen:  # (a since_id past search's reach leaves a gap)
                params["start_time"] = to_iso(int(max(first_seen or 0, oldest)))
            else:  # a rule seen for the first time starts now, not 7 days back
                self._set("since_time", tag, time.time())
                continue
            rule = {"tag": tag, **({"id": self.rule_ids[tag]} if tag in self.rule_ids else {})}
            for _ in range(self.max_pages):
                reply = await self._call(http, "GET", "/2/tweets/search/recent", params=params)
                includes = reply.get("includes")
                for tweet in reply.get("data") or []:
                    if isinstance(tweet, dict) and str(tweet.get("id")).isdigit():
                        found.setdefault(int(tweet["id"]), (tweet, includes, []))[2].append(rule)
                params["next_token"] = (reply.get("meta") or {}).get("next_token")
                if not params["next_token"]:
                    break
            else:
                log.warning("x_fill_truncated", connector=self.key, tag=tag, pages=self.max_pages)
        for _, (tweet, includes, rules) in sorted(found.items()):
            await self._emit(tweet, includes, rules)

    async def _emit(self, tweet: dict, includes: Any, rules: Any) -> None:
        tid = str(tweet.get("id") or "")
        rules = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
        if not tid.isdigit():
            metrics.CONNECTOR_ERRORS.labels(platform="x", kind="protocol").inc()
            return
        payload = tweet_payload(tweet, includes, rules)
        history = _list(tweet.get("edit_history_tweet_ids"))
        created = time.time()
        with contextlib.suppress(EventTimeError):
            created = parse_event_time(tweet.get("created_at"))
        await self.emit(RawPost(tid if len(history) < 2 else f"{history[0]}@{tid}",
                                f"x:{_first_tag(rules) or self.name}",
                                json.dumps(payload, separators=(",", ":")).encode(), created))
        for tag in {str(r.get("tag")) for r in rules} & set(self.rules):
            if int(tid) > int((self.cursor.get("since_id") or {}).get(tag) or 0):
                self._set("since_id", tag, tid)

    def _set(self, section: str, tag: str, value: Any) -> None:
        # copy on write: a checkpoint's snapshot must not change while it is being saved
        self.cursor = {**self.cursor, section: {**(self.cursor.get(section) or {}), tag: value}}
        self.touch()
