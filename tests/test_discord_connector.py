"""The Discord connector against a local gateway that speaks Discord's Gateway v10 (HELLO,
heartbeats and ACKs, IDENTIFY with intents, READY, sequenced dispatches, RESUME with
replay, op 7 RECONNECT, op 9 INVALID_SESSION, close codes) and ``GET /gateway/bot`` with
a 429, and Discord's message payloads through the normaliser."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import datetime, timezone

import pytest
from aiohttp import WSMsgType, web

from connectors.discord import INTENTS, DiscordSource
from connectors.launch import load_platform_config
from connectors.polling import PlatformError
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.parsers.discord import parse_discord
from models.pseudonym import Pseudonymizer
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, MemoryCursors, MemorySink, start_connect, stop

T0 = 1793606400.0
TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.fake-bot-token-Zq9"
GUILD, OTHER_GUILD = "1100000000000000001", "1100000000000000009"
GENERAL, RANDOM, OFFTOPIC = "1200000000000000001", "1200000000000000002", "1200000000000000003"
THREAD = "1200000000000000077"  # a thread of #general the gateway describes in GUILD_CREATE
LATE_THREAD = "1200000000000000088"  # a thread of #random known only through GET /channels


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="microseconds")


def mid(n: int) -> str:
    return str(1300000000000000000 + n)


def message(n: int, *, channel: str = GENERAL, guild: str = GUILD, content: str | None = None,
            bot: bool = False, **extra) -> dict:
    """A MESSAGE_CREATE ``d`` as the gateway sends it (message object + guild_id, member)."""
    return {"id": mid(n), "channel_id": channel, "guild_id": guild, "type": 0,
            "content": f"message {n}" if content is None else content,
            "author": {"id": "2000000000000000001", "username": "sam", "global_name": "Sam",
                       "discriminator": "0", "avatar": None, **({"bot": True} if bot else {})},
            "member": {"roles": [], "joined_at": iso(T0 - 86400)},
            "timestamp": iso(T0 + n), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": False, "flags": 0, "nonce": str(n), **extra}


# --- the payloads, through the normaliser ---------------------------------------------
def normalize(t: str, d: dict, community: str | None = "acme-discord/#general", **env) -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    raw = json.dumps({"t": t, "d": d, **env}).encode()
    return n.normalize(raw, fmt="discord", now=T0 + 86400, community=community)[0]


def test_discord_messages_become_canonical_posts():
    p = normalize("MESSAGE_CREATE", message(1, content="このパッチひどい 😡 saves gone"))
    assert (p["platform"], p["community"], p["post_id"], p["text"]) == (
        "discord", "acme-discord/#general", mid(1), "このパッチひどい 😡 saves gone")
    assert p["created_at"] == "2026-11-02T08:00:01Z"
    assert p["author_id"] not in ("sam", "2000000000000000001")  # pseudonymised
    assert p["url"] == f"https://discord.com/channels/{GUILD}/{GENERAL}/{mid(1)}"
    assert p["meta"]["edited"] is False and p["meta"]["kind"] == "MESSAGE_CREATE"

    reply = normalize("MESSAGE_CREATE", message(2, type=19, content="@sam same here",
                      message_reference={"type": 0, "message_id": mid(1), "channel_id": GENERAL}))
    assert reply["parent_id"] == mid(1)
    edit = normalize("MESSAGE_UPDATE", message(1, content="fixed", edited_timestamp=iso(T0 + 90)))
    assert edit["post_id"] == mid(1) and edit["meta"]["edited"] is True
    assert edit["meta"]["revision"] == iso(T0 + 90) and edit["created_at"] == "2026-11-02T08:00:01Z"

    # no content: an embed's words, a forward's, or the attachments' names stand for it
    embed = normalize("MESSAGE_CREATE", message(3, content="", embeds=[
        {"type": "rich", "title": "Patch notes 1.2", "description": "Saves are fixed"}]))
    assert embed["text"] == "Patch notes 1.2\n\nSaves are fixed"
    assert embed["meta"]["text_from"] == "embed"
    files = normalize("MESSAGE_CREATE", message(4, content="", attachments=[
        {"id": "1", "filename": "crash.png", "size": 1, "url": "https://cdn/x", "proxy_url": "x"}],
        sticker_items=[{"id": "9", "name": "wave", "format_type": 1}]))
    assert files["text"] == "[attachment: crash.png] [sticker: wave]"
    assert files["meta"]["attachments"] == 1 and files["meta"]["text_from"] == "attachment"
    fwd = normalize("MESSAGE_CREATE", message(5, content="", message_reference={
        "type": 1, "message_id": "42", "channel_id": OFFTOPIC},
        message_snapshots=[{"message": {"content": "lol look at this", "timestamp": iso(T0)}}]))
    assert fwd["text"] == "lol look at this" and fwd["parent_id"] is None  # a forward is no reply

    # threads: a message inside one, and the message that started one
    in_thread = normalize("MESSAGE_CREATE", message(6, channel=THREAD), parent_channel_id=GENERAL)
    assert in_thread["thread_id"] == THREAD and in_thread["meta"]["parent_channel_id"] == GENERAL
    starter = normalize("MESSAGE_CREATE", message(7, thread={"id": THREAD, "type": 11,
                                                              "parent_id": GENERAL}))
    assert starter["thread_id"] == THREAD
    # a partial update without a timestamp is dated by its snowflake id
    partial = message(8, edited_timestamp=iso(T0 + 99))
    del partial["timestamp"]
    assert normalize("MESSAGE_UPDATE", partial)["created_at"] == "2024-10-27T07:35:52.832Z"


def test_deletions_purges_and_system_messages_are_platform_events():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    for t, d, kind, post_id in [
            ("MESSAGE_DELETE", {"id": mid(1), "channel_id": GENERAL, "guild_id": GUILD},
             "deletion", mid(1)),
            ("MESSAGE_DELETE_BULK", {"ids": [mid(2), mid(3)], "channel_id": GENERAL,
                                     "guild_id": GUILD}, "moderation_action", mid(2)),
            ("MESSAGE_CREATE", message(4, type=7, content=""), "non_post", mid(4)),  # a join
            # a bot's message or a webhook's: counted, not scored (the parser decides, live
            # or replayed)
            ("MESSAGE_CREATE", message(5, bot=True), "non_post", mid(5)),
            ("MESSAGE_CREATE", message(6, webhook_id="77"), "non_post", mid(6)),
            # an update without the author's edit (an unfurl) or without the words
            ("MESSAGE_UPDATE", message(1, embeds=[{"type": "link"}]), "non_post", mid(1)),
            ("MESSAGE_UPDATE", {"id": mid(1), "channel_id": GENERAL, "guild_id": GUILD,
                                "edited_timestamp": iso(T0 + 9), "embeds": []},
             "non_post", mid(1))]:
        with pytest.raises(NotAPost) as err:
            n.normalize(json.dumps({"t": t, "d": d}).encode(), fmt="discord", now=T0 + 86400,
                        community="acme-discord/#general")
        assert err.value.kind == kind and err.value.fields["post_id"] == post_id
        assert err.value.fields["community"] == "acme-discord/#general"
    # include_bots = true marks the envelope: then a bot's message is scored like any post
    assert normalize("MESSAGE_CREATE", message(5, bot=True), include_bots=True)["post_id"] == mid(5)
    bulk = parse_discord({"t": "MESSAGE_DELETE_BULK", "d": {"ids": [mid(2), mid(3)]}})
    assert bulk["post_ids"] == [mid(2), mid(3)] and bulk["action"] == "bulk_delete"


def test_broken_discord_payloads_are_dead_lettered_with_a_reason():
    no_id = {k: v for k, v in message(1).items() if k != "id"}
    for t, d, community, reason in [
            ("MESSAGE_CREATE", "not a message", "c", "missing_field"),
            ("MESSAGE_CREATE", no_id, "c", "missing_field"),
            ("MESSAGE_CREATE", message(2), None, "missing_field"),  # no key, no community
            ("MESSAGE_CREATE", message(3, content="   "), "c", "empty_text"),  # no intent, no files
            ("MESSAGE_CREATE", message(4, content=42), "c", "wrong_type"),
            ("MESSAGE_CREATE", message(5, timestamp="yesterday"), "c", "bad_timestamp")]:
        with pytest.raises(MalformedPost) as err:
            normalize(t, d, community=community)
        assert err.value.reason == reason, (d, err.value)


def test_config_names_secrets_by_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_DISCORD_TOKEN", TOKEN)
    cfg = {"token_env": "TEST_DISCORD_TOKEN", "guilds": [int(GUILD)], "channels": [GENERAL],
           "communities": {GENERAL: "acme-discord/#general"}}
    src = DiscordSource.from_config("acme", cfg, None, None)
    assert src.token == TOKEN and src.guilds == {GUILD} and src.key == "discord:acme"
    with pytest.raises(ValueError, match="guilds"):
        DiscordSource.from_config("acme", {**cfg, "guilds": []}, None, None)
    with pytest.raises(ValueError, match="MISSING_VAR"):
        DiscordSource.from_config("acme", {**cfg, "token_env": "MISSING_VAR"}, None, None)
    path = tmp_path / "d.toml"
    path.write_text(f'[discord]\ntoken = "{TOKEN}"\nguilds = ["{GUILD}"]\n')
    with pytest.raises(ValueError, match="token_env"):
        load_platform_config(path, "discord")


# --- a local Discord gateway ----------------------------------------------------------
class FakeDiscord(LocalServer):
    """One bot session at a time: a sequenced event log that RESUME replays from."""

    def __init__(self, heartbeat_ms: int = 500):
        self.heartbeat_ms = heartbeat_ms
        self.session_id: str | None = None
        self.sessions = 0
        self.seq = 0
        self.log: list[tuple[int, str, dict]] = []
        self.live: web.WebSocketResponse | None = None  # the identified/resumed connection
        self.zombie: web.WebSocketResponse | None = None  # receives nothing, ACKs nothing
        self.identifies: list[dict] = []
        self.resumes: list[tuple[str, int, str]] = []
        self.heartbeats: list = []
        self.closes: list[int | None] = []  # the client's close codes (None: we closed)
        self.server_closed: list = []
        self.requests: dict = {}
        self.connects: list[tuple[str, dict]] = []
        self.gateway_calls: list[tuple[float, int]] = []
        self.gateway_script: list[tuple[int, dict]] = []
        self.channel_lookups: list[str] = []
        self.disallow_content_intent = False
        super().__init__()
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    def routes(self, app):
        app.router.add_get("/api/v10/gateway/bot", self.gateway_bot)
        app.router.add_get("/api/v10/channels/{id}", self.channel)
        app.router.add_get("/gw", self.gateway)
        app.router.add_get("/resume-gw", self.gateway)

    def _authorized(self, request) -> bool:
        return request.headers.get("Authorization") == f"Bot {TOKEN}"

    async def gateway_bot(self, request):
        status, headers = self.gateway_script.pop(0) if self.gateway_script else (200, {})
        self.gateway_calls.append((time.monotonic(), status))
        if not self._authorized(request):
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if status >= 500:
            return web.Response(text="upstream connect error", status=status)
        if status == 429:
            return web.json_response({"message": "You are being rate limited.", "retry_after": 1.0,
                                      "global": False}, status=429, headers=headers)
        return web.json_response({"url": f"{self.ws_url}/gw", "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}})

    async def channel(self, request):
        cid = request.match_info["id"]
        self.channel_lookups.append(cid)
        parent = {THREAD: GENERAL, LATE_THREAD: RANDOM}.get(cid)
        if not self._authorized(request) or not parent:
            return web.json_response({"message": "Unknown Channel", "code": 10003}, status=404)
        return web.json_response({"id": cid, "type": 11, "guild_id": GUILD, "parent_id": parent,
                                  "name": "bug reports", "thread_metadata": {"archived": False}})

    async def send(self, ws, payload: dict) -> None:
        if ws is not None and ws is not self.zombie and not ws.closed:
            try:
                await ws.send_json(payload)
            except ConnectionError:  # dropped: the event stays in the log for RESUME
                pass

    async def dispatch(self, t: str, d: dict) -> int:
        self.seq += 1
        self.log.append((self.seq, t, d))
        await self.send(self.live, {"op": 0, "s": self.seq, "t": t, "d": d})
        return self.seq

    async def gateway(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.requests[ws] = request
        self.connects.append((request.path, dict(request.query)))
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, d = frame["op"], frame.get("d")
            if op == 1:
                self.heartbeats.append(d)
                await self.send(ws, {"op": 11})
            elif op == 2:
                self.identifies.append(d)
                if d["token"] != TOKEN:
                    await ws.close(code=4004, message=b"Authentication failed.")
                elif d["intents"] & (1 << 15) and self.disallow_content_intent:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                else:
                    await self.start_session(ws)
            elif op == 6:
                self.resumes.append((d["session_id"], d["seq"], request.path))
                if d["token"] != TOKEN or d["session_id"] != self.session_id:
                    await ws.send_json({"op": 9, "d": False})
                    continue
                self.live = ws
                for seq, t, data in self.log:
                    if seq > d["seq"]:
                        await ws.send_json({"op": 0, "s": seq, "t": t, "d": data})
                await ws.send_json({"op": 0, "s": None, "t": "RESUMED", "d": None})
        by_client = ws not in self.server_closed
        self.closes.append(ws.close_code if by_client else None)
        if self.live is ws:
            self.live = None
            if by_client and ws.close_code in (1000, 1001):  # Discord ends the session
                self.session_id = None
        return ws

    async def start_session(self, ws) -> None:
        self.sessions += 1
        self.session_id, self.seq, self.log, self.live = f"sess-{self.sessions}", 0, [], ws
        await self.dispatch("READY", {"v": 10, "session_id": self.session_id,
                                      "resume_gateway_url": f"{self.ws_url}/resume-gw",
                                      "user": {"id": "3000", "username": "vigil", "bot": True},
                                      "guilds": [{"id": GUILD, "unavailable": True}],
                                      "application": {"id": "3000", "flags": 0}})
        await self.dispatch("GUILD_CREATE", {
            "id": GUILD, "name": "Acme", "channels": [
                {"id": c, "type": 0, "guild_id": GUILD, "name": n}
                for c, n in ((GENERAL, "general"), (RANDOM, "random"), (OFFTOPIC, "off-topic"))],
            "threads": [{"id": THREAD, "type": 11, "guild_id": GUILD, "parent_id": GENERAL}]})

    def publish(self, *events: tuple[str, dict]) -> None:
        for t, d in events:
            self.call(self.dispatch(t, d))

    def go_zombie(self) -> None:
        self.zombie = self.live

    def close_live(self, code: int) -> None:
        self.server_closed.append(self.live)
        self.call(self.live.close(code=code, message=b"Unknown error"))

    def drop_live(self) -> None:
        self.server_closed.append(self.live)
        self.loop.call_soon_threadsafe(self.requests[self.live].transport.abort)

    def send_reconnect(self) -> None:
        self.call(self.send(self.live, {"op": 7, "d": None}))

    def caught_up(self, timeout_s: float = 20) -> int:
        """Wait until the client's heartbeat reports the last sequence: all handled."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.live is not None and self.heartbeats and self.heartbeats[-1] == self.seq:
                return self.seq
            time.sleep(0.05)
        raise AssertionError(f"client at {self.heartbeats[-1:]} never reached seq {self.seq}")


