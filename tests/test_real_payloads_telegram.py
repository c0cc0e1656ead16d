"""Telegram Bot API Updates in the shape Telegram sends them (tests/payloads/telegram,
each file's source in SOURCES.md), through the normaliser as the connector produces
them: each Update alone, keyed by its chat's configured community.

The expected values below were written by reading the payloads, not by running the
parser: text as the app shows it (media as placeholders after the caption), ids as
``<chat id>:<message_id>`` (the same for an edit; a reply's parent and a thread's root
are written the same way), bots and service messages as events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.pseudonym import Pseudonymizer

DIR = Path(__file__).parent / "payloads" / "telegram"
NOW = 1793700000.0
COMMUNITY = "tg:acme-players"  # what the connector's chats config names the chat
G, F, N = "-1001234567890", "-1009876543210", "-1005555555555"


def updates(name: str) -> list[dict]:
    obj = json.loads((DIR / name).read_text(encoding="utf-8"))
    return obj["result"] if "result" in obj else [obj]  # getUpdates answer, or a webhook body


def run(update: dict):
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(update).encode(), fmt="telegram", now=NOW, community=COMMUNITY)


#: (file, update_id) -> (post_id, text, parent_id, thread_id) of a post
POSTS = {
    ("getupdates_text_reply_forum.json", 804211901): (
        f"{G}:1201", "Patch notes are up at acme.test/patch, @acme_support saves still vanish",
        None, None),
    ("getupdates_text_reply_forum.json", 804211902): (
        f"{G}:1202", "Bei mir auch, seit heute morgen", f"{G}:1201", f"{G}:1201"),
    # a forum topic: every message "replies" to the topic's creation; that is no parent
    ("getupdates_text_reply_forum.json", 804211903): (
        f"{F}:88", "Crash on loading the second map", None, f"{F}:85"),
    # an edit keeps the message's id, parent and thread
    ("webhook_edited_message.json", 804211950): (
        f"{G}:1202", "Bei mir auch, seit heute Morgen (Version 1.2.1)", f"{G}:1201", f"{G}:1201"),
    ("getupdates_media_only.json", 804212001): (f"{G}:1301", "[photo]", None, None),
    ("getupdates_media_only.json", 804212002): (
        f"{G}:1302", "New boss arena, look at the lighting [photo]", None, None),
    ("getupdates_media_only.json", 804212003): (f"{G}:1303", "[voice]", None, None),
    ("getupdates_media_only.json", 804212004): (f"{G}:1304", "[video note]", None, None),
    ("getupdates_media_only.json", 804212005): (
        f"{G}:1305", "[document: crash_log.txt]", None, None),
    ("getupdates_media_only.json", 804212006): (f"{G}:1306", "[sticker: 😂]", None, None),
    ("getupdates_media_only.json", 804212007): (f"{G}:1307", "[animation]", None, None),
    ("getupdates_media_only.json", 804212008): (f"{G}:1308", "[location]", None, None),
    ("getupdates_media_only.json", 804212009): (
        f"{G}:1309", "[location: Acme Arena]", None, None),
    ("getupdates_media_only.json", 804212010): (f"{G}:1310", "[contact]", None, None),
    ("getupdates_media_only.json", 804212011): (
        f"{G}:1311", "Roll back patch 1.2?\nYes\nNo", None, None),
    ("getupdates_media_only.json", 804212012): (f"{G}:1312", "[dice: 🎲]", None, None),
    ("getupdates_media_only.json", 804212013): (f"{G}:1313", "[audio: Main Theme]", None, None),
    ("getupdates_media_only.json", 804212014): (f"{G}:1314", "[video]", None, None),
    # an anonymous admin (sent as @GroupAnonymousBot, a bot) is a person: scored
    ("getupdates_bot_and_service.json", 804212106): (
        f"{G}:1406", "Please keep it civil in here", None, None),
    ("getupdates_channel.json", 804212201): (
        f"{N}:310", "Servers are back online after maintenance.", None, None),
    ("getupdates_channel.json", 804212202): (
        f"{N}:310", "Servers are back online after maintenance (EU too).", None, None),
    ("getupdates_channel.json", 804212203): (
        f"{G}:1501", "Servers are back online after maintenance.", None, None),
    ("getupdates_channel.json", 804212204): (f"{N}:311", "[photo]", None, None),
    ("getupdates_legacy_api6.json", 604211001): (
        f"{G}:77", "regardez ça, c'est n'importe quoi", None, None),
    ("getupdates_legacy_api6.json", 604211002): (f"{G}:78", "pareil ici [photo]", f"{G}:77", None),
}

#: (file, update_id) -> (event kind, meta.reason or None)
EVENTS = {
    ("getupdates_bot_and_service.json", 804212101): ("non_post", "bot"),
    ("getupdates_bot_and_service.json", 804212102): ("non_post", "service"),
    # a member removed by an admin: counted; the chat_member update labels
    ("getupdates_bot_and_service.json", 804212103): ("moderation_action", "service"),
    ("getupdates_bot_and_service.json", 804212104): ("non_post", "service"),
    ("getupdates_bot_and_service.json", 804212105): ("non_post", "service"),
    ("getupdates_member_and_reaction.json", 804212301): ("moderation_action", None),
    ("getupdates_member_and_reaction.json", 804212302): ("non_post", "update_type"),
    ("getupdates_member_and_reaction.json", 804212303): ("non_post", "update_type"),
}


def _all() -> list[tuple[str, dict]]:
    return [(p.name, u) for p in sorted(DIR.glob("*.json")) for u in updates(p.name)]


def test_every_recorded_update_is_covered_and_none_is_dead_lettered():
    seen, dead = set(), []
    for name, update in _all():
        seen.add((name, update["update_id"]))
        try:
            run(update)
        except NotAPost:
            pass
        except MalformedPost as exc:
            dead.append((name, update["update_id"], exc.reason))
    assert dead == []
    assert seen == set(POSTS) | set(EVENTS)  # every payload has its expected result
    assert len({name for name, _ in seen}) >= 6


@pytest.mark.parametrize("key", sorted(POSTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_recorded_posts_read_as_in_the_app(key):
    name, update_id = key
    [update] = [u for u in updates(name) if u["update_id"] == update_id]
    post, _ = run(update)
    assert (post["post_id"], post["text"], post["parent_id"], post["thread_id"]) == POSTS[key]
    assert post["community"] == COMMUNITY and post["platform"] == "telegram"
    assert post["author_id"] != "unknown"


@pytest.mark.parametrize("key", sorted(EVENTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_recorded_non_posts_are_events(key):
    name, update_id = key
    [update] = [u for u in updates(name) if u["update_id"] == update_id]
    with pytest.raises(NotAPost) as event:
        run(update)
    kind, reason = EVENTS[key]
    assert event.value.kind == kind
    assert (event.value.fields.get("meta") or {}).get("reason") == reason


def test_meta_keeps_what_the_text_does_not_say():
    [first, *_] = updates("getupdates_text_reply_forum.json")
    post, _ = run(first)
    assert post["meta"]["entities"] == ["mention", "url"]
    assert post["meta"]["chat_username"] == "acmeplayers"
    assert post["url"] == "https://t.me/acmeplayers/1201"
    edit, _ = run(updates("webhook_edited_message.json")[0])
    assert edit["meta"]["edited"] is True and edit["meta"]["revision"] == 1793606700
    legacy, _ = run(updates("getupdates_legacy_api6.json")[0])
    assert legacy["meta"]["forwarded"] is True
    relay, _ = run(updates("getupdates_channel.json")[2])
    assert relay["meta"]["automatic_forward"] is True
    # the channel speaking in its discussion group is the author, not the relay account
    channel_post, _ = run(updates("getupdates_channel.json")[0])
    assert relay["author_id"] == channel_post["author_id"]
