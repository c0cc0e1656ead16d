"""Discord: messages of configured guilds (servers) and channels, over the Gateway v10
as a bot (JSON encoding, no compression), with resume so that no event is lost.

API shape (discord.com/developers/docs/events/gateway):

- ``GET {api_url}/gateway/bot`` with ``Authorization: Bot <token>`` gives ``url`` and
  ``session_start_limit`` (``remaining``, ``reset_after`` ms); 429 carries Retry-After.
- ``{url}/?v=10&encoding=json``: op 10 HELLO (``d.heartbeat_interval`` ms); op 1 HEARTBEAT
  (``d`` = last sequence) first after ``interval * jitter``, then every interval; op 11
  ACK in between, or the connection is a zombie: closed and resumed. A gateway op 1 asks
  for a beat at once.
- op 2 IDENTIFY (token, ``intents``, ``properties``); op 0 DISPATCH (sequence ``s``, type
  ``t``): ``READY`` names ``session_id`` and ``resume_gateway_url``; MESSAGE_CREATE /
  _UPDATE / _DELETE / _DELETE_BULK are read; GUILD_CREATE and THREAD_* say which
  channels are threads of which channel (else ``GET {api_url}/channels/{id}``, once).
- op 6 RESUME (token, ``session_id``, ``seq``) on ``resume_gateway_url`` replays every
  dispatch after ``seq``, then ``RESUMED``. op 7 RECONNECT: resume. op 9 INVALID_SESSION:
  ``d`` true resume, false wait 1-5 s and identify afresh (the gap is lost).
- Close codes 4004 (authentication failed), 4010-4014 (shard, version, invalid or
  disallowed intents) are fatal (PlatformError); 4007/4009 need a new session; others
  resume. We close with 4000, never 1000/1001, which would end the session.

Intents: GUILDS (1<<0) | GUILD_MESSAGES (1<<9) | MESSAGE_CONTENT (1<<15). MESSAGE_CONTENT
is privileged: enable "Message Content Intent" for the bot in the developer portal, or
the gateway closes with 4014. Invite the bot (scope ``bot``) with View Channels.

The cursor (``session_id``, ``seq``, ``resume_gateway_url``) is saved once the broker
has the posts up to ``seq``: a restarted process resumes and the gateway replays what it
missed, as long as Discord still holds the session (a short while; then op 9).

Each event is produced as ``{"t": <type>, "d": <the dispatch's d as sent>}`` (plus
``parent_channel_id`` in a thread), keyed by the channel's (a thread's: its parent's)
configured community or ``discord:<guild_id>/<channel_id>``. Bots' messages
(``author.bot``, webhooks too) are produced like any other and the parser makes them
``non_post`` events (reason ``bot``: counted, not scored), so a replayed recording reads
as the live stream did; ``include_bots = true`` marks the envelope
``"include_bots": true`` and the parser scores them as posts. A MESSAGE_UPDATE
without ``edited_timestamp`` (a link preview, a pin) is no edit and is dropped. Ids: an
edit ``<id>@<edited_timestamp>``, a deletion ``delete:<id>``. Moderators' actions
(``AUTO_MODERATION_ACTION_EXECUTION``, ``GUILD_AUDIT_LOG_ENTRY_CREATE``) are produced the
same way, keyed by their channel's community, or for a ban, kick or timeout by every
community of that server (``mod:<id>:<community>``); the pipeline turns them into labels.

    [discord]
    name = "acme"
    token_env = "DISCORD_BOT_TOKEN"
    guilds = ["1100000000000000001"]
    channels = ["1200000000000000001", "1200000000000000002"]   # optional: whole guilds
    include_bots = false
    [discord.communities]
    "1200000000000000001" = "acme-discord/#general"
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
import time
from typing import Any, Mapping, Optional

import aiohttp
import structlog
from aiohttp import WSMsgType
from yarl import URL

from connectors.backoff import Backoff
from connectors.polling import PlatformError, PoliteHttp, RawPost, secret_from_env
from connectors.streaming import ProtocolError, Reconnect, StreamingSource
from models.eventtime import EventTimeError, parse_event_time
from models.parsers.discord import snowflake_time

__all__ = ["DiscordSource", "INTENTS"]

log = structlog.get_logger("vigil.connect")

# GUILDS | GUILD_MODERATION (audit log entries) | GUILD_MESSAGES | MESSAGE_CONTENT |
# AUTO_MODERATION_EXECUTION: the last two need the bot's View Audit Log and Manage Server
# permissions to deliver anything, and are harmless without them
INTENTS = (1 << 0) | (1 << 2) | (1 << 9) | (1 << 15) | (1 << 21)
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HELLO, ACK = (
    0, 1, 2, 6, 7, 9, 10, 11)
FATAL_CLOSE = {4004: "authentication failed", 4010: "invalid shard", 4011: "sharding required",
               4012: "invalid API version", 4013: "invalid intents",
               4014: "disallowed intents: enable Message Content Intent in the developer portal"}
NEW_SESSION_CLOSE = (4007, 4009)  # invalid seq, session timed out: resuming cannot work
OUR_FAULT_CLOSE = (4001, 4002, 4003, 4005)  # bad opcode, decode error, (not) authenticated
RESUMABLE_CLOSE = 4000  # any code but 1000/1001 keeps the session resumable
THREAD_TYPES = (10, 11, 12)
MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK")
MODERATION_EVENTS = ("AUTO_MODERATION_ACTION_EXECUTION", "GUILD_AUDIT_LOG_ENTRY_CREATE")
MEMBER_AUDIT_ACTIONS = (20, 22, 24)  # kick, ban, member update (a timeout): no channel
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)


class DiscordSource(StreamingSource):
    platform = fmt = "discord"

    def __init__(self, name: str, sink, cursors, *, token: str, guilds: list[str],
                 channels: tuple = (), communities: Optional[Mapping[str, str]] = None,
                 include_bots: bool = False, api_url: str = "https://discord.com/api/v10",
                 **kw: Any):
        super().__init__(name, sink, cursors, **kw)
        if not guilds:
            raise ValueError("discord: guilds = [...] names the servers to read")
        self.token, self.guilds, self.channels = token, set(guilds), set(channels)
        self.communities = dict(communities or {})
        self.include_bots, self.api_url = include_bots, api_url.rstrip("/")
        self._parents: dict[str, Optional[str]] = {}  # channel id -> thread's parent, or None
        self._seen: dict[str, set[str]] = {}  # guild -> communities produced to so far
        self._http: Optional[PoliteHttp] = None
        self._auth = {"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (vigil, 1)"}

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors) -> "DiscordSource":
        return cls(name, sink, cursors, token=secret_from_env("discord", cfg, "token_env"),
                   guilds=[str(g) for g in cfg.get("guilds") or ()],
                   channels=tuple(str(c) for c in cfg.get("channels") or ()),
                   communities={str(k): str(v) for k, v in (cfg.get("communities") or {}).items()},
                   include_bots=bool(cfg.get("include_bots", False)),
                   api_url=cfg.get("api_url", "https://discord.com/api/v10"),
                   checkpoint_s=float(cfg.get("checkpoint_s", 0.5)),
                   backoff=Backoff(base_s=float(cfg.get("reconnect_base_s", 1.0)), cap_s=120.0))

    async def session(self, http: aiohttp.ClientSession) -> None:
        self._http = PoliteHttp(self.platform, http, stop=self.stop)
        resume = bool(self.cursor.get("session_id") and self.cursor.get("resume_gateway_url"))
        url = self.cursor["resume_gateway_url"] if resume else await self._gateway_url()
        # autoclose off: aiohttp would answer the gateway's close frame with 1000, which
        # ends the session; ``finally`` answers with 4000 instead
        ws = await http.ws_connect(URL(url).with_query(v="10", encoding="json"),
                                   autoclose=False, max_msg_size=0,  # GUILD_CREATE can be MBs
                                   timeout=aiohttp.ClientWSTimeout(ws_close=5.0))
        try:
            hello = self._frame(ws, await ws.receive(timeout=30))
            beat_ms = (hello.get("d") or {}).get("heartbeat_interval")
            if hello.get("op") != HELLO or not isinstance(beat_ms, (int, float)):
                raise ProtocolError("discord: the gateway did not start with HELLO")
            if resume:
                await ws.send_json({"op": RESUME, "d": {
                    "token": self.token, "session_id": self.cursor["session_id"],
                    "seq": self.cursor.get("seq")}})
            else:
                await ws.send_json({"op": IDENTIFY, "d": {
                    "token": self.token, "intents": INTENTS,
                    "properties": {"os": sys.platform, "browser": "vigil", "device": "vigil"}}})
            await self._pump(ws, beat_ms / 1000.0)
        finally:
            await ws.close(code=RESUMABLE_CLOSE)

    async def _gateway_url(self) -> str:
        _, _, body = await self._http.request("GET", f"{self.api_url}/gateway/bot",
                                              headers=self._auth, timeout=HTTP_TIMEOUT)
        reply = json.loads(body)
        limit = reply.get("session_start_limit") or {}
        if limit.get("remaining", 1) < 1:  # identifies are budgeted per day
            raise Reconnect("discord: no session starts left",
                            float(limit.get("reset_after", 0)) / 1000)
        return reply["url"]

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, interval: float) -> None:
        next_beat, acked = time.monotonic() + interval * random.random(), True
        while True:
            if time.monotonic() >= next_beat:
                if not acked:
                    raise Reconnect("discord: no heartbeat ACK (zombie connection)")
                await ws.send_json({"op": HEARTBEAT, "d": self.cursor.get("seq")})
                acked, next_beat = False, time.monotonic() + interval
            try:
                msg = await ws.receive(timeout=max(0.01, next_beat - time.monotonic()))
            except asyncio.TimeoutError:
                continue
            frame = self._frame(ws, msg)
            op = frame.get("op")
            if op == DISPATCH:
                await self._dispatch(frame.get("t"), frame.get("s"), frame.get("d"))
            elif op == ACK:
                acked = True
            elif op == HEARTBEAT:
                await ws.send_json({"op": HEARTBEAT, "d": self.cursor.get("seq")})
            elif op == RECONNECT:
                raise Reconnect("discord: the gateway asked to reconnect")
            elif op == INVALID_SESSION:
                if frame.get("d") is True:
                    raise Reconnect("discord: invalid session (resumable)")
                self._new_session("invalid session")
                raise Reconnect("discord: invalid session", random.uniform(1.0, 5.0))

    def _frame(self, ws: aiohttp.ClientWebSocketResponse, msg: aiohttp.WSMessage) -> dict:
        """A gateway payload, or the reason the connection ended raised."""
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            self._closed(ws.close_code or (msg.data if isinstance(msg.data, int) else None),
                         msg.extra)
        if msg.type == WSMsgType.ERROR:
            raise ConnectionError(f"discord: gateway error {ws.exception()!r}")
        try:
            frame = json.loads(msg.data)
        except (TypeError, ValueError):
            frame = None
        if not isinstance(frame, dict):
            raise ProtocolError("discord: a gateway frame that is not a JSON object")
        return frame

    def _closed(self, code: Optional[int], reason: Any) -> None:
        if code in FATAL_CLOSE:
            raise PlatformError(f"discord: gateway closed {code}: {FATAL_CLOSE[code]}", code)
        if code in NEW_SESSION_CLOSE:
            self._new_session(f"closed {code}")
        why = f"discord: gateway closed {code} {reason or ''}".strip()
        raise ProtocolError(why) if code in OUR_FAULT_CLOSE else Reconnect(why)

    def _new_session(self, why: str) -> None:
        log.warning("discord_session_lost", connector=self.key, reason=why,
                    seq=self.cursor.get("seq"))
        self.cursor = {}
        self.touch()

    async def _dispatch(self, t: Optional[str], s: Optional[int], d: Any) -> None:
        d = d if isinstance(d, dict) else {}
        if t == "READY":
            self.cursor = {"session_id": d.get("session_id"),
                           "resume_gateway_url": d.get("resume_gateway_url")}
            log.info("discord_ready", connector=self.key, guilds=len(d.get("guilds") or ()))
        elif t == "RESUMED":
            log.info("discord_resumed", connector=self.key, seq=self.cursor.get("seq"))
        elif t == "GUILD_CREATE" and str(d.get("id")) in self.guilds:
            self._learn(d.get("channels") or ())
            self._learn(d.get("threads") or ())
        elif t in ("THREAD_CREATE", "THREAD_UPDATE"):
            self._learn((d,))
        elif t == "THREAD_LIST_SYNC":
            self._learn(d.get("threads") or ())
        elif t in MESSAGE_EVENTS:
            await self._message(t, d)
        elif t in MODERATION_EVENTS:
            await self._moderation(t, d)
        if s is not None:  # handled (produced, or not ours): a resume starts after it
            self.cursor["seq"] = s
            self.touch()

    def _learn(self, channels: Any) -> None:
        for c in channels:
            if isinstance(c, Mapping) and c.get("id"):
                thread = c.get("type") in THREAD_TYPES and c.get("parent_id")
                self._parents[str(c["id"])] = str(c["parent_id"]) if thread else None

    async def _parent(self, channel: str) -> Optional[str]:
        """The channel a thread belongs to (None for a channel), asked once per channel
        the gateway did not describe. Heartbeats wait meanwhile: a long 429 here costs a
        resume, not an event."""
        if channel in self.channels or channel in self.communities:
            return None
        if channel not in self._parents:
            try:
                _, _, body = await self._http.request(
                    "GET", f"{self.api_url}/channels/{channel}", headers=self._auth,
                    timeout=HTTP_TIMEOUT)
                self._learn((json.loads(body),))
            except (PlatformError, ValueError):  # no access: treat as a plain channel
                pass
            self._parents.setdefault(channel, None)
        return self._parents[channel]

    async def _message(self, t: str, d: dict) -> None:
        guild, channel, mid = str(d.get("guild_id")), str(d.get("channel_id")), str(d.get("id"))
        if guild not in self.guilds:
            return
        parent = await self._parent(channel)
        home = parent or channel
        if self.channels and home not in self.channels:
            return
        community = self.communities.get(home) or f"discord:{guild}/{home}"
        self._seen.setdefault(guild, set()).add(community)
        envelope: dict = {"t": t, "d": d, **({"parent_channel_id": parent} if parent else {}),
                          **({"include_bots": True} if self.include_bots else {})}
        created = time.time()
        if t == "MESSAGE_DELETE":
            post_id = f"delete:{mid}"
        elif t == "MESSAGE_DELETE_BULK":
            ids = ",".join(sorted(str(i) for i in d.get("ids") or ()))
            post_id = f"delete-bulk:{hashlib.sha1(ids.encode()).hexdigest()[:16]}"
        else:
            edited = d.get("edited_timestamp")
            if t == "MESSAGE_UPDATE" and not edited:
                return  # an embed unfurled or a pin: the author did not change the text
            post_id = f"{mid}@{edited}" if t == "MESSAGE_UPDATE" else mid
            try:  # for the lag metric: when this version was written
                created = parse_event_time(edited or d.get("timestamp"))
            except EventTimeError:
                created = snowflake_time(mid) or created
        payload = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        await self.emit(RawPost(post_id, community, payload, created))

    async def _moderation(self, t: str, d: dict) -> None:
        """A moderator's action, keyed by the community it concerns: the channel's, or
        for a ban, kick or timeout (a member, not a channel) every community of that
        server this connector has produced to."""
        guild = str(d.get("guild_id"))
        if guild not in self.guilds:
            return
        options = d.get("options") if isinstance(d.get("options"), Mapping) else {}
        channel = d.get("channel_id") or options.get("channel_id")
        if channel:
            home = await self._parent(str(channel)) or str(channel)
            if self.channels and home not in self.channels:
                return
            communities = {self.communities.get(home) or f"discord:{guild}/{home}"}
        elif t == "GUILD_AUDIT_LOG_ENTRY_CREATE" and d.get("action_type") in MEMBER_AUDIT_ACTIONS:
            communities = set(self._seen.get(guild, ()))
            if len(self.guilds) == 1:  # after a restart, before any message: the configured
                communities |= set(self.communities.values())
        else:
            return
        payload = json.dumps({"t": t, "d": d}, ensure_ascii=False, separators=(",", ":")).encode()
        ident = d.get("id") or hashlib.sha1(payload).hexdigest()[:16]
        for community in sorted(communities):
            await self.emit(RawPost(f"mod:{ident}:{community}", community, payload, time.time()))
