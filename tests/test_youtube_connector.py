"""The YouTube connector against a local server that answers like the Data API v3's
commentThreads.list (page tokens, API key header, 429/503, 403 quotaExceeded and
commentsDisabled, 404, 400 keyInvalid), its quota accounting per Pacific day, and
YouTube's comment resources through the normaliser. With ``moderation``: the owner's
OAuth token, the held-for-review queue and comments.list by id, and the approvals and
rejections a moderator's review of that queue becomes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import aiohttp
import pytest
from aiohttp import web

from connectors.polling import PlatformError, PoliteHttp
from connectors.youtube import YouTubeSource, pacific_day
from models.eventtime import to_iso
from models.moderator_labels import read_action
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.parsers.youtube import parse_youtube
from models.pseudonym import Pseudonymizer
from streams.metrics import REGISTRY
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, start_connect, stop

T0 = 1793606400.0
KEY = "yt-test-key-AIzaSyX9"
CHANNEL, TRAILER, OFF = "UCacmeGames0000000000000", "vidTRAILER1", "vidCOMMOFF1"


def comment(cid: str, at: float, *, video: str | None = TRAILER, text: str = "",
            parent: str | None = None, updated: float | None = None, author: str = "UCfan",
            status: str | None = None) -> dict:
    """A comment resource as commentThreads.list returns it (textFormat=plainText);
    ``status``: its moderationStatus, which only the channel's owner is shown."""
    snippet = {"channelId": CHANNEL, "textDisplay": text or f"comment {cid}",
               "textOriginal": text or f"comment {cid}", "authorDisplayName": "@fan",
               "authorProfileImageUrl": "https://yt3.ggpht.com/x", "authorChannelUrl":
               "http://www.youtube.com/@fan", "authorChannelId": {"value": author},
               "canRate": True, "viewerRating": "none", "likeCount": 1,
               "publishedAt": to_iso(T0 + at), "updatedAt": to_iso(updated or T0 + at)}
    if video:
        snippet["videoId"] = video
    if parent:
        snippet["parentId"] = parent
    if status:
        snippet["moderationStatus"] = status
    return {"kind": "youtube#comment", "etag": "etag", "id": cid, "snippet": snippet}


def thread(tid: str, at: float, *, video: str = TRAILER, replies: tuple = (), **kw) -> dict:
    t = {"kind": "youtube#commentThread", "etag": "etag", "id": tid, "snippet": {
        "channelId": CHANNEL, "videoId": video, "topLevelComment": comment(tid, at, video=video, **kw),
        "canReply": True, "totalReplyCount": len(replies), "isPublic": True}}
    if replies:  # the API leaves "replies" out of a thread that has none
        t["replies"] = {"comments": list(replies)}
    return t


def reply(tid: str, n: int, at: float, **kw) -> dict:
    return comment(f"{tid}.r{n}", at, parent=tid, **kw)


# --- the payloads, through the normaliser ---------------------------------------------
def normalize(obj: dict, community: str | None = "youtube:acme/trailer") -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(obj).encode(), fmt="youtube", now=T0 + 86400,
                       community=community)[0]


