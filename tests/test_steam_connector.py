"""The Steam connector against a local server that answers like the store's
``/appreviews/<appid>`` feed (opaque base64 cursors, ``success``, 429/503), and Steam's
review objects through the normaliser."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import aiohttp
import pytest
from aiohttp import web

from connectors.polling import PoliteHttp
from connectors.steam import SteamSource
from models.normalize import MalformedPost, NormalizeLimits, Normalizer
from models.parsers.steam import parse_steam
from models.pseudonym import Pseudonymizer
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, start_connect, stop

T0 = 1793606400
CYBERPUNK, CS = 1091500, 730


def review(n: int, *, text: str = "", voted_up: bool = True, lang: str = "english",
           updated: int = 0, playtime: int = 600) -> dict:
    """A review object in the shape ``/appreviews`` returns it."""
    return {"recommendationid": str(150000000 + n),
            "author": {"steamid": str(76561198000000000 + n), "num_games_owned": 40,
                       "num_reviews": 3, "playtime_forever": playtime + 60,
                       "playtime_last_two_weeks": 0, "playtime_at_review": playtime,
                       "last_played": T0},
            "language": lang, "review": text or f"Review number {n}",
            "timestamp_created": T0 + n * 60, "timestamp_updated": updated or T0 + n * 60,
            "voted_up": voted_up, "votes_up": 2, "votes_funny": 0,
            "weighted_vote_score": "0.52", "comment_count": 0, "steam_purchase": True,
            "received_for_free": False, "written_during_early_access": False}


def rid(n: int) -> str:
    return str(150000000 + n)


# --- the payloads, through the normaliser ---------------------------------------------
def normalize(payload: dict, community: str | None = "steam:cyberpunk") -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(payload).encode(), fmt="steam", now=T0 + 86400,
                       community=community)[0]


def test_steam_reviews_become_canonical_posts_with_the_vote_in_meta():
    p = normalize({"appid": CYBERPUNK, "review": review(
        1, text="Refunded. [b]Crashes every 10 minutes[/b] 😡", voted_up=False, playtime=25)})
    assert (p["platform"], p["community"], p["post_id"], p["thread_id"], p["lang"]) == (
        "steam", "steam:cyberpunk", rid(1), rid(1), "en")
    assert p["text"] == "Refunded. Crashes every 10 minutes 😡"  # BBCode read as its words
    assert p["author_id"] != str(76561198000000001) and p["created_at"] == "2026-11-02T08:01:00Z"
    assert p["url"] == f"https://steamcommunity.com/profiles/76561198000000001/recommended/{CYBERPUNK}/"
    m = p["meta"]
    assert (m["voted_up"], m["playtime_at_review"], m["playtime_forever"], m["appid"]) == (
        False, 25, 85, CYBERPUNK)
    assert m["steam_purchase"] is True and m["edited"] is False and m["revision"] is None
    # an edited review is a new revision of the same post (re-scored by the pipeline)
    e = normalize({"appid": CYBERPUNK, "review": review(2, voted_up=False, updated=T0 + 9999)})
    assert e["post_id"] == rid(2) and e["meta"]["edited"] is True
    assert e["meta"]["revision"] == T0 + 9999 and e["created_at"] == "2026-11-02T08:02:00Z"
    # non-English, and a language code Vigil has no ISO code for
    ru = normalize({"appid": CYBERPUNK, "review": review(3, text="Игра отличная, но оптимизация ужасная",
                                                          lang="russian")})
    zh = normalize({"appid": CYBERPUNK, "review": review(4, text="好玩", lang="schinese")})
    odd = normalize({"appid": CYBERPUNK, "review": review(5, lang="klingon")})
    assert (ru["lang"], zh["lang"], odd["lang"], odd["meta"]["steam_language"]) == (
        "ru", "zh-Hans", None, "klingon")
    # no configured name: the connector keys the app's reviews steam:app/<appid>
    assert normalize({"appid": CS, "review": review(6)}, community="steam:app/730")["community"] == \
        "steam:app/730"


def test_broken_steam_payloads_are_dead_lettered_with_a_reason():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    cases = [
        ({"appid": CYBERPUNK}, "missing_field"),                        # no review object
        ({"appid": CYBERPUNK, "review": "great"}, "missing_field"),     # not an object
        ({"appid": CYBERPUNK, "review": {**review(1), "recommendationid": None}}, "missing_field"),
        ({"appid": CYBERPUNK, "review": review(2, text=" ")}, "empty_text"),  # a bare vote
        ({"appid": CYBERPUNK, "review": {**review(3), "review": ""}}, "empty_text"),
        ({"appid": CYBERPUNK, "review": {**review(4), "review": 42}}, "wrong_type"),
        ({"appid": CYBERPUNK, "review": {**review(5), "timestamp_created": "yesterday"}},
         "bad_timestamp"),
        ({"appid": CYBERPUNK, "review": {**review(6), "timestamp_created": 0}}, "bad_timestamp"),
    ]
    for payload, reason in cases:
        with pytest.raises(MalformedPost) as err:
            n.normalize(json.dumps(payload).encode(), fmt="steam", now=T0 + 86400,
                        community="steam:cyberpunk")
        assert err.value.reason == reason, payload
    with pytest.raises(MalformedPost) as err:  # produced without a key: no community at all
        n.normalize(json.dumps({"appid": CS, "review": review(7)}).encode(), fmt="steam",
                    now=T0 + 86400)
    assert err.value.reason == "missing_field"
    assert parse_steam({"appid": CS, "review": {"author": "nobody"}})["author"] is None


# --- a local Steam store ------------------------------------------------------------
class FakeSteam(LocalServer):
    """``/appreviews/<appid>``: newest first, 3 per page, cursors like Steam's (opaque
    base64 with + / =, naming the last review returned), scripted failures."""

    def __init__(self):
        self.reviews: dict[int, list[dict]] = {}
        self.requests: list[tuple[float, int, str, int]] = []  # (time, appid, cursor, status)
        self.script: list[tuple[int, dict]] = []
        self.tokens: dict[str, tuple] = {}
        self.sticky: set[int] = set()
        super().__init__()

    def routes(self, app):
        app.router.add_get("/appreviews/{appid}", self.appreviews)

    async def appreviews(self, request):
        appid, q = int(request.match_info["appid"]), request.query
        cursor = q.get("cursor", "")
        status, headers = self.script.pop(0) if self.script else (200, {})
        if status == 200 and (cursor != "*" and cursor not in self.tokens or q.get("json") != "1"
                              or q.get("language") != "all" or q.get("purchase_type") != "all"):
            status = 400  # a cursor that lost its "+" to URL decoding, or a malformed query
        self.requests.append((time.monotonic(), appid, cursor, status))
        if status != 200:
            return web.json_response({"success": 2}, status=status, headers=headers)
        if appid not in self.reviews:
            return web.json_response({"success": 2})
        field = "timestamp_updated" if q.get("filter") == "updated" else "timestamp_created"

        def order(r):
            return (-r[field], -int(r["recommendationid"]))

        items = sorted(self.reviews[appid], key=order)
        if appid in self.sticky:  # Steam's known loop: the same page and cursor again and again
            self.tokens["AoJ+sticky/=="] = ()
            return web.json_response({"success": 1, "reviews": items[:3], "cursor": "AoJ+sticky/=="})
        after = self.tokens.get(cursor)
        page = [r for r in items if after is None or order(r) > after][:3]
        nxt = cursor
        if page:  # the end of the list hands back the cursor it was given, as Steam does
            nxt = f"AoJ+{len(self.tokens)}/{page[-1]['recommendationid']}=="
            self.tokens[nxt] = order(page[-1])
        body = {"success": 1, "reviews": page, "cursor": nxt}
        if cursor == "*":
            body["query_summary"] = {"num_reviews": len(page), "review_score": 5,
                                     "total_reviews": len(items)}
        return web.json_response(body)


@pytest.fixture
def fake():
    f = FakeSteam()
    yield f
    f.close()


def fetch(source: SteamSource, cursor: dict):
    async def go():
        async with aiohttp.ClientSession() as session:
            return await source.fetch(PoliteHttp("steam", session), cursor)
    return asyncio.run(go())


def test_fetch_pages_back_to_the_cursor_and_sees_edits_with_filter_updated(fake):
    fake.reviews[CYBERPUNK] = [review(i) for i in range(1, 9)]
    src = SteamSource.from_config("t", {"apps": [CYBERPUNK, {"id": 42}], "api_url": fake.url},
                                  None, None)
    first = fetch(src, {})  # first run: one page, not the app's history
    assert sorted(p.post_id for p in first.posts) == [rid(6), rid(7), rid(8)]
    assert first.cursor["apps"] == {str(CYBERPUNK): T0 + 8 * 60}
    assert {p.community for p in first.posts} == {"steam:app/1091500"}
    fake.reviews[CYBERPUNK] += [review(i) for i in range(9, 16)]
    again = fetch(src, first.cursor)  # 7 new: three pages back to review 8
    assert sorted(p.post_id for p in again.posts) == sorted(rid(i) for i in range(8, 16))
    assert all(r[3] == 200 for r in fake.requests)  # every cursor came back intact
    # app 42 answered success 2: skipped, the other app still read; the end of the list
    # (an empty page with the same cursor) stops paging
    assert [r[2] for r in fake.requests if r[1] == 42] == ["*", "*"]

    # a cursor handed back again: the end, however many reviews came with it
    fake.sticky, fake.reviews[77] = {77}, [review(i) for i in range(20, 25)]
    loop = fetch(SteamSource.from_config("s", {"apps": [77], "api_url": fake.url}, None, None),
                 {"apps": {"77": T0}})
    assert [r[2] for r in fake.requests if r[1] == 77] == ["*", "AoJ+sticky/=="]
    assert sorted(p.post_id for p in loop.posts) == [rid(22), rid(23), rid(24)]  # once each

    upd = SteamSource.from_config("u", {"apps": [{"id": CYBERPUNK, "community": "steam:cp"}],
                                        "filter": "updated", "api_url": fake.url}, None, None)
    cur = fetch(upd, {}).cursor
    old = fake.reviews[CYBERPUNK]
    fake.reviews[CYBERPUNK] = [review(2, voted_up=False, updated=T0 + 5000) if r is old[1] else r
                               for r in old]  # an old positive review flipped to negative
    flipped = fetch(upd, cur).posts
    assert sorted(p.post_id for p in flipped) == [f"{rid(2)}@{T0 + 5000}", rid(15)]
    edit = next(p for p in flipped if "@" in p.post_id)
    assert json.loads(edit.payload)["review"]["voted_up"] is False
    assert edit.community == "steam:cp" and edit.created_ts == T0 + 5000


# --- the real connector process against it ------------------------------------------
KEYS = {b"steam:cyberpunk", b"steam:app/730"}


def start_connector(broker, tmp_path, fake: FakeSteam) -> subprocess.Popen:
    return start_connect("steam", broker, tmp_path, f"""
