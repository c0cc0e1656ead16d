"""The generic signed webhook: a real ``vigil connect webhook`` process on a real broker,
called over HTTP like a sender would."""

from __future__ import annotations

import json
import time

import pytest

from connectors.push import Rejected
from connectors.webhook import WebhookSource, sign
from streams.broker import free_port
from tests.conftest import read_topic
from tests.connector_kit import post_json, start_connect, stop, wait_serving

SECRET, OLD = "hook-secret-abc123", "old-secret-def456"


def body_of(i: int, community: str = "acme-support", **extra) -> bytes:
    return json.dumps({"platform": "helpdesk", "community": community, "id": f"T-{i}",
                       "author": "agent-7", "text": f"Ticket {i}: refund not received 😤",
                       "created_at": time.time() - 5, **extra}).encode()


def post(port: int, body: bytes, *, secret: str = SECRET, ts: float | None = None,
         signature: str | None = None, content_type: str = "application/json") -> tuple[int, dict]:
    stamp = str(int(ts if ts is not None else time.time()))
    headers = {"Content-Type": content_type, "X-Vigil-Timestamp": stamp,
               "X-Vigil-Signature": signature or sign(secret.encode(), stamp, body)}
    return post_json(f"http://127.0.0.1:{port}/posts", body, headers)


# --- verification, without a broker -------------------------------------------------
def test_signature_timestamp_and_rotation_rules():
    hook = WebhookSource("t", sink=None, secrets=[b"new", b"old"], tolerance_s=300)
    now, body = 1793606400.0, b'{"id": 1}'
    ok = {"X-Vigil-Timestamp": "1793606400", "X-Vigil-Signature": sign(b"new", "1793606400", body)}
    hook.verify(ok, body, now)
    hook.verify({**ok, "X-Vigil-Signature": sign(b"old", "1793606400", body)}, body, now + 299)
    # a sender mid-rotation may send both signatures
    both = f"{sign(b'stale', '1793606400', body)}, {sign(b'old', '1793606400', body)}"
    hook.verify({**ok, "X-Vigil-Signature": both}, body, now)
    for headers, at, why in [
            ({**ok, "X-Vigil-Signature": sign(b"other", "1793606400", body)}, now, "does not match"),
            (ok, now + 301, "outside"),  # replayed six minutes later
            (ok, now - 301, "outside"),  # clock far ahead of ours
            ({"X-Vigil-Signature": ok["X-Vigil-Signature"]}, now, "missing"),
            ({**ok, "X-Vigil-Timestamp": "yesterday"}, now, "not a number")]:
        with pytest.raises(Rejected) as err:
            hook.verify(headers, body, at)
        assert err.value.status == 401 and why in err.value.reason
    # the body is covered: same headers, different body
    with pytest.raises(Rejected):
        hook.verify(ok, b'{"id": 2}', now)


def test_posts_are_keyed_and_identified_from_the_body():
    hook = WebhookSource("t", sink=None, secrets=[b"s"])
    one = hook.posts({"Content-Type": "application/json"}, body_of(1))
    assert [(p.post_id, p.community) for p in one] == [("helpdesk:T-1", "acme-support")]
    many = hook.posts({"Content-Type": "application/x-ndjson"},
                      b"\n".join(body_of(i) for i in range(3)) + b"\n\n")
    assert [p.post_id for p in many] == ["helpdesk:T-0", "helpdesk:T-1", "helpdesk:T-2"]
    edited = hook.posts({}, body_of(1, meta={"revision": 2}))
    assert edited[0].post_id == "helpdesk:T-1@2"
    broken = hook.posts({}, b"{not json")
    assert broken[0].post_id.startswith("sha256:") and broken[0].payload == b"{not json"


# --- the real process ---------------------------------------------------------------
@pytest.fixture(scope="module")
def hook(broker, tmp_path_factory):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    tmp = tmp_path_factory.mktemp("webhook")
    port = free_port()
    proc = start_connect("webhook", broker, tmp, f"""
[webhook]
name = "helpdesk"
secret_env = "TEST_HOOK_SECRET"
previous_secret_env = "TEST_HOOK_SECRET_OLD"
port = {port}
path = "/posts"
max_body_bytes = 4096
""", {"TEST_HOOK_SECRET": SECRET, "TEST_HOOK_SECRET_OLD": OLD})
    log = tmp / "connect.log"
    wait_serving(port, proc, log)
    yield port, proc, log
    assert stop(proc) == 0


def on_broker(broker, *, at_least: int) -> list:
    msgs = read_topic(broker.bootstrap, "posts.raw", timeout_s=30,
                      until=lambda ms: len(ms) >= at_least)
    return msgs


@pytest.mark.integration
def test_webhook_accepts_signed_posts_only_and_answers_after_the_broker_has_them(broker, hook):
    port, proc, log = hook
    status, reply = post(port, body_of(1))
    assert (status, reply) == (202, {"accepted": 1, "duplicates": 0})
    # 202 means on the broker: it is readable now, not eventually
    first = read_topic(broker.bootstrap, "posts.raw", timeout_s=5, until=lambda ms: len(ms) >= 1)
    assert len(first) == 1 and first[0].key == b"acme-support"
    assert {k: v.decode() for k, v in first[0].headers} == {
        "vigil-format": "vigil", "vigil-platform": "webhook", "vigil-connector": "webhook/1"}

    # refused: nothing of these may reach the broker
    assert post(port, body_of(2), secret="guess")[0] == 401
    assert post(port, body_of(3), ts=time.time() - 600)[0] == 401  # a replay, 10 min later
    assert post(port, body_of(4), signature="v1=" + "0" * 64)[0] == 401
    assert post(port, b'{"text": "' + b"x" * 5000 + b'"}')[0] == 413
    # the same post again (a sender's retry) is acknowledged, not produced twice
    assert post(port, body_of(1)) == (202, {"accepted": 0, "duplicates": 1})
    # a rotated-out secret still works during the overlap
    assert post(port, body_of(5), secret=OLD)[0] == 202
    # a batch as JSON Lines
    batch = b"\n".join(body_of(i, community="acme-games") for i in range(6, 9))
    assert post(port, batch, content_type="application/x-ndjson") == (
        202, {"accepted": 3, "duplicates": 0})
    # signed but not Vigil JSON: produced as sent, for the pipeline to dead-letter
    assert post(port, b"{broken")[0] == 202

    msgs = on_broker(broker, at_least=6)
    time.sleep(1.0)
    msgs = on_broker(broker, at_least=6)
    ids = [json.loads(m.value)["id"] for m in msgs if m.value != b"{broken"]
    assert sorted(ids) == ["T-1", "T-5", "T-6", "T-7", "T-8"]
    assert [m.key for m in msgs if m.value == b"{broken"] == [None]
    assert proc.poll() is None
    text = log.read_text()
    assert SECRET not in text and OLD not in text
    assert text.count('"push_rejected"') == 4
