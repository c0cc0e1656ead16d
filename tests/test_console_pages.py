"""The console's pages as HTML, no server: what an incident page shows, and that nothing
a community member wrote can become markup."""

from __future__ import annotations

from agents.console import pages
from agents.console.auth import User
from models.incident_board import IncidentBoard

BASE = {"dedup_key": "k", "status": "triggered", "severity": "high", "community": "r/a",
        "platform": "reddit", "title": "t", "summary": "s", "recommended_action": "r",
        "runbook_url": "https://runbook", "first_seen": "a", "last_seen": "b",
        "occurrence_count": 2, "created_at": "2026-11-02T09:00:00Z", "id": "e1"}


def test_a_moderation_incident_shows_its_posts_as_scored_and_the_authors_record():
    board = IncidentBoard()
    inc = board.apply({**BASE, "type": "moderation", "evidence": {
        "post_ids": ["p2"], "snippets": ["<script>alert(1)</script> you clown"],
        "author_id": "a_1", "history_post_ids": ["p1"], "terms": ["clown"]}})
    seen = {("r/a", "p2"): {"text": "x", "toxicity": 0.91, "threshold": 0.8, "created_at": "c2",
                            "explanation": ['insult: "you clown" (rule insult:clown)']},
            ("r/a", "p1"): {"text": "earlier insult", "created_at": "c1"}}
    html = pages.incident_page(User("m", "moderator", ("r/a",)), "tok", inc, seen)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "score 0.91 (community threshold 0.80)" in html and "rule insult:clown" in html
    assert "earlier insult" in html and 'data-verb="ack"' in html
    viewer = pages.incident_page(User("v", "viewer"), "tok", inc, seen)
    assert 'data-verb=' not in viewer  # a viewer gets no buttons


def test_a_trend_incident_draws_volume_and_sentiment_over_time():
    board = IncidentBoard()
    inc = board.apply({**BASE, "type": "trend", "evidence": {
        "trend_id": "tr1", "volume": 40, "baseline": 3.0, "sentiment": -0.4, "top_terms": ["refund"]}})
    html = pages.incident_page(User("m", "admin"), "tok", inc, {},
                               [("09:00", 5, -0.1), ("09:10", 40, -0.6)])
    assert "<svg" in html and html.count("<rect") == 2 and "<polyline" in html
    assert 'data-verb="real"' in html and 'data-verb="resolve"' not in html


def test_the_list_row_carries_what_on_call_needs_at_a_glance():
    board = IncidentBoard()
    board.apply({**BASE, "type": "moderation", "evidence": {}})
    board.apply({**BASE, "id": "e2", "status": "acknowledged", "type": "moderation",
                 "evidence": {"acknowledged_by": "p_sam"}})
    row = pages.rows(board.list())
    for text in ("t", "s", "Recommended: r", 'href="https://runbook"', "a → b", "×2", "p_sam",
                 "acknowledged", "r/a", "reddit", "moderation"):
        assert text in row, text
