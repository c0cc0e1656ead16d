"""The Telegram connector against a local Bot API (getUpdates long polling with offset
confirmation, ``limit`` paging, 429 with ``parameters.retry_after``, 502, 409) and as a
webhook Telegram calls (secret-token header, 200 after the broker has it, 401, 413);
Telegram's Update objects through the normaliser, and members' bans and mutes
(``chat_member`` updates) as moderators' actions that label what the member wrote."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from aiohttp import web

from connectors.push import Rejected
from connectors.telegram import TelegramWebhookSource
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.parsers.telegram import parse_telegram
from models.pseudonym import Pseudonymizer
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, start_connect, stop

T0 = 1793606400
GROUP, CHANNEL, OTHER = -1001234567890, -1009876543210, -1005555555555
TOKEN = "123456789:AAH-test-token-do-not-log"
SECRET = "hook-secret_123"


def msg(n: int, *, chat: int = GROUP, text: str | None = None, kind: str = "message",
        **extra) -> dict:
    """An Update with message_id n (the fake Bot API numbers updates as they arrive)."""
    chats = {GROUP: {"id": GROUP, "type": "supergroup", "title": "Acme Players",
                     "username": "acmeplayers"},
             CHANNEL: {"id": CHANNEL, "type": "channel", "title": "Acme News"},
             OTHER: {"id": OTHER, "type": "supergroup", "title": "Elsewhere"}}
    m = {"message_id": n, "date": T0 + n * 60, "chat": chats[chat], **extra}
    if kind.startswith("channel") or kind.startswith("edited_channel"):
        m.setdefault("sender_chat", chats[chat])
    else:
        m.setdefault("from", {"id": 5000 + n, "is_bot": False, "first_name": "User",
                              "username": f"user{n}", "language_code": "en"})
    if text is not None:
        m["text"] = text
    return {"update_id": n, kind: m}


def member(n: int, status: str, *, by: dict | None = None, user: int = 5001,
           old: dict | None = None, chat: int = GROUP, date: int = T0, **new) -> dict:
    """A chat_member Update: ``user``'s status set to ``status`` by ``by`` (an admin)."""
    chats = {GROUP: {"id": GROUP, "type": "supergroup", "title": "Acme Players"},
             OTHER: {"id": OTHER, "type": "supergroup", "title": "Elsewhere"}}
    person = {"id": user, "is_bot": False, "first_name": "User"}
    return {"update_id": n, "chat_member": {
        "chat": chats[chat], "date": date,
        "from": by or {"id": 77, "is_bot": False, "first_name": "Mod"},
        "old_chat_member": {"status": "member", "user": person, **(old or {})},
        "new_chat_member": {"status": status, "user": person, **new}}}


MUTED = {"is_member": True, "can_send_messages": False, "until_date": T0 + 3600}


# --- the payloads, through the normaliser ---------------------------------------------
def normalize(update: dict, community: str = "tg:acme-players") -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(update).encode(), fmt="telegram", now=T0 + 86400,
                       community=community)[0]


