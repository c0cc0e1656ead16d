"""Per-topic bursts (models.topic_bursts) and how they fold with community bursts
(models.community_watch, streams/stages/detect.py) on constructed streams with known topics."""

from __future__ import annotations

import json
import random

import pytest

from config.settings import Settings
from models.community_watch import CommunityWatcher, WatchState
from models.bursts import BurstParams
from models.eventtime import to_iso
from models.spikes import ShareParams
from models.topic_bursts import TopicBurstDetector, TopicBurstParams, TopicBurstState
from streams.events import Outputs
from streams.pipeline import Pipeline
from streams.records import Post, ScoredPost
from streams.state import PipelineState

WINDOW = 600.0
T0 = 1_793_577_600.0  # 2026-11-02T00:00Z, a window boundary
CHAT = {"t0": "builds and loadouts", "t1": "ranked matchmaking", "t2": "fan art",
        "t3": "patch notes", "t4": "lore theories"}


def steady(rng: random.Random, windows: int, per_window: int = 20, start: float = T0,
           prefix: str = "c") -> list[tuple]:
    """(ts, topic, label, post_id, text, sentiment) at a steady rate over five topics."""
    out = []
    for w in range(windows):
        for i in range(per_window):
            tid = rng.choice(list(CHAT))
            out.append((start + w * WINDOW + rng.uniform(0, WINDOW), tid, CHAT[tid],
                        f"{prefix}{w}-{i}", f"talking about {CHAT[tid]}", 0.1))
    return sorted(out)


LEAK = ("t9", "leaked, datamined, skins", "the new skins got leaked, datamined files", 0.0)
REFUND = ("t9", "refund, charged, twice", "charged twice, I want a refund", -0.6)


def swap_in(posts: list[tuple], start: float, end: float, share: float, rng: random.Random,
            topic: tuple = LEAK) -> list[tuple]:
    """The same volume, but ``share`` of the posts in [start, end) are on a new topic."""
    tid, label, text, sentiment = topic
    out = []
    for ts, t, lab, pid, txt, sent in posts:
        if start <= ts < end and rng.random() < share:
            out.append((ts, tid, label, pid, text, sentiment))
        else:
            out.append((ts, t, lab, pid, txt, sent))
    return out


def run(posts, detector=None, state=None):
    detector = detector or TopicBurstDetector(TopicBurstParams())
    state = state if state is not None else TopicBurstState()
    out = []
    for ts, tid, label, pid, text, sent in posts:
        out += [(ts, s) for s in detector.observe(state, ts, tid, label, pid, text, sent, False)]
    return out, state


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_steady_mix_of_topics_is_silent_and_state_stays_small(seed):
    rng = random.Random(seed)
    signals, state = run(steady(rng, 3 * 144))  # three days
    assert signals == []
    assert set(state.prior) <= set(CHAT)  # only topics that still carry a share
    assert all(0.1 < p < 0.3 for p in state.prior.values())  # ~20% each, learnt


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_new_topic_taking_over_at_constant_volume_fires_once_on_time(seed):
    rng = random.Random(seed)
    start = T0 + 100 * WINDOW
    posts = swap_in(steady(rng, 130), start, start + 3 * WINDOW, 0.6, rng)
    signals, _ = run(posts)
    states = [(s.topic_id, s.state) for _, s in signals]
    assert states[0] == ("t9", "rising") and states[-1] == ("t9", "resolved")
    assert {t for t, _ in states} == {"t9"}
    assert all(st == "peaking" for _, st in states[1:-1])
    t_rise, rising = signals[0]
    # Within its first two windows (measured over seeds 0-9 at a 60% share: 3.5-17 min).
    assert start <= t_rise < start + 2 * WINDOW
    assert rising.window_start in (start, start + WINDOW)
    assert rising.baseline == 0.05  # never seen before: the floor
    assert rising.posts >= 8 and rising.share >= 0.3
    assert rising.exemplars and rising.label == LEAK[1]
    t_res, resolved = signals[-1]
    assert start + 3 * WINDOW <= t_res < start + 5 * WINDOW
    assert resolved.window_start == rising.window_start  # one burst, one trend