def test_youtube_comments_become_canonical_posts():
    p = normalize(comment("UgzA", 60, text="This trailer is a lie 🤥", author="UCangry"))
    assert (p["platform"], p["community"], p["post_id"], p["thread_id"], p["parent_id"]) == (
        "youtube", "youtube:acme/trailer", "UgzA", "UgzA", None)
    assert p["text"] == "This trailer is a lie 🤥" and p["created_at"] == "2026-11-02T08:01:00Z"
    assert p["author_id"] not in ("UCangry", "unknown")
    assert p["url"] == f"https://www.youtube.com/watch?v={TRAILER}&lc=UgzA"
    assert p["meta"]["video_id"] == TRAILER and p["meta"]["like_count"] == 1
    assert p["meta"]["edited"] is False and p["meta"]["reply"] is False
    # a reply (as sent, it may lack videoId: then no link), edited later, in Japanese
    r = normalize(comment("UgzA.8xB", 120, video=None, parent="UgzA", text="嘘じゃないよ、落ち着いて",
                          updated=T0 + 900))
    assert (r["post_id"], r["thread_id"], r["parent_id"], r["url"]) == (
        "UgzA.8xB", "UgzA", "UgzA", None)
    assert r["meta"]["edited"] is True and r["meta"]["revision"] == "2026-11-02T08:15:00Z"
    assert r["meta"]["reply"] is True and r["text"] == "嘘じゃないよ、落ち着いて"
    # textOriginal withheld from an API key: the display text is used
    c = comment("UgzC", 5, text="مرحبا")
    del c["snippet"]["textOriginal"]
    assert normalize(c)["text"] == "مرحبا"
    # no author channel (a deleted account): the display name stands in
    d = comment("UgzD", 5)
    del d["snippet"]["authorChannelId"]
    assert normalize(d)["author_id"] != "unknown"


def test_broken_youtube_payloads_are_dead_lettered_with_a_reason():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    good = comment("UgzB", 60)
    cases = [
        ({"kind": "youtube#comment", "id": "x"}, "missing_field"),            # no snippet
        ({**good, "snippet": "text"}, "missing_field"),
        ({k: v for k, v in good.items() if k != "id"}, "missing_field"),
        (comment("UgzE", 60, text=" "), "empty_text"),
        ({**good, "snippet": {**good["snippet"], "textOriginal": "", "textDisplay": ""}}, "empty_text"),
        ({**good, "snippet": {**good["snippet"], "textOriginal": ["a"]}}, "wrong_type"),
        ({**good, "snippet": {**good["snippet"], "publishedAt": "yesterday"}}, "bad_timestamp"),
        ({**good, "snippet": {k: v for k, v in good["snippet"].items() if k != "publishedAt"}},
         "missing_field"),
    ]
    for obj, reason in cases:
        with pytest.raises(MalformedPost) as err:
            n.normalize(json.dumps(obj).encode(), fmt="youtube", now=T0 + 86400, community="youtube:x")
        assert err.value.reason == reason, obj
    odd = parse_youtube({"snippet": {"publishedAt": "soon", "updatedAt": "later"}})
    assert odd["meta"]["edited"] is False and odd["post_id"] is None


def test_pacific_day_matches_the_tz_database():
    zoneinfo = pytest.importorskip("zoneinfo")
    from datetime import datetime, timedelta, timezone

    try:
        pt = zoneinfo.ZoneInfo("America/Los_Angeles")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database here")
    for ts in range(1704067200, 1861920000, 6 * 3600 + 1234):  # 2024..2028, DST changes included
        local = datetime.fromtimestamp(ts, pt)
        reset = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), pt)
        assert pacific_day(ts) == (local.date().isoformat(), reset.astimezone(timezone.utc).timestamp())


# --- a local YouTube Data API -------------------------------------------------------
def error(status: int, reason: str, headers: dict | None = None) -> web.Response:
    domain = "youtube.quota" if "uota" in reason else "youtube.commentThread"
    return web.json_response({"error": {"code": status, "message": f"The request failed: {reason}",
                                        "errors": [{"message": reason, "domain": domain,
                                                    "reason": reason}]}},
                             status=status, headers=headers or {})


OAUTH = ("vigil-client.apps.googleusercontent.com", "GOCSPX-secret", "1//owner-refresh")


