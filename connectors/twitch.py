r"""Twitch chat: the messages, moderators' actions and raids of configured channels, over
Twitch IRC on the WebSocket ``wss://irc-ws.chat.twitch.tv:443``.

Protocol (dev.twitch.tv/docs/irc): the client sends ``CAP REQ :twitch.tv/tags
twitch.tv/commands`` (IRCv3 message tags, and Twitch's CLEARCHAT/CLEARMSG/USERNOTICE/
RECONNECT), ``PASS oauth:<token>`` and ``NICK <bot login>``; the server answers
``CAP * ACK`` and ``001`` (welcome), then the client sends ``JOIN #a,#b``: at most 20
join attempts per 10 s for a normal account, 2,000 for a verified bot (``join_limit``).
A bad or expired token gets ``NOTICE * :Login authentication failed``. The server sends
``PING :tmi.twitch.tv`` about every 5 minutes and drops us unless ``PONG :tmi.twitch.tv``
comes back; we PING it too after ``ping_after_s`` of silence and reconnect if nothing
answers within ``pong_timeout_s``. ``RECONNECT`` means the server is going down for
maintenance: reconnect and rejoin. One WebSocket frame may hold several lines (CRLF).

What it reads: ``PRIVMSG`` (a chat message: tags ``id``, ``user-id``, ``display-name``,
``tmi-sent-ts`` (ms), ``room-id``, ``reply-parent-msg-id``, ``reply-thread-parent-msg-id``,
``emotes``, ``badges``, ``bits``, ``first-msg``, ``mod``) is a post; ``CLEARCHAT`` (a
ban, a timeout with ``ban-duration``, or without a user the whole chat cleared) and
``CLEARMSG`` (one message removed: ``target-msg-id``) are ``moderation_action`` events;
``USERNOTICE`` (subs, gifts, raids: ``msg-id``, ``msg-param-*``) is a ``non_post`` event,
or a post when it carries what its user typed (a resub's message, an announcement):
a raid (``msg-id=raid``, ``msg-param-viewerCount``) precedes a flood of newcomers'
messages. JOIN, PART, ROOMSTATE, USERSTATE, GLOBALUSERSTATE and numerics are ignored.

Payload: Twitch sends IRC lines, not JSON, so what reaches ``posts.raw`` is Vigil's JSON
rendering of one parsed line, ``{"command": "PRIVMSG", "channel": "#acme", "tags":
{<name>: <unescaped value>}, "prefix": "nick!nick@nick.tmi.twitch.tv", "params": [...],
"text": <trailing parameter or null>, "raw": <the line as received>}``, keyed by the
community: ``"twitch:#<channel>"`` unless ``communities`` maps the channel to a name.

Chat has no history API: messages sent while Vigil is disconnected or stopped are lost
for good. The cursor holds only the ids produced recently, so a line that arrives twice
around a reconnect or a restart is produced once.

Token: a user access token of the bot account with scope ``chat:read`` (nothing is ever
sent to the chat). Tokens from the authorization code flow expire after hours; give
``refresh_token_env``, ``client_id_env`` and ``client_secret_env`` and a failed login
refreshes it once (kept in memory only) before giving up.

    [twitch]
    name = "acme"
    nick = "acme_vigil_bot"            # the bot account's login
    token_env = "TWITCH_TOKEN"         # user access token, scope chat:read ("oauth:" optional)
    # refresh_token_env = "TWITCH_REFRESH_TOKEN"  # optional, with the app's credentials:
    # client_id_env = "TWITCH_CLIENT_ID"
    # client_secret_env = "TWITCH_CLIENT_SECRET"
    channels = ["acmegames", "acmesupport"]
    join_limit = 20                    # JOINs per 10 s: 20, or 2000 for a verified bot
    ping_after_s = 300                 # our PING after this long without a line...
    pong_timeout_s = 10                # ...and a reconnect if nothing answers it
    [twitch.communities]
    acmegames = "acme-main"            # default "twitch:#acmegames"
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import deque
from typing import Any, Mapping, Optional

import aiohttp
import structlog

from connectors.backoff import Backoff
from connectors.polling import PlatformError, RawPost, secret_from_env
from connectors.streaming import Reconnect, StreamingSource
from models.parsers.twitch import _int, _nick, parse_irc, parse_twitch

__all__ = ["TwitchSource"]

log = structlog.get_logger("vigil.connect")

IRC_URL = "wss://irc-ws.chat.twitch.tv:443"
TOKEN_URL = "https://id.twitch.tv/oauth2/token"
PRODUCED = ("PRIVMSG", "CLEARCHAT", "CLEARMSG", "USERNOTICE")


class TwitchSource(StreamingSource):
    platform = fmt = "twitch"

    def __init__(self, name: str, sink, cursors, *, nick: str, token: str, channels: list[str],
                 communities: Optional[Mapping[str, str]] = None, irc_url: str = IRC_URL,
                 join_limit: int = 20, join_window_s: float = 10.0, ping_after_s: float = 300.0,
                 pong_timeout_s: float = 10.0, refresh: Optional[tuple[str, str, str]] = None,
                 token_url: str = TOKEN_URL, reconnect_base_s: float = 1.0):
        super().__init__(name, sink, cursors, backoff=Backoff(base_s=reconnect_base_s, cap_s=120.0))
        self.nick, self.token = nick.lower(), token.removeprefix("oauth:")
        self.channels = [c.lower().lstrip("#") for c in channels]
        self.communities = {k.lower().lstrip("#"): v for k, v in (communities or {}).items()}
        self.irc_url, self.token_url, self.refresh = irc_url, token_url, refresh
        self.join_limit, self.join_window_s = max(1, join_limit), join_window_s
        self.ping_after_s, self.pong_timeout_s = ping_after_s, pong_timeout_s
        # join attempts: the limit is per account, so it outlives a connection
        self._joins: deque[float] = deque()
        self._refreshed = False

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors) -> "TwitchSource":
        refresh = None
        if cfg.get("refresh_token_env"):
            refresh = tuple(secret_from_env("twitch", cfg, k) for k in
                            ("refresh_token_env", "client_id_env", "client_secret_env"))
        return cls(name, sink, cursors, nick=cfg["nick"],
                   token=secret_from_env("twitch", cfg, "token_env"),
                   channels=list(cfg["channels"]), communities=dict(cfg.get("communities", {})),
                   irc_url=cfg.get("irc_url", IRC_URL), join_limit=int(cfg.get("join_limit", 20)),
                   join_window_s=float(cfg.get("join_window_s", 10)),
                   ping_after_s=float(cfg.get("ping_after_s", 300)),
                   pong_timeout_s=float(cfg.get("pong_timeout_s", 10)), refresh=refresh,
                   token_url=cfg.get("token_url", TOKEN_URL),
                   reconnect_base_s=float(cfg.get("reconnect_base_s", 1.0)))

    def community(self, channel: Optional[str]) -> str:
        name = (channel or "").lstrip("#").lower()
        return self.communities.get(name) or f"twitch:#{name}"

    async def session(self, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(self.irc_url, heartbeat=None, autoping=True) as ws:
            await ws.send_str("CAP REQ :twitch.tv/tags twitch.tv/commands")
            await ws.send_str(f"PASS oauth:{self.token}")  # never logged
            await ws.send_str(f"NICK {self.nick}")
            joiner: Optional[asyncio.Task] = None
            pinged = False
            try:
                while True:
                    try:
                        frame = await ws.receive(
                            timeout=self.pong_timeout_s if pinged else self.ping_after_s)
                    except asyncio.TimeoutError:
                        if pinged:
                            raise ConnectionError("no PONG to our PING") from None
                        await ws.send_str("PING :tmi.twitch.tv")
                        pinged = True
                        continue
                    if frame.type == aiohttp.WSMsgType.ERROR:
                        raise ConnectionError(f"websocket error: {ws.exception()}")
                    if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                      aiohttp.WSMsgType.CLOSED):
                        return
                    pinged = False  # anything heard, a PONG included, proves the link alive
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        continue
                    for line in frame.data.split("\n"):
                        line = line.rstrip("\r")
                        if line and await self._line(http, ws, parse_irc(line)) and not joiner:
                            joiner = asyncio.create_task(self._join(ws))
            finally:
                if joiner:
                    joiner.cancel()

    async def _line(self, http: aiohttp.ClientSession, ws, msg: dict) -> bool:
        """Handle one line; True on the welcome (time to join)."""
        command, text = msg["command"], msg["text"] or ""
        if command == "PING":
            params = msg["params"]
            await ws.send_str(f"PONG :{params[-1] if params else 'tmi.twitch.tv'}")
        elif command in PRODUCED:
            await self._produce(msg)
        elif command == "001":
            self._refreshed = False
            log.info("twitch_logged_in", connector=self.key, nick=self.nick)
            return True
        elif command == "RECONNECT":
            raise Reconnect("twitch asked to reconnect (server maintenance)", after_s=0.0)
        elif command == "CAP" and "NAK" in msg["params"][1:2]:
            # without tags there are no message ids or times: every line would be dead-lettered
            raise PlatformError(f"twitch refused capabilities: {text}", 400)
        elif command == "NOTICE" and msg["params"][:1] == ["*"] and (
                "Login authentication failed" in text or "Improperly formatted auth" in text):
            if self.refresh and not self._refreshed:
                await self._refresh_token(http)
                raise Reconnect("login failed with an expired token: refreshed it", after_s=0.0)
            raise PlatformError(f"twitch: {text} (check token_env: a user access token of "
                                f"{self.nick!r} with scope chat:read)", 401)
        elif command == "NOTICE":
            log.warning("twitch_notice", connector=self.key, channel=msg["channel"],
                        msg_id=msg["tags"].get("msg-id"), text=text)
        elif command == "JOIN" and _nick(msg["prefix"]) == self.nick:
            log.info("twitch_joined", connector=self.key, channel=msg["channel"])
        return False

    async def _produce(self, msg: dict) -> None:
        post_id = parse_twitch(msg).get("post_id")
        if not post_id:  # no id tag: the line itself, so that a repeat is still recognised
            post_id = "line:" + hashlib.sha1(msg["raw"].encode()).hexdigest()[:16]
        sent = _int(msg["tags"].get("tmi-sent-ts"))
        payload = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()
        await self.emit(RawPost(str(post_id), self.community(msg["channel"]), payload,
                                sent / 1000.0 if sent else time.time()))

    async def _join(self, ws) -> None:
        """JOIN every channel in batches, never more than ``join_limit`` per window."""
        todo = list(self.channels)
        try:
            while todo:
                now = time.monotonic()
                while self._joins and now - self._joins[0] >= self.join_window_s:
                    self._joins.popleft()
                room = min(self.join_limit - len(self._joins), 10)  # 10 names keep a line short
                if room <= 0:
                    await asyncio.sleep(self.join_window_s - (now - self._joins[0]))
                    continue
                batch, todo = todo[:room], todo[room:]
                await ws.send_str("JOIN " + ",".join(f"#{c}" for c in batch))
                self._joins.extend([time.monotonic()] * len(batch))
        except (ConnectionError, aiohttp.ClientError):
            return  # the receive loop sees the connection end and reconnects

    async def _refresh_token(self, http: aiohttp.ClientSession) -> None:
        refresh_token, client_id, client_secret = self.refresh
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": client_id, "client_secret": client_secret}
        async with http.post(self.token_url, data=form) as resp:
            if resp.status >= 500 or resp.status == 429:
                raise ConnectionError(f"token refresh: HTTP {resp.status}")
            if resp.status != 200:
                raise PlatformError(f"twitch: token refresh: HTTP {resp.status}", resp.status)
            body = await resp.json(content_type=None)
        self.token = body["access_token"]
        self.refresh = (body.get("refresh_token") or refresh_token, client_id, client_secret)
        self._refreshed = True
        log.info("twitch_token_refreshed", connector=self.key)