def test_telegram_updates_become_canonical_posts():
    p = normalize(msg(1, text="Patch 1.2 broke my saves again 😡"))
    assert (p["platform"], p["community"], p["post_id"], p["text"]) == (
        "telegram", "tg:acme-players", f"{GROUP}:1", "Patch 1.2 broke my saves again 😡")
    assert p["url"] == "https://t.me/acmeplayers/1" and p["author_id"] not in ("5001", "unknown")
    assert p["created_at"] == "2026-11-02T08:01:00Z" and p["meta"]["edited"] is False
    # a reply inside a forum topic, in Russian; an edit keeps the id, adds a revision
    reply = normalize(msg(3, text="У меня тоже не работает", message_thread_id=2,
                          reply_to_message=msg(2, text="?")["message"]))
    assert (reply["parent_id"], reply["thread_id"]) == (f"{GROUP}:2", f"{GROUP}:2")
    in_topic = normalize(msg(4, text="first", message_thread_id=2, is_topic_message=True,
                             reply_to_message={**msg(2)["message"], "forum_topic_created": {
                                 "name": "Bugs", "icon_color": 7322096}}))
    assert in_topic["parent_id"] is None and in_topic["thread_id"] == f"{GROUP}:2"
    edit = normalize(msg(1, text="Patch 1.2 broke my saves", kind="edited_message",
                         edit_date=T0 + 600))
    assert edit["post_id"] == f"{GROUP}:1" and edit["meta"]["edited"] is True
    assert edit["meta"]["revision"] == T0 + 600 and edit["created_at"] == "2026-11-02T08:01:00Z"
    # a channel post (no url: the channel has no username, a t.me/c/ link for members)
    post = normalize(msg(5, chat=CHANNEL, kind="channel_post", text="Servers are back"),
                     "tg:acme-news")
    assert post["url"] == "https://t.me/c/9876543210/5" and post["community"] == "tg:acme-news"
    # captions, sticker emoji and polls are text; media alone reads as its placeholder
    photo = normalize(msg(6, photo=[{"file_id": "x", "width": 90, "height": 90}],
                          caption="look at this lag"))
    assert (photo["text"], photo["meta"]["media"]) == ("look at this lag [photo]", "photo")
    assert normalize(msg(10, photo=[{"file_id": "x"}]))["text"] == "[photo]"
    sticker = {"file_id": "s", "emoji": "🖕", "type": "regular"}
    assert normalize(msg(7, sticker=sticker))["text"] == "[sticker: 🖕]"
    poll = normalize(msg(8, poll={"id": "p", "question": "Refund?", "options": [
        {"text": "yes", "voter_count": 0}, {"text": "no", "voter_count": 0}]}))
    assert poll["text"] == "Refund?\nyes\nno"
    fwd = normalize(msg(9, text="🔥🔥", forward_origin={"type": "hidden_user", "date": T0,
                                                         "sender_user_name": "x"}))
    assert fwd["meta"]["forwarded"] is True


def test_service_messages_are_platform_events_not_posts():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    user = {"is_bot": False, "first_name": "U"}
    cases = [(msg(10, new_chat_members=[{"id": 1, **user}]), "non_post"),
             (msg(11, pinned_message=msg(1, text="rules")["message"]), "non_post"),
             (msg(12, left_chat_member={"id": 5012, **user}), "non_post"),  # left by themselves
             # removed by an admin (from is someone else): a moderator's action
             (msg(13, left_chat_member={"id": 42, **user}), "moderation_action")]
    for update, kind in cases:
        with pytest.raises(NotAPost) as ev:
            n.normalize(json.dumps(update).encode(), fmt="telegram", now=T0 + 86400,
                        community="tg:acme-players")
        assert ev.value.kind == kind
        assert ev.value.fields["post_id"] == f"{GROUP}:{update['message']['message_id']}"
        assert ev.value.fields["community"] == "tg:acme-players"


