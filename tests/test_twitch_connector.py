"""The Twitch chat connector against a local server that speaks Twitch IRC over a
WebSocket (CAP/PASS/NICK, 001, JOIN, PING/PONG, RECONNECT, NOTICE on a bad login, tagged
PRIVMSG/CLEARCHAT/CLEARMSG/USERNOTICE lines), and its payloads through the normaliser."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest
from aiohttp import WSMsgType, web

from connectors.polling import PlatformError
from connectors.twitch import TwitchSource
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.parsers.twitch import parse_irc, parse_twitch
from models.pseudonym import Pseudonymizer
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, MemoryCursors, MemorySink, start_connect, stop

T0 = 1793606400.0
ROOMS = {"acmegames": "1001", "acmesupport": "1002"}


def escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")
            .replace("\r", "\\r").replace("\n", "\\n"))


def line(command: str, channel: str, text: str | None = None, *, prefix: str = "tmi.twitch.tv",
         **tags: str) -> str:
    tag_part = "@" + ";".join(f"{k.replace('_', '-')}={escape(v)}" for k, v in tags.items()) + " "
    return (tag_part if tags else "") + f":{prefix} {command} #{channel}" + (
        f" :{text}" if text is not None else "")


def privmsg(mid: str, text: str, *, channel: str = "acmegames", user: str = "ana",
            uid: str = "101", ts: float | None = None, **tags: str) -> str:
    base = {"badge_info": "", "badges": "subscriber/12", "color": "#1E90FF",
            "display_name": user.title(), "emotes": "", "first_msg": "0", "flags": "", "id": mid,
            "mod": "0", "room_id": ROOMS.get(channel, "9"), "subscriber": "1",
            "tmi_sent_ts": str(int((ts or T0) * 1000)), "turbo": "0", "user_id": uid,
            "user_type": ""}
    return line("PRIVMSG", channel, text, prefix=f"{user}!{user}@{user}.tmi.twitch.tv",
                **{**base, **tags})


def clearchat(user: str | None, uid: str | None, *, duration: str | None = None,
              ts: float = T0) -> str:
    tags = {"room_id": "1001", "tmi_sent_ts": str(int(ts * 1000))}
    tags |= {"target_user_id": uid} if uid else {}
    tags |= {"ban_duration": duration} if duration else {}
    return line("CLEARCHAT", "acmegames", user, **tags)


def clearmsg(target: str, ts: float = T0) -> str:
    return line("CLEARMSG", "acmegames", "the removed text", login="ana", room_id="",
                target_msg_id=target, tmi_sent_ts=str(int(ts * 1000)))


def raid(nid: str, viewers: int, ts: float = T0) -> str:
    return line("USERNOTICE", "acmegames", None, badges="", display_name="Raider Co", id=nid,
                login="raiderco", msg_id="raid", msg_param_displayName="Raider Co",
                msg_param_login="raiderco", msg_param_viewerCount=str(viewers), room_id="1001",
                system_msg=f"{viewers} raiders from Raider Co have joined!",
                tmi_sent_ts=str(int(ts * 1000)), user_id="555")


# --- the payloads, through the normaliser ---------------------------------------------
def normalize(raw_line: str, community: str = "twitch:#acmegames") -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    raw = json.dumps(parse_irc(raw_line), ensure_ascii=False).encode()
    return n.normalize(raw, fmt="twitch", now=T0 + 86400, community=community)[0]


def event(raw_line: str) -> NotAPost:
    with pytest.raises(NotAPost) as err:
        normalize(raw_line)
    return err.value


def test_twitch_messages_become_canonical_posts():
    p = normalize(privmsg("m1", "Kappa that boss fight 😂🔥 Kappa", emotes="25:0-4,28-32",
                          badges="vip/1,subscriber/24", bits="100", first_msg="1"))
    assert (p["platform"], p["community"], p["post_id"], p["text"]) == (
        "twitch", "twitch:#acmegames", "m1", "Kappa that boss fight 😂🔥 Kappa")
    assert p["author_id"] not in ("101", "ana") and p["created_at"] == "2026-11-02T08:00:00Z"
    assert p["meta"]["emotes"] == {"25": [[0, 4], [28, 32]]} and p["meta"]["bits"] == 100
    assert p["meta"]["badges"] == {"vip": "1", "subscriber": "24"} and p["meta"]["first_msg"]
    assert p["url"] == "https://www.twitch.tv/acmegames" and p["thread_id"] is None
    reply = normalize(privmsg("m3", "@Ana 同じく、セーブが消えた", user="ken", uid="202",
                              display_name="Ken Tanaka", reply_parent_msg_id="m2",
                              reply_parent_user_login="ana", reply_thread_parent_msg_id="m1",
                              reply_parent_msg_body="saves gone; again"), community="acme-main")
    assert (reply["parent_id"], reply["thread_id"], reply["community"]) == ("m2", "m1", "acme-main")
    assert reply["text"] == "@Ana 同じく、セーブが消えた"
    assert parse_irc(privmsg("m3", "x", reply_parent_msg_body="saves gone; again"))["tags"][
        "reply-parent-msg-body"] == "saves gone; again"  # \s and \: unescaped
    me = normalize(privmsg("m4", "\x01ACTION schmeißt den Controller\x01", mod="1"))
    assert me["text"] == "schmeißt den Controller" and me["meta"]["action"] and me["meta"]["mod"]


def test_twitch_moderation_and_notices_are_platform_events_not_posts():
    timeout = event(clearchat("ana", "101", duration="600"))
    assert timeout.kind == "moderation_action" and timeout.fields["meta"]["action"] == "timeout"
    assert timeout.fields["meta"]["duration_s"] == 600
    assert timeout.fields["community"] == "twitch:#acmegames"
    ban = event(clearchat("ana", "101", ts=T0 + 1)).fields
    assert ban["meta"]["action"] == "ban" and ban["post_id"] != timeout.fields["post_id"]
    assert event(clearchat(None, None)).fields["meta"]["action"] == "clear_chat"
    removed = event(clearmsg("m1")).fields
    assert (removed["post_id"], removed["target_post_id"]) == ("clearmsg:m1", "m1")
    r = event(raid("n1", 1500))
    assert r.kind == "non_post" and r.fields["post_id"] == "usernotice:n1"
    assert r.fields["meta"]["kind"] == "raid" and r.fields["meta"]["raid_viewers"] == 1500
    assert r.fields["meta"]["params"]["login"] == "raiderco"
    # a resub with the message its user typed: the words are a post, the notice in meta
    sub = normalize(line("USERNOTICE", "acmegames", "6 months!", id="n2", msg_id="resub",
                         msg_param_cumulative_months="6", tmi_sent_ts="1793606400000",
                         user_id="101"))
    assert (sub["post_id"], sub["text"], sub["meta"]["notice"]) == ("n2", "6 months!", "resub")
    bare = event(line("USERNOTICE", "acmegames", None, id="n3", msg_id="resub",
                      tmi_sent_ts="1793606400000"))
    assert bare.kind == "non_post" and bare.fields["meta"]["kind"] == "resub"


def test_broken_twitch_payloads_are_dead_lettered_with_a_reason():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    ok = parse_irc(privmsg("m9", "fine"))
    cases = [({"raw": "garbage"}, "missing_field"),  # no command
             (parse_irc(":tmi.twitch.tv ROOMSTATE #acmegames"), "missing_field"),
             ({**ok, "tags": {**ok["tags"], "id": ""}}, "missing_field"),
             (parse_irc(privmsg("m10", "   ")), "empty_text"),
             (parse_irc(privmsg("m11", "")), "empty_text"),
             ({**ok, "tags": {**ok["tags"], "tmi-sent-ts": "soon"}}, "bad_timestamp"),
             ({**ok, "text": 42}, "wrong_type")]
    for obj, reason in cases:
        with pytest.raises(MalformedPost) as err:
            n.normalize(json.dumps(obj).encode(), fmt="twitch", now=T0 + 86400,
                        community="twitch:#acmegames")
        assert err.value.reason == reason, obj


# --- a local Twitch IRC server ---------------------------------------------------------
class Conn:
    def __init__(self, ws, request):
        self.ws, self.request = ws, request
        self.lines: list[str] = []
        self.joins: list[tuple[float, list[str]]] = []  # (received at, channels)
        self.welcomed = False

    @property
    def joined(self) -> list[str]:
        return [c for _, chans in self.joins for c in chans]


class FakeTwitch(LocalServer):
    def __init__(self, token: str = "twitch-secret-token-xyz"):
        self.token, self.answer_pings = token, True
        self.conns: list[Conn] = []
        self.refreshes: list[dict] = []
        super().__init__()
        # the chat is a WebSocket at the root; HTTP (the token refresh) beside it
        self.url, self.http = f"ws://127.0.0.1:{self.port}/", self.url

    def routes(self, app):
        app.router.add_get("/", self.irc)
        app.router.add_post("/oauth2/token", self.refresh)

    async def irc(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Conn(ws, request)
        self.conns.append(conn)
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                for text in frame.data.split("\r\n"):
                    if text:
                        conn.lines.append(text)
                        await self.on_line(conn, text)
        return ws

    async def on_line(self, conn: Conn, text: str) -> None:
        ws = conn.ws
        if text.startswith("NICK "):
            nick = text[5:]
            if conn.lines[:2] != ["CAP REQ :twitch.tv/tags twitch.tv/commands",
                                  f"PASS oauth:{self.token}"]:
                await ws.send_str(":tmi.twitch.tv NOTICE * :Login authentication failed\r\n")
                await ws.close()
                return
            conn.welcomed = True
            await ws.send_str("\r\n".join([  # one frame, many lines, as Twitch sends them
                ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
                f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!",
                f":tmi.twitch.tv 002 {nick} :Your host is tmi.twitch.tv",
                f":tmi.twitch.tv 375 {nick} :-", f":tmi.twitch.tv 376 {nick} :>",
                f"@badge-info=;badges=;display-name={nick};emote-sets=0;user-id=7;user-type= "
                ":tmi.twitch.tv GLOBALUSERSTATE"]) + "\r\n")
        elif text.startswith("JOIN ") and conn.welcomed:
            chans = text[5:].split(",")
            conn.joins.append((time.monotonic(), chans))
            nick = conn.lines[2][5:]
            for ch in chans:
                await ws.send_str(f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {ch}\r\n"
                                  f":{nick}.tmi.twitch.tv 353 {nick} = {ch} :{nick}\r\n"
                                  f"@emote-only=0;followers-only=-1;r9k=0;room-id=1;slow=0"
                                  f" :tmi.twitch.tv ROOMSTATE {ch}\r\n")
        elif text.startswith("PING") and self.answer_pings:
            await ws.send_str(f":tmi.twitch.tv PONG tmi.twitch.tv :{text.partition(':')[2]}\r\n")

    async def refresh(self, request):
        form = dict(await request.post())
        self.refreshes.append(form)
        if (form.get("grant_type"), form.get("refresh_token"), form.get("client_secret")) != (
                "refresh_token", "refresh-1", "app-secret"):
            return web.json_response({"status": 400, "message": "Invalid refresh token"},
                                     status=400)
        return web.json_response({"access_token": self.token, "refresh_token": "refresh-2",
                                  "expires_in": 14000, "scope": ["chat:read"],
                                  "token_type": "bearer"})

    # test side (another thread)
    def wait(self, predicate, timeout_s: float = 30.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"fake Twitch never saw {what}; "
                             f"lines: {[c.lines for c in self.conns]}")

    def joined(self, n: int, channels: int) -> Conn:
        self.wait(lambda: len(self.conns) >= n and len(self.conns[n - 1].joined) >= channels,
                  what=f"connection {n} join {channels} channels")
        return self.conns[n - 1]

    def send(self, *lines: str) -> None:
        self.call(self.conns[-1].ws.send_str("".join(f"{x}\r\n" for x in lines)))

    def drop(self) -> None:
        """Cut the TCP connection without a WebSocket close."""
        self.loop.call_soon_threadsafe(self.conns[-1].request.transport.abort)


# --- the source in-process, with an in-memory sink and cursor store --------------------
async def until(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.05)


def source(fake: FakeTwitch, channels: list[str], **kw) -> tuple[TwitchSource, MemorySink]:
    sink = MemorySink()
    kw = {"token": fake.token, "reconnect_base_s": 0.1, **kw}
    return TwitchSource("t", sink, MemoryCursors(), nick="vigil_bot", channels=channels,
                        irc_url=fake.url, token_url=fake.http + "/oauth2/token", **kw), sink


def test_joins_are_batched_within_the_join_rate_limit_across_reconnects():
    fake = FakeTwitch()
    channels = [f"chan{i}" for i in range(5)]

    async def scenario():
        src, _ = source(fake, channels, join_limit=2, join_window_s=0.5)
        task = asyncio.create_task(src.run())
        await until(lambda: fake.conns and len(fake.conns[0].joined) == 5)
        fake.send(":tmi.twitch.tv RECONNECT")
        await until(lambda: len(fake.conns) == 2 and len(fake.conns[1].joined) == 5)
        src.stop.set()
        await task

    try:
        asyncio.run(scenario())
        for conn in fake.conns:
            assert sorted(conn.joined) == [f"#{c}" for c in channels]
        joins = [(t, c) for conn in fake.conns for t, chans in conn.joins for c in chans]
        assert all(len(chans) <= 2 for conn in fake.conns for _, chans in conn.joins)
        for t, _ in joins:  # never more than 2 channels joined in any 0.5 s window
            assert sum(1 for u, _ in joins if t <= u < t + 0.45) <= 2, joins
    finally:
        fake.close()


def test_silent_server_is_pinged_then_left_and_pongs_keep_it():
    fake = FakeTwitch()
    fake.answer_pings = False

    async def scenario():
        src, _ = source(fake, ["acmegames"], ping_after_s=0.3, pong_timeout_s=0.3)
        task = asyncio.create_task(src.run())
        await until(lambda: len(fake.conns) == 2 and fake.conns[1].welcomed)
        fake.answer_pings = True
        await until(lambda: fake.conns[1].lines.count("PING :tmi.twitch.tv") >= 3)
        src.stop.set()
        await task

    try:
        asyncio.run(scenario())
        assert "PING :tmi.twitch.tv" in fake.conns[0].lines
        assert len(fake.conns) == 2  # answered PINGs kept the second connection
    finally:
        fake.close()


def test_expired_token_is_refreshed_once_and_a_bad_one_stops_the_source():
    fake = FakeTwitch(token="fresh-token")

    async def scenario():
        src, sink = source(fake, ["acmegames"], token="stale-token",
                           refresh=("refresh-1", "app-id", "app-secret"))
        task = asyncio.create_task(src.run())
        await until(lambda: len(fake.conns) == 2 and len(fake.conns[1].joined) == 1)
        fake.send(privmsg("r1", "after refresh"))
        await until(lambda: sink.items)
        src.stop.set()
        await task
        assert sink.items[0][0] == "twitch:#acmegames" and src.refresh[0] == "refresh-2"
        bad, _ = source(fake, ["acmegames"], token="revoked-token")
        with pytest.raises(PlatformError, match="Login authentication failed"):
            await asyncio.wait_for(bad.run(), 20)

    try:
        asyncio.run(scenario())
        assert fake.conns[0].lines[1] == "PASS oauth:stale-token"
        assert fake.conns[1].lines[1] == "PASS oauth:fresh-token"
        assert len(fake.refreshes) == 1 and fake.refreshes[0]["client_id"] == "app-id"
    finally:
        fake.close()


# --- the real `vigil connect twitch` against the local server and broker --------------
def start_connector(broker, tmp_path, fake: FakeTwitch, token: str, log: str = "connect.log"
                    ) -> subprocess.Popen:
    return start_connect("twitch", broker, tmp_path, f"""
