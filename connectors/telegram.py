"""Telegram: messages and channel posts of configured chats, and the bans and mutes of
their members, via the Bot API.

API shape (core.telegram.org/bots/api): ``POST {api_url}/bot<token>/<method>`` with a JSON
body answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": ..., "parameters": {"retry_after": S}}``. An Update has ``update_id`` and
one of ``message``, ``edited_message``, ``channel_post``, ``edited_channel_post``,
``chat_member`` (the ``allowed_updates`` asked for); a Message has ``message_id`` (unique
per chat only), ``chat``, ``from``/``sender_chat``, ``date``/``edit_date``, ``text`` or
``caption``, ``reply_to_message``, ``message_thread_id`` (forum topics) or service
fields; a ChatMemberUpdated has ``chat``, ``from`` (who changed it), ``date`` and the member's
``old_chat_member``/``new_chat_member`` (``status``, ``user``, ``until_date``...).

Moderators' actions: Telegram tells bots of no deleted message, so what Vigil learns from
is a ban (``kicked``), a mute (``restricted`` without ``can_send_messages``) or a removal,
as ``chat_member`` updates. Telegram sends those only to a bot that is an administrator
of the chat (which also lets it read every message, privacy mode or not), and only when
``allowed_updates`` names them: both modes ask for them (a webhook registered by hand,
``set_webhook = false``, must name ``chat_member`` too).

- ``mode = "poll"`` (default): long polling ``getUpdates`` with ``offset`` (last
  ``update_id`` + 1: calling with it confirms every update below, and Telegram forgets
  them), ``timeout`` (``long_poll_s``: held until an update arrives) and ``limit``
  (1-100). The offset is the cursor, saved only after the broker has the page, so a
  restart neither skips nor repeats; a first run takes what Telegram still holds (24 h).
  429 waits ``parameters.retry_after`` (or ``Retry-After``); 401/404 (bad token) and 409
  (a webhook is set, or another ``getUpdates`` runs with this token) stop it.
- ``mode = "webhook"``: Telegram POSTs one Update per request to ``path`` with
  ``X-Telegram-Bot-Api-Secret-Token`` (the ``secret_token`` of ``setWebhook``); without
  it: 401, nothing produced; 200 once the broker has it (anything else is retried).
  ``set_webhook = true`` registers ``public_url`` and the secret once it listens.

Each Update is produced as sent, keyed by its chat's configured community (a
``chat_member`` update too: the member's recent posts are there). Other chats'
updates are counted as fetched and skipped (reason ``other_chat``; ``update_type`` for
types not asked for). The token is in every URL and never logged: PoliteHttp logs hosts
only, and network errors are re-raised without it.

    [telegram]
    name = "acme"
    mode = "poll"                          # or "webhook"
    token_env = "TELEGRAM_BOT_TOKEN"       # from @BotFather
    chats = [{id = -1001234567890, community = "tg:acme-players"},
             {id = -1009876543210, community = "tg:acme-news"}]
    long_poll_s = 25
    limit = 100
    # webhook mode:
    # secret_env = "TELEGRAM_WEBHOOK_SECRET"   # 1-256 chars of A-Z a-z 0-9 _ -
    # host = "0.0.0.0"
    # port = 8443
    # path = "/telegram"
    # set_webhook = true
    # public_url = "https://vigil.example.com/telegram"
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any, Mapping, Optional

import aiohttp
import structlog

from connectors.polling import (Page, PlatformError, PoliteHttp, PollingSource, RawPost,
                                secret_from_env)
from connectors.push import PushSource, Rejected
from models.parsers.telegram import MEMBER, UPDATES, _message, member_event_id
from streams import metrics

__all__ = ["TelegramSource", "TelegramWebhookSource"]

log = structlog.get_logger("vigil.connect")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _Routes:
    """Which community an update goes to (or why it is skipped), and its dedupe id."""

    def __init__(self, chats: list):
        self.communities: dict[int, str] = {}
        for chat in chats:
            if not isinstance(chat, Mapping) or type(chat.get("id")) is not int:
                raise ValueError("telegram: chats = [{id = -100..., community = \"...\"}]: "
                                 "id must be the numeric chat id")
            self.communities[chat["id"]] = str(chat.get("community") or f"tg:{chat['id']}")
        if not self.communities:
            raise ValueError("telegram: configure at least one chat in chats")

    def route(self, update: Any, payload: bytes) -> tuple[Optional[RawPost], Optional[str]]:
        kind, msg = _message(update) if isinstance(update, Mapping) else (None, {})
        if kind is None:
            return None, "update_type"
        chat_id = msg["chat"].get("id") if isinstance(msg.get("chat"), Mapping) else None
        community = self.communities.get(chat_id)
        if community is None:
            return None, "other_chat"
        if "migrate_to_chat_id" in msg:  # group upgraded to a supergroup: its id changes
            log.warning("telegram_chat_migrated", old_id=chat_id, new_id=msg["migrate_to_chat_id"],
                        hint="update chats in the [telegram] config")
        post_id = (member_event_id(msg) if kind == MEMBER
                   else f"{chat_id}:{msg.get('message_id')}")
        if msg.get("edit_date") is not None:
            post_id += f"@{msg['edit_date']}"
        ts = msg.get("edit_date") or msg.get("date")
        return RawPost(post_id, community, payload,
                       float(ts) if isinstance(ts, (int, float)) else time.time()), None


def _skipped(reason: str) -> None:
    metrics.CONNECTOR_FETCHED.labels(platform="telegram").inc()
    metrics.CONNECTOR_SKIPPED.labels(platform="telegram", reason=reason).inc()


class _BotSession:
    """What PoliteHttp calls as its session: lifts Telegram's ``parameters.retry_after``
    into a Retry-After header (PoliteHttp reads headers), keeps the last error's
    description for a clear fatal message, and strips the token from network errors."""

    def __init__(self, session: aiohttp.ClientSession, token: str):
        self.session, self.token, self.description = session, token, ""

    @contextlib.asynccontextmanager
    async def request(self, method: str, url: str, **kw: Any):
        try:
            async with self.session.request(method, url, **kw) as resp:
                status, headers, body = resp.status, dict(resp.headers), await resp.read()
        except aiohttp.ClientError as exc:
            if self.token in f"{exc} {exc.args!r}":
                raise aiohttp.ClientError(f"{type(exc).__name__}: "
                                          + str(exc).replace(self.token, "<token>")) from None
            raise
        if status >= 400:
            try:
                reply = json.loads(body)
                self.description = str(reply.get("description", ""))
                after = (reply.get("parameters") or {}).get("retry_after")
            except (ValueError, AttributeError):
                after = None
            if status == 429 and after is not None and "Retry-After" not in headers:
                headers["Retry-After"] = str(after)
        # what PoliteHttp reads of a response; asyncio.sleep(0, x) is an awaitable of x
        yield SimpleNamespace(status=status, headers=headers, read=lambda: asyncio.sleep(0, body))


FATAL = {401: "the bot token was refused: check the variable token_env names",
         404: "not found: a malformed bot token or a wrong api_url",
         409: "conflict: a webhook is set for this bot (deleteWebhook, or use mode = \"webhook\") "
              "or another getUpdates client runs with the same token"}


async def call(http: PoliteHttp, api_url: str, token: str, method: str, payload: dict,
               timeout_s: float = 60.0) -> Any:
    """``result`` of one Bot API method; PlatformError with Telegram's reason if refused."""
    try:
        _, _, body = await http.request(
            "POST", f"{api_url}/bot{token}/{method}", json=payload,
            timeout=aiohttp.ClientTimeout(total=timeout_s))
    except PlatformError as exc:
        why = FATAL.get(exc.status, "refused")
        said = getattr(http.session, "description", "")
        raise PlatformError(f"telegram {method}: HTTP {exc.status} {why}"
                            + (f" (Telegram: {said})" if said else ""), exc.status) from None
    reply = json.loads(body)
    if not reply.get("ok"):
        raise PlatformError(f"telegram {method}: {reply.get('description')}",
                            int(reply.get("error_code") or 400))
    return reply.get("result")


