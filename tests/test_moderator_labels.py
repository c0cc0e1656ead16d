"""Moderators' own actions on the platforms become labels (issue 16): through
:meth:`Pipeline.process` with each platform's payloads as its connector produces them,
no broker. Only a moderator's action teaches; an author's deletion, an automatic filter
or a spam verdict does not; a repeated delivery teaches once; a timeout or ban labels
what that member wrote just before, and nothing else."""

from __future__ import annotations

import json
import time

from jsonschema import Draft202012Validator

from models.parsers.twitch import parse_irc
from streams.events import Input
from streams.schemas import schema_for
from streams.state import PipelineState
from tests.pipeline_kit import new_pipeline, raw_input

NOW = time.time()


def twitch(line: str) -> bytes:
    return json.dumps(parse_irc(line)).encode()


def privmsg(mid: str, uid: str, text: str, t: float, channel: str = "acme") -> bytes:
    return twitch(f"@id={mid};user-id={uid};tmi-sent-ts={int(t * 1000)} "
                  f":u{uid}!u{uid}@u{uid}.tmi.twitch.tv PRIVMSG #{channel} :{text}")


def run(pipeline, state, *payloads: tuple[bytes, str, str]):
    """(payload, format, community) in order; returns the Outputs."""
    return pipeline.process([raw_input(v, fmt=f, community=c, offset=i)
                             for i, (v, f, c) in enumerate(payloads)], state)


def learn(pipeline, state, labels):
    return pipeline.process([Input("moderation.feedback", fb.dumps(), fb.community.encode())
                             for fb in labels], state).learned


def test_twitch_clearmsg_labels_that_message_with_its_text_and_is_learnt_once():
    p, st = new_pipeline(), PipelineState()
    out = run(p, st, (privmsg("m1", "42", "nice stream", NOW - 30), "twitch", "acme"),
              (twitch(f"@login=u42;room-id=;target-msg-id=m1;tmi-sent-ts={int(NOW * 1000)} "
                      ":tmi.twitch.tv CLEARMSG #acme :nice stream"), "twitch", "acme"))
    assert len(out.scored) == 1 and out.moderator_actions == [("twitch", "remove", "moderator")]
    [fb] = out.labels
    assert (fb.post_id, fb.community, fb.label, fb.action, fb.source, fb.text) == (
        "m1", "acme", "toxic", "remove", "twitch:clearmsg", "nice stream")
    assert fb.moderator_id == "unknown" and fb.idempotency_key
    Draft202012Validator(schema_for("moderation.feedback")).validate(json.loads(fb.dumps()))
    first, again = learn(p, st, [fb]), learn(p, st, [fb])
    assert [x.outcome for x in first] == ["learned"]
    assert [x.outcome for x in again] == ["duplicate"]


def test_twitch_timeout_labels_that_members_recent_messages_only():
    p, st = new_pipeline(), PipelineState()
    window = p.settings.moderator_label_window_s
    out = run(p, st,
              (privmsg("old", "42", "from long ago", NOW - window - 60), "twitch", "acme"),
              (privmsg("a", "42", "you are all clowns", NOW - 40), "twitch", "acme"),
              (privmsg("b", "7", "hello everyone", NOW - 35), "twitch", "acme"),
              (privmsg("c", "42", "clowns, the lot", NOW - 20), "twitch", "acme"),
              (privmsg("d", "42", "same user elsewhere", NOW - 20, "other"), "twitch", "other"),
              (twitch(f"@ban-duration=600;room-id=1;target-user-id=42;tmi-sent-ts={int(NOW * 1000)}"
                      " :tmi.twitch.tv CLEARCHAT #acme :u42"), "twitch", "acme"))
    assert sorted((fb.post_id, fb.label, fb.action) for fb in out.labels) == [
        ("a", "toxic", "timeout"), ("c", "toxic", "timeout")]
    # the whole chat cleared names nobody: nothing to learn
    cleared = run(p, st, (twitch(f"@room-id=1;tmi-sent-ts={int(NOW * 1000)} "
                                 ":tmi.twitch.tv CLEARCHAT #acme"), "twitch", "acme"))
    assert cleared.labels == [] and cleared.moderator_actions == [("twitch", "other", "moderator")]


