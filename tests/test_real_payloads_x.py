"""X payloads in the shapes X API v2 sends (filtered-stream lines, recent-search answers)
and in API v1.1's older shapes (``tests/payloads/x/SOURCES.md``), split into one payload per tweet as ``connectors.x``
does, through the normaliser: the text a person reads, ids that link across edits."""

from __future__ import annotations

import pytest

from models.parsers.x_tweet import tweet_payload
from tests.recorded_payloads import check, cited, dead_letters, files, load, outcome

KEY = "x:fallback"

#: file -> what each tweet in it must become (in the file's order), read off the payload
EXPECTED = {
    "stream_line_reply.json": [
        {"kind": "post", "community": "x:acme", "post_id": "2117130040000000101",
         "thread_id": "2117130040000000100", "parent_id": "2117130040000000100",
         # entities unescaped, the t.co address dropped (kept in meta.urls)
         "text": "@acmegames Patch 1.2 deleted my saves & the support page says <nothing> useful:",
         "meta.urls": ["https://support.acmegames.test/saves"], "lang": "en"}],
    "search_recent_edit_and_reply.json": [
        # the second revision of an edited reply: carried under its original id
        {"kind": "post", "community": "x:acme", "post_id": "2117130040000000201",
         "thread_id": "2117130040000000200", "parent_id": "2117130040000000200",
         "meta.edited": True, "meta.revision": "2117130040000000203",
         "url": "https://x.com/acmegames/status/2117130040000000203"},
        # a reply to that revision points at the id the edited post is carried under
        {"kind": "post", "post_id": "2117130040000000202", "parent_id": "2117130040000000201",
         "thread_id": "2117130040000000200", "text": "@acmegames so 1.2.1 when? >:("}],
    "stream_line_media_only.json": [
        {"kind": "post", "post_id": "2117130040000000301", "text": "[photo] [photo]",
         "lang": None, "meta.media": ["photo", "photo"], "meta.urls": []}],
    "stream_line_long_post.json": [
        {"kind": "post", "post_id": "2117130040000000401", "meta.long_post": True,
         "text": "Thread on why the 1.2 economy changes are a mistake & what Acme should do "
                 "instead. First, crafting costs tripled while drop rates stayed the same, so "
                 "every player who does not buy boosts falls behind within a week. Second, the "
                 "trading post tax now eats 30% of every sale. Third, the patch notes never "
                 "mentioned either change. Details:",
         "meta.urls": ["https://forum.acmegames.test/t/economy-1-2"]}],
    "stream_line_retweet.json": [
        {"kind": "non_post", "post_id": "2117130040000000501", "community": "x:acme",
         "meta.kind": "retweet", "meta.retweeted_id": "2117130040000000500"}],
    "search_recent_quote_video.json": [
        {"kind": "post", "post_id": "2117130040000000601", "parent_id": None,
         "text": 'this is what "fixed" looks like 🙄 [video]',
         "meta.quoted_id": "2117130040000000600", "meta.media": ["video"]}],
    # API v1.1 recordings (the connector reads v2; these come from replaying older files)
    "v1_1_statuses_show_extended.json": [
        {"kind": "post", "community": KEY, "post_id": "763351000000000001",
         "parent_id": "763340000000000001", "thread_id": None, "created_at": "2016-08-10T12:00:00Z",
         "text": "@acmegames servers down again & no word from you >:( [photo] [photo]",
         "url": "https://x.com/old_player_test/status/763351000000000001"}],
    "v1_1_stream_extended_tweet.json": [
        {"kind": "post", "post_id": "971660000000000001", "thread_id": "971660000000000001",
         "parent_id": None, "meta.long_post": True, "meta.quoted_id": "971650000000000001",
         "text": "Long thread on the Acme ranked changes: matchmaking now ignores party size, so "
                 "solo players keep meeting five-stacks, and the new decay rules punish anyone who "
                 "takes a week off. Acme, please revert both & talk to players first.",
         "meta.urls": ["https://twitter.com/acmegames/status/971650000000000001"]}],
    "v1_1_user_timeline.json": [
        {"kind": "non_post", "post_id": "926460000000000002", "meta.kind": "retweet",
         "meta.retweeted_id": "926440000000000001"},
        {"kind": "post", "post_id": "926470000000000003", "text": "🔥🔥🔥", "lang": None}],
}


def payloads(name: str) -> list[dict]:
    """The file as the connector produces it: a stream line is one tweet; a search
    answer's tweets each get the answer's includes and the rule searched for."""
    obj = load("x", name)
    if isinstance(obj, list):  # a v1.1 timeline: an array of tweet objects
        return obj
    if "data" not in obj:  # one v1.1 tweet object
        return [obj]
    if isinstance(obj["data"], list):
        return [tweet_payload(t, obj.get("includes"), [{"tag": "acme"}]) for t in obj["data"]]
    return [tweet_payload(obj["data"], obj.get("includes"), obj.get("matching_rules"))]


def test_every_payload_file_is_cited_and_expected():
    assert len(files("x")) >= 4
    assert cited("x") == []
    assert sorted(EXPECTED) == files("x")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_x_payloads_read_as_expected(name):
    got = payloads(name)
    assert len(got) == len(EXPECTED[name]), name
    for i, (payload, want) in enumerate(zip(got, EXPECTED[name])):
        check(outcome(payload, "x", KEY), want, f"{name}[{i}]")


def test_no_recorded_x_payload_is_dead_lettered():
    every = [p for name in files("x") for p in payloads(name)]
    assert len(every) >= 11 and dead_letters(every, "x", KEY) == []