class FakeYouTube(LocalServer):
    """commentThreads.list: threads newest first, 2 per page; a quota that can run out.
    For the channel's owner (a bearer token from /token): the held-for-review queue and
    comments.list by id (the owner's view: ``owner_view``; a rejected comment may be
    missing, as YouTube hides them)."""

    def __init__(self):
        self.threads: dict[str, list[dict]] = {}  # video or channel id -> threads
        self.held: dict[str, list[dict]] = {}  # video or channel id -> held-for-review threads
        self.owner_view: dict[str, dict] = {}  # comment id -> the comment, as comments.list
        self.disabled: set[str] = set()
        self.quota_out_until = 0.0
        self.script: list[tuple[int, dict, str]] = []  # (status, headers, reason) for next calls
        # (time, feed, pageToken, status, key in the header?, error reason)
        self.requests: list[tuple[float, str, str, int, bool, str]] = []
        self.tokens: set[str] = set()  # bearer tokens still valid
        self.token_grants: list[dict] = []
        # the owner's calls: (path, query, status, API key sent too?)
        self.owner_calls: list[tuple[str, dict, int, bool]] = []
        super().__init__()

    def routes(self, app):
        app.router.add_get("/youtube/v3/commentThreads", self.comment_threads)
        app.router.add_get("/youtube/v3/comments", self.comments)
        app.router.add_post("/token", self.token)

    async def token(self, request):
        form = dict(await request.post())
        self.token_grants.append(form)
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret"),
                form.get("refresh_token")) != ("refresh_token", *OAUTH):
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = f"ya29.owner{len(self.token_grants)}"
        self.tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 3599,
                                  "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
                                  "token_type": "Bearer"})

    def owner(self, request, path: str) -> int:
        auth = request.headers.get("Authorization", "")
        status = 200 if auth.startswith("Bearer ") and auth[7:] in self.tokens else 401
        self.owner_calls.append((path, dict(request.query), status,
                                 "X-Goog-Api-Key" in request.headers))
        return status

    async def comments(self, request):
        q = request.query
        if self.owner(request, "comments") != 200:
            return error(401, "authError")
        ids = q.get("id", "").split(",")
        if q.get("part") != "snippet" or not q.get("id") or len(ids) > 50 or "maxResults" in q:
            return error(400, "badRequest")
        items = [self.owner_view[i] for i in ids if i in self.owner_view]
        return web.json_response({"kind": "youtube#commentListResponse", "items": items,
                                  "pageInfo": {"totalResults": len(items), "resultsPerPage": 20}})

    async def comment_threads(self, request):
        q = request.query
        feed = q.get("videoId") or q.get("allThreadsRelatedToChannelId") or ""
        if q.get("moderationStatus", "published") != "published":
            return await self.queue(request, feed)
        keyed = request.headers.get("X-Goog-Api-Key") == KEY
        status, headers, reason = self.script.pop(0) if self.script else (200, {}, "")
        if status == 200:
            if not keyed:
                status, reason = 400, "keyInvalid"
            elif (q.get("part"), q.get("order"), q.get("maxResults"), q.get("textFormat")) != (
                    "snippet,replies", "time", "100", "plainText") or "key" in q:
                status, reason = 400, "badRequest"
            elif time.monotonic() < self.quota_out_until:
                status, reason = 403, "quotaExceeded"
            elif feed in self.disabled:
                status, reason = 403, "commentsDisabled"
            elif feed not in self.threads:
                status, reason = 404, "videoNotFound"
        self.requests.append((time.monotonic(), feed, q.get("pageToken", ""), status, keyed, reason))
        if status != 200:
            return error(status, reason, headers)
        return self.page(self.threads[feed], q)

    async def queue(self, request, feed: str):
        """The held-for-review queue: only the owner may list it."""
        q = request.query
        if self.owner(request, "heldForReview") != 200:
            return error(401, "authError")
        if q.get("moderationStatus") != "heldForReview" or q.get("part") != "snippet,replies":
            return error(400, "badRequest")
        return self.page(self.held.get(feed, []), q)

    @staticmethod
    def page(threads: list[dict], q) -> web.Response:
        items = sorted(threads,
                       key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
                       reverse=True)
        start = int(q.get("pageToken", "p0")[1:])
        body = {"kind": "youtube#commentThreadListResponse", "items": items[start:start + 2],
                "pageInfo": {"totalResults": len(items[start:start + 2]), "resultsPerPage": 100}}
        if start + 2 < len(items):
            body["nextPageToken"] = f"p{start + 2}"
        return web.json_response(body)


@pytest.fixture
def fake():
    f = FakeYouTube()
    yield f
    f.close()