def reddit_item(name: str, body: str, t: float, **extra) -> bytes:
    return json.dumps({"kind": "t1", "data": {
        "name": name, "body": body, "author": "sam", "created_utc": t, "link_id": "t3_p",
        "parent_id": "t3_p", "subreddit_name_prefixed": "r/acme", **extra}}).encode()


def modlog(action: str, target: str, mod: str, t: float, ident: str) -> bytes:
    return json.dumps({"kind": "modaction", "data": {
        "id": ident, "action": action, "mod": mod, "mod_id36": "k" + mod,
        "created_utc": t, "subreddit_name_prefixed": "r/acme", "target_fullname": target,
        "target_author": "sam", "target_body": "you clown"}}).encode()


def test_reddit_moderator_removal_and_reapproval_but_not_automoderator_or_author():
    p, st = new_pipeline(), PipelineState()
    out = run(p, st, (reddit_item("t1_a", "you clown", NOW - 100), "reddit", "r/acme"),
              (modlog("removecomment", "t1_a", "ana_mod", NOW - 50, "ModAction_1"), "reddit", "r/acme"),
              (modlog("removecomment", "t1_a", "AutoModerator", NOW - 49, "ModAction_2"), "reddit", "r/acme"),
              (reddit_item("t1_b", "[deleted]", NOW - 40, removed_by_category="deleted"), "reddit", "r/acme"),
              (reddit_item("t1_c", "rude words", NOW - 30, removed_by_category="moderator"), "reddit", "r/acme"),
              (reddit_item("t1_d", "spammy", NOW - 30, removed_by_category="automod_filtered"), "reddit", "r/acme"),
              (modlog("approvecomment", "t1_a", "ana_mod", NOW - 10, "ModAction_3"), "reddit", "r/acme"))
    assert [(fb.post_id, fb.label, fb.source) for fb in out.labels] == [
        ("t1_a", "toxic", "reddit:modlog"), ("t1_c", "toxic", "reddit:removed_by_category"),
        ("t1_a", "not_toxic", "reddit:modlog")]
    assert out.labels[0].text == "you clown" and out.labels[1].text == "rude words"
    assert out.labels[0].moderator_id != "unknown"  # a pseudonym, never the name
    assert "ana_mod" not in out.labels[0].dumps().decode()
    assert ("reddit", "remove", "automatic") in out.moderator_actions
    assert "deletion" in [kind for _, kind in out.platform_events]  # the author's own: counted
    # the re-approval replaces the removal in the learner (keyed by post)
    learned = learn(p, st, out.labels)
    assert [x.outcome for x in learned] == ["learned"] * 3


def discourse_post(pid: int, raw: str, **extra) -> bytes:
    return json.dumps({"post": {"id": pid, "user_id": 4, "username": "sam", "raw": raw,
                                "topic_id": 9, "post_number": 2,
                                "created_at": "2026-11-02T08:00:00Z", **extra}}).encode()


def flag(event: str, pid: int, flag_type: str, ident: int) -> bytes:
    return json.dumps({"discourse_event": event, "flag": {
        "id": ident, "flag_type": flag_type, "created_by": "reporter", "resolved_by": "staff1",
        "resolved_at": "2026-11-02T09:00:00Z",
        "post": {"id": pid, "user_id": 4, "raw": "text of the flagged post"}}}).encode()


def test_discourse_staff_deletion_and_flag_verdicts_but_not_the_authors_deletion():
    p, st = new_pipeline(), PipelineState()
    gone = {"deleted_at": "2026-11-02T09:00:00Z"}
    out = run(p, st,
              (discourse_post(1, "mind your tone", **gone, deleted_by={"id": 1, "username": "staff"}),
               "discourse", "forum"),
              (discourse_post(2, "oops wrong thread", **gone, user_deleted=True), "discourse", "forum"),
              (discourse_post(3, "my own", **gone, deleted_by={"id": 4, "username": "sam"}),
               "discourse", "forum"),
              (flag("flag_agreed", 5, "inappropriate", 70), "discourse", "forum"),
              (flag("flag_disagreed", 6, "inappropriate", 71), "discourse", "forum"),
              (flag("flag_agreed", 7, "spam", 72), "discourse", "forum"))
    assert [(fb.post_id, fb.label, fb.source) for fb in out.labels] == [
        ("9/2", "toxic", "discourse:post_destroyed"), ("5", "toxic", "discourse:flag_agreed"),
        ("6", "not_toxic", "discourse:flag_disagreed")]
    assert [kind for _, kind in out.platform_events].count("deletion") == 2


