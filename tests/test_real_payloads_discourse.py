"""Discourse API answers and webhook bodies in the shape Discourse sends them
(tests/payloads/discourse, each file's source in SOURCES.md), through the normaliser as
the connector produces them: a ``/posts.json`` item marked with the forum's base URL as
the poller does, a webhook body through :class:`DiscourseWebhookSource` (headers
included), a ``/t/{id}.json`` post-stream post as it is.

The expected values were written by reading the payloads, not by running the parser:
text as a reader sees it (Markdown, inline HTML and quotes reduced; an image-only post
``[image]``), every post and event about a post identified as
``<topic_id>/<post_number>`` so a reply's parent_id names its parent's post_id.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.discourse import DiscourseWebhookSource
from models.normalize import MalformedPost, NormalizeLimits, Normalizer, NotAPost
from models.pseudonym import Pseudonymizer

DIR = Path(__file__).parent / "payloads" / "discourse"
NOW = 1793700000.0
BASE = "https://forum.acme.test"
COMMUNITY = "forum.acme.test"
T = "https://forum.acme.test/t/saves-lost-after-patch-1-2/77"


def produce(name: str) -> list[bytes]:
    """What the connector produces from a recorded file, in order."""
    obj = json.loads((DIR / name).read_text(encoding="utf-8"))
    if "latest_posts" in obj:  # the poller marks each item with its base_url
        return [json.dumps({"discourse_instance": BASE, **p}).encode() for p in obj["latest_posts"]]
    if "post_stream" in obj:
        return [json.dumps(p).encode() for p in obj["post_stream"]["posts"]]
    hook = DiscourseWebhookSource("recorded", sink=None, secret=b"s")
    body = json.dumps(obj["body"]).encode()
    return [p.payload for p in hook.posts(obj["headers"], body)]


def run(payload: bytes):
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits())
    return n.normalize(payload, fmt="discourse", now=NOW, community=COMMUNITY)


#: (file, index) -> (post_id, text, parent_id, thread_id, url)
POSTS = {
    ("posts_json_latest.json", 0): (
        "77/5", "We have a fix in 1.2.1, rolling out today.\n"
        "Workaround: disable cloud sync no longer needed", "77/2", "77", f"{T}/5"),
    ("posts_json_latest.json", 1): (
        "77/4", "Crash dump attached: [attachment: crash_2026-11-02.dmp] (1.2 MB)", None, "77",
        f"{T}/4"),
    ("posts_json_latest.json", 2): ("77/3", "[image]", "77/2", "77", f"{T}/3"),
    # the quote is mira's words, not ole's; <kbd> and the link read as their text
    ("posts_json_latest.json", 3): (
        "77/2", "Same here. Alt+F4 during autosave is the trigger, see the wiki.", "77/1", "77",
        f"{T}/2"),
    ("posts_json_latest.json", 4): (
        "77/1", "Saves lost after patch 1.2\n\nSince 1.2 my saves vanish after quitting. "
        "Anyone else? :confused:", None, "77", f"{T}/1"),
    ("webhook_post_created.json", 0): (
        "77/6", "@ole thanks, that worked :+1:", "77/2", "77", f"{T}/6"),
    ("webhook_post_edited.json", 0): (
        "77/6", "@ole thanks, that worked on 1.2.1 :+1:", "77/2", "77", f"{T}/6"),
    # cooked only: the onebox (another site's words) is left out; no base URL, no url
    ("topic_77_post_stream.json", 2): ("77/11", "Patch notes:", None, "77", None),
    ("topic_77_post_stream.json", 3): ("77/12", "[image]", "77/11", "77", None),
    ("posts_json_legacy_2x.json", 1): (
        "40/3", "Works for me on Linux :penguin:", None, "40",
        "https://forum.acme.test/t/old-topic/40/3"),
}

#: (file, index) -> (event kind, post_id, meta.reason or None, moderation post_ids)
EVENTS = {
    ("webhook_post_destroyed_by_staff.json", 0): ("moderation_action", "77/7", None, ["77/7"]),
    ("webhook_flag_agreed.json", 0): ("moderation_action", "flag:311", None, ["77/8"]),
    ("topic_77_post_stream.json", 0): ("non_post", "77/9", "small_action", None),
    ("topic_77_post_stream.json", 1): ("non_post", "77/10", "whisper", None),
    ("posts_json_legacy_2x.json", 0): ("deletion", "40/4", None, None),  # withdrawn by author
}


def test_every_recorded_payload_is_covered_and_none_is_dead_lettered():
    seen, dead = set(), []
    for path in sorted(DIR.glob("*.json")):
        for i, payload in enumerate(produce(path.name)):
            seen.add((path.name, i))
            try:
                run(payload)
            except NotAPost:
                pass
            except MalformedPost as exc:
                dead.append((path.name, i, exc.reason))
    assert dead == []
    assert seen == set(POSTS) | set(EVENTS)
    assert len({name for name, _ in seen}) >= 6


@pytest.mark.parametrize("key", sorted(POSTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_recorded_posts_read_as_on_the_forum(key):
    post, _ = run(produce(key[0])[key[1]])
    got = (post["post_id"], post["text"], post["parent_id"], post["thread_id"], post["url"])
    assert got == POSTS[key]
    assert post["community"] == COMMUNITY and post["author_id"] != "unknown"


@pytest.mark.parametrize("key", sorted(EVENTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_recorded_non_posts_are_events_with_the_same_ids(key):
    with pytest.raises(NotAPost) as event:
        run(produce(key[0])[key[1]])
    kind, post_id, reason, post_ids = EVENTS[key]
    fields = event.value.fields
    assert (event.value.kind, fields["post_id"]) == (kind, post_id)
    assert (fields.get("meta") or {}).get("reason") == reason
    if post_ids is not None:
        assert fields["moderation"]["post_ids"] == post_ids
        assert fields["moderation"]["by"] == "moderator"


def test_an_edit_keeps_the_ids_and_says_its_revision():
    created, _ = run(produce("webhook_post_created.json")[0])
    edited, _ = run(produce("webhook_post_edited.json")[0])
    assert [edited[k] for k in ("post_id", "parent_id", "thread_id")] == [
        created[k] for k in ("post_id", "parent_id", "thread_id")]
    assert edited["meta"]["revision"] == 2 and created["meta"]["revision"] is None
    assert edited["meta"]["id"] == created["meta"]["id"] == 906
    # staff's removal teaches with the words as they were read
    with pytest.raises(NotAPost) as removal:
        run(produce("webhook_post_destroyed_by_staff.json")[0])
    assert removal.value.fields["moderation"]["text"] == "you are all clowns, uninstalling"