[twitch]
name = "acme"
nick = "vigil_bot"
token_env = "TEST_TWITCH_TOKEN"
channels = ["acmegames", "#AcmeSupport"]
irc_url = "{fake.url}"
reconnect_base_s = 0.2
[twitch.communities]
acmesupport = "acme-support"
""", {"TEST_TWITCH_TOKEN": token}, log=log)


KEYS = (b"twitch:#acmegames", b"acme-support")


def raw_posts(broker, expected: int) -> list[tuple[str, str, dict]]:
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                      until=lambda ms: len([m for m in ms if m.key in KEYS]) >= expected)
    return [(parse_twitch(json.loads(m.value))["post_id"], m.key.decode(),
             {k: v.decode() for k, v in m.headers}) for m in msgs if m.key in KEYS]


@pytest.mark.integration
def test_twitch_connector_reconnects_rejoins_and_restarts_without_repeats(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    fake = FakeTwitch()
    now = time.time()
    me_m3 = privmsg("m3", "\x01ACTION ищет сохранения\x01", channel="acmesupport", ts=now + 2)
    try:
        proc = start_connector(broker, tmp_path, fake, fake.token)
        c1 = fake.joined(1, 2)
        assert c1.lines[:3] == ["CAP REQ :twitch.tv/tags twitch.tv/commands",
                                f"PASS oauth:{fake.token}", "NICK vigil_bot"]
        assert sorted(c1.joined) == ["#acmegames", "#acmesupport"]
        fake.send("PING :tmi.twitch.tv")
        fake.wait(lambda: "PONG :tmi.twitch.tv" in c1.lines, what="PONG")
        fake.send(privmsg("m1", "gg wp 🎉", ts=now),
                  "@room-id=1001;slow=10 :tmi.twitch.tv ROOMSTATE #acmegames",
                  privmsg("m2", "@Ana ça plante encore, 40 heures perdues", user="leo", uid="303",
                          reply_parent_msg_id="m1", reply_thread_parent_msg_id="m1", ts=now + 1),
                  me_m3,
                  clearchat("leo", "303", duration="60", ts=now + 3), clearmsg("m2", ts=now + 4),
                  raid("n1", 240, ts=now + 5))
        first = raw_posts(broker, 6)
        assert sorted(i for i, _, _ in first) == sorted(
            ["m1", "m2", "m3", f"clearchat:1001:303:{int((now + 3) * 1000)}", "clearmsg:m2",
             "usernotice:n1"])
        keys = {i: k for i, k, _ in first}
        assert keys["m1"] == "twitch:#acmegames" and keys["m3"] == "acme-support"
        assert first[0][2] == {"vigil-platform": "twitch", "vigil-format": "twitch",
                               "vigil-connector": "twitch/1"}

        # Twitch's maintenance notice: the connector reconnects and rejoins; a line it
        # already produced, seen again on the new connection, is dropped
        fake.send(":tmi.twitch.tv RECONNECT")
        c2 = fake.joined(2, 2)
        assert c2.lines[:3] == c1.lines[:3]
        fake.send(me_m3,
                  privmsg("m4", "back again", ts=now + 6))
        raw_posts(broker, 7)
        fake.drop()  # the socket cut without a close frame
        fake.joined(3, 2)
        fake.send(privmsg("m5", "still here?", channel="acmesupport", ts=now + 7))
        raw_posts(broker, 8)

        # a restart in the middle: chat sent meanwhile has no connection to arrive on;
        # a line repeated after the restart is recognised from the saved recent ids
        assert stop(proc) == 0
        proc = start_connector(broker, tmp_path, fake, fake.token)
        fake.joined(4, 2)
        fake.send(privmsg("m5", "still here?", channel="acmesupport", ts=now + 7),
                  privmsg("m6", "さようなら 👋", ts=now + 8))
        raw_posts(broker, 9)
        time.sleep(1.5)  # anything repeated would show by now
        ids = [i for i, _, _ in raw_posts(broker, 9)]
        expected = {i for i, _, _ in first} | {"m4", "m5", "m6"}
        assert set(ids) == expected and len(ids) == len(expected), sorted(ids)
        assert stop(proc) == 0
        log = (tmp_path / "connect.log").read_text()
        assert fake.token not in log and "stream_reconnect" in log

        # a token Twitch refuses: NOTICE Login authentication failed -> exit 1
        bad = start_connector(broker, tmp_path, fake, "revoked-token-abc", log="bad.log")
        assert bad.wait(60) == 1
        bad_log = (tmp_path / "bad.log").read_text()
        assert "connector_refused" in bad_log and "Login authentication failed" in bad_log
        assert "revoked-token-abc" not in bad_log
    finally:
        fake.close()