def test_an_established_topic_at_its_usual_share_is_quiet_but_fires_when_it_takes_over():
    rng = random.Random(7)
    posts = []
    for w in range(120):  # "patch notes" is always ~40% of the talk
        for i in range(20):
            tid = "t3" if rng.random() < 0.4 else rng.choice(["t0", "t1", "t2"])
            posts.append((T0 + w * WINDOW + rng.uniform(0, WINDOW), tid, CHAT[tid],
                          f"p{w}-{i}", "x", 0.0))
    quiet, state = run(sorted(posts))
    assert quiet == [] and 0.3 < state.prior["t3"] < 0.5
    surge = [(T0 + 120 * WINDOW + i * 20.0, "t3" if i % 10 else "t0", "patch notes", f"s{i}",
              "x", 0.0) for i in range(30)]  # 90% for one window, same volume
    signals, _ = run(surge, state=state)
    assert [(s.topic_id, s.state) for _, s in signals] == [("t3", "rising")]
    assert signals[0][1].baseline == pytest.approx(state.prior["t3"], abs=1e-3)


def test_a_small_community_needs_min_count_and_history():
    d = TopicBurstDetector(TopicBurstParams())
    s = TopicBurstState()
    # Five posts, all one new topic, in a community with no history: nothing.
    out = [d.observe(s, T0 + i, "t0", "x", f"p{i}", "x", 0.0, False) for i in range(5)]
    assert sum(len(x) for x in out) == 0


def test_json_round_trip_mid_burst_continues_identically():
    rng = random.Random(11)
    start = T0 + 60 * WINDOW
    posts = swap_in(steady(rng, 80), start, start + 2 * WINDOW, 0.7, rng)
    whole, _ = run(posts)
    cut = next(i for i, p in enumerate(posts) if p[0] > start + WINDOW)
    first, state = run(posts[:cut])
    restored = TopicBurstState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state and restored.active  # mid-burst
    second, _ = run(posts[cut:], state=restored)
    assert first + second == whole


# -- folding with the community's volume burst ---------------------------------------
def watcher() -> CommunityWatcher:
    return CommunityWatcher(BurstParams(), ShareParams())


def observe_all(w: CommunityWatcher, state: WatchState, posts):
    out = []
    for ts, tid, label, pid, text, sent in posts:
        out += [(ts, topic, sig) for topic, sig in
                w.observe(state, ts, pid, text, sent, False, tid, label)]
    return out


def test_a_volume_burst_on_an_established_topic_folds_the_topic_burst_into_it():
    """"patch notes" is usually ~20% of the talk; a surge doubles the volume with half of
    it on patch notes: the volume burst fires first and owns the incident; the topic's
    own burst, when it comes, is folded in."""
    rng = random.Random(5)
    start = T0 + 100 * WINDOW
    posts = steady(rng, 130)
    posts += [(start + i * 10.0, "t3" if i % 3 else "t0", CHAT["t3" if i % 3 else "t0"],
               f"b{i}", "patch notes are out", 0.2) for i in range(60)]
    w, state = watcher(), WatchState()
    out = observe_all(w, state, sorted(posts))
    alerts = [(topic, s.state) for _, topic, s in out if s.state != "emerging"]
    assert {topic for topic, _ in alerts} == {"volume"}
    assert alerts[0] == ("volume", "rising") and alerts[-1] == ("volume", "resolved")
    assert any(run["folded"] for run in state.topics.active.values()) or not state.topics.active


def test_a_new_topic_arriving_with_a_volume_surge_is_one_incident():
    rng = random.Random(5)
    start = T0 + 100 * WINDOW
    posts = steady(rng, 130)
    posts += [(start + i * 6.0, "t9", "servers, down, login", f"b{i}", "servers down again",
               -0.7) for i in range(100)]
    w, state = watcher(), WatchState()
    out = observe_all(w, state, sorted(posts))
    alerts = [(topic, s.state) for _, topic, s in out if s.state != "emerging"]
    # whichever detector saw it first owns it (here the topic, at the 8th post)
    assert [st for _, st in alerts if st == "rising"] == ["rising"]
    assert alerts[-1][1] == "resolved" and len({topic for topic, _ in alerts}) == 1


def test_a_volume_burst_on_a_running_topic_burst_is_held_back():
    rng = random.Random(6)
    start = T0 + 100 * WINDOW
    posts = swap_in(steady(rng, 130), start, start + 4 * WINDOW, 0.6, rng)
    # then, in the topic's third window, volume explodes on the same topic
    posts += [(start + 2 * WINDOW + i * 5.0, "t9", "refund, charged, twice", f"v{i}",
               "charged twice, I want a refund", -0.6) for i in range(110)]
    w, state, out, held_back = watcher(), WatchState(), [], False
    for p in sorted(posts):
        out += observe_all(w, state, [p])
        held_back |= state.volume_folded_into == "t9"
    assert held_back  # the volume burst did start, inside the topic's incident
    alerts = [(topic, s.state) for _, topic, s in out if s.state != "emerging"]
    assert alerts[0] == ("topic", "rising") and alerts[-1] == ("topic", "resolved")
    assert all(topic == "topic" for topic, _ in alerts)  # no second incident for volume
    assert state.volume_folded_into is None  # cleared when the volume burst ended


