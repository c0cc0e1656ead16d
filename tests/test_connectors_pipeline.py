"""Every platform's payloads through a real worker: what each connector produces (same
key, same headers) is normalised, a broken payload reaches ``posts.dlq`` with its
reason and its original bytes, and a deletion or moderator's action is counted as a
platform event, never dead-lettered."""

from __future__ import annotations

import base64
import json
import time

import pytest

from models.parsers.twitch import parse_irc
from tests.conftest import produce, read_topic, start_worker, stop_worker, total
from tests import (test_discourse_connector as discourse, test_reddit_connector as reddit,
                   test_steam_connector as steam, test_telegram_connector as telegram,
                   test_twitch_connector as twitch, test_x_connector as x,
                   test_youtube_connector as youtube)

NOW = time.time()


def js(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def discord_msg(mid: str, content: str, t: str = "MESSAGE_CREATE") -> dict:
    return {"t": t, "d": {"id": mid, "channel_id": "12", "guild_id": "11", "type": 0,
                          "content": content, "author": {"id": "9", "username": "sam"},
                          "timestamp": "2026-11-02T08:00:00+00:00", "edited_timestamp": None,
                          "attachments": [], "embeds": [], "mentions": []}}


def twitch_payload(raw_line: str) -> bytes:
    return js(parse_irc(raw_line))


broken_steam = {"appid": 1091500, "review": steam.review(90, text="   ")}
no_text_youtube = youtube.comment("yt-bad", 60)
no_text_youtube["snippet"].pop("textOriginal")
no_text_youtube["snippet"].pop("textDisplay")

# platform: (key, good payload, broken payload, its reason, a platform event or None)
CASES = {
    "reddit": ("r/acmegames", js(reddit.post(1, title="Patch broke saves 😡")),
               js({"kind": "t3"}), "missing_field", None),
    "discourse": ("forum.acme.test", js(discourse.hook_body(501, raw="Ça ne marche plus")),
                  js(discourse.hook_body(502, created_at="soon")), "bad_timestamp",
                  js(discourse.hook_body(503, deleted_at="2026-11-02T09:00:00Z"))),
    "discord": ("acme-discord/#general", js(discord_msg("1300000000000000001", "gg 🎮")),
                b'{"t": "MESSAGE_CREATE", "d": ', "invalid_json",
                js({"t": "MESSAGE_DELETE", "d": {"id": "1300000000000000001",
                                                 "channel_id": "12", "guild_id": "11"}})),
    "x": ("x:acme", js(x.line("1852", "servers down again?")),
          js(x.line("1853", "   ")), "empty_text",
          js(x.line("1854", "RT @acme: down", referenced_tweets=[{"type": "retweeted",
                                                                   "id": "1850"}]))),
    "steam": ("steam:cyberpunk", js({"appid": 1091500, "review": steam.review(1, text="Refunded.")}),
              js(broken_steam), "empty_text", None),
    "youtube": ("youtube:acme/trailer", js(youtube.comment("yt-1", 60, text="Tolles Video!")),
                js(no_text_youtube), "missing_field", None),
    "twitch": ("twitch:#acmegames", twitch_payload(twitch.privmsg("tw-1", "hello chat 👋")),
               b'{"command": "PRIVMSG", "text": "caf\xe9"}', "invalid_encoding",
               twitch_payload(twitch.clearchat("troll", "4242", duration="600"))),
    "telegram": ("tg:acme-players", js(telegram.msg(1, text="Привет всем")),
                 js({"update_id": 9, "callback_query": {}}), "missing_field",
                 js(telegram.msg(2, new_chat_members=[{"id": 7, "is_bot": False,
                                                       "first_name": "New"}]))),
    "webhook": ("acme-support", js({"platform": "helpdesk", "community": "acme-support",
                                    "id": "T-1", "author": "a", "text": "refund please",
                                    "created_at": NOW - 5}),
                js({"platform": "helpdesk", "community": "acme-support", "id": "T-2",
                    "text": 42, "created_at": NOW}), "wrong_type", None),
}
FORMAT = {"webhook": "vigil"}  # the generic webhook's body is Vigil's own format


def headers(platform: str) -> dict[str, str]:
    return {"vigil-format": FORMAT.get(platform, platform), "vigil-platform": platform,
            "vigil-connector": f"{platform}/1"}


@pytest.mark.integration
def test_every_platform_normalises_dead_letters_and_counts_events(broker, tmp_path):
    worker = start_worker(broker, tmp_path)
    try:
        items = []
        for platform, (key, good, bad, _, event) in CASES.items():
            items += [(key.encode(), good, headers(platform)), (key.encode(), bad, headers(platform))]
            if event is not None:
                items.append((key.encode(), event, headers(platform)))
        produce(broker.bootstrap, items)
        events = sum(1 for c in CASES.values() if c[4] is not None)

        normalized = read_topic(broker.bootstrap, "posts.normalized", timeout_s=90,
                                until=lambda ms: len(ms) >= len(CASES))
        dead = read_topic(broker.bootstrap, "posts.dlq", timeout_s=60,
                          until=lambda ms: len(ms) >= len(CASES))
        m = worker.wait_for(lambda m: total(m, "vigil_platform_events_total") >= events)
        time.sleep(1.0)
        normalized = read_topic(broker.bootstrap, "posts.normalized", timeout_s=5,
                                until=lambda ms: False)
        dead = read_topic(broker.bootstrap, "posts.dlq", timeout_s=5, until=lambda ms: False)

        posts = [json.loads(msg.value) for msg in normalized]
        by_platform = {p["platform"]: p for p in posts}
        assert len(posts) == len(CASES)
        assert set(by_platform) == (set(CASES) - {"webhook"}) | {"helpdesk"}
        for platform, (key, *_rest) in CASES.items():
            post = by_platform["helpdesk" if platform == "webhook" else platform]
            assert post["community"] == key, (platform, post)
            assert post["text"] and post["author_id"] != "sam"

        letters = {}
        for msg in dead:
            d = json.loads(msg.value)
            letters[d["headers"]["vigil-platform"]] = d
        assert set(letters) == set(CASES)
        for platform, (key, _good, bad, reason, _event) in CASES.items():
            d = letters[platform]
            assert d["reason"] == reason, (platform, d["detail"])
            assert base64.b64decode(d["value_b64"]) == bad  # the original bytes
            assert base64.b64decode(d["key_b64"]) == key.encode()

        for platform, kind in [("discourse", "deletion"), ("discord", "deletion"),
                               ("x", "non_post"), ("twitch", "moderation_action"),
                               ("telegram", "non_post")]:
            assert total(m, "vigil_platform_events_total", platform=platform, kind=kind) == 1, platform
        assert total(m, "vigil_posts_dead_lettered_total") == len(CASES)
    finally:
        stop_worker(worker)


def test_every_listed_connector_resolves_and_every_format_is_registered():
    from connectors.launch import CONNECTORS, source_class
    from models.parsers import FORMATS

    for platform in CONNECTORS:
        cls = source_class(platform)
        assert callable(getattr(cls, "from_config")) and callable(getattr(cls, "run")), platform
        assert cls.platform == platform
    produced = {platform: source_class(platform).fmt for platform in CONNECTORS}
    # each platform connector produces a format of its own; the generic webhook, Vigil's
    assert produced == {**{platform: platform for platform in CONNECTORS}, "webhook": "vigil"}
    # and the explicit registry (models/parsers/__init__.py) reads exactly those formats
    assert set(produced.values()) == set(FORMATS)


def test_the_example_config_builds_every_connector(monkeypatch):
    """config/connectors.example.toml is what the README points at: it must stay valid."""
    from connectors.launch import CONNECTORS, load_platform_config, source_class
    from tests.conftest import REPO

    example = REPO / "config" / "connectors.example.toml"
    for var in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "DISCOURSE_API_KEY",
                "DISCOURSE_WEBHOOK_SECRET", "DISCORD_BOT_TOKEN", "X_BEARER_TOKEN",
                "YOUTUBE_API_KEY", "TWITCH_TOKEN", "TELEGRAM_BOT_TOKEN",
                "TELEGRAM_WEBHOOK_SECRET", "VIGIL_WEBHOOK_SECRET"):
        monkeypatch.setenv(var, "example-value-1234")
    for platform in CONNECTORS:
        cfg = load_platform_config(example, platform)
        modes = [cfg.get("mode")] + (["webhook"] if platform in ("discourse", "telegram") else [])
        if platform == "x":
            modes.append("search")
        for mode in modes:
            table = {**cfg, **({"mode": mode} if mode else {})}
            source = source_class(platform).from_config(table["name"], table, None, None)
            assert source.platform == platform and source.key == f"{platform}:{table['name']}"
            assert hasattr(source, "stop") and hasattr(source, "run")