def source(fake: FakeYouTube, cfg: dict, key: str = KEY, **kw) -> YouTubeSource:
    os.environ["TEST_YT_UNIT_KEY"] = key
    for var, value in zip(("TEST_YT_CLIENT_ID", "TEST_YT_CLIENT_SECRET", "TEST_YT_REFRESH"), OAUTH):
        os.environ[var] = value
    src = YouTubeSource.from_config("unit", {"api_key_env": "TEST_YT_UNIT_KEY", "api_url": fake.url,
                                             **cfg}, None, None)
    for name, value in kw.items():
        setattr(src, name, value)
    return src


def fetch(src: YouTubeSource, cursor: dict):
    async def go():
        async with aiohttp.ClientSession() as session:
            return await src.fetch(PoliteHttp("youtube", session, stop=src.stop), cursor)
    return asyncio.run(go())


def test_the_daily_budget_stops_polling_until_pacific_midnight(fake):
    fake.threads = {"vA": [thread(f"a{i}", i * 60, video="vA") for i in range(1, 4)],
                    "vB": [thread("b1", 60, video="vB")]}
    day, reset = pacific_day(T0 + 3600)
    start, base = time.monotonic(), reset - 2.0  # a clock two seconds before the reset
    src = source(fake, {"videos": ["vA", "vB"], "daily_quota_units": 3},
                 clock=lambda: base + time.monotonic() - start)
    page = fetch(src, {"quota": {"day": day, "used": 2}})  # one unit left today
    assert [r[1] for r in fake.requests] == ["vA"]  # vB would have gone over the budget
    assert sorted(p.post_id for p in page.posts) == ["a2", "a3"]
    assert page.cursor["quota"]["used"] == 3 and page.cursor["quota"]["day"] == day
    assert page.cursor["quota"]["paused_until"] == reset and "videoId:vB" not in page.cursor["feeds"]
    quota = lambda: REGISTRY.get_sample_value("vigil_connector_quota_used_ratio",  # noqa: E731
                                              {"platform": "youtube"})
    assert quota() == 1.0
    waited = REGISTRY.get_sample_value("vigil_connector_rate_limit_wait_seconds_total",
                                       {"platform": "youtube"}) or 0.0
    before, t = src.clock(), time.monotonic()
    again = fetch(src, page.cursor)  # waits for the reset, then a new day's budget
    assert time.monotonic() - t >= reset - before - 0.01
    assert [r[1] for r in fake.requests] == ["vA", "vA", "vB"]
    assert again.cursor["quota"]["day"] == pacific_day(reset + 1)[0] != day
    assert again.cursor["quota"]["used"] == 2 and [p.post_id for p in again.posts] == ["a3", "b1"]
    assert quota() == 2 / 3
    assert REGISTRY.get_sample_value("vigil_connector_rate_limit_wait_seconds_total",
                                     {"platform": "youtube"}) >= waited + 1.0


