"""Twitch chat as Twitch IRC sends it (logs of raw lines in the shapes documented for
PRIVMSG, USERNOTICE, CLEARCHAT, CLEARMSG and the session's notices;
``tests/payloads/twitch/SOURCES.md``), rendered by ``parse_irc`` and kept or skipped as
``connectors.twitch`` does, through the normaliser: a notice carrying what its user
typed is a post, ``/me`` reads as its words, escaped tag values decoded."""

from __future__ import annotations

import json

import pytest

from connectors.twitch import PRODUCED
from models.parsers.twitch import parse_irc
from tests.recorded_payloads import check, cited, dead_letters, files, load, outcome

KEY = "twitch:#acmegames"
M, N = "0b6f1a2e-1c1d-4c55-9a51-3f0e5b7a000", "7c2e9d10-5b4a-4f1e-8a3c-2d1b0e9f000"
J = "5d3c2b1a-0f9e-4d8c-b7a6-95f4e3d2c00"
SKIPPED = {"kind": "skipped"}  # a line the connector reads but does not produce

#: file -> what each line must become (in the file's order), read off the log
EXPECTED = {
    "privmsg_chat.irc": [
        {"kind": "post", "community": KEY, "post_id": f"{M}1", "thread_id": None, "parent_id": None,
         "text": "Kappa that boss fight was rigged Kappa",  # emotes are how chat speaks
         "meta.emotes": {"25": [[0, 4], [33, 37]]}, "created_at": "2026-11-02T08:00:00Z"},
        {"kind": "post", "post_id": f"{M}2", "parent_id": f"{M}1", "thread_id": f"{M}1",
         "text": "@Viewer_One no, you just died to the second phase", "meta.first_msg": True},
        {"kind": "post", "post_id": f"{M}3", "text": "reminds everyone: be kind in chat",
         "meta.action": True, "meta.mod": True},
        {"kind": "post", "post_id": f"{M}4", "meta.bits": 250,
         "text": "Cheer250 fix the saves & I will cheer more <3"}],
    "usernotice.irc": [
        {"kind": "post", "post_id": f"{N}1", "meta.notice": "resub",
         "text": "six months and the saves still vanish, fix it"},
        {"kind": "post", "post_id": f"{N}2", "meta.notice": "announcement",
         "text": "Patch 1.2.1 is live: saves restored!"},
        {"kind": "non_post", "post_id": f"usernotice:{N}3", "meta.kind": "sub"},
        {"kind": "non_post", "post_id": f"usernotice:{N}4", "meta.kind": "raid",
         "meta.raid_viewers": 1500},
        {"kind": "post", "post_id": f"{N}5", "meta.notice": "viewermilestone",
         "text": "10 streams in a row, still no fix lol"},
        {"kind": "non_post", "post_id": f"usernotice:{N}6", "meta.kind": "subgift"}],
    "moderation.irc": [
        {"kind": "moderation_action", "meta.action": "timeout", "meta.duration_s": 600,
         "meta.target_user_id": "400000002"},
        {"kind": "moderation_action", "meta.action": "ban", "meta.target_user_id": "400000004"},
        {"kind": "moderation_action", "meta.action": "clear_chat"},
        {"kind": "moderation_action", "post_id": f"clearmsg:{M}1", "target_post_id": f"{M}1"}],
    "session_notices.irc": [SKIPPED] * 7,
    "intl_escapes_ritual.irc": [
        {"kind": "post", "post_id": f"{J}1", "text": "セーブデータが消えた、また最初から…",
         "meta.badges": {"vip": "1"}},
        {"kind": "post", "post_id": f"{J}2", "parent_id": f"{J}1", "thread_id": f"{J}1",
         "text": "@セーブ太郎 ça m'arrive aussi, même dossier"},
        {"kind": "post", "post_id": f"{J}3", "text": "PLEASE READ: rollback to 1.1 fixes saves"},
        # a new chatter's greeting: chosen and sent by its user
        {"kind": "post", "post_id": f"{J}4", "meta.notice": "ritual", "text": "HeyGuys"}],
}


def lines(name: str) -> list[dict]:
    # (read as text, the log's CRLF line ends are newlines)
    return [parse_irc(line) for line in load("twitch", name).split("\n") if line]


def outcomes(name: str) -> list[dict]:
    return [outcome(json.dumps(m, ensure_ascii=False).encode(), "twitch", KEY)
            if m["command"] in PRODUCED else SKIPPED for m in lines(name)]


def test_every_payload_file_is_cited_and_expected():
    assert len(files("twitch")) >= 4
    assert cited("twitch") == []
    assert sorted(EXPECTED) == files("twitch")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_twitch_lines_read_as_expected(name):
    got = outcomes(name)
    assert len(got) == len(EXPECTED[name]), name
    for i, (result, want) in enumerate(zip(got, EXPECTED[name])):
        check(result, want, f"{name}[{i}]")


def test_escaped_tag_values_are_decoded():
    resub = lines("usernotice.irc")[0]["tags"]
    assert resub["system-msg"] == ("Loyal_Sub subscribed at Tier 1. They've subscribed for 6 "
                                   "months, currently on a 2 month streak!")
    assert resub["msg-param-sub-plan-name"] == "Channel Subscription (acmegames)"
    assert lines("privmsg_chat.irc")[1]["tags"]["reply-parent-msg-body"] == (
        "Kappa that boss fight was rigged Kappa")
    # \: is a semicolon and \\ a backslash (IRCv3 message tags)
    assert lines("intl_escapes_ritual.irc")[1]["tags"]["reply-parent-msg-body"] == (
        "path C;\\Games\\Acme; gone")


def test_no_recorded_twitch_payload_is_dead_lettered():
    every = [json.dumps(m).encode() for name in files("twitch") for m in lines(name)
             if m["command"] in PRODUCED]
    assert len(every) >= 18 and dead_letters(every, "twitch", KEY) == []
