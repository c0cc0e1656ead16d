"""Moderators teach Vigil where they already work (issue 16), through the real broker,
worker and connectors, with the platforms played by local servers speaking their real
formats: Twitch removals (CLEARMSG) in a channel become labels, are learnt, and a
similar post in that channel then scores higher; a Discourse staff deletion and a
Reddit moderator's removal become labels; an author's own deletion does not."""

from __future__ import annotations

import json
import time

import pytest

from tests import test_discourse_connector as discourse
from tests import test_reddit_connector as reddit
from tests import test_twitch_connector as twitch
from streams.broker import free_port
from tests.conftest import as_json, read_topic, start_worker, stop_worker, total
from tests.connector_kit import start_connect, wait_serving

pytestmark = pytest.mark.integration

# What this channel's moderators remove: taunting "noobs" to quit. The shipped model
# scores most of it low (it has no slur and little profanity).
REMOVED = ["uninstall the game you noob", "you are such a noob, just quit",
           "go play minecraft, kid", "noob team as always, uninstall",
           "learn to play or leave, noob", "bots play better than you",
           "what a noob, delete your account", "kid go back to fortnite",
           "you are trash at this game", "absolute noob, uninstall now",
           "nobody wants you here kid", "get good or get out noob"]
PROBE = "such a noob, uninstall the game already"


def feedback(bootstrap: str, want) -> list[dict]:
    msgs = read_topic(bootstrap, "moderation.feedback", timeout_s=90,
                      until=lambda ms: want([as_json(m) for m in ms]))
    return [as_json(m) for m in msgs]


def scored(bootstrap: str, ids: set[str]) -> dict[str, dict]:
    msgs = read_topic(bootstrap, "posts.scored", timeout_s=90,
                      until=lambda ms: ids <= {as_json(m)["post"]["post_id"] for m in ms})
    return {as_json(m)["post"]["post_id"]: as_json(m) for m in msgs}


def test_twitch_removals_are_learnt_and_similar_posts_then_score_higher(broker, tmp_path):
    worker = start_worker(broker, tmp_path)
    fake = twitch.FakeTwitch()
    proc = twitch.start_connector(broker, tmp_path, fake, fake.token)
    try:
        fake.joined(1, 2)
        now = time.time()
        fake.send(twitch.privmsg("probe-1", PROBE, user="zed", uid="900", ts=now))
        fake.send(*[twitch.privmsg(f"rm-{i}", text, user=f"u{i}", uid=str(500 + i), ts=now + 1 + i)
                    for i, text in enumerate(REMOVED)])
        before = scored(broker.bootstrap, {"probe-1"} | {f"rm-{i}" for i in range(len(REMOVED))})
        assert sum(before[f"rm-{i}"]["decision"] == "none" for i in range(len(REMOVED))) >= 8

        # the channel's moderators delete them, one by one, in chat
        fake.send(*[twitch.clearmsg(f"rm-{i}", ts=now + 30 + i) for i in range(len(REMOVED))])
        labels = feedback(broker.bootstrap, lambda fbs: len(
            [f for f in fbs if f["source"] == "twitch:clearmsg"]) >= len(REMOVED))
        mine = [f for f in labels if f["source"] == "twitch:clearmsg"]
        assert {f["post_id"] for f in mine} == {f"rm-{i}" for i in range(len(REMOVED))}
        assert all(f["label"] == "toxic" and f["community"] == "twitch:#acmegames" and f["text"]
                   and f["idempotency_key"] for f in mine)
        worker.wait_for(lambda m: total(m, "vigil_feedback_labels_total", outcome="learned")
                        >= len(REMOVED))

        # the same words again in that channel: the community's own norm now weighs in
        fake.send(twitch.privmsg("probe-2", PROBE, user="zed2", uid="901", ts=now + 60))
        after = scored(broker.bootstrap, {"probe-2"})
        assert after["probe-2"]["toxicity"] > before["probe-1"]["toxicity"] + 0.05
        assert any("learner" in e for e in after["probe-2"]["explanation"])
        m = worker.metrics()
        assert total(m, "vigil_moderator_actions_total", platform="twitch", action="remove",
                     by="moderator") >= len(REMOVED)
        assert total(m, "vigil_moderator_labels_published_total", platform="twitch",
                     label="toxic") >= len(REMOVED)
    finally:
        proc.terminate()
        proc.wait(20)
        fake.close()
        stop_worker(worker)