def test_platform_errors_skip_a_feed_pause_or_stop(fake):
    fake.threads = {"vA": [thread("a1", 60, video="vA")], CHANNEL: [thread("c1", 30, video="vX")]}
    fake.disabled = {OFF}
    src = source(fake, {"videos": [OFF, "vGone", {"id": "vA", "community": "youtube:acme/a"}],
                        "channels": [CHANNEL]})
    page = fetch(src, {})
    # comments disabled / video gone: those two skipped (the reason is in the refusal's
    # body), the others read; quota counts every call
    assert sorted((p.post_id, p.community) for p in page.posts) == [
        ("a1", "youtube:acme/a"), ("c1", f"youtube:{CHANNEL}")]
    c1 = next(p for p in page.posts if p.post_id == "c1")
    assert json.loads(c1.payload)["snippet"]["videoId"] == "vX"
    assert [r[1] for r in fake.requests] == [OFF, "vGone", "vA", CHANNEL]
    assert page.cursor["quota"]["used"] == 4
    fetch(src, page.cursor)  # skipped feeds are not asked again until skip_recheck_s
    assert [r[1] for r in fake.requests[4:]] == ["vA", CHANNEL]

    # rateLimitExceeded: pause a minute; quotaExceeded: until the reset
    for reason, until in (("rateLimitExceeded", lambda now: now + 60),
                          ("quotaExceeded", lambda now: pacific_day(now)[1])):
        fake.script = [(403, {}, reason)]
        now = time.time()
        page = fetch(source(fake, {"videos": ["vA"]}), {})
        assert abs(page.cursor["quota"]["paused_until"] - until(now)) < 5 and page.posts == []

    # a bad key, a refused request: the connector stops (the key is never in the error)
    with pytest.raises(PlatformError) as err:
        fetch(source(fake, {"videos": ["vA"]}, key="wrong-key"), {})
    assert err.value.status == 400
    fake.script = [(403, {}, "forbidden")]
    with pytest.raises(PlatformError) as err:
        fetch(source(fake, {"videos": ["vA"]}), {})
    assert err.value.status == 403 and "forbidden" in str(err.value) and KEY not in str(err.value)
    assert all(r[4] for r in fake.requests if r[3] != 400)  # the key went in the header


# --- moderation: the held-for-review queue ------------------------------------------
def moderated(fake: FakeYouTube, **cfg) -> YouTubeSource:
    return source(fake, {"videos": [{"id": TRAILER, "community": "youtube:acme/trailer"}],
                         "moderation": True, "oauth_client_id_env": "TEST_YT_CLIENT_ID",
                         "oauth_client_secret_env": "TEST_YT_CLIENT_SECRET",
                         "oauth_refresh_token_env": "TEST_YT_REFRESH",
                         "token_url": f"{fake.url}/token", **cfg})


def held(tid: str, at: float, **kw) -> dict:
    return thread(tid, at, status="heldForReview", **kw)


def lookups(fake: FakeYouTube) -> list[list[str]]:
    return [c[1]["id"].split(",") for c in fake.owner_calls if c[0] == "comments"]