class TelegramSource(PollingSource):
    """Poll mode (``getUpdates``); ``from_config`` builds the webhook source for
    ``mode = "webhook"``."""

    platform = fmt = "telegram"

    def __init__(self, name: str, sink, cursors, *, token: str, chats: list,
                 long_poll_s: float = 25, limit: int = 100, interval_s: float = 0.0,
                 api_url: str = "https://api.telegram.org"):
        super().__init__(name, sink, cursors, interval_s=interval_s)
        self.token, self.chats = token, _Routes(chats)
        self.long_poll_s, self.limit = long_poll_s, max(1, min(100, limit))
        self.api_url = api_url.rstrip("/")
        self._bot: Optional[PoliteHttp] = None

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors):
        mode, api_url = cfg.get("mode", "poll"), cfg.get("api_url", "https://api.telegram.org")
        if mode == "webhook":
            set_webhook = bool(cfg.get("set_webhook", False))
            return TelegramWebhookSource(
                name, sink, secret=secret_from_env("telegram", cfg, "secret_env"),
                chats=list(cfg.get("chats") or []), set_webhook=set_webhook,
                token=secret_from_env("telegram", cfg, "token_env", required=set_webhook),
                public_url=cfg.get("public_url"), api_url=api_url,
                host=cfg.get("host", "127.0.0.1"), port=int(cfg.get("port", 8443)),
                path=cfg.get("path", "/telegram"),
                max_body_bytes=int(cfg.get("max_body_bytes", 256 * 1024)))
        if mode != "poll":
            raise ValueError(f"telegram: mode must be \"poll\" or \"webhook\", not {mode!r}")
        long_poll_s = float(cfg.get("long_poll_s", 25))
        return cls(name, sink, cursors, token=secret_from_env("telegram", cfg, "token_env"),
                   chats=list(cfg.get("chats") or []), long_poll_s=long_poll_s,
                   limit=int(cfg.get("limit", 100)), api_url=api_url,
                   interval_s=float(cfg.get("poll_interval_s", 0.0 if long_poll_s else 1.0)))

    async def fetch(self, http: PoliteHttp, cursor: dict) -> Page:
        if self._bot is None or self._bot.stop is not http.stop:
            self._bot = PoliteHttp(self.platform, _BotSession(http.session, self.token),
                                   backoff=http.backoff, stop=http.stop)
        body = {"timeout": int(self.long_poll_s), "limit": self.limit,
                "allowed_updates": list(UPDATES)}
        if cursor.get("offset") is not None:
            body["offset"] = cursor["offset"]  # confirms every update below it
        # the HTTP timeout outlives the long poll; a stop does not wait for it
        request = asyncio.ensure_future(call(self._bot, self.api_url, self.token, "getUpdates",
                                             body, timeout_s=self.long_poll_s + 30))
        stopping = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not request.done():
            request.cancel()
            raise asyncio.CancelledError("stopping")
        updates = request.result() or []
        posts, offset = [], cursor.get("offset")
        for update in updates:
            uid = update.get("update_id") if isinstance(update, Mapping) else None
            if isinstance(uid, int):
                offset = max(offset or 0, uid + 1)
            payload = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
            post, reason = self.chats.route(update, payload)
            if post is None:
                _skipped(reason)
            else:
                posts.append(post)
        return Page(posts, {"offset": offset}, more=bool(updates))


