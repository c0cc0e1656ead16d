"""The Discourse connector: its payloads through the normaliser, webhook verification,
a real ``vigil connect discourse`` polling a local server that answers like Discourse's
REST API (``/posts.json`` with ``before`` paging, ``/categories.json``, 429 with
Retry-After, 503), and a real one in webhook mode called like Discourse calls it."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from aiohttp import web

from connectors.discourse import DiscourseWebhookSource, sign
from connectors.push import Rejected
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.parsers.discourse import parse_discourse
from models.pseudonym import Pseudonymizer
from streams.broker import free_port
from tests.conftest import read_topic
from tests.connector_kit import LocalServer, post_json, start_connect, stop, wait_serving

T0 = 1793606400.0
API_KEY, HOOK_SECRET = "discourse-key-4f9a1c", "discourse-hook-secret-77ab"


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000Z"


def item(pid: int, *, topic: int = 70, number: int | None = None, raw: str = "",
         category: int = 5, username: str = "sam", **extra) -> dict:
    """A /posts.json ``latest_posts`` item (PostSerializer with add_raw/add_title); its
    post_number is its id unless given, so every post's ``<topic>/<number>`` differs."""
    number = pid if number is None else number
    return {"id": pid, "name": "Sam", "username": username, "avatar_template": "/a/{size}.png",
            "created_at": iso(T0 + pid), "cooked": f"<p>{raw or f'Post {pid}'}</p>",
            "post_number": number, "post_type": 1, "updated_at": iso(T0 + pid),
            "reply_count": 0, "reply_to_post_number": None, "quote_count": 0, "reads": 1,
            "score": 0.2, "topic_id": topic, "topic_slug": f"topic-{topic}",
            "topic_title": f"Topic {topic}", "category_id": category, "version": 1,
            "raw": raw or f"Post {pid}", "user_id": 3, "hidden": False, "trust_level": 1,
            "deleted_at": None, "user_deleted": False, "wiki": False, **extra}


def hook_body(pid: int, **extra) -> dict:
    """A webhook body: WebHookPostSerializer adds topic_archetype and category_slug."""
    post = item(pid, **extra)
    post.setdefault("topic_archetype", "regular")
    post.setdefault("category_slug", "support")
    return {"post": post}


def normalize(obj: dict, community: str = "forum.acme.test") -> dict:
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(obj).encode(), fmt="discourse", now=T0 + 86400,
                       community=community)[0]


# --- the payloads, through the normaliser ---------------------------------------------
def test_discourse_posts_become_canonical_posts():
    first = normalize(item(101, number=1, raw="Patch 1.2 deleted my saves :rage:"))
    assert first["text"] == "Topic 70\n\nPatch 1.2 deleted my saves :rage:"  # title is words too
    assert (first["platform"], first["community"], first["post_id"], first["thread_id"]) == (
        "discourse", "forum.acme.test", "70/1", "70")  # <topic>/<post_number>: what replies name
    assert first["author_id"] not in ("sam", "unknown") and first["url"] is None
    assert first["meta"]["path"] == "/t/topic-70/70/1" and first["meta"]["edited"] is False

    # a reply quoting someone: the quote is the other user's words, not scored on this one
    reply = normalize(hook_body(102, number=3, reply_to_post_number=2, raw=(
        '[quote="alex, post:2, topic:70"]\nyou people are idiots\n[/quote]\n\n'
        "Bitte bleibt freundlich 🙏 — das Update kommt morgen.")))
    assert reply["text"] == "Bitte bleibt freundlich 🙏 — das Update kommt morgen."
    assert reply["meta"]["reply_to_post_number"] == 2 and reply["meta"]["quotes"] == 1
    assert reply["meta"]["category_slug"] == "support" and reply["parent_id"] == "70/2"
    assert reply["post_id"] == "70/3" and reply["meta"]["id"] == 102

    # nested quotes go too; a post that only quotes reads [quote]: the words are another's
    nested = normalize(item(103, raw='[quote="a"]x [quote="b"]y[/quote] z[/quote]ok'))
    assert nested["text"] == "ok" and nested["meta"]["quotes"] == 2
    echo = normalize(item(104, raw='[quote="alex, post:2, topic:70"]\nshut up\n[/quote]'))
    assert echo["text"] == "[quote]"

    # an edit: Discourse bumped the version, which is the revision
    edited = normalize(hook_body(105, version=3, updated_at=iso(T0 + 999), raw="fixed typo"))
    assert edited["post_id"] == "70/105" and edited["meta"]["revision"] == 3
    assert edited["meta"]["edited"] is True

    # uploads only: a placeholder stands for the image (its alt text is a file name)
    image = normalize(item(106, raw="![screenshot_crash|690x388](upload://aBc123.png)"))
    assert image["text"] == "[image]"
    attached = normalize(item(107, raw="logs: [client.log|attachment](upload://q.log) (2 KB)"))
    assert attached["text"] == "logs: [attachment: client.log] (2 KB)"

    # no raw (an older serializer, or a client that dropped it): the cooked HTML as text,
    # without quoted asides, with emoji images as their shortcode
    cooked = item(108, raw="", cooked=(
        '<aside class="quote"><blockquote><p>old words</p></blockquote></aside>'
        '<p>Привет &amp; <strong>спасибо</strong> <img class="emoji" alt=":heart:" src="/e.png"></p>'))
    del cooked["raw"]
    assert normalize(cooked)["text"] == "Привет & спасибо :heart:"



