"""YouTube payloads in the shapes the Data API v3 answers (``commentThreads.list``,
``comments.list``; ``tests/payloads/youtube/SOURCES.md``), turned into payloads by the
connector's own code (``YouTubeSource._raw``, and ``HeldQueue._outcome`` for a held
comment looked up by id), through the normaliser: text as a person reads it when only
the HTML ``textDisplay`` came, replies linked to the top-level comment."""

from __future__ import annotations

import json

import pytest

from connectors.youtube import YouTubeSource
from connectors.youtube_held import HeldQueue
from tests.recorded_payloads import check, cited, dead_letters, files, load, outcome

KEY = "youtube:acme"
TOP1, TOP2, HELD = "UgxTopLevelAcme0001AaABAg", "UgzNoOriginalAcme0002AaABAg", "UgyHeldAcme0003AaABAg"

#: file -> what each comment in it must become (in the file's order), read off the payload
EXPECTED = {
    "commentThreads_list_html.json": [
        {"kind": "post", "community": KEY, "post_id": TOP1, "thread_id": TOP1, "parent_id": None,
         "text": "Patch 1.2 & my saves are gone. 1:35 shows it\nFix it!",
         "url": f"https://www.youtube.com/watch?v=acmeVid0001&lc={TOP1}",
         "meta.by_channel_owner": False, "meta.edited": False},
        # the channel's owner answering: a post, marked
        {"kind": "post", "post_id": f"{TOP1}.9zReplyOwner01", "thread_id": TOP1, "parent_id": TOP1,
         "text": "We're on it: 1.2.1 ships Friday.", "meta.by_channel_owner": True},
        {"kind": "post", "post_id": f"{TOP1}.9zReplyViewer2", "parent_id": TOP1,
         "text": "@viewer_one_test same here <3"}],
    "commentThreads_list_no_text_original.json": [
        # textOriginal empty: textDisplay's HTML read as words; updatedAt later: an edit
        {"kind": "post", "post_id": TOP2, "thread_id": TOP2,
         "text": 'It\'s "fixed", they said.\nGuide: guide.acme.test still broken',
         "meta.edited": True, "meta.revision": "2026-11-03T10:20:00Z"},
        {"kind": "post", "post_id": f"{TOP2}.9zReplyNoOrig", "thread_id": TOP2, "parent_id": TOP2,
         "text": "> still broken\nworks for me on 1.2.1"}],
    "comments_list_replies.json": [
        {"kind": "post", "post_id": f"{TOP1}.9zReplyEdited3", "thread_id": TOP1, "parent_id": TOP1,
         "text": "edit: it was my mods, sorry Acme", "meta.edited": True,
         "meta.revision": "2026-11-02T09:45:00Z"}],
    "commentThreads_list_held_for_review.json": [
        # the spam filter's guess and a held comment are the authors' posts, not verdicts
        {"kind": "post", "post_id": HELD, "meta.moderation_status": "likelySpam",
         "text": "free skins at skins-acme.test !!!"},
        {"kind": "post", "post_id": f"{HELD}.9zHeldReply4", "parent_id": HELD,
         "meta.moderation_status": "heldForReview", "text": "you are all clowns"}],
    "comments_list_by_id_outcomes.json": [
        {"kind": "moderation_action", "post_id": f"moderation:{HELD}.9zHeldReply4:rejected"},
        {"kind": "moderation_action", "post_id": "moderation:UgyHeldAcme0009AaABAg:approved"}],
}
#: what the moderator's verdicts say (checked beside EXPECTED: nested fields)
VERDICTS = [("remove", [f"{HELD}.9zHeldReply4"], "you are all clowns"),
            ("approve", ["UgyHeldAcme0009AaABAg"], "fair point, the patch notes were late")]


def payloads(name: str) -> list[bytes]:
    answer = load("youtube", name)
    if answer["kind"] == "youtube#commentThreadListResponse":
        return [YouTubeSource._raw(c, t["snippet"], KEY)[0].payload for t in answer["items"]
                for c in [t["snippet"]["topLevelComment"], *t.get("replies", {}).get("comments", [])]]
    if "by_id" in name:  # the owner's lookup of comments once held (connectors.youtube_held)
        queue = HeldQueue.__new__(HeldQueue)
        queue._texts = {}
        return [queue._outcome(c["id"], [None, KEY, "acmeVid0001", None], c)[1].payload
                for c in answer["items"]]
    return [YouTubeSource._raw(c, {}, KEY)[0].payload for c in answer["items"]]


def test_every_payload_file_is_cited_and_expected():
    assert len(files("youtube")) >= 4
    assert cited("youtube") == []
    assert sorted(EXPECTED) == files("youtube")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_youtube_payloads_read_as_expected(name):
    got = payloads(name)
    assert len(got) == len(EXPECTED[name]), name
    for i, (payload, want) in enumerate(zip(got, EXPECTED[name])):
        check(outcome(payload, "youtube", KEY), want, f"{name}[{i}]")


def test_held_comments_looked_up_read_as_the_moderators_verdicts():
    got = [outcome(p, "youtube", KEY)["moderation"]
           for p in payloads("comments_list_by_id_outcomes.json")]
    assert [(m["action"], m["post_ids"], m["text"]) for m in got] == VERDICTS
    assert {m["by"] for m in got} == {"moderator"}


def test_a_reply_without_parent_id_is_linked_by_its_own_id():
    reply = json.loads(payloads("comments_list_replies.json")[0])
    del reply["snippet"]["parentId"]
    got = outcome(reply, "youtube", KEY)
    assert (got["parent_id"], got["thread_id"]) == (TOP1, TOP1)


def test_no_recorded_youtube_payload_is_dead_lettered():
    every = [p for name in files("youtube") for p in payloads(name)]
    assert len(every) >= 9 and dead_letters(every, "youtube", KEY) == []