# --- the connector in-process, on a memory sink: sessions that cannot resume ------------
async def run_until(src: DiscordSource, done, timeout_s: float = 20.0):
    async def watch():
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        src.stop.set()
    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait_for(src.run(), timeout_s + 10)
    finally:
        watcher.cancel()


def test_an_expired_session_identifies_afresh_and_fatal_closes_stop():
    fake = FakeDiscord(heartbeat_ms=300)
    try:
        sink, cursors = MemorySink(), MemoryCursors({
            "session_id": "sess-expired", "seq": 41,
            "resume_gateway_url": f"{fake.ws_url}/resume-gw"})
        src = DiscordSource("acme", sink, cursors, token=TOKEN, guilds=[GUILD],
                            api_url=f"{fake.url}/api/v10")

        sent: list = []

        def deliver_once_ready():
            if fake.live is not None and not sent:
                sent.append(asyncio.run_coroutine_threadsafe(
                    fake.dispatch("MESSAGE_CREATE", message(1)), fake.loop))
            return bool(sink.items)
        asyncio.run(run_until(src, deliver_once_ready))
        # op 9 (false) on the resume: wait 1-5 s, then a new session on /gateway/bot's URL
        assert fake.resumes == [("sess-expired", 41, "/resume-gw")]
        assert len(fake.identifies) == 1 and fake.identifies[0]["intents"] == INTENTS == (
            1 | 1 << 2 | 1 << 9 | 1 << 15 | 1 << 21)  # + GUILD_MODERATION, AUTOMOD execution
        assert [c for c, _ in sink.items] == [f"discord:{GUILD}/{GENERAL}"]
        saved = cursors.saved[src.key]
        assert saved["session_id"] == "sess-1" and saved["seq"] == 3
        assert fake.closes and all(code not in (1000, 1001) for code in fake.closes)

        # the developer portal does not allow the Message Content intent: stop, say why
        fake.disallow_content_intent = True
        src = DiscordSource("acme", MemorySink(), MemoryCursors(), token=TOKEN, guilds=[GUILD],
                            api_url=f"{fake.url}/api/v10")
        with pytest.raises(PlatformError) as err:
            asyncio.run(run_until(src, lambda: False))
        assert err.value.status == 4014 and "Message Content" in str(err.value)
        # a revoked token fails already on /gateway/bot
        src = DiscordSource("acme", MemorySink(), MemoryCursors(), token="revoked", guilds=[GUILD],
                            api_url=f"{fake.url}/api/v10")
        with pytest.raises(PlatformError) as err:
            asyncio.run(run_until(src, lambda: False))
        assert err.value.status == 401
    finally:
        fake.close()