def test_bans_and_mutes_by_an_admin_are_moderators_actions_on_that_member():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())

    def event(update: dict) -> NotAPost:
        with pytest.raises(NotAPost) as ev:
            n.normalize(json.dumps(update).encode(), fmt="telegram", now=T0 + 86400,
                        community="tg:acme-players")
        return ev.value

    ban = event(member(1, "kicked", until_date=0))
    assert (ban.kind, ban.fields["community"], ban.fields["created_at"]) == (
        "moderation_action", "tg:acme-players", T0)
    assert ban.fields["moderation"] == {
        "action": "ban", "by": "moderator", "moderator": 77, "post_ids": [],
        "target_author": 5001, "text": None, "source": "telegram:chat_member_kicked",
        "event_id": f"{GROUP}:member:5001:kicked@{T0}"}
    # the member's id is the one their posts carry as author: the label finds them
    post = normalize(msg(1, text="hi"))
    assert n.pseudonymize("telegram", str(ban.fields["moderation"]["target_author"])) \
        == post["author_id"]
    mute = event(member(2, "restricted", **MUTED)).fields["moderation"]
    assert (mute["action"], mute["by"], mute["target_author"]) == ("timeout", "moderator", 5001)
    removed = event(member(3, "left")).fields["moderation"]  # a basic group's removal
    assert (removed["action"], removed["by"]) == ("kick", "moderator")
    # another bot's (an anti-spam bot) is automatic; an anonymous admin is a moderator
    spam_bot = event(member(4, "kicked", by={"id": 99, "is_bot": True, "first_name": "Guard"}))
    assert spam_bot.fields["moderation"]["by"] == "automatic"
    anonymous = event(member(5, "kicked", by={"id": 1087968824, "is_bot": True,
                                              "first_name": "Group", "username":
                                              "GroupAnonymousBot"})).fields["moderation"]
    assert (anonymous["by"], anonymous["moderator"]) == ("moderator", None)
    # not a sanction: leaving, joining, a ban or mute lifted, rights changed while muted
    for update in (member(6, "left", by={"id": 5001, "is_bot": False, "first_name": "U"}),
                   member(7, "member", old={"status": "left"}),
                   member(8, "left", old={"status": "kicked", "until_date": 0}),
                   member(9, "member", old={"status": "restricted", **MUTED}),
                   member(10, "left", old={"status": "restricted", "is_member": False,
                                           "can_send_messages": False}),
                   member(11, "restricted", old={"status": "restricted", **MUTED},
                          **{**MUTED, "can_send_photos": False}),
                   member(12, "restricted", is_member=True, can_send_messages=True,
                          can_send_photos=False)):
        assert event(update).kind == "non_post", update


def test_a_ban_labels_what_the_member_wrote_just_before_and_a_bots_teaches_nothing():
    from streams.state import PipelineState
    from tests.pipeline_kit import new_pipeline, raw_input

    now = int(time.time())
    p, st = new_pipeline(), PipelineState()
    updates = [msg(1, text="you are all clowns", date=now - 40, **{"from": {"id": 42}}),
               msg(2, text="hello everyone", date=now - 35),
               msg(3, text="clowns, the lot", date=now - 20, **{"from": {"id": 42}}),
               member(4, "kicked", user=42, date=now, until_date=0),
               member(5, "restricted", user=5002, date=now,
                      by={"id": 99, "is_bot": True, "first_name": "Guard"}, **MUTED)]
    out = p.process([raw_input(json.dumps(u).encode(), fmt="telegram",
                               community="tg:acme-players", offset=i)
                     for i, u in enumerate(updates)], st)
    assert len(out.scored) == 3
    assert sorted(out.moderator_actions) == [("telegram", "ban", "moderator"),
                                             ("telegram", "timeout", "automatic")]
    assert sorted((fb.post_id, fb.label, fb.action, fb.source, fb.text) for fb in out.labels) == [
        (f"{GROUP}:1", "toxic", "ban", "telegram:chat_member_kicked", "you are all clowns"),
        (f"{GROUP}:3", "toxic", "ban", "telegram:chat_member_kicked", "clowns, the lot")]
    assert out.labels[0].moderator_id not in ("77", "unknown")  # a pseudonym


def test_broken_telegram_updates_are_dead_lettered_with_a_reason():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    no_chat = msg(20, text="hi")
    del no_chat["message"]["chat"]
    for update, reason in [({"update_id": 1}, "missing_field"),
                           (no_chat, "missing_field"),
                           (msg(21, text="   "), "empty_text"),
                           (msg(23, text=12345), "wrong_type"),
                           (msg(24, text="hi", date="yesterday"), "bad_timestamp")]:
        with pytest.raises(MalformedPost) as err:
            n.normalize(json.dumps(update).encode(), fmt="telegram", now=T0 + 86400,
                        community="tg:acme-players")
        assert err.value.reason == reason, update
    assert parse_telegram({"message": "not an object"})["post_id"] is None
    # an Update of a kind that holds no post is counted, not dead-lettered
    with pytest.raises(NotAPost) as event:
        n.normalize(json.dumps({"update_id": 1, "callback_query": {"id": "1"}}).encode(),
                    fmt="telegram", now=T0 + 86400, community="tg:acme-players")
    assert event.value.kind == "non_post" and event.value.fields["meta"]["kind"] == "callback_query"


