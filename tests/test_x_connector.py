"""The X connector against a local server that answers like X's API v2 (stream rules, a
chunked filtered stream with keep-alives, drops, 429 + x-rate-limit-reset, 503,
operational disconnects, stalls; recent search with since_id and next_token), and X's
payloads through the normaliser."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import datetime, timezone

import pytest
from aiohttp import web

from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.parsers.x import parse_x
from models.pseudonym import Pseudonymizer
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, MemoryCursors, MemorySink, start_connect, stop

T0 = 1793606400.0
TOKEN = "x-bearer-AAAA-secret-123"


def line(tid: str, text: str, *, tag: str = "acme", username: str = "sam", **fields) -> dict:
    """A filtered-stream line as X documents it (tweet.fields + expansions=author_id)."""
    tweet = {"id": tid, "text": text, "author_id": "2244994945", "conversation_id": tid,
             "created_at": "2026-11-02T08:00:00.000Z", "lang": "en",
             "edit_history_tweet_ids": [tid], **fields}
    return {"data": tweet, "includes": {"users": [{"id": "2244994945", "username": username,
                                                    "name": "Sam"}]},
            "matching_rules": [{"id": "1852000000000000001", "tag": tag}] if tag else []}


def normalize(obj: dict, community: str = "x:fallback") -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(obj).encode(), fmt="x", now=T0 + 86400, community=community)[0]


# --- the payloads, through the normaliser ---------------------------------------------
def test_x_posts_become_canonical_posts():
    p = normalize(line("1853", "Patch 1.2 broke my saves 😡 #acmegames",
                       entities={"hashtags": [{"start": 27, "end": 38, "tag": "acmegames"}]}))
    assert (p["platform"], p["community"], p["post_id"], p["thread_id"], p["lang"]) == (
        "x", "x:acme", "1853", "1853", "en")
    assert p["url"] == "https://x.com/sam/status/1853" and p["author_id"] != "sam"
    assert p["meta"]["edited"] is False and p["meta"]["revision"] is None
    assert p["created_at"] == "2026-11-02T08:00:00Z"
    # a reply in Japanese, in a thread
    reply = normalize(line("1855", "セーブが消えた…", lang="ja", conversation_id="1853",
                           in_reply_to_user_id="99",
                           referenced_tweets=[{"type": "replied_to", "id": "1854"}]))
    assert (reply["parent_id"], reply["thread_id"], reply["lang"]) == ("1854", "1853", "ja")
    # a long post: note_tweet.text is the whole text, text only its start
    long = normalize(line("1856", "A" * 270 + "… https://t.co/x",
                          note_tweet={"text": "A" * 270 + " and the rest of it"}))
    assert long["text"].endswith("the rest of it") and long["meta"]["long_post"] is True
    # an edit: a new id whose history starts with the original -> same post, new revision
    edit = normalize(line("1858", "fixed typo", edit_history_tweet_ids=["1857", "1858"]))
    assert (edit["post_id"], edit["meta"]["edited"], edit["meta"]["revision"]) == (
        "1857", True, "1858")
    assert edit["url"] == "https://x.com/sam/status/1858"
    # a quote is the quoter's own words
    quote = normalize(line("1859", "this is why 🙄",
                           referenced_tweets=[{"type": "quoted", "id": "1800"}]))
    assert quote["meta"]["quoted_id"] == "1800" and quote["parent_id"] is None
    # a quote and nothing else: the quoted words are not this author's
    bare_quote = normalize(line("1859", "https://t.co/Qt", entities={"urls": [
        {"url": "https://t.co/Qt", "expanded_url": "https://x.com/acme/status/1800"}]},
        referenced_tweets=[{"type": "quoted", "id": "1800"}]))
    assert bare_quote["text"] == "[quote]"
    # media only: X puts the media link in text; the post reads as its media, no language
    media = normalize(line("1860", "https://t.co/AbCdEf", lang="zxx", entities={"urls": [
        {"url": "https://t.co/AbCdEf", "expanded_url": "https://x.com/sam/status/1860/photo/1",
         "media_key": "3_1860"}]}))
    assert media["text"] == "[photo]" and media["lang"] is None
    assert media["meta"]["urls"] == [] and media["meta"]["media"] == ["photo"]
    # no matching rule tag: the message key names the community; no user expansion
    bare = line("1861", "hello", tag=None)
    bare["includes"] = {}
    b = normalize(bare, community="x:acme")
    assert b["community"] == "x:acme" and b["url"] == "https://x.com/i/web/status/1861"


def test_retweets_are_platform_events_not_posts():
    rt = line("1862", "RT @acme: Servers are down", referenced_tweets=[
        {"type": "retweeted", "id": "1850"}])
    with pytest.raises(NotAPost) as ev:
        normalize(rt)
    assert ev.value.kind == "non_post" and ev.value.fields["post_id"] == "1862"
    assert ev.value.fields["community"] == "x:acme"
    assert ev.value.fields["meta"] == {"kind": "retweet", "retweeted_id": "1850"}


def test_broken_x_payloads_are_dead_lettered_with_a_reason():
    no_text = line("1863", "x")
    del no_text["data"]["text"]
    num_text = line("1864", "x")
    num_text["data"]["text"] = 42
    for obj, reason in [({"errors": [{"title": "operational-disconnect"}]}, "missing_field"),
                        (no_text, "missing_field"),
                        (line("1865", "   \n "), "empty_text"),
                        (line("1866", "hi", created_at="yesterday"), "bad_timestamp"),
                        (num_text, "wrong_type"),
                        (line("1867", "hi", conversation_id=["1"]), "wrong_type")]:
        with pytest.raises(MalformedPost) as err:
            normalize(obj)
        assert err.value.reason == reason, obj


# --- the connector against a local X ---------------------------------------------------
SNOWFLAKE_EPOCH_MS = 1288834974657
RULES = {"acme": "acme OR acmegames", "acme-de": "acme lang:de"}
DISCONNECT = {"errors": [{"title": "operational-disconnect",
                          "disconnect_type": "UpstreamOperationalDisconnect",
                          "detail": "This stream has been disconnected upstream for operational "
                                    "reasons.",
                          "type": "https://api.twitter.com/2/problems/operational-disconnect"}]}


class FakeX(LocalServer):
    """Rules, a filtered stream and recent search over one archive of tweets.

    ``script`` says what each stream connect gets: ("drop", n) n tweets then a cut TCP
    connection, ("429", reset_in_s, [(text, tags) posted meanwhile]), ("503",),
    ("disconnect",) an errors line, ("stall",) silence; when empty, a live stream."""

    def __init__(self):
        self.rules = {"1000": {"id": "1000", "value": "old rule", "tag": "old"},
                      "1001": {"id": "1001", "value": RULES["acme"], "tag": "acme"}}
        self.rule_posts: list[dict] = []
        self.archive: list[tuple[dict, list[str]]] = []  # (tweet, tags), oldest first
        self.streams: list[asyncio.Queue] = []
        self.connects: list[tuple[float, str]] = []  # (wall time, what it got)
        self.searches: list[tuple[float, dict]] = []
        self.script: list[tuple] = []
        self.last_id = 0
        self.extra_rules: dict[str, str] = {}  # tag -> query, for in-process tests
        self.missed: list[str] = []  # ids posted while no stream was connected
        self.live = 0  # streams that reached the point of delivering tweets
        self.stream_params: dict = {}
        super().__init__()

    def routes(self, app):
        app.router.add_get("/2/tweets/search/stream/rules", self.get_rules)
        app.router.add_post("/2/tweets/search/stream/rules", self.post_rules)
        app.router.add_get("/2/tweets/search/stream", self.stream)
        app.router.add_get("/2/tweets/search/recent", self.search)

    def authorized(self, request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def get_rules(self, request):
        if not self.authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        data = list(self.rules.values())
        return web.json_response({**({"data": data} if data else {}),
                                  "meta": {"sent": "2026-11-02T08:00:00.000Z",
                                           "result_count": len(data)}})

    async def post_rules(self, request):
        body = await request.json()
        self.rule_posts.append(body)
        for rid in body.get("delete", {}).get("ids", []):
            self.rules.pop(rid, None)
        created = []
        if any("BAD(" in r["value"] for r in body.get("add", [])):
            return web.json_response({"meta": {"summary": {"created": 0, "invalid": 1}},
                                      "errors": [{"title": "UnprocessableEntity",
                                                  "value": "BAD("}]})
        for rule in body.get("add", []):
            rid = str(2000 + len(self.rules) + len(self.rule_posts))
            self.rules[rid] = created.append({"id": rid, **rule}) or created[-1]
        return web.json_response({"data": created, "meta": {"summary": {
            "created": len(created), "not_created": 0, "valid": len(created), "invalid": 0}}})

    def stream_line(self, tweet: dict, tags: list[str]) -> bytes:
        ids = {r["tag"]: r["id"] for r in self.rules.values()}
        return json.dumps({"data": tweet, "includes": {"users": [
            {"id": tweet["author_id"], "username": f"user{tweet['author_id']}"}]},
            "matching_rules": [{"id": ids.get(t, "0"), "tag": t} for t in tags]}).encode()

    async def stream(self, request):
        if not self.authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        self.stream_params = dict(request.query)
        step = self.script.pop(0) if self.script else ("live",)
        self.connects.append((time.time(), step[0]))
        if step[0] == "429":
            for text, tags in step[2]:  # posted while nobody listens: search must find them
                tweet = self.tweet(text)
                self._add(tweet, tags)
                self.missed.append(tweet["id"])
            return web.json_response(
                {"title": "ConnectionException", "detail": "Too many connections"}, status=429,
                headers={"x-rate-limit-limit": "50", "x-rate-limit-remaining": "0",
                         "x-rate-limit-reset": str(int(time.time()) + step[1])})
        if step[0].isdigit():
            return web.json_response({"title": "Problem", "detail": step[0]}, status=int(step[0]))
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        queue: asyncio.Queue = asyncio.Queue()
        if step[0] in ("live", "drop"):
            # listening before the client hears 200: a tweet is on this stream or in the
            # archive before the client's gap-filling search, never neither
            self.streams.append(queue)
        await resp.prepare(request)
        sent = 0
        try:
            if step[0] in ("stall", "disconnect"):
                if step[0] == "disconnect":
                    await resp.write(b"\r\n" + json.dumps(DISCONNECT).encode() + b"\r\n")
                while not request.transport.is_closing():  # until the client hangs up
                    await asyncio.sleep(0.1)
                return resp
            self.live += 1
            await resp.write(b"\r\n")
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), 0.3)
                except asyncio.TimeoutError:
                    await resp.write(b"\r\n")  # keep-alive
                    continue
                data = self.stream_line(*item)
                await resp.write(data[:20])  # one line over two chunks
                await asyncio.sleep(0.01)
                await resp.write(data[20:] + b"\r\n")
                sent += 1
                if step[0] == "drop" and sent == step[1]:
                    await asyncio.sleep(0.05)
                    request.transport.close()  # cut mid-response: no terminating chunk
                    return resp
        finally:
            if queue in self.streams:
                self.streams.remove(queue)

    async def search(self, request):
        if not self.authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        q = dict(request.query)
        self.searches.append((time.time(), q))
        tag = next(t for t, v in {**RULES, **self.extra_rules}.items() if v == q["query"])
        hits = [t for t, tags in self.archive if tag in tags]
        if "since_id" in q:
            hits = [t for t in hits if int(t["id"]) > int(q["since_id"])]
        if "start_time" in q:
            start = datetime.fromisoformat(q["start_time"].replace("Z", "+00:00"))
            hits = [t for t in hits if datetime.fromisoformat(
                t["created_at"].replace("Z", "+00:00")) >= start]
        hits = hits[::-1]  # newest first
        offset = int(q.get("next_token") or 0)
        page = hits[offset:offset + 2]
        meta = {"result_count": len(page)}
        if offset + 2 < len(hits):
            meta["next_token"] = str(offset + 2)
        body = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = {"users": [
                {"id": t["author_id"], "username": f"user{t['author_id']}"} for t in page]}
        # the first search of a window uses up its quota: the next must wait for the reset
        headers = ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 1)}
                   if len(self.searches) == 1 else {"x-rate-limit-remaining": "100"})
        return web.json_response(body, headers=headers)

    def tweet(self, text: str, edit_of: str = "", **fields) -> dict:
        now = time.time()
        self.last_id = max(self.last_id + 1, (int(now * 1000) - SNOWFLAKE_EPOCH_MS) << 22)
        tid = str(self.last_id)
        created = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return {"id": tid, "text": text, "author_id": "1500", "conversation_id": tid,
                "created_at": created[:-3] + "Z", "lang": "en",
                "edit_history_tweet_ids": [edit_of, tid] if edit_of else [tid], **fields}

    def _add(self, tweet: dict, tags: list[str]) -> None:
        self.archive.append((tweet, tags))
        for queue in self.streams:
            queue.put_nowait((tweet, tags))

    def post(self, text: str, tags=("acme",), **fields) -> str:
        tweet = self.tweet(text, **fields)

        async def add():
            self._add(tweet, list(tags))

        self.call(add())
        return tweet["id"]

    def wait_stream(self, live: int, timeout_s: float = 30.0) -> None:
        """Until the ``live``-th tweet-delivering stream is connected."""
        deadline = time.monotonic() + timeout_s
        while self.live < live:
            assert time.monotonic() < deadline, f"no live stream; connects={self.connects}"
            time.sleep(0.05)


def run_source(source, until, timeout_s: float = 20.0):
    """Run an in-process XSource until ``until()`` or it ends; its exception, if any."""

    async def main():
        task = asyncio.create_task(source.run())
        deadline = time.monotonic() + timeout_s
        while not task.done() and not until() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        source.stop.set()
        return (await asyncio.gather(task, return_exceptions=True))[0]

    return asyncio.run(main())


def x_source(fake, cursors=None, **cfg):
    from connectors.x import XSource

    table = {"bearer_token_env": "TEST_X_BEARER", "api_url": fake.url, "rules": [
        {"value": RULES["acme"], "tag": "acme"}], "network_backoff_s": 0.05,
        "http_backoff_s": 0.1, **cfg}
    return XSource.from_config("acme", table, MemorySink(), cursors or MemoryCursors())


def test_reconnect_waits_follow_x_guidance_and_config_is_checked(monkeypatch):
    from connectors.x import XSource

    monkeypatch.setenv("TEST_X_BEARER", TOKEN)
    cfg = {"bearer_token_env": "TEST_X_BEARER", "rules": [{"value": "acme", "tag": "acme"}]}
    src = XSource.from_config("acme", cfg, MemorySink(), MemoryCursors())
    net, http, rate = (src.schedules[k] for k in ("network", "http", "rate_limit"))
    waits = [net.next(None) for _ in range(70)]  # linear, capped
    assert waits[:3] == [0.25, 0.5, 0.75] and waits[63] == waits[-1] == max(waits) == 16.0
    assert [http.next(None) for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    assert [rate.next(None) for _ in range(2)] + [rate.next(3.5)] == [60, 120, 3.5]
    fast = XSource.from_config("acme", {**cfg, "http_backoff_s": 0.2, "http_backoff_cap_s": 1},
                               MemorySink(), MemoryCursors())
    assert [fast.schedules["http"].next(None) for _ in range(4)] == [0.2, 0.4, 0.8, 1.0]
    for bad in ({**cfg, "rules": [{"value": "acme"}]}, {**cfg, "mode": "firehose"},
                {**cfg, "rules": [{"value": "a", "tag": "t"}, {"value": "b", "tag": "t"}]},
                {**cfg, "bearer_token_env": "TEST_X_UNSET"}):
        with pytest.raises(ValueError):
            XSource.from_config("acme", bad, MemorySink(), MemoryCursors())


def test_search_mode_polls_recent_search_from_its_first_start(monkeypatch):
    monkeypatch.setenv("TEST_X_BEARER", TOKEN)
    fake = FakeX()
    try:
        fake.post("before the connector existed: not fetched")
        time.sleep(1.1)  # start_time has whole seconds: it rounds down, fetching more not less
        src = x_source(fake, mode="search", poll_interval_s=0.1)
        # first poll only notes when the rule was first seen
        run_source(src, until=lambda: bool(src.cursor.get("since_time")))
        assert src.sink.items == [] and fake.searches == []
        ids = [fake.post(f"polled {i}") for i in range(5)]
        cursors = MemoryCursors()
        cursors.saved[src.key] = {**src.cursor, "recent": []}
        src = x_source(fake, cursors, mode="search", poll_interval_s=0.1)
        run_source(src, until=lambda: len(src.sink.items) >= 5 and len(fake.searches) >= 6)
        assert [p["data"]["id"] for _, p in src.sink.items] == ids  # oldest first, once each
        assert all(c == "x:acme" and p["matching_rules"] == [{"tag": "acme"}]
                   for c, p in src.sink.items)
        assert src.sink.items[0][1]["includes"]["users"][0]["username"] == "user1500"
        first, later = fake.searches[0][1], fake.searches[-1][1]
        assert "start_time" in first and later["since_id"] == ids[-1]
        assert fake.connects == [] and fake.rule_posts == []  # no stream, no rules
    finally:
        fake.close()


def test_refusals_stop_the_connector(monkeypatch):
    from connectors.polling import PlatformError

    monkeypatch.setenv("TEST_X_BEARER", TOKEN)
    fake = FakeX()
    try:
        fake.script = [("403",)]  # an access level without the filtered stream
        err = run_source(x_source(fake), until=lambda: False)
        assert isinstance(err, PlatformError) and err.status == 403 and "search" in str(err)
        err = run_source(x_source(fake, rules=[{"value": "BAD(", "tag": "bad"}]),
                         until=lambda: False)
        assert isinstance(err, PlatformError) and "UnprocessableEntity" in str(err)
        monkeypatch.setenv("TEST_X_BEARER", "revoked")
        err = run_source(x_source(fake), until=lambda: False)
        assert isinstance(err, PlatformError) and err.status == 401
    finally:
        fake.close()


def start_connector(broker, tmp_path, fake: FakeX) -> subprocess.Popen:
    return start_connect("x", broker, tmp_path, f"""