def test_deletions_and_system_notes_are_platform_events_not_dead_letters():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    cases = [(hook_body(201, deleted_at=iso(T0 + 50)), "deletion"),
             (item(202, user_deleted=True, raw="(post deleted by author)"), "deletion"),
             ({"discourse_event": "post_destroyed", **hook_body(203)}, "deletion"),
             (item(204, post_type=3, raw="", action_code="split_topic"), "non_post"),
             (item(205, post_type=2, raw="This topic was closed."), "moderation_action"),
             # a whisper: only staff see it, so it is not the community's speech
             (item(206, post_type=4, raw="staff only: watch this user"), "non_post")]
    for obj, kind in cases:
        with pytest.raises(NotAPost) as event:
            n.normalize(json.dumps(obj).encode(), fmt="discourse", now=T0 + 86400,
                        community="forum.acme.test")
        assert event.value.kind == kind
        post = obj.get("post") or obj
        assert event.value.fields["post_id"] == f"{post['topic_id']}/{post['post_number']}"
        assert event.value.fields["meta"]["id"] == post["id"]
        assert event.value.fields["community"] == "forum.acme.test"


def test_broken_discourse_payloads_are_dead_lettered_with_a_reason():
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    no_text = item(301, raw="   ")
    no_text["cooked"] = "<p> </p>"
    cases = [({}, "missing_field"), ({"post": "oops"}, "missing_field"),
             ({"post": {k: v for k, v in item(302).items() if k not in ("id", "topic_id")}},
              "missing_field"),
             (no_text, "empty_text"),
             ({k: v for k, v in item(303).items() if k not in ("raw", "cooked")}, "missing_field"),
             ({**item(304), "raw": 42, "cooked": None}, "wrong_type"),
             (item(305, created_at="soon"), "bad_timestamp"),
             (item(306, created_at=iso(T0 + 86400 * 30)), "future_timestamp")]
    for obj, reason in cases:
        with pytest.raises(MalformedPost) as err:
            n.normalize(json.dumps(obj).encode(), fmt="discourse", now=T0 + 86400,
                        community="forum.acme.test")
        assert err.value.reason == reason, (obj, err.value)
    assert parse_discourse({"post": None}) == {}


# --- webhook verification and splitting, without a broker ------------------------------
def headers_for(body: bytes, event: str = "post_created", *, secret: str = HOOK_SECRET,
                event_id: int = 1, signature: str | None = None) -> dict:
    kind = event.split("_")[0]
    h = {"Content-Type": "application/json", "X-Discourse-Instance": "https://hooks.acme.test",
         "X-Discourse-Event-Id": str(event_id), "X-Discourse-Event-Type": kind,
         "X-Discourse-Event": event}
    h["X-Discourse-Event-Signature"] = signature if signature is not None else sign(
        secret.encode(), body)
    return h