def test_webhook_source_routes_and_verifies_without_a_broker():
    src = TelegramWebhookSource("t", sink=None, secret=SECRET, chats=[{"id": GROUP}])
    good = json.dumps(msg(1, text="hi")).encode()
    src.verify({"X-Telegram-Bot-Api-Secret-Token": SECRET}, good, 0.0)
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
        with pytest.raises(Rejected) as err:
            src.verify(headers, good, 0.0)
        assert err.value.status == 401
    [post] = src.posts({}, good)
    assert (post.post_id, post.community, post.payload) == (f"{GROUP}:1", f"tg:{GROUP}", good)
    assert src.posts({}, json.dumps(msg(2, chat=OTHER, text="x")).encode()) == []
    [garbage] = src.posts({}, b"{not json")  # produced as sent: the pipeline dead-letters it
    assert garbage.payload == b"{not json"
    edit = src.posts({}, json.dumps(msg(1, text="hi!", kind="edited_message",
                                        edit_date=T0 + 5)).encode())[0]
    assert edit.post_id == f"{GROUP}:1@{T0 + 5}"
    [ban] = src.posts({}, json.dumps(member(3, "kicked")).encode())
    assert (ban.post_id, ban.community) == (f"{GROUP}:member:5001:kicked@{T0}", f"tg:{GROUP}")
    assert src.posts({}, json.dumps(member(4, "kicked", chat=OTHER)).encode()) == []


def test_network_errors_that_name_the_url_lose_the_token():
    import aiohttp

    from connectors.telegram import _BotSession

    async def attempt():
        async with aiohttp.ClientSession() as session:
            async with _BotSession(session, TOKEN).request("POST", f"http:///bot{TOKEN}/getMe"):
                pass

    with pytest.raises(aiohttp.ClientError) as err:
        asyncio.run(attempt())
    assert TOKEN not in repr(err.value) and "<token>" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


# --- a local Bot API --------------------------------------------------------------------
class FakeBotApi(LocalServer):
    """getUpdates with Telegram's offset semantics: an offset confirms (and forgets)
    every update below it; without new updates the call is held up to ``timeout`` s."""

    def __init__(self):
        self.pending: list[dict] = []
        self.calls: list[dict] = []  # t, method, body, status
        self.script: list[tuple[int, dict, dict]] = []  # (status, body, headers) for getUpdates
        self.lock = threading.Lock()
        self.next_id = 700000001
        super().__init__()

    def routes(self, app):
        app.router.add_post("/bot{token}/{method}", self.method)

    def add(self, *updates: dict) -> None:
        with self.lock:
            for update in updates:
                self.pending.append({**update, "update_id": self.next_id})
                self.next_id += 1

    def get_updates_calls(self) -> list[dict]:
        return [c for c in self.calls if c["method"] == "getUpdates"]

    async def method(self, request):
        body = await request.json()
        call = {"t": time.monotonic(), "method": request.match_info["method"], "body": body}
        self.calls.append(call)
        if request.match_info["token"] != TOKEN:
            call["status"] = 401
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        if call["method"] == "setWebhook":
            call["status"] = 200
            return web.json_response({"ok": True, "result": True,
                                      "description": "Webhook was set"})
        if self.script:
            status, reply, headers = self.script.pop(0)
            call["status"] = status
            return web.json_response(reply, status=status, headers=headers)
        offset, limit = body.get("offset"), int(body.get("limit", 100))
        deadline = time.monotonic() + float(body.get("timeout", 0))
        while True:
            with self.lock:
                if offset is not None:  # confirmed: Telegram forgets them
                    self.pending = [u for u in self.pending if u["update_id"] >= offset]
                result = self.pending[:limit]
            if result or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)  # the long-poll hold
        call.update(status=200, returned=len(result))
        return web.json_response({"ok": True, "result": result})


