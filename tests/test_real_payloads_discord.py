"""Discord Gateway dispatches and REST message objects in the shape Discord sends them
(tests/payloads/discord, each file's source in SOURCES.md), through the normaliser as
the connector produces them: ``{"t", "d"}``, plus ``parent_channel_id`` for a message
in a thread the connector learnt from THREAD_CREATE (mirrored here by :func:`produce`);
a REST message object alone reads as a MESSAGE_CREATE.

The expected values were written by reading the payloads, not by running the parser:
mentions as the client shows them (``@user``, ``#channel``, ``:rage:``; no id as a
word), a message without words as its embed, forward or files, bots and system messages
as events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.pseudonym import Pseudonymizer

DIR = Path(__file__).parent / "payloads" / "discord"
NOW = 1793700000.0
COMMUNITY = "acme-discord/#general"
THREAD = "1300000000000000009"


def mid(n: int) -> str:
    return str(1400000000000000000 + n)


def produce(name: str) -> list[dict]:
    """What the connector produces from a recorded file, in order."""
    frames = json.loads((DIR / name).read_text(encoding="utf-8"))
    parents, out = {}, []
    for frame in frames:
        if "op" not in frame:  # a REST message object, produced as it is
            out.append(frame)
        elif frame["t"] == "THREAD_CREATE":  # learnt, not produced
            parents[frame["d"]["id"]] = frame["d"]["parent_id"]
        else:
            parent = parents.get(frame["d"].get("channel_id"))
            out.append({"t": frame["t"], "d": frame["d"],
                        **({"parent_channel_id": parent} if parent else {})})
    return out


def run(payload: dict):
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(json.dumps(payload).encode(), fmt="discord", now=NOW, community=COMMUNITY)


#: (file, index of what is produced) -> (post_id, text, parent_id, thread_id)
POSTS = {
    ("gateway_messages.json", 0): (
        mid(1), "@user the patch broke #channel again :rage: ping @role", None, None),
    ("gateway_messages.json", 1): (mid(2), "same here, since 2026-11-02 08:00 UTC", mid(1), None),
    ("gateway_messages.json", 2): (mid(3), "Known issues\n\nSaves lost after 1.2: fix coming",
                                   None, None),
    ("gateway_messages.json", 3): (mid(4), "[sticker: facepalm]", None, None),
    ("gateway_messages.json", 4): (mid(5), "here's what I get [attachment: crash.png]", None, None),
    # forwards: the forwarded message's words or files; a forward is no reply
    ("gateway_forward_snapshot.json", 0): (mid(6), "[attachment: meme.jpg]", None, None),
    ("gateway_forward_snapshot.json", 1): (mid(7), "servers restart at 10:00 UTC :ok:", None, None),
    ("gateway_thread.json", 1): (mid(9), "repro: load slot 2, quit, load again", None, THREAD),
    ("gateway_thread.json", 2): (mid(10), "thanks, confirmed", mid(9), THREAD),
    # an edit: the same id, the new words
    ("gateway_updates_deletes.json", 0): (
        mid(5), "here's what I get on 1.2.1 [attachment: crash.png]", None, None),
    ("rest_channel_messages_v6.json", 0): (
        "700000000000000001", "@user stop spamming :angry:", None, None),
    ("rest_channel_messages_v6.json", 1): ("700000000000000002", "[attachment: clip.mp4]",
                                           None, None),
}

#: (file, index) -> (event kind, post_id, meta.reason or None)
EVENTS = {
    ("gateway_thread.json", 0): ("non_post", mid(8), "system"),  # "started a thread"
    # an embed resolved after the fact (partial, no content) and a link unfurled: no edit
    ("gateway_updates_deletes.json", 1): ("non_post", mid(5), "not_edited"),
    ("gateway_updates_deletes.json", 2): ("non_post", mid(1), "not_edited"),
    ("gateway_updates_deletes.json", 3): ("deletion", mid(4), None),
    ("gateway_updates_deletes.json", 4): ("moderation_action", mid(2), None),
    ("gateway_bots_system.json", 0): ("non_post", mid(11), "bot"),
    ("gateway_bots_system.json", 1): ("non_post", mid(12), "bot"),  # a webhook
    ("gateway_bots_system.json", 2): ("non_post", mid(13), "system"),  # a join
    ("gateway_bots_system.json", 3): ("non_post", mid(14), "system"),  # a pin
    ("gateway_bots_system.json", 4): ("non_post", mid(15), "system"),  # a slash command's answer
    ("gateway_moderation.json", 0): ("moderation_action", "automod:2300000000000000001:", None),
    ("gateway_moderation.json", 1): ("moderation_action", "audit:2400000000000000001", None),
    ("gateway_moderation.json", 2): ("moderation_action", "audit:2400000000000000002", None),
}


def _all() -> list[tuple[str, int, dict]]:
    return [(p.name, i, payload) for p in sorted(DIR.glob("*.json"))
            for i, payload in enumerate(produce(p.name))]


def test_every_recorded_payload_is_covered_and_none_is_dead_lettered():
    seen, dead = set(), []
    for name, i, payload in _all():
        seen.add((name, i))
        try:
            run(payload)
        except NotAPost:
            pass
        except MalformedPost as exc:
            dead.append((name, i, exc.reason))
    assert dead == []
    assert seen == set(POSTS) | set(EVENTS)
    assert len({name for name, _ in seen}) >= 6


@pytest.mark.parametrize("key", sorted(POSTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_recorded_messages_read_as_in_the_client(key):
    post, _ = run(produce(key[0])[key[1]])
    assert (post["post_id"], post["text"], post["parent_id"], post["thread_id"]) == POSTS[key]
    assert post["community"] == COMMUNITY and post["author_id"] != "unknown"
    assert "2000000000000000002" not in post["text"]  # a mentioned member's id is no word


@pytest.mark.parametrize("key", sorted(EVENTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_recorded_non_posts_are_events(key):
    with pytest.raises(NotAPost) as event:
        run(produce(key[0])[key[1]])
    kind, post_id, reason = EVENTS[key]
    assert event.value.kind == kind
    assert str(event.value.fields["post_id"]).startswith(post_id)
    assert (event.value.fields.get("meta") or {}).get("reason") == reason


def test_meta_says_forward_edit_and_where_the_words_came_from():
    forward, _ = run(produce("gateway_forward_snapshot.json")[0])
    assert forward["meta"]["forwarded"] is True and forward["meta"]["text_from"] == "forward"
    edit, _ = run(produce("gateway_updates_deletes.json")[0])
    assert edit["meta"]["edited"] is True
    assert edit["meta"]["revision"] == "2026-11-02T08:20:00.000000+00:00"
    original, _ = run(produce("gateway_messages.json")[4])
    assert edit["created_at"] == original["created_at"]  # an edit is dated as the post
    embed, _ = run(produce("gateway_messages.json")[2])
    assert embed["meta"]["text_from"] == "embed"
    in_thread, _ = run(produce("gateway_thread.json")[1])
    assert in_thread["meta"]["parent_channel_id"] == "1200000000000000001"
