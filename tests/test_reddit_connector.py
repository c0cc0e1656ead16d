"""The Reddit connector against a local server that answers like Reddit's API (OAuth2
app-only token, Listings with ``after`` paging, X-Ratelimit headers, 429/503/401), and
Reddit's payloads through the normaliser."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from aiohttp import web

from models.normalize import MalformedPost, NormalizeLimits, Normalizer
from models.parsers.reddit import parse_reddit
from models.pseudonym import Pseudonymizer
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, start_connect, stop

T0 = 1793606400.0


def post(n: int, *, sub: str = "acmegames", title: str = "", body: str = "", author: str = "sam",
         **extra) -> dict:
    return {"kind": "t3", "data": {
        "id": f"p{n}", "name": f"t3_p{n}", "subreddit": sub, "subreddit_name_prefixed": f"r/{sub}",
        "title": title or f"Post {n}", "selftext": body, "author": author,
        "created_utc": T0 + n * 60, "permalink": f"/r/{sub}/comments/p{n}/post_{n}/",
        "is_self": True, "edited": False, "score": 1, **extra}}


def comment(n: int, parent: str, *, body: str = "", author: str = "alex", sub: str = "acmegames",
            **extra) -> dict:
    return {"kind": "t1", "data": {
        "id": f"c{n}", "name": f"t1_c{n}", "body": body or f"Comment {n}", "author": author,
        "created_utc": T0 + n * 60 + 30, "link_id": parent if parent.startswith("t3_") else "t3_p1",
        "parent_id": parent, "subreddit_name_prefixed": f"r/{sub}",
        "permalink": f"/r/{sub}/comments/p1/x/c{n}/", "edited": False, **extra}}


# --- the payloads, through the normaliser ---------------------------------------------
def normalize(child: dict) -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(child).encode(), fmt="reddit", now=T0 + 86400)[0]


def test_reddit_payloads_become_canonical_posts():
    p = normalize(post(1, title="Patch 1.2 broke saves 😡", body="Lost 40 hours. **Again.**"))
    assert p["text"] == "Patch 1.2 broke saves 😡\n\nLost 40 hours. Again."  # Markdown read as words
    assert (p["platform"], p["community"], p["post_id"], p["thread_id"]) == (
        "reddit", "r/acmegames", "t3_p1", "t3_p1")
    assert p["author_id"] != "sam" and p["url"].startswith("https://www.reddit.com/r/acmegames/")
    link = normalize(post(2, title="Trailer!", is_self=False, url="https://youtu.be/x"))
    assert link["text"] == "Trailer!" and link["meta"]["link_url"] == "https://youtu.be/x"
    reply = normalize(comment(3, "t1_c2", body="Ça marche pas chez moi non plus", edited=T0 + 999))
    assert reply["parent_id"] == "t1_c2" and reply["thread_id"] == "t3_p1"
    assert reply["meta"]["edited"] is True and reply["text"].startswith("Ça marche")


def test_broken_reddit_payloads_are_dead_lettered_with_a_reason():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    for child, reason in [({"kind": "t3"}, "missing_field"),
                          (comment(4, "t3_p1", body="   "), "empty_text"),
                          ({"kind": "t1", "data": {**comment(5, "t3_p1")["data"], "created_utc": "soon"}},
                           "bad_timestamp")]:
        with pytest.raises(MalformedPost) as err:
            n.normalize(json.dumps(child).encode(), fmt="reddit", now=T0 + 86400)
        assert err.value.reason == reason


# --- the connector against a local Reddit ---------------------------------------------
class FakeReddit(LocalServer):
    """Listings newest first, 3 per page, with scripted failures."""

    def __init__(self):
        self.posts: list[dict] = []
        self.comments: list[dict] = []
        self.modlog: list[dict] = []  # {"kind": "modaction", ...}, readable by a moderator
        self.grants: list[str] = []
        self.requests: list[tuple[float, str, int]] = []
        self.script: list[tuple[int, dict]] = []  # (status, headers) for the next listing calls
        self.tokens = 0
        self.expire_token = False
        super().__init__()

    def routes(self, app):
        app.router.add_post("/api/v1/access_token", self.token)
        app.router.add_get("/r/{sub}/{kind}", self.listing)
        app.router.add_get("/r/{sub}/about/log", self.listing)

    async def token(self, request):
        auth = request.headers.get("Authorization", "")
        form = await request.post()
        grant = form.get("grant_type")
        moderator = grant == "password" and (form.get("username"), form.get("password")) == (
            "acme_mod", "mod-password-1")
        if not auth.startswith("Basic ") or not (grant == "client_credentials" or moderator):
            return web.json_response({"error": "unauthorized"}, status=401)
        self.grants.append(grant)
        self.tokens += 1
        return web.json_response({"access_token": f"tok-{self.tokens}", "expires_in": 3600})

    async def listing(self, request):
        status, headers = self.script.pop(0) if self.script else (200, {})
        self.requests.append((time.monotonic(), request.path_qs, status))
        if request.headers.get("Authorization") != f"bearer tok-{self.tokens}" or self.expire_token:
            self.expire_token = False
            return web.json_response({"message": "Unauthorized"}, status=401)
        if status != 200:
            return web.json_response({"message": "nope"}, status=status, headers=headers)
        kind = request.match_info.get("kind", "log")
        if kind == "log" and self.grants[-1:] != ["password"]:
            return web.json_response({"message": "Forbidden"}, status=403)  # not a moderator
        items = {"new": self.posts, "log": self.modlog}.get(kind, self.comments)
        items = sorted(items, key=lambda c: -c["data"]["created_utc"])
        after = request.query.get("after")

        def name(c):  # modlog entries have an id, no fullname
            return c["data"].get("name") or c["data"]["id"]
        start = next((i + 1 for i, c in enumerate(items) if name(c) == after), 0)
        page = items[start:start + 3]
        nxt = name(page[-1]) if start + 3 < len(items) else None
        return web.json_response({"kind": "Listing", "data": {"children": page, "after": nxt}},
                                 headers={"X-Ratelimit-Used": "1", **headers})


def start_connector(broker, tmp_path, fake: FakeReddit, metrics_port: int = 0, *,
                    extra: str = "", env: dict | None = None, log: str = "connect.log"
                    ) -> subprocess.Popen:
    return start_connect("reddit", broker, tmp_path, f"""