CHATS = f"""[{{id = {GROUP}, community = "tg:acme-players"}},
         {{id = {CHANNEL}, community = "tg:acme-news"}}]"""


def start_connector(broker, tmp_path, api_url: str, extra: str = "", log: str = "connect.log",
                    name: str = "acme", chats: str = CHATS) -> subprocess.Popen:
    return start_connect("telegram", broker, tmp_path, f"""
[telegram]
name = "{name}"
token_env = "TEST_TELEGRAM_TOKEN"
chats = {chats}
api_url = "{api_url}"
long_poll_s = 2
limit = 3
{extra}
""", {"TEST_TELEGRAM_TOKEN": TOKEN, "TEST_TELEGRAM_SECRET": SECRET}, log=log)


def raw_updates(broker, keys: tuple[bytes, ...], expected: int,
                above: int = 0) -> list[tuple[int, str, dict]]:
    """(update_id, key, headers) on posts.raw with one of ``keys`` and ids over ``above``."""
    mine = lambda ms: [m for m in ms if m.key in keys  # noqa: E731
                       and json.loads(m.value)["update_id"] > above]
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                      until=lambda ms: len(mine(ms)) >= expected)
    return [(json.loads(m.value)["update_id"], m.key.decode(),
             {k: v.decode() for k, v in m.headers}) for m in mine(msgs)]


@pytest.fixture(scope="module")
def topics(broker):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))


POLL_KEYS = (b"tg:acme-players", b"tg:acme-news")
HOOK = 800000000  # update ids of the webhook test


@pytest.mark.integration
def test_poll_mode_long_polls_backs_off_pages_and_resumes_without_repeats(broker, topics, tmp_path):
    fake = FakeBotApi()
    try:
        fake.add(msg(1, text="hello"), msg(2, chat=OTHER, text="not ours"),
                 msg(3, text="reply", reply_to_message=msg(1, text="hello")["message"]),
                 msg(1, text="hello!", kind="edited_message", edit_date=T0 + 200),
                 msg(4, chat=CHANNEL, kind="channel_post", text="Patch notes"),
                 msg(5, new_chat_members=[{"id": 1, "is_bot": False, "first_name": "N"}]))
        fake.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1},
                              "description": "Too Many Requests: retry after 1"}, {}),
                       (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, {})]
        proc = start_connector(broker, tmp_path, fake.url)
        first = raw_updates(broker, POLL_KEYS, 5)
        assert sorted(u - 700000000 for u, _, _ in first) == [1, 3, 4, 5, 6]  # 2: other chat
        assert {u: k for u, k, _ in first}[700000005] == "tg:acme-news"
        headers = first[0][2]
        assert headers["vigil-platform"] == headers["vigil-format"] == "telegram"
        assert headers["vigil-connector"].startswith("telegram/")
        calls = fake.get_updates_calls()
        assert [c["status"] for c in calls[:3]] == [429, 502, 200]
        assert calls[1]["t"] - calls[0]["t"] >= 1.0  # parameters.retry_after honoured
        body = calls[0]["body"]
        assert body["limit"] == 3 and body["timeout"] == 2 and "offset" not in body
        assert body["allowed_updates"] == ["message", "edited_message", "channel_post",
                                           "edited_channel_post", "chat_member"]
        # paged by limit: the second page asks from after the first page's last update
        assert calls[3]["body"]["offset"] == 700000004

        # updates arriving while the connector is held in a long poll answer that poll
        deadline = time.monotonic() + 10
        while not (held := [c for c in fake.get_updates_calls() if "status" not in c
                            and time.monotonic() - c["t"] < 1.0]):
            assert time.monotonic() < deadline, "no long poll held"
            time.sleep(0.02)
        fake.add(msg(6, text="during the hold 👀"), msg(7, text="и ещё"))
        raw_updates(broker, POLL_KEYS, 7)
        assert held[-1]["returned"] == 2  # the poll in flight when they came carried them

        # a restart in the middle: stop (during a long poll), updates arrive, start again
        assert stop(proc) == 0
        resumed_from = len(fake.get_updates_calls())
        fake.add(msg(8, text="while it was down"),
                 msg(9, chat=CHANNEL, kind="edited_channel_post", text="Patch notes v2",
                     edit_date=T0 + 900))
        proc = start_connector(broker, tmp_path, fake.url)
        raw_updates(broker, POLL_KEYS, 9)
        # resumed at the saved offset: nothing produced before is asked for again
        assert fake.get_updates_calls()[resumed_from]["body"]["offset"] == 700000009
        time.sleep(1.5)  # several more polls: anything repeated would show now
        ids = [u for u, _, _ in raw_updates(broker, POLL_KEYS, 9)]
        expected = {700000000 + i for i in (1, 3, 4, 5, 6, 7, 8, 9, 10)}
        assert set(ids) == expected and len(ids) == len(expected), sorted(ids)
        assert stop(proc) == 0
        log = (tmp_path / "connect.log").read_text()
        assert TOKEN not in log and TOKEN.split(":")[1] not in log
        assert "platform_retry" in log
    finally:
        fake.close()


