"""Trends through the real broker: a complaint burst is one threat incident that later
resolves; a praise burst in another community is an opportunity."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest

from streams.schemas import schema_for
from tests.conftest import as_json, produce, read_topic, start_worker, stop_worker

pytestmark = pytest.mark.integration

T0 = 1793606400  # 08:00 UTC
CHAT = ["anyone up for ranked tonight", "what deck are you running", "nice clip from yesterday",
        "how do I unlock the second act", "patch notes when", "gg to my team earlier"]
OUTAGE = ["servers are down again, cannot log in", "game crashes on launch after the patch",
          "login broken, error 503 every time", "still can't connect, servers offline",
          "crash on startup since the update, so frustrating"]
PRAISE = ["the new map is amazing, thank you devs", "best update ever, love it",
          "this event is awesome, great work", "love the new soundtrack, gorgeous"]


def stream(community: str, burst: list[str], burst_at_min: int, rng: random.Random):
    """3 hours of ordinary chat (~4 posts / 10 min), a 40-post burst, then chat again."""
    posts, n = [], 0
    for minute in range(0, 180, 2):
        if rng.random() < 0.8:
            posts.append((T0 + minute * 60 + rng.randint(0, 59), rng.choice(CHAT)))
    for i in range(40):
        posts.append((T0 + burst_at_min * 60 + i * 12, f"{rng.choice(burst)} #{i}"))
    for t, text in sorted(posts):
        n += 1
        yield {"platform": "discord", "community": community, "id": f"{community}-{n}",
               "author": f"user{rng.randint(1, 400)}", "text": text, "created_at": t}


def test_complaint_burst_is_one_threat_incident_and_praise_an_opportunity(broker, tmp_path):
    rng = random.Random(4)
    items = [(p["community"].encode(), json.dumps(p).encode(), {"vigil-platform": "discord"})
             for community, burst in (("g/support", OUTAGE), ("g/general", PRAISE))
             for p in stream(community, burst, 120, rng)]
    worker = start_worker(broker, tmp_path, VIGIL_EMBEDDINGS="false")
    try:
        produce(broker.bootstrap, items)
        msgs = read_topic(broker.bootstrap, "escalations", timeout_s=90, until=lambda ms: sum(
            as_json(m)["type"] == "trend" and as_json(m)["status"] == "resolved" for m in ms) >= 2)
        trends = read_topic(broker.bootstrap, "signals.trends", timeout_s=10,
                            until=lambda ms: len(ms) >= 4)
        scored = read_topic(broker.bootstrap, "posts.scored", timeout_s=30,
                            until=lambda ms: len(ms) >= len(items))
        changelog = read_topic(broker.bootstrap, "vigil-burst-state-changelog", timeout_s=10,
                               until=lambda ms: len({m.key for m in ms}) >= 2)
    finally:
        stop_worker(worker)
    # detect writes a community's state once per batch, to the partition its posts are on
    # (a restart on another worker recovers it from there)
    home = {m.key.decode(): m.partition for m in scored}
    entries = [m for m in changelog if not json.loads(m.key).startswith("__vigil_")]
    assert {(json.loads(m.key), m.partition) for m in entries} == set(home.items())
    assert len(entries) < len(items)
    # each batch's writes end with a lone marker on every partition written (Tansu's end
    # offsets count only a last batch's first record)
    assert {m.partition for m in changelog if json.loads(m.key) == "__vigil_sync__"} \
        == set(home.values())
    validator = jsonschema.Draft202012Validator(schema_for("escalations"))
    by_community: dict[str, list] = {}
    for m in msgs:
        e = as_json(m)
        validator.validate(e)
        if e["type"] == "trend":
            by_community.setdefault(e["community"], []).append(e)
    for community, kind in (("g/support", "threat"), ("g/general", "opportunity")):
        incident = by_community[community]
        assert len({e["dedup_key"] for e in incident}) == 1  # one incident, not a flood
        statuses = [e["status"] for e in incident]
        assert statuses[0] == "triggered" and statuses[-1] == "resolved"
        assert statuses.count("triggered") == 1 and statuses.count("resolved") == 1
        assert {e["evidence"]["kind"] for e in incident} == {kind}
    support = [as_json(m) for m in trends if as_json(m)["community"] == "g/support"]
    assert support[0]["category"] == "outage" and support[0]["reasons"]