# -- through the stages: records, classification, escalation ------------------------
def scored_post(ts, tid, label, pid, text, sent) -> ScoredPost:
    post = Post(post_id=pid, platform="reddit", community="r/acmegames", author_id="a",
                text=text, created_at=to_iso(ts), ingested_at=to_iso(ts), lang="en",
                url=None, meta={})
    return ScoredPost(post=post, toxicity=0.01, sentiment=sent, model_version="test",
                      decision="none", scored_at=to_iso(ts), topic_id=tid, topic_label=label)


def replay_detect(pipeline: Pipeline, posts):
    state, trends, out = PipelineState(), [], Outputs()
    for p in posts:
        for trend in pipeline.detect.detect(scored_post(*p), state, 0):
            trends.append(trend)
            pipeline.escalate.trend(trend, state, 0, out)  # appends to out.escalations
    return trends, out.escalations


def test_stages_turn_a_topic_burst_into_one_classified_trend_escalation():
    pipeline = Pipeline(Settings.load(env={}, embeddings=False))
    rng = random.Random(8)
    start = T0 + 100 * WINDOW
    trends, escalations = replay_detect(
        pipeline, swap_in(steady(rng, 130), start, start + 3 * WINDOW, 0.6, rng))
    assert {t.topic_id for t in trends} == {"t9"}
    assert len({t.trend_id for t in trends}) == 1
    rising = trends[0]
    assert rising.state == "rising" and rising.kind == "threat" and rising.category == "leak"
    assert rising.topic_label == LEAK[1] and rising.top_terms == ["leaked", "datamined", "skins"]
    assert {t.category for t in trends} == {"leak"}  # classified once, kept to the end
    assert any("usual" in r for r in rising.reasons)
    assert trends[-1].state == "resolved"
    assert [e.status for e in escalations][0] == "triggered"
    assert [e.status for e in escalations][-1] == "resolved"
    assert len({e.dedup_key for e in escalations}) == 1
    assert escalations[0].title.startswith("Leak trend in r/acmegames")


def test_a_negative_topic_is_one_spike_incident_that_says_what_it_is_about():
    """Angry refund posts at constant volume trip the negative-share spike (it needs
    less evidence) and the refund topic's burst: one incident, named after the topic."""
    pipeline = Pipeline(Settings.load(env={}, embeddings=False))
    rng = random.Random(8)
    start = T0 + 100 * WINDOW
    trends, escalations = replay_detect(
        pipeline, swap_in(steady(rng, 130), start, start + 3 * WINDOW, 0.6, rng, REFUND))
    alerts = [t for t in trends if t.state != "emerging"]
    assert len({t.trend_id for t in alerts}) == 1
    rising = alerts[0]
    assert rising.topic_id == "negative-sentiment" and rising.category == "refund"
    assert "refund" in rising.top_terms
    assert any("one topic" in r for r in rising.reasons)
    assert [e.status for e in escalations][0] == "triggered"
    assert [e.status for e in escalations][-1] == "resolved"
    assert len({e.dedup_key for e in escalations}) == 1
    assert "mostly about refund" in escalations[0].title


def test_a_volume_burst_is_labelled_with_its_dominant_topic():
    pipeline = Pipeline(Settings.load(env={}, embeddings=False))
    rng = random.Random(9)
    start = T0 + 100 * WINDOW
    posts = steady(rng, 110)
    posts += [(start + i * 10.0, "t3" if i % 3 else "t0", CHAT["t3" if i % 3 else "t0"],
               f"b{i}", "patch notes are out", 0.2) for i in range(60)]
    trends, _ = replay_detect(pipeline, sorted(posts))
    alerts = [t for t in trends if t.state != "emerging"]
    assert {t.topic_id for t in alerts} == {"volume"}
    assert alerts[0].state == "rising" and alerts[0].topic_label == CHAT["t3"]
    assert any("one topic" in r for r in alerts[0].reasons)