[x]
name = "acme"
bearer_token_env = "TEST_X_BEARER"
rules = [{{value = "{RULES['acme']}", tag = "acme"}},
         {{value = "{RULES['acme-de']}", tag = "acme-de"}}]
api_url = "{fake.url}"
max_pages = 5
stall_timeout_s = 1.0
network_backoff_s = 0.05
http_backoff_s = 0.2
rate_limit_backoff_s = 0.5
""", {"TEST_X_BEARER": TOKEN})


def raw(broker, expected: int) -> list[tuple[str, str, dict]]:
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                      until=lambda ms: len([m for m in ms if m.key.startswith(b"x:")]) >= expected)
    return [(json.loads(m.value)["data"]["id"], m.key.decode(),
             {k: v.decode() for k, v in m.headers}) for m in msgs if m.key.startswith(b"x:")]


@pytest.mark.integration
def test_x_connector_streams_reconnects_fills_gaps_and_resumes_without_repeats(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    fake = FakeX()
    proc = None
    try:
        missed = [(f"posted while rate limited {i}", ["acme"]) for i in range(4)]
        missed.append(("beide Regeln", ["acme", "acme-de"]))
        fake.script = [("drop", 3), ("429", 2, missed), ("503",), ("disconnect",), ("stall",)]
        proc = start_connector(broker, tmp_path, fake)
        fake.wait_stream(1)
        # the configured rules are exactly the active ones: stale deleted, present kept
        assert sorted((r["value"], r["tag"]) for r in fake.rules.values()) == sorted(
            (v, t) for t, v in RULES.items())
        assert fake.rule_posts == [{"delete": {"ids": ["1000"]}},
                                   {"add": [{"value": RULES["acme-de"], "tag": "acme-de"}]}]
        assert "edit_history_tweet_ids" in fake.stream_params["tweet.fields"]
        assert fake.stream_params["expansions"].split(",") == [
            "author_id", "referenced_tweets.id", "attachments.media_keys"]

        expected = [fake.post("first 🎉"), fake.post("zweite", tags=("acme-de",)),
                    fake.post("third, then the cut")]  # the connection drops after these
        got = raw(broker, len(expected) + len(missed))
        expected += fake.missed
        assert sorted(i for i, _, _ in got) == sorted(expected)
        fake.wait_stream(2)  # through 429, 503, an operational disconnect and a stall
        assert [w for _, w in fake.connects[:6]] == ["drop", "429", "503", "disconnect",
                                                     "stall", "live"]
        limited, after = fake.connects[1][0], fake.connects[2][0]
        assert after >= int(limited) + 2  # waited until x-rate-limit-reset
        paged = [q for _, q in fake.searches if q.get("next_token")]
        assert paged and all("since_id" in q for q in paged)
        assert fake.searches[1][0] >= int(fake.searches[0][0]) + 1  # remaining 0: waited

        orig = fake.post("typo hier")
        expected += [orig, fake.post("typo here", edit_of=orig),
                     fake.post("RT @acme: down again", referenced_tweets=[
                         {"type": "retweeted", "id": orig}])]
        raw(broker, len(expected))

        # a restart while tweets are posted: recent search fills them on start
        assert stop(proc) == 0
        expected += [fake.post(f"while stopped {i}") for i in range(3)]
        expected.append(fake.post("nur de, offline", tags=("acme-de",)))
        live = fake.live
        proc = start_connector(broker, tmp_path, fake)
        fake.wait_stream(live + 1)
        expected.append(fake.post("after the restart"))
        raw(broker, len(expected))
        time.sleep(1.5)  # keep-alives and more reconnects: anything repeated would show now
        got = raw(broker, len(expected))
        ids = [i for i, _, _ in got]
        assert sorted(ids) == sorted(expected) and len(set(ids)) == len(ids), sorted(ids)
        keys = {i: k for i, k, _ in got}
        assert keys[expected[1]] == "x:acme-de" and keys[expected[0]] == "x:acme"
        assert keys[fake.missed[-1]] == "x:acme"  # both rules: the first configured one
        headers = got[0][2]
        assert headers["vigil-platform"] == "x" and headers["vigil-format"] == "x"
        assert headers["vigil-connector"].startswith("x/")
        assert len(fake.rule_posts) == 2  # the second start found the rules in place
        assert stop(proc) == 0
        proc = None
        log = (tmp_path / "connect.log").read_text()
        assert TOKEN not in log and "stream_reconnect" in log and "stalled" in log
    finally:
        if proc is not None:
            stop(proc)
        fake.close()