def test_held_comments_a_moderator_approves_or_rejects_become_moderator_actions(fake):
    fake.threads = {TRAILER: [thread("a1", 60), thread("a2", 200)]}
    fake.held = {TRAILER: [
        held("h1", 100, text="Refund me, this is broken"),
        held("h2", 110, text="you are all clowns, uninstall"),
        # listed for its held reply: the published top-level comment is not held
        thread("a1", 60, status="published",
               replies=(reply("a1", 1, 90, status="heldForReview", text="shut up idiot"),))]}
    src = moderated(fake)
    first = fetch(src, {})
    # held comments are posts too (their authors wrote them), produced once
    assert sorted(p.post_id for p in first.posts) == ["a1", "a1.r1", "a2", "h1", "h2"]
    assert list(first.cursor["held"]) == ["h2", "h1", "a1.r1"]
    assert first.cursor["held"]["a1.r1"] == [f"videoId:{TRAILER}", "youtube:acme/trailer",
                                             TRAILER, T0 + 60]
    h1 = normalize(json.loads(next(p for p in first.posts if p.post_id == "h1").payload))
    assert h1["post_id"] == "h1" and h1["meta"]["moderation_status"] == "heldForReview"
    assert first.cursor["quota"]["used"] == 3  # a page of comments, two of the queue
    # the queue is the owner's: a bearer token, and not the key
    assert [g["grant_type"] for g in fake.token_grants] == ["refresh_token"]
    assert [c[0] for c in fake.owner_calls] == ["heldForReview"] * 2
    assert all(c[2] == 200 and not c[3] for c in fake.owner_calls)

    # nothing changed: nothing held produced again, nothing looked up (the newest
    # comment is read again at the cursor's edge; run() drops it as a repeat)
    again = fetch(src, first.cursor)
    assert {p.post_id for p in again.posts} <= {"a2"} and lookups(fake) == []

    # the owner reviews: h1 approved, h2 rejected (YouTube no longer shows it), a1.r1
    # rejected (the owner is shown it, rejected); meanwhile h3 is held, and the token
    # is revoked early (a new one, once)
    fake.held[TRAILER] = [held("h3", 300, text="meh")]
    fake.threads[TRAILER].append(thread("h1", 100, text="Refund me, this is broken"))
    fake.owner_view = {
        "h1": comment("h1", 100, status="published", text="Refund me, this is broken"),
        "a1.r1": comment("a1.r1", 90, parent="a1", video=None, status="rejected",
                         text="shut up idiot")}
    fake.tokens.clear()
    third = fetch(src, again.cursor)
    made = {p.post_id: p for p in third.posts if p.post_id != "a2"}
    assert set(made) == {"h3", "mod:h1:approved", "mod:h2:rejected", "mod:a1.r1:rejected"}
    assert {p.community for p in made.values()} == {"youtube:acme/trailer"}
    assert [sorted(ids) for ids in lookups(fake)] == [["a1.r1", "h1", "h2"]]
    assert len(fake.token_grants) == 2
    payload = lambda rid: json.loads(made[rid].payload)  # noqa: E731
    assert payload("mod:h1:approved")["vigil_moderation"] == {"from": "heldForReview",
                                                              "to": "published"}
    assert payload("mod:h2:rejected") == {
        "kind": "youtube#comment", "id": "h2",
        "snippet": {"moderationStatus": "rejected", "videoId": TRAILER,
                    "textOriginal": "you are all clowns, uninstall"},  # remembered while held
        "vigil_moderation": {"from": "heldForReview", "to": "rejected", "gone": True}}
    r = payload("mod:a1.r1:rejected")
    assert r["snippet"]["videoId"] == TRAILER and r["snippet"]["parentId"] == "a1"
    assert r["vigil_moderation"] == {"from": "heldForReview", "to": "rejected"}

    # through the normaliser: a moderator's action on the post keyed by the comment id
    expected = {"mod:h1:approved": ("approve", "h1", "Refund me, this is broken"),
                "mod:h2:rejected": ("remove", "h2", "you are all clowns, uninstall"),
                "mod:a1.r1:rejected": ("remove", "a1.r1", "shut up idiot")}
    for rid, (action, pid, text) in expected.items():
        with pytest.raises(NotAPost) as event:
            normalize(payload(rid))
        f, done = event.value.fields, rid.split(":")[-1]
        m = f["moderation"]
        assert event.value.kind == "moderation_action" and f["community"] == "youtube:acme/trailer"
        assert (m["action"], m["by"], m["post_ids"], m["text"], m["source"]) == (
            action, "moderator", [pid], text, f"youtube:{done}")
        assert m["event_id"] == f["post_id"] == f"moderation:{pid}:{done}"
        assert read_action(m, time=T0).post_ids == (pid,)

    # later polls repeat none of it; only h3 is still held
    fourth = fetch(src, third.cursor)
    assert {p.post_id for p in fourth.posts} <= {"a2"} and list(fourth.cursor["held"]) == ["h3"]
    assert len(lookups(fake)) == 1


def test_a_queue_read_in_part_forgets_nothing_and_lookups_go_fifty_at_a_time(fake):
    fake.threads = {TRAILER: []}
    fake.held = {TRAILER: [held(f"h{i:02}", i) for i in range(4)]}
    src = moderated(fake, max_pages=3)
    first = fetch(src, {})
    assert len(first.posts) == 4 and len(first.cursor["held"]) == 4
    # six newer ones fill the three pages read: the four older, unseen, are not gone
    fake.held[TRAILER] += [held(f"h{i:02}", i) for i in range(10, 16)]
    second = fetch(src, first.cursor)
    assert sorted(p.post_id for p in second.posts) == [f"h{i}" for i in range(10, 16)]
    assert len(second.cursor["held"]) == 10 and lookups(fake) == []

    src.max_pages = 40
    fake.held[TRAILER] += [held(f"h{i:02}", i) for i in range(20, 70)]
    third = fetch(src, second.cursor)
    assert len(third.posts) == 50 and len(third.cursor["held"]) == 60
    # the whole queue reviewed: h00 is back in it (as the owner is shown), h01 went to
    # YouTube's spam filter (no one's verdict), the rest rejected
    fake.held[TRAILER] = []
    fake.owner_view = {"h00": comment("h00", 0, status="heldForReview"),
                       "h01": comment("h01", 1, status="likelySpam")}
    used = third.cursor["quota"]["used"]
    fourth = fetch(src, third.cursor)
    assert [len(ids) for ids in lookups(fake)] == [50, 10]
    assert fourth.cursor["quota"]["used"] == used + 4  # comments, queue, two lookups
    assert sorted(p.post_id for p in fourth.posts) == sorted(
        f"mod:{cid}:rejected" for cid in third.cursor["held"] if cid not in ("h00", "h01"))
    assert list(fourth.cursor["held"]) == ["h00"]