@pytest.mark.integration
def test_poll_mode_produces_bans_and_mutes_that_normalise_to_moderators_actions(
        broker, topics, tmp_path):
    fake = FakeBotApi()
    key = b"tg:acme-mods"  # this test's own community: its updates are not the others'
    try:
        fake.add(msg(1, text="you are all clowns"),
                 member(2, "kicked", until_date=0),
                 member(3, "kicked", chat=OTHER),
                 member(4, "restricted", user=5002, date=T0 + 60, **MUTED),
                 member(5, "left", user=5003, by={"id": 5003, "is_bot": False,
                                                  "first_name": "U"}))
        proc = start_connector(broker, tmp_path, fake.url, log="members.log", name="members",
                               chats=f'[{{id = {GROUP}, community = "{key.decode()}"}}]')
        mine = lambda ms: [m for m in ms if m.key == key]  # noqa: E731
        produced = mine(read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                                   until=lambda ms: len(mine(ms)) >= 4))
        assert stop(proc) == 0
        assert fake.get_updates_calls()[0]["body"]["allowed_updates"][-1] == "chat_member"
        ids = {json.loads(m.value)["update_id"] - 700000000: m for m in produced}
        assert sorted(ids) == [1, 2, 4, 5]  # 3: another chat's ban
        n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
        events = {}
        for i in (2, 4, 5):  # as the pipeline reads them: payload, format header, key
            m = ids[i]
            with pytest.raises(NotAPost) as ev:
                n.normalize(m.value, fmt=dict(m.headers)["vigil-format"].decode(),
                            now=T0 + 86400, community=m.key.decode())
            events[i] = ev.value
        assert [(e.kind, (e.fields.get("moderation") or {}).get("action"))
                for _, e in sorted(events.items())] == [
            ("moderation_action", "ban"), ("moderation_action", "timeout"), ("non_post", None)]
        assert events[4].fields["moderation"]["target_author"] == 5002
        assert events[4].fields["community"] == "tg:acme-mods"
    finally:
        fake.close()


def test_a_refused_token_is_fatal_with_a_reason_that_does_not_name_it():
    import aiohttp

    from connectors.polling import PlatformError, PoliteHttp
    from connectors.telegram import _BotSession, call

    fake = FakeBotApi()
    wrong = "987654321:AAwrong-token"

    async def attempt():
        async with aiohttp.ClientSession() as session:
            http = PoliteHttp("telegram", _BotSession(session, wrong))
            await call(http, fake.url, wrong, "getUpdates", {"timeout": 0})

    try:
        with pytest.raises(PlatformError) as err:
            asyncio.run(attempt())
        assert err.value.status == 401 and "token_env" in str(err.value)
        assert "Unauthorized" in str(err.value) and wrong.split(":")[1] not in str(err.value)
    finally:
        fake.close()


