"""Reddit payloads in the shapes Reddit's API answers (Listings of ``t3``/``t1`` items,
the moderation log, ``/about/edited``, and an older answer;
``tests/payloads/reddit/SOURCES.md``), one payload per Listing child as
``connectors.reddit`` produces them, through the normaliser: Markdown with escaped
entities read as words, fullnames linking replies, ``r/<subreddit>`` from the item."""

from __future__ import annotations

import pytest

from tests.recorded_payloads import check, cited, dead_letters, files, load, outcome

KEY = "r/feed_key"  # the message key: never the community when the item names its own
SUB, POST = "r/acmegames", "t3_1gqz001"

#: file -> what each Listing child must become (in the file's order), read off the payload
EXPECTED = {
    "listing_new_posts.json": [
        {"kind": "post", "community": SUB, "post_id": POST, "thread_id": POST, "parent_id": None,
         "text": "Saves gone after 1.2 & support is silent\n\n"
                 "Patch 1.2 notes say:\nThey are not. Lost 40h & counting. See the thread",
         "url": "https://www.reddit.com/r/acmegames/comments/1gqz001/"
                "saves_gone_after_12_support_is_silent/"},
        {"kind": "post", "post_id": "t3_1gqz002", "text": "Acme responds to the save bug",
         "meta.link_url": "https://news.acme.test/save-bug"},
        {"kind": "post", "post_id": "t3_1gqz003",
         "text": "My base before the patch wiped it\n\n[image]"},
        {"kind": "post", "post_id": "t3_1gqz004",
         "text": "Three bugs in one screenshot set\n\n[image] [image] [image]"}],
    "listing_comments.json": [
        {"kind": "post", "post_id": "t1_lx0002", "thread_id": POST, "parent_id": POST,
         "community": SUB, "text": "Same here. Try verify files, it worked for me >_<"},
        # the quoted line is the other person's words: left out
        {"kind": "post", "post_id": "t1_lx0003", "thread_id": POST, "parent_id": "t1_lx0002",
         "text": "Did that twice, you clown. Still broken.", "meta.edited": True,
         "meta.revision": 1793607300.0},
        {"kind": "non_post", "post_id": "t1_lx0004", "meta.reason": "bot"},  # AutoModerator
        {"kind": "post", "post_id": "t1_lx0005", "parent_id": "t1_lx0003",
         "meta.distinguished": "moderator", "text": "Please keep it civil. Rule 1: no insults."}],
    "listing_comments_2016_no_prefixed.json": [
        {"kind": "post", "community": SUB, "post_id": "t1_d6acm01", "thread_id": "t3_4xacm1",
         "parent_id": "t3_4xacm1", "text": "Day one buyer here & the servers were fine in beta.",
         "url": "https://www.reddit.com/r/acmegames/comments/4xacm1/_/d6acm01/",
         "created_at": "2016-08-12T11:20:00Z"},
        {"kind": "post", "community": SUB, "post_id": "t3_4xacm2", "thread_id": "t3_4xacm2",
         "text": "Launch day megathread"}],
    "listing_deleted_removed.json": [
        {"kind": "deletion", "post_id": "t1_lx0006", "community": SUB},
        {"kind": "moderation_action", "post_id": "t1_lx0007"},
        {"kind": "moderation_action", "post_id": "t3_1gqz009"}],
    "about_log_modactions.json": [
        {"kind": "moderation_action", "community": SUB,
         "post_id": "ModAction_00000000-acme-0000-0000-000000000001"},
        {"kind": "moderation_action", "post_id": "ModAction_00000000-acme-0000-0000-000000000002"},
        {"kind": "moderation_action", "post_id": "ModAction_00000000-acme-0000-0000-000000000003"}],
    "about_edited.json": [
        {"kind": "post", "post_id": POST, "thread_id": POST, "meta.edited": True,
         "meta.revision": 1793700000.0,
         "text": "Saves gone after 1.2 & support is silent\n\n"
                 "Edit: 1.2.1 fixed it for me.\nNever buying again."}],
}
#: (action, by, post_ids) of the moderation events, file by file
ACTIONS = {
    "listing_deleted_removed.json": [None, ("remove", "unknown", ["t1_lx0007"]),
                                     ("remove", "moderator", ["t3_1gqz009"])],
    "about_log_modactions.json": [("remove", "moderator", ["t1_lx0003"]), ("ban", "moderator", []),
                                  ("remove", "automatic", ["t3_1gqz009"])],
}


def payloads(name: str) -> list[dict]:
    return load("reddit", name)["data"]["children"]


def test_every_payload_file_is_cited_and_expected():
    assert len(files("reddit")) >= 4
    assert cited("reddit") == []
    assert sorted(EXPECTED) == files("reddit")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_reddit_payloads_read_as_expected(name):
    got = payloads(name)
    assert len(got) == len(EXPECTED[name]), name
    for i, (payload, want) in enumerate(zip(got, EXPECTED[name])):
        check(outcome(payload, "reddit", KEY), want, f"{name}[{i}]")


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_recorded_removals_say_who_removed_what(name):
    for payload, want in zip(payloads(name), ACTIONS[name]):
        m = outcome(payload, "reddit", KEY).get("moderation")
        assert (m and (m["action"], m["by"], m["post_ids"])) == want or (m is None is want)


def test_no_recorded_reddit_payload_is_dead_lettered():
    every = [p for name in files("reddit") for p in payloads(name)]
    assert len(every) >= 15 and dead_letters(every, "reddit", KEY) == []