def test_webhook_signature_rules():
    hook = DiscourseWebhookSource("t", sink=None, secret=HOOK_SECRET.encode())
    body = json.dumps(hook_body(1)).encode()
    hook.verify(headers_for(body), body, T0)
    for headers, why in [(headers_for(body, secret="guess"), "does not match"),
                         (headers_for(body, signature="sha256=" + "0" * 64), "does not match"),
                         (headers_for(body, signature=""), "missing"),
                         (headers_for(body, signature=sign(HOOK_SECRET.encode(), body)[7:]),
                          "missing")]:  # the bare hex without "sha256="
        with pytest.raises(Rejected) as err:
            hook.verify(headers, body, T0)
        assert err.value.status == 401 and why in err.value.reason
    with pytest.raises(Rejected):  # the body is covered
        hook.verify(headers_for(body), body.replace(b"Post 1", b"Post 2"), T0)
    with pytest.raises(ValueError):
        DiscourseWebhookSource("t", sink=None, secret=b"")


def test_webhook_events_are_keyed_identified_and_filtered():
    hook = DiscourseWebhookSource("t", sink=None, secret=b"s", categories={"support", "9"})

    def ids(obj, event="post_created", raw_body=None):
        body = raw_body if raw_body is not None else json.dumps(obj).encode()
        return [(p.post_id, p.community) for p in hook.posts(headers_for(body, event), body)]

    assert ids(hook_body(1)) == [("1", "hooks.acme.test")]  # community: the instance's host
    assert ids(hook_body(1, version=2), "post_edited") == [("1@2", "hooks.acme.test")]
    assert ids(hook_body(1, deleted_at=iso(T0)), "post_destroyed") == [("delete:1", "hooks.acme.test")]
    assert ids(hook_body(1, category=9, category_slug="other")) == [("1", "hooks.acme.test")]
    assert ids(hook_body(1, category=3, category_slug="general")) == []  # not configured
    assert ids(hook_body(1, topic_archetype="private_message")) == []  # PMs are never read
    assert ids({"ping": "OK"}, "ping") == []
    assert ids({"topic": {"id": 70}}, "topic_created") == []
    # Discourse < 3.2 serialised post_destroyed before trashing: marked for the parser
    legacy = hook_body(4)
    body = json.dumps(legacy).encode()
    [post] = hook.posts(headers_for(body, "post_destroyed"), body)
    assert post.post_id == "delete:4"
    assert json.loads(post.payload) == {"discourse_event": "post_destroyed",
                                        "discourse_instance": "https://hooks.acme.test", **legacy}
    # otherwise the body as sent, marked with the instance (the parser builds the post's
    # url from it); a signed non-post is kept for the DLQ as it came
    body = json.dumps(hook_body(5), indent=1).encode()
    marked = hook.posts(headers_for(body), body)[0].payload
    assert json.loads(marked) == {"discourse_instance": "https://hooks.acme.test", **hook_body(5)}
    assert normalize(json.loads(marked))["url"] == "https://hooks.acme.test/t/topic-70/70/5"
    [broken] = hook.posts(headers_for(b"{nope"), b"{nope")
    assert broken.post_id.startswith("sha256:") and broken.payload == b"{nope"
    configured = DiscourseWebhookSource("t", sink=None, secret=b"s", community="Acme Forum")
    assert configured.posts(headers_for(b"{}"), json.dumps(hook_body(6)).encode())[0].community == (
        "Acme Forum")