@pytest.mark.integration
def test_poll_mode_stops_with_a_clear_reason_on_409_conflict(broker, topics, tmp_path):
    fake = FakeBotApi()
    try:
        fake.script = [(409, {"ok": False, "error_code": 409, "description":
                              "Conflict: can't use getUpdates method while webhook is active; "
                              "use deleteWebhook to delete the webhook first"}, {})]
        proc = start_connector(broker, tmp_path, fake.url, log="conflict.log",
                               name="conflicted")
        assert proc.wait(30) == 1  # refused for good: waiting does not help
        log = (tmp_path / "conflict.log").read_text()
        assert "connector_refused" in log and "409" in log and "deleteWebhook" in log
        assert TOKEN not in log and TOKEN.split(":")[1] not in log
    finally:
        fake.close()


def post_update(url: str, body: bytes, secret: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except (ConnectionError, urllib.error.URLError):  # a 413 may close before the body is read
        return 413, {}


@pytest.mark.integration
def test_webhook_mode_accepts_only_telegrams_secret_and_answers_after_the_broker(
        broker, topics, tmp_path):
    from streams.broker import free_port

    fake = FakeBotApi()
    port = free_port()
    proc = start_connector(broker, tmp_path, fake.url, log="webhook.log", name="hook", extra=f"""
mode = "webhook"
secret_env = "TEST_TELEGRAM_SECRET"
port = {port}
path = "/tg/hook"
max_body_bytes = 4096
set_webhook = true
public_url = "https://vigil.example.com/tg/hook"
""")
    url = f"http://127.0.0.1:{port}/tg/hook"
    try:
        deadline = time.monotonic() + 30
        while not [c for c in fake.calls if c["method"] == "setWebhook"]:
            assert proc.poll() is None and time.monotonic() < deadline, "no setWebhook call"
            time.sleep(0.1)
        [hook] = [c["body"] for c in fake.calls if c["method"] == "setWebhook"]
        assert hook["url"] == "https://vigil.example.com/tg/hook" and hook["secret_token"] == SECRET
        assert "chat_member" in hook["allowed_updates"]

        def update(n: int, **kw) -> bytes:
            return json.dumps({**msg(n, **kw), "update_id": HOOK + n},
                              ensure_ascii=False).encode()

        status, reply = post_update(url, update(1, text="webhook hello 👋"), SECRET)
        assert status == 200 and reply["accepted"] == 1
        # the broker has it by the time Telegram got its 200
        assert [u for u, _, _ in raw_updates(broker, POLL_KEYS, 1, above=HOOK)] == [HOOK + 1]
        assert post_update(url, update(1, text="webhook hello 👋"), SECRET)[0] == 200  # retried
        assert post_update(url, update(2, text="forged"), None)[0] == 401
        assert post_update(url, update(3, text="forged"), SECRET + "x")[0] == 401
        assert post_update(url, update(4, text="x" * 8000), SECRET)[0] == 413
        assert post_update(url, update(5, chat=OTHER, text="not ours"), SECRET)[0] == 200
        assert post_update(url, update(6, chat=CHANNEL, kind="channel_post", text="news"),
                           SECRET)[0] == 200
        raw_updates(broker, POLL_KEYS, 2, above=HOOK)
        time.sleep(1.5)
        got = [(u, k) for u, k, _ in raw_updates(broker, POLL_KEYS, 2, above=HOOK)]
        assert sorted(got) == [(HOOK + 1, "tg:acme-players"), (HOOK + 6, "tg:acme-news")]
        assert stop(proc) == 0
        log = (tmp_path / "webhook.log").read_text()
        assert log.count("push_rejected") == 3 and '"status": 413' in log
        assert SECRET not in log and TOKEN not in log
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.close()