def test_moderation_needs_the_owners_oauth(fake):
    with pytest.raises(ValueError, match="oauth_client_id_env"):
        YouTubeSource.from_config("unit", {"api_key_env": "TEST_YT_UNIT_KEY", "videos": ["vA"],
                                           "moderation": True}, None, None)
    fake.threads = {TRAILER: []}
    src = moderated(fake)
    src.oauth = (*OAUTH[:2], "1//revoked")
    with pytest.raises(PlatformError) as err:  # Google refuses the refresh token: stop
        fetch(src, {})
    assert err.value.status == 400 and "1//revoked" not in str(err.value)
    assert fake.owner_calls == []


# --- the real connector process against it ------------------------------------------
KEYS = {b"youtube:acme/trailer", f"youtube:{CHANNEL}".encode()}


def start_connector(broker, tmp_path, fake: FakeYouTube, *, key: str = KEY,
                    log: str = "connect.log", metrics_port: int = 0) -> subprocess.Popen:
    return start_connect("youtube", broker, tmp_path, f"""
[youtube]
name = "acme"
api_key_env = "TEST_YOUTUBE_KEY"
videos = [{{id = "{TRAILER}", community = "youtube:acme/trailer"}}, "{OFF}"]
channels = ["{CHANNEL}"]
poll_interval_s = 0.3
quota_exceeded_retry_s = 1.5
api_url = "{fake.url}"
""", {"TEST_YOUTUBE_KEY": key}, log=log, metrics_port=metrics_port)


def raw(broker, expected: int) -> list[tuple[str, str, dict, dict]]:
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                      until=lambda ms: len([m for m in ms if m.key in KEYS]) >= expected)
    out = []
    for m in msgs:
        if m.key in KEYS:
            c = json.loads(m.value)
            s = c["snippet"]
            pid = c["id"] + (f"@{s['updatedAt']}" if s["updatedAt"] != s["publishedAt"] else "")
            out.append((pid, m.key.decode(), {k: v.decode() for k, v in m.headers}, c))
    return out