# --- the real `vigil connect discord` against the local gateway and a broker -----------
def start_connector(broker, tmp_path, fake: FakeDiscord) -> subprocess.Popen:
    return start_connect("discord", broker, tmp_path, f"""
[discord]
name = "acme"
token_env = "TEST_DISCORD_TOKEN"
guilds = ["{GUILD}"]
channels = ["{GENERAL}", "{RANDOM}"]
api_url = "{fake.url}/api/v10"
reconnect_base_s = 0.1
[discord.communities]
"{GENERAL}" = "acme-discord/#general"
""", {"TEST_DISCORD_TOKEN": TOKEN})


def raw_id(value: bytes) -> str:
    env = json.loads(value)
    t, d = env["t"], env["d"]
    if t == "MESSAGE_DELETE":
        return f"delete:{d['id']}"
    if t == "MESSAGE_DELETE_BULK":
        return "bulk:" + ",".join(d["ids"])
    return f"{d['id']}@{d['edited_timestamp']}" if t == "MESSAGE_UPDATE" else d["id"]


def raw_posts(broker, expected: int) -> list:
    def ours(ms):
        return [m for m in ms if m.key and m.key.decode().startswith(("acme-discord/", "discord:"))]
    got = ours(read_topic(broker.bootstrap, "posts.raw", timeout_s=30,
                          until=lambda ms: len(ours(ms)) >= expected))
    assert len(got) >= expected, " ".join(sorted(raw_id(m.value) for m in got))
    return got