class TelegramWebhookSource(PushSource):
    platform = fmt = "telegram"
    accepted_status = 200  # Telegram retries anything but 2xx; it expects 200

    def __init__(self, name: str, sink, *, secret: str, chats: list, set_webhook: bool = False,
                 token: Optional[str] = None, public_url: Optional[str] = None,
                 api_url: str = "https://api.telegram.org", **kw: Any):
        super().__init__(name, sink, **kw)
        if set_webhook and not public_url:
            raise ValueError("telegram: set_webhook needs public_url (the URL Telegram calls)")
        self.secret, self.chats = secret.encode(), _Routes(chats)
        self.set_webhook, self.token, self.public_url = set_webhook, token, public_url
        self.api_url = api_url.rstrip("/")
        self.refused: Optional[PlatformError] = None

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        given = (headers.get(SECRET_HEADER) or "").encode()
        if not hmac.compare_digest(given, self.secret):
            raise Rejected(401, f"missing or wrong {SECRET_HEADER}")

    def posts(self, headers: Mapping[str, str], body: bytes) -> list[RawPost]:
        try:
            update = json.loads(body)
        except ValueError:  # Telegram's and signed: the pipeline dead-letters it with a reason
            return [RawPost("sha256:" + hashlib.sha256(body).hexdigest(), "", body, time.time())]
        post, reason = self.chats.route(update, body)
        if post is None:
            _skipped(reason)
            return []
        return [post]

    async def run(self) -> None:
        task = asyncio.create_task(self._register()) if self.set_webhook else None
        try:
            await super().run()
        finally:
            if task is not None:
                task.cancel()
        if self.refused is not None:  # vigil connect logs it and exits 1
            raise self.refused

    async def _register(self) -> None:
        while self.bound_port is None:  # Telegram calls at once: listen first
            await asyncio.sleep(0.05)
        async with aiohttp.ClientSession() as session:
            http = PoliteHttp(self.platform, _BotSession(session, self.token), stop=self.stop)
            try:
                await call(http, self.api_url, self.token, "setWebhook",
                           {"url": self.public_url, "secret_token": self.secret.decode(),
                            "allowed_updates": list(UPDATES)})
            except PlatformError as exc:
                self.refused = exc
                self.stop.set()
                return
        log.info("telegram_webhook_set", connector=self.key, url=self.public_url)