@pytest.mark.integration
def test_youtube_connector_pages_waits_for_quota_and_resumes_without_repeats(broker, tmp_path, fake):
    from streams.admin import create_topics
    from config.settings import Settings

    create_topics(Settings.load(env={}, broker=broker.url))
    fake.disabled = {OFF}
    fake.threads = {
        TRAILER: [thread("a1", 60), thread("a2", 120, replies=(reply("a2", 1, 150),
                                                               reply("a2", 2, 170, video=None))),
                  thread("a3", 180, text="Day one purchase 🔥")],
        CHANNEL: [thread("c1", 90, video="vidOTHER001"), thread("c2", 95, video="vidOTHER001")]}
    fake.script = [(429, {"Retry-After": "1"}, "rateLimited"), (503, {}, "backendError")]
    proc = start_connector(broker, tmp_path, fake)
    try:
        first = raw(broker, 6)  # first run: one page (2 threads) per feed
        assert sorted(i for i, *_ in first) == ["a2", "a2.r1", "a2.r2", "a3", "c1", "c2"]
        assert {k for i, k, *_ in first if i.startswith("a")} == {"youtube:acme/trailer"}
        assert {k for i, k, *_ in first if i.startswith("c")} == {f"youtube:{CHANNEL}"}
        assert next(c for i, *_, c in first if i == "a2.r2")["snippet"]["videoId"] == TRAILER
        h = first[0][2]
        assert h["vigil-platform"] == "youtube" and h["vigil-format"] == "youtube"
        assert h["vigil-connector"].startswith("youtube/")
        assert [r[3] for r in fake.requests[:2]] == [429, 503]
        assert fake.requests[1][0] - fake.requests[0][0] >= 1.0  # Retry-After honoured

        # Google's quota runs out for a moment: the connector pauses quota_exceeded_retry_s
        fake.quota_out_until = time.monotonic() + 0.8
        deadline = time.monotonic() + 20
        while not [r for r in fake.requests if r[5] == "quotaExceeded"]:
            assert time.monotonic() < deadline, fake.requests[-5:]
            time.sleep(0.05)
        # meanwhile: more than two pages of new threads, a reply to an old one, an edit
        a3 = thread("a3", 180, text="Day one purchase... refunded", updated=T0 + 4000,
                    replies=(reply("a3", 1, 3000, text="same"),))
        fake.threads[TRAILER] = [t for t in fake.threads[TRAILER] if t["id"] != "a3"] + [a3] + \
            [thread(f"a{i}", 600 + i * 60) for i in range(4, 9)]
        fake.threads[CHANNEL] = fake.threads[CHANNEL] + [thread("c3", 700, video="vidOTHER001")]
        raw(broker, 14)
        refused = [i for i, r in enumerate(fake.requests) if r[5] == "quotaExceeded"]
        assert len(refused) == 1  # one refusal, then it paused
        after = fake.requests[refused[-1] + 1]
        assert after[0] - fake.requests[refused[-1]][0] >= 1.45  # quota_exceeded_retry_s

        # a restart in the middle: stop, comments arrive meanwhile, start again
        assert stop(proc) == 0
        fake.threads[TRAILER] = fake.threads[TRAILER] + [thread("a9", 1500, text="Ça plante encore")]
        fake.threads[CHANNEL] = fake.threads[CHANNEL] + [
            thread("c4", 1600, video="vidOTHER002", replies=(reply("c4", 1, 1650, video=None),))]
        proc = start_connector(broker, tmp_path, fake)
        raw(broker, 17)
        time.sleep(1.5)  # several more polls: anything repeated would show now
        got = raw(broker, 17)
        ids = [i for i, *_ in got]
        expected = {"a2", "a2.r1", "a2.r2", "a3", "c1", "c2", "a3.r1", f"a3@{to_iso(T0 + 4000)}",
                    "c3", "a9", "c4", "c4.r1"} | {f"a{i}" for i in range(4, 9)}
        assert set(ids) == expected and len(ids) == len(expected), sorted(ids)
        assert all(k == ("youtube:acme/trailer" if i.startswith("a") else f"youtube:{CHANNEL}")
                   for i, k, *_ in got)
        assert stop(proc) == 0
        # commentsDisabled: skipped, asked once per process start, not every poll
        off = [r for r in fake.requests if r[1] == OFF]
        assert 2 <= len(off) <= 3 and all(r[3] == 403 for r in off)
        assert all(r[4] for r in fake.requests)  # every call carried the key, in the header

        # a key Google refuses: the connector stops with 1, and says why without the key
        bad = start_connector(broker, tmp_path, fake, key="wrong-key-zzz", log="bad.log")
        assert bad.wait(30) == 1
        bad_log = (tmp_path / "bad.log").read_text()
        assert "connector_refused" in bad_log and "wrong-key-zzz" not in bad_log
        log = (tmp_path / "connect.log").read_text()
        assert KEY not in log and "platform_retry" in log
        assert "youtube_quota_wait" in log and "commentsDisabled" in log
    finally:
        if proc.poll() is None:
            proc.kill()