# --- the poll mode against a local Discourse -------------------------------------------
class FakeDiscourse(LocalServer):
    """/posts.json newest id first, 3 per page, ``before`` pages older; scripted failures."""

    PAGE = 3

    def __init__(self):
        self.posts: list[dict] = []
        self.requests: list[tuple[float, str, int, dict]] = []
        self.script: list[tuple[int, dict]] = []  # (status, headers) for the next /posts.json
        super().__init__()

    def routes(self, app):
        app.router.add_get("/posts.json", self.latest)
        app.router.add_get("/categories.json", self.categories)

    def _denied(self, request):
        if (request.headers.get("Api-Key"), request.headers.get("Api-Username")) != (API_KEY, "vigil"):
            return web.json_response({"errors": ["You are not permitted to view the requested "
                                                 "resource."], "error_type": "invalid_access"},
                                     status=403)
        return None

    async def categories(self, request):
        self.requests.append((time.monotonic(), request.path_qs, 200, dict(request.headers)))
        if denied := self._denied(request):
            return denied
        support = {"id": 5, "name": "Support", "slug": "support",
                   "subcategory_list": [{"id": 6, "name": "Billing", "slug": "billing"}]}
        return web.json_response({"category_list": {"categories": [
            {"id": 3, "name": "General", "slug": "general"}, support]}})

    async def latest(self, request):
        status, headers = self.script.pop(0) if self.script else (200, {})
        self.requests.append((time.monotonic(), request.path_qs, status, dict(request.headers)))
        if denied := self._denied(request):
            return denied
        if status != 200:
            return web.json_response({"errors": ["slow down"], "error_type": "rate_limit",
                                      "extras": {"wait_seconds": 1}}, status=status, headers=headers)
        before = int(request.query.get("before", 1 << 62))
        page = sorted((p for p in self.posts if p["id"] < before), key=lambda p: -p["id"])[:self.PAGE]
        return web.json_response({"latest_posts": page}, headers=headers)


def start_poller(broker, tmp_path, fake: FakeDiscourse) -> subprocess.Popen:
    return start_connect("discourse", broker, tmp_path, f"""
[discourse]
name = "acme-poll"
base_url = "{fake.url}"
community = "forum.acme.test"
api_key_env = "TEST_DISCOURSE_KEY"
api_username = "vigil"
categories = ["support", 9]
poll_interval_s = 0.3
""", {"TEST_DISCOURSE_KEY": API_KEY})


def produced(broker, key: bytes, expected: int) -> list[tuple[str, dict]]:
    """(RawPost-style id, headers) of every posts.raw message keyed ``key``."""
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=45,
                      until=lambda ms: len([m for m in ms if m.key == key]) >= expected)
    out = []
    for m in msgs:
        if m.key != key:
            continue
        obj = json.loads(m.value)
        post = obj.get("post", obj)
        deleted = post.get("deleted_at") or post.get("user_deleted") or "discourse_event" in obj
        pid = f"delete:{post['id']}" if deleted else (
            f"{post['id']}@{post['version']}" if post.get("version", 1) > 1 else str(post["id"]))
        out.append((pid, {k: v.decode() for k, v in m.headers}))
    return out