def test_discourse_staff_deletion_and_reddit_moderator_removal_become_labels(broker, tmp_path):
    worker = start_worker(broker, tmp_path)
    port = free_port()
    hook = start_connect("discourse", broker, tmp_path, f"""
[discourse]
name = "acme-hook"
mode = "webhook"
secret_env = "TEST_DISCOURSE_HOOK_SECRET"
port = {port}
path = "/discourse"
""", {"TEST_DISCOURSE_HOOK_SECRET": discourse.HOOK_SECRET}, log="discourse.log")
    fake = reddit.FakeReddit()
    now = time.time()
    fake.comments = [reddit.comment(1, "t3_p1", body="mods are clowns, all of them"),
                     reddit.comment(2, "t3_p1", body="thanks for the patch notes")]
    for c in fake.comments:
        c["data"]["created_utc"] = now - 600
    fake.modlog = [{"kind": "modaction", "data": {
        "id": "ModAction_a1", "action": "removecomment", "mod": "ana_mod", "mod_id36": "k1",
        "created_utc": now - 30, "subreddit_name_prefixed": "r/acmegames",
        "target_fullname": "t1_c1", "target_author": "alex",
        "target_body": "mods are clowns, all of them"}}, {"kind": "modaction", "data": {
        "id": "ModAction_a2", "action": "removecomment", "mod": "AutoModerator",
        "created_utc": now - 20, "subreddit_name_prefixed": "r/acmegames",
        "target_fullname": "t1_c2", "target_author": "alex"}}]
    red = reddit.start_connector(
        broker, tmp_path, fake, extra='modlog = true\nusername_env = "TEST_REDDIT_USER"\n'
                                      'password_env = "TEST_REDDIT_PASSWORD"\n',
        env={"TEST_REDDIT_USER": "acme_mod", "TEST_REDDIT_PASSWORD": "mod-password-1"},
        log="reddit.log")
    try:
        wait_serving(port, hook, tmp_path / "discourse.log")

        def send(obj, event):
            body = json.dumps(obj).encode()
            assert discourse.deliver(port, body, discourse.headers_for(body, event))[0] == 200

        t = discourse.iso(now - 5)
        send(discourse.hook_body(701, raw="you are all idiots here", created_at=discourse.iso(now - 60)),
             "post_created")
        send(discourse.hook_body(702, raw="posted in the wrong topic", created_at=discourse.iso(now - 60)),
             "post_created")
        # staff deletes 701; the author withdraws 702
        send(discourse.hook_body(701, raw="you are all idiots here", deleted_at=t, user_id=4,
                                 deleted_by={"id": 1, "username": "staff"}), "post_destroyed")
        send(discourse.hook_body(702, raw="posted in the wrong topic", deleted_at=t, user_id=4,
                                 user_deleted=True), "post_destroyed")

        # both "teach nothing" events handled first, so a label from them would be there
        m = worker.wait_for(lambda m: total(m, "vigil_moderator_actions_total", platform="reddit",
                                            by="automatic") >= 1
                            and total(m, "vigil_platform_events_total", platform="discourse",
                                      kind="deletion") >= 1)
        here = {"hooks.acme.test", "r/acmegames"}  # the broker is shared with other tests
        labels = [f for f in feedback(
            broker.bootstrap, lambda fbs: {"reddit:modlog", "discourse:post_destroyed"}
            <= {f["source"] for f in fbs}) if f["community"] in here]
        by_source = {}
        for f in labels:
            by_source.setdefault(f["source"], []).append(f)
        [staff] = by_source["discourse:post_destroyed"]
        assert (staff["post_id"], staff["label"], staff["community"]) == (
            "70/701", "toxic", "hooks.acme.test")
        assert staff["text"] == "you are all idiots here"
        [mod] = by_source["reddit:modlog"]
        assert (mod["post_id"], mod["label"], mod["community"]) == ("t1_c1", "toxic", "r/acmegames")
        assert "ana_mod" not in json.dumps(mod) and mod["moderator_id"] != "unknown"
        # AutoModerator's removal and the author's withdrawal teach nothing
        assert {f["post_id"] for f in labels} == {"70/701", "t1_c1"}
        assert fake.grants[-1] == "password"  # the modlog was read with the moderator's token
    finally:
        for proc in (hook, red):
            proc.terminate()
            proc.wait(20)
        fake.close()
        stop_worker(worker)


def test_vigil_feedback_writes_one_label_through_the_same_contract(broker, tmp_path):
    import subprocess
    import sys

    from streams.admin import create_topics
    from config.settings import Settings
    from tests.conftest import REPO

    create_topics(Settings.load(env={}, broker=broker.url))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "agents.cli", "feedback", *args,
                               "--broker", broker.url], cwd=REPO, timeout=60,
                              capture_output=True, text=True)

    done = cli("t1_zz", "--community", "r/cli", "--label", "toxic", "--text", "you clown",
               "--by", "sam")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["label"] == "toxic"
    refused = cli("x", "--community", "r/cli", "--label", "real")
    assert refused.returncode == 2 and "--trend-id" in refused.stderr
    [fb] = [f for f in feedback(broker.bootstrap, lambda fbs: any(f["source"] == "cli" for f in fbs))
            if f["source"] == "cli"]
    assert (fb["post_id"], fb["community"], fb["label"], fb["text"]) == (
        "t1_zz", "r/cli", "toxic", "you clown")
    assert fb["moderator_id"] not in ("sam", "unknown") and fb["idempotency_key"]