[reddit]
name = "acme"
client_id_env = "TEST_REDDIT_ID"
client_secret_env = "TEST_REDDIT_SECRET"
user_agent = "vigil-test/1.0"
subreddits = ["acmegames"]
poll_interval_s = 0.3
auth_url = "{fake.url}/api/v1/access_token"
api_url = "{fake.url}"
{extra}""", {"TEST_REDDIT_ID": "id", "TEST_REDDIT_SECRET": "reddit-secret-xyz", **(env or {})},
                         metrics_port=metrics_port, log=log)


def raw_ids(broker, expected: int) -> list[tuple[str, str, dict]]:
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=60,
                      until=lambda ms: len([m for m in ms if m.key == b"r/acmegames"]) >= expected)
    out = []
    for m in msgs:
        if m.key == b"r/acmegames":
            body = json.loads(m.value)
            out.append((body["data"]["name"], m.key.decode(),
                        {k: v.decode() for k, v in m.headers}))
    return out


@pytest.mark.integration
def test_reddit_connector_pages_backs_off_and_resumes_without_repeats(broker, tmp_path):
    from streams.admin import create_topics
    from config.settings import Settings

    create_topics(Settings.load(env={}, broker=broker.url))
    fake = FakeReddit()
    try:
        fake.posts = [post(i) for i in range(1, 4)]
        fake.comments = [comment(1, "t3_p1"),
                         comment(2, "t3_p1", body="[removed]", author="[deleted]")]
        # first listing call: rate limited, then the server is briefly down
        fake.script = [(429, {"Retry-After": "1"}), (503, {})]
        proc = start_connector(broker, tmp_path, fake)
        first = raw_ids(broker, 4)
        assert sorted(i for i, _, _ in first) == ["t1_c1", "t3_p1", "t3_p2", "t3_p3"]
        assert first[0][2]["vigil-platform"] == "reddit" and first[0][2]["vigil-format"] == "reddit"
        assert first[0][2]["vigil-connector"].startswith("reddit/")
        statuses = [s for _, _, s in fake.requests[:3]]
        assert statuses[:2] == [429, 503]
        assert fake.requests[1][0] - fake.requests[0][0] >= 1.0  # Retry-After honoured

        # more posts than one page while it runs, a token that expires, and the
        # platform asking it to slow down
        fake.expire_token = True
        fake.posts += [post(i) for i in range(4, 11)]
        fake.script = [(200, {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1"})]
        raw_ids(broker, 11)
        assert fake.tokens >= 2

        # a restart in the middle: stop, new posts arrive meanwhile, start again
        assert stop(proc) == 0
        fake.posts += [post(i) for i in range(11, 14)]
        # an older answer's shape: no subreddit_name_prefixed, still keyed r/<subreddit>
        old = comment(14, "t1_c1", body="agreed 👍", subreddit="acmegames")
        del old["data"]["subreddit_name_prefixed"]
        fake.comments.append(old)
        proc = start_connector(broker, tmp_path, fake)
        got = raw_ids(broker, 15)
        time.sleep(1.5)  # several more polls: anything repeated would show now
        got = raw_ids(broker, 15)
        ids = [i for i, _, _ in got]
        expected = {f"t3_p{i}" for i in range(1, 14)} | {"t1_c1", "t1_c14"}
        assert set(ids) == expected and len(ids) == len(expected), sorted(ids)
        assert stop(proc) == 0
        log = (tmp_path / "connect.log").read_text()
        assert "reddit-secret-xyz" not in log and "platform_retry" in log
    finally:
        fake.close()