@pytest.mark.integration
def test_discourse_poller_pages_backs_off_filters_and_resumes_without_repeats(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    fake = FakeDiscourse()
    key = b"forum.acme.test"
    try:
        # five posts, but a first run reads one page only (the newest three), not history
        fake.posts = [item(i) for i in range(101, 106)]
        fake.script = [(429, {"Retry-After": "1"}), (503, {})]
        proc = start_poller(broker, tmp_path, fake)
        first = produced(broker, key, 3)
        assert sorted(i for i, _ in first) == ["103", "104", "105"]
        assert first[0][1] == {"vigil-platform": "discourse", "vigil-format": "discourse",
                               "vigil-connector": "discourse/1"}
        calls = [r for r in fake.requests if r[1].startswith("/posts.json")]
        assert [s for _, _, s, _ in calls[:3]] == [429, 503, 200]
        assert calls[1][0] - calls[0][0] >= 1.0  # Retry-After honoured
        assert fake.requests[0][1] == "/categories.json?include_subcategories=true"

        # more new posts than a page while it runs: it pages back with ``before`` to the
        # cursor; other categories are left out; a withdrawn post is a deletion event
        fake.posts += [item(106, category=3), item(107, category=9), item(108),
                       item(109, category=6), item(110, user_deleted=True,
                                                   raw="(post deleted by author)"),
                       item(111, number=1, topic=71, raw="Новая тема 🎉"), item(112),
                       item(113, category=3)]
        produced(broker, key, 8)
        assert any("before=" in r[1] for r in fake.requests)

        # a restart in the middle: stop, new posts arrive meanwhile, start again
        assert stop(proc) == 0
        fake.posts += [item(i) for i in range(114, 117)]
        proc = start_poller(broker, tmp_path, fake)
        produced(broker, key, 11)
        time.sleep(1.5)  # several more polls: anything repeated would show now
        ids = [i for i, _ in produced(broker, key, 11)]
        expected = {"103", "104", "105", "107", "108", "delete:110", "111", "112",
                    "114", "115", "116"}
        assert set(ids) == expected and len(ids) == len(expected), sorted(ids)
        assert stop(proc) == 0
        log = (tmp_path / "connect.log").read_text()
        assert API_KEY not in log and "platform_retry" in log
    finally:
        fake.close()


# --- the webhook mode, called like Discourse calls it -----------------------------------
def deliver(port: int, body: bytes, headers: dict) -> tuple[int, dict]:
    return post_json(f"http://127.0.0.1:{port}/discourse", body, headers)


@pytest.mark.integration
def test_discourse_webhook_takes_signed_post_events_once(broker, tmp_path):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    port = free_port()
    proc = start_connect("discourse", broker, tmp_path, f"""
[discourse]
name = "acme-hook"
mode = "webhook"
secret_env = "TEST_DISCOURSE_HOOK_SECRET"
port = {port}
path = "/discourse"
max_body_bytes = 8192
""", {"TEST_DISCOURSE_HOOK_SECRET": HOOK_SECRET})
    log = tmp_path / "connect.log"
    key = b"hooks.acme.test"
    try:
        wait_serving(port, proc, log)

        def send(obj, event="post_created", event_id=1, **kw):
            body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
            return deliver(port, body, headers_for(body, event, event_id=event_id, **kw))

        ping = json.dumps({"ping": "OK"}).encode()
        assert send(ping, "ping")[0] == 200
        created = hook_body(501, raw="This update is garbage and so are you")
        assert send(created) == (200, {"accepted": 1, "duplicates": 0})
        # 200 means on the broker: readable now, not eventually
        [(pid, headers)] = produced(broker, key, 1)
        assert pid == "501" and headers["vigil-format"] == "discourse"

        # refused: none of these may reach the broker
        assert send(hook_body(502), secret="guess")[0] == 401
        assert send(hook_body(503), signature="")[0] == 401
        big = hook_body(504, raw="x" * 9000)
        assert send(big)[0] == 413
        # Discourse's retry of a delivery it did not see answered: a new event id, same post
        assert send(created, event_id=2) == (200, {"accepted": 0, "duplicates": 1})
        # an edit, a deletion, a recovery (already produced), a PM (never read)
        assert send(hook_body(501, version=2, raw="This update is bad"), "post_edited",
                    event_id=3)[1]["accepted"] == 1
        assert send(hook_body(505, raw="¿Alguien más sin conexión?"), event_id=4)[1]["accepted"] == 1
        assert send(hook_body(505, deleted_at=iso(T0 + 600)), "post_destroyed",
                    event_id=5)[1]["accepted"] == 1
        assert send(hook_body(505), "post_recovered", event_id=6) == (
            200, {"accepted": 0, "duplicates": 1})
        assert send(hook_body(506, topic_archetype="private_message"), event_id=7) == (
            200, {"accepted": 0, "duplicates": 0})
        assert send(json.dumps({"topic": {"id": 70}}).encode(), "topic_created")[0] == 200

        produced(broker, key, 4)
        time.sleep(1.0)
        ids = [i for i, _ in produced(broker, key, 4)]
        assert sorted(ids) == ["501", "501@2", "505", "delete:505"], ids
        assert proc.poll() is None
        text = log.read_text()
        assert HOOK_SECRET not in text and text.count('"push_rejected"') == 3
    finally:
        assert stop(proc) == 0