@pytest.mark.integration
def test_discord_connector_resumes_through_drops_reconnects_and_restarts(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    fake = FakeDiscord(heartbeat_ms=500)
    proc = None
    try:
        fake.gateway_script = [(429, {"Retry-After": "1"}), (502, {})]
        proc = start_connector(broker, tmp_path, fake)
        deadline = time.monotonic() + 30
        while fake.live is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.identifies and fake.identifies[0]["intents"] == INTENTS
        assert fake.connects[0] == ("/gw", {"v": "10", "encoding": "json"})
        (t1, s1), (t2, s2), (_, s3) = fake.gateway_calls[:3]
        assert (s1, s2, s3) == (429, 502, 200) and t2 - t1 >= 1.0  # Retry-After honoured

        edited = iso(T0 + 500)
        fake.publish(
            ("MESSAGE_CREATE", message(1, content="patch broke my saves 😡")),
            ("MESSAGE_CREATE", message(2, channel=RANDOM)),
            ("MESSAGE_CREATE", message(3, channel=OFFTOPIC)),  # not a configured channel
            ("MESSAGE_CREATE", message(4, guild=OTHER_GUILD, channel="1900")),  # not our guild
            ("MESSAGE_CREATE", message(5, bot=True)),  # a bot's: produced, the parser says bot
            ("MESSAGE_CREATE", message(6, channel=THREAD)),  # thread of #general
            ("MESSAGE_CREATE", message(7, channel=LATE_THREAD)),  # thread of #random, looked up
            ("MESSAGE_UPDATE", message(1, content="patch broke my saves", edited_timestamp=edited)),
            ("MESSAGE_UPDATE", message(2, channel=RANDOM, embeds=[{"type": "link"}])),  # unfurl
            ("MESSAGE_DELETE", {"id": mid(2), "channel_id": RANDOM, "guild_id": GUILD}),
            ("MESSAGE_DELETE_BULK", {"ids": [mid(8), mid(9)], "channel_id": GENERAL,
                                     "guild_id": GUILD}))
        first = raw_posts(broker, 8)
        assert sorted(raw_id(m.value) for m in first) == sorted(
            [mid(1), mid(2), mid(5), mid(6), mid(7), f"{mid(1)}@{edited}", f"delete:{mid(2)}",
             f"bulk:{mid(8)},{mid(9)}"])
        keys = {raw_id(m.value): m.key.decode() for m in first}
        general, random_ = "acme-discord/#general", f"discord:{GUILD}/{RANDOM}"
        assert keys[mid(1)] == keys[mid(6)] == keys[f"bulk:{mid(8)},{mid(9)}"] == general
        assert keys[mid(2)] == keys[mid(7)] == keys[f"delete:{mid(2)}"] == random_
        headers = {k: v.decode() for k, v in first[0].headers}
        assert headers["vigil-platform"] == headers["vigil-format"] == "discord"
        assert headers["vigil-connector"].startswith("discord/")
        sent_as = next(json.loads(m.value) for m in first if raw_id(m.value) == mid(1))
        assert sent_as == {"t": "MESSAGE_CREATE",  # the dispatch's d as the gateway sent it
                           "d": message(1, content="patch broke my saves 😡")}
        assert fake.channel_lookups == [LATE_THREAD]
        expected = {raw_id(m.value) for m in first}

        # 1) a zombie connection: no ACK, nothing delivered -> close, RESUME, replay
        seq = fake.caught_up()
        fake.go_zombie()
        fake.publish(("MESSAGE_CREATE", message(10)),
                     ("MESSAGE_CREATE", message(11, channel=RANDOM)))
        expected |= {mid(10), mid(11)}
        raw_posts(broker, len(expected))
        assert fake.resumes[0] == ("sess-1", seq, "/resume-gw")
        # 2) the gateway closes with 4000 mid-stream
        seq = fake.caught_up()
        fake.close_live(4000)
        fake.publish(("MESSAGE_CREATE", message(12)))
        expected.add(mid(12))
        raw_posts(broker, len(expected))
        assert fake.resumes[1] == ("sess-1", seq, "/resume-gw")
        # 3) op 7 RECONNECT; what the old connection sends after it is replayed
        seq = fake.caught_up()
        fake.send_reconnect()
        fake.publish(("MESSAGE_CREATE", message(13)))
        expected.add(mid(13))
        raw_posts(broker, len(expected))
        assert fake.resumes[2] == ("sess-1", seq, "/resume-gw")
        # 4) the TCP connection drops without a close frame
        seq = fake.caught_up()
        fake.drop_live()
        fake.publish(("MESSAGE_CREATE", message(17, channel=RANDOM)))
        expected.add(mid(17))
        raw_posts(broker, len(expected))
        assert fake.resumes[3] == ("sess-1", seq, "/resume-gw")

        # 5) a restart: SIGTERM, messages meanwhile, start again -> RESUME replays them
        seq = fake.caught_up()
        assert stop(proc) == 0
        assert fake.closes[-1] == 4000  # not 1000/1001: the session stays resumable
        fake.publish(("MESSAGE_CREATE", message(14, content="where did everyone go?")),
                     ("MESSAGE_CREATE", message(15, channel=THREAD)),
                     ("MESSAGE_DELETE", {"id": mid(10), "channel_id": GENERAL, "guild_id": GUILD}))
        expected |= {mid(14), mid(15), f"delete:{mid(10)}"}
        proc = start_connector(broker, tmp_path, fake)
        raw_posts(broker, len(expected))
        assert fake.resumes[4] == ("sess-1", seq, "/resume-gw")
        fake.publish(("MESSAGE_CREATE", message(16)))
        expected.add(mid(16))
        raw_posts(broker, len(expected))
        time.sleep(1.5)  # anything produced twice would show now
        got = [raw_id(m.value) for m in raw_posts(broker, len(expected))]
        assert sorted(got) == sorted(expected), sorted(got)
        assert len(fake.identifies) == 1 and len(fake.gateway_calls) == 3  # never a new session
        # a resumed process has no GUILD_CREATE: it asks once what the thread belongs to
        assert fake.channel_lookups == [LATE_THREAD, THREAD]
        assert all(isinstance(b, int) or b is None for b in fake.heartbeats)
        assert proc.poll() is None
        assert stop(proc) == 0
        proc = None
        log = (tmp_path / "connect.log").read_text()
        assert TOKEN not in log and "fake-bot-token" not in log
        assert "platform_retry" in log and "stream_reconnect" in log
    finally:
        if proc is not None:
            proc.kill()
        fake.close()
