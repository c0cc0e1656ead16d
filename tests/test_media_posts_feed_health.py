"""A channel that posts pictures is a healthy channel (issue 20).

Media-only messages used to be dead-lettered as ``empty_text``, and every dead letter
counts against a community's feed health, so a Telegram channel posting photos raised a
false "pipeline failing" incident. Here the recorded media messages go through the whole
pipeline, many times over, and the same number of truly broken payloads through it as
the control: only the broken ones may fail the feed."""

from __future__ import annotations

import json
from pathlib import Path

from streams.state import PipelineState
from tests.pipeline_kit import new_pipeline, raw_input

PAYLOADS = Path(__file__).parent / "payloads" / "telegram" / "getupdates_media_only.json"
COMMUNITY = "tg:acmeplayers"
ROUNDS = 4  # 4 x 14 updates: well past the feed-health minimum of 10 dead letters


def _media_updates() -> list[dict]:
    updates = json.loads(PAYLOADS.read_text(encoding="utf-8"))["result"]
    out = []
    for r in range(ROUNDS):  # the same messages again, as new messages a minute later
        for u in updates:
            u = json.loads(json.dumps(u))
            msg = u.get("message") or u.get("channel_post")
            msg["message_id"] += 10_000 * (r + 1)
            msg["date"] += 60 * r
            out.append(u)
    return out


def _run(payloads: list[bytes]):
    pipeline, state = new_pipeline(), PipelineState()
    pipeline.load_models()
    inputs = [raw_input(p, fmt="telegram", community=COMMUNITY, offset=i, ingested=1.8e9)
              for i, p in enumerate(payloads)]
    return pipeline.process(inputs, state)


def test_media_only_messages_are_scored_posts_and_raise_no_pipeline_incident():
    updates = _media_updates()
    out = _run([json.dumps(u).encode() for u in updates])
    assert out.dead_letters == []
    assert len(out.scored) == len(updates)
    assert all(s.post.text.strip() for s in out.scored)
    assert any("[photo]" in s.post.text for s in out.scored)
    assert [e for e in out.escalations if e.type == "pipeline"] == []


def test_the_same_number_of_broken_payloads_does_fail_the_feed():
    broken = [b'{"update_id": %d, "message": "not a message"}' % i
              for i in range(len(_media_updates()))]
    out = _run(broken)
    assert len(out.dead_letters) == len(broken)
    assert [e.type for e in out.escalations] == ["pipeline"]