def snowflake(t: float, n: int = 0) -> str:
    """A Discord id made at time ``t`` (its creation time is in the id)."""
    return str(((int(t * 1000) - 1420070400000) << 22) + n)


def discord(t: str, d: dict) -> bytes:
    return json.dumps({"t": t, "d": d}).encode()


def discord_msg(mid: str, uid: str, text: str) -> bytes:
    return discord("MESSAGE_CREATE", {"id": mid, "channel_id": "12", "guild_id": "11",
                                      "content": text, "author": {"id": uid, "username": "u"}})


def test_discord_automod_keyword_rule_and_audit_log_deletion_of_a_members_message():
    p, st = new_pipeline(), PipelineState()
    c = "discord:11/12"
    automod = {"guild_id": "11", "rule_id": "77", "rule_trigger_type": 1, "user_id": "9",
               "channel_id": "12", "content": "buy my scam coin", "matched_keyword": "scam"}
    first, second, other = snowflake(NOW - 60), snowflake(NOW - 50), snowflake(NOW - 40)
    out = run(p, st, (discord_msg(first, "9", "first"), "discord", c),
              (discord_msg(second, "9", "second, rude"), "discord", c),
              (discord_msg(other, "8", "someone else"), "discord", c),
              (discord("MESSAGE_DELETE", {"id": second, "channel_id": "12",
                                          "guild_id": "11"}), "discord", c),
              (discord("GUILD_AUDIT_LOG_ENTRY_CREATE", {
                  "id": snowflake(NOW - 49), "guild_id": "11", "action_type": 72,
                  "user_id": "1", "target_id": "9", "options": {"channel_id": "12", "count": "1"}}),
               "discord", c),
              # one rule execution, two actions (block, alert): one label key
              (discord("AUTO_MODERATION_ACTION_EXECUTION", {**automod, "action": {"type": 1}}),
               "discord", c),
              (discord("AUTO_MODERATION_ACTION_EXECUTION", {**automod, "action": {"type": 2}}),
               "discord", c),
              (discord("AUTO_MODERATION_ACTION_EXECUTION", {
                  **automod, "rule_trigger_type": 5, "action": {"type": 1}}), "discord", c))
    removed = [fb for fb in out.labels if fb.source == "discord:audit_remove"]
    assert [(fb.post_id, fb.text) for fb in removed] == [(second, "second, rude")]
    automod_labels = [fb for fb in out.labels if fb.source == "discord:automod"]
    assert len(automod_labels) == 2 and len({fb.idempotency_key for fb in automod_labels}) == 1
    assert automod_labels[0].text == "buy my scam coin"
    assert ("discord", "remove", "automatic") in out.moderator_actions  # mention spam rule
    assert [x.outcome for x in learn(p, st, automod_labels)] == ["learned", "duplicate"]


def test_replay_learns_moderators_labels_as_the_worker_does(tmp_path):
    from agents.replay import replay_inputs

    rows = [raw_input(privmsg(f"m{i}", "42", "you are all clowns", NOW - 60 + i), fmt="twitch",
                      community="acme", offset=i) for i in range(3)]
    rows.append(raw_input(twitch(f"@ban-duration=60;room-id=1;target-user-id=42;"
                                 f"tmi-sent-ts={int(NOW * 1000)} :tmi.twitch.tv CLEARCHAT #acme :u42"),
                          fmt="twitch", community="acme", offset=3))
    summary = replay_inputs(new_pipeline().settings, rows, tmp_path, source="test")
    assert summary["moderator_labels"] == 3 and summary["labels_learned"] == 3
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert {x["post_id"] for x in labels} == {"m0", "m1", "m2"}