[steam]
name = "acme"
apps = [{{id = {CYBERPUNK}, community = "steam:cyberpunk"}}, {CS}, 999]
poll_interval_s = 0.3
api_url = "{fake.url}"
""", metrics_port=0)


def raw(broker, expected: int) -> list[tuple[str, str, dict]]:
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                      until=lambda ms: len([m for m in ms if m.key in KEYS]) >= expected)
    out = []
    for m in msgs:
        if m.key in KEYS:
            r = json.loads(m.value)["review"]
            edited = r["timestamp_updated"] > r["timestamp_created"]
            out.append((r["recommendationid"] + (f"@{r['timestamp_updated']}" if edited else ""),
                        m.key.decode(), {k: v.decode() for k, v in m.headers}))
    return out


@pytest.mark.integration
def test_steam_connector_pages_backs_off_and_resumes_without_repeats(broker, tmp_path, fake):
    from streams.admin import create_topics
    from config.settings import Settings

    create_topics(Settings.load(env={}, broker=broker.url))
    fake.reviews = {CYBERPUNK: [review(i) for i in range(1, 6)],
                    CS: [review(101, text="best game ever"), review(102, voted_up=False)]}
    fake.script = [(429, {"Retry-After": "1"}), (503, {})]
    proc = start_connector(broker, tmp_path, fake)
    try:
        first = raw(broker, 5)
        assert sorted(i for i, _, _ in first) == sorted([rid(3), rid(4), rid(5), rid(101), rid(102)])
        assert {k for i, k, _ in first if i in (rid(101), rid(102))} == {"steam:app/730"}
        assert {k for i, k, _ in first if i == rid(5)} == {"steam:cyberpunk"}
        h = first[0][2]
        assert h["vigil-platform"] == "steam" and h["vigil-format"] == "steam"
        assert h["vigil-connector"].startswith("steam/")
        assert [r[3] for r in fake.requests[:2]] == [429, 503]
        assert fake.requests[1][0] - fake.requests[0][0] >= 1.0  # Retry-After honoured

        # a review bomb while it runs: more than two pages of new reviews, the newest
        # old review edited to negative, and a 429 in the middle of the paging
        fake.script = [(200, {}), (429, {"Retry-After": "1"})]
        fake.reviews[CYBERPUNK] = [review(5, voted_up=False, updated=T0 + 5000) if r["recommendationid"]
                                   == rid(5) else r for r in fake.reviews[CYBERPUNK]] + \
            [review(i, voted_up=False, playtime=3) for i in range(6, 13)]
        raw(broker, 13)

        # a restart in the middle: stop, reviews arrive meanwhile, start again
        assert stop(proc) == 0
        fake.reviews[CYBERPUNK] = fake.reviews[CYBERPUNK] + [review(13, text="Ну и позор 🤡",
                                                                    lang="russian"), review(14)]
        fake.reviews[CS] = fake.reviews[CS] + [review(103)]
        proc = start_connector(broker, tmp_path, fake)
        raw(broker, 16)
        time.sleep(1.5)  # several more polls: anything repeated would show now
        got = raw(broker, 16)
        ids = [i for i, _, _ in got]
        expected = {rid(i) for i in range(3, 15)} | {f"{rid(5)}@{T0 + 5000}"} | \
            {rid(101), rid(102), rid(103)}
        assert set(ids) == expected and len(ids) == len(expected), sorted(ids)
        assert all(k == ("steam:app/730" if int(i.split("@")[0]) > int(rid(100)) else "steam:cyberpunk")
                   for i, k, _ in got)
        assert not [r for r in fake.requests if r[3] == 400]  # every cursor arrived intact
        assert stop(proc) == 0
        log = (tmp_path / "connect.log").read_text()
        assert "platform_retry" in log and "steam_query_failed" in log  # app 999: skipped
    finally:
        if proc.poll() is None:
            proc.kill()
