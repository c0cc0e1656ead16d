"""DedupWindow: event-time expiry, the max_keys bound, platforms kept apart."""

from __future__ import annotations

from models.dedup import DedupWindow


def test_duplicate_within_window():
    d = DedupWindow(window_s=60, max_keys=100)
    assert d.seen("reddit", "1", 1000.0) is False
    assert d.seen("reddit", "1", 1059.0) is True
    assert len(d) == 1


def test_expiry_follows_event_time_not_calls():
    d = DedupWindow(window_s=60, max_keys=100)
    d.seen("reddit", "1", 1000.0)
    for i in range(50):  # many calls, but event time stays inside the window
        d.seen("reddit", f"x{i}", 1000.0 + i)
    assert d.seen("reddit", "1", 1050.0) is True
    d.seen("reddit", "late", 1061.0)  # watermark moves past 1000 + 60: "1" is evicted
    assert d.seen("reddit", "1", 1061.0) is False


def test_key_exactly_at_horizon_kept():
    d = DedupWindow(window_s=60, max_keys=100)
    d.seen("reddit", "1", 1000.0)
    d.seen("reddit", "2", 1060.0)
    assert d.seen("reddit", "1", 1060.0) is True


def test_out_of_order_event_does_not_rewind_watermark():
    d = DedupWindow(window_s=60, max_keys=100)
    d.seen("reddit", "new", 2000.0)
    assert d.seen("reddit", "old", 1000.0) is False  # late post: recorded, not a duplicate
    assert d.seen("reddit", "new", 1001.0) is True


def test_max_keys_evicts_oldest():
    d = DedupWindow(window_s=1e9, max_keys=3)
    for i in range(5):
        assert d.seen("reddit", str(i), float(i)) is False
    assert len(d) == 3
    assert d.seen("reddit", "4", 5.0) is True
    assert d.seen("reddit", "0", 5.0) is False  # evicted by the bound, so seen as new


def test_platforms_are_separate():
    d = DedupWindow(window_s=60, max_keys=100)
    assert d.seen("reddit", "42", 0.0) is False
    assert d.seen("discord", "42", 1.0) is False
    assert d.seen("reddit", "42", 2.0) is True
    assert d.seen("discord", "42", 3.0) is True
    assert len(d) == 2
