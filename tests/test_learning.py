"""The online learning pieces: learner, combiner, thresholds, the composite model,
feedback outcomes and checkpoints. No broker; MiniLM only where it is the subject."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from agents.steps import Steps
from config.settings import Settings
from models.embeddings import SentenceEmbedder
from models.thresholds import AdaptiveThreshold
from models.toxicity_model import CommunityPolicy, ToxicityModel
from streams.records import ModerationFeedback

T = "2026-11-02T08:00:00Z"


def raw(pid: str, text: str, community: str = "r/x", author: str = "someone", **meta) -> bytes:
    return json.dumps({"platform": "reddit", "community": community, "id": pid, "author": author,
                       "text": text, "created_at": T, "meta": meta}).encode()


@pytest.fixture
def steps() -> Steps:
    return Steps(Settings.load(env={}, embeddings=False))


def scored(steps: Steps, *payloads: bytes):
    posts = [steps.normalize(p, fmt="vigil", ingested_ts=0, now=2e9) for p in payloads]
    return steps.score_batch(posts)


def test_severe_categories_take_the_safety_route(steps):
    threat, doxx, insult = scored(
        steps, raw("1", "I know where you live and I will find you"),
        raw("2", "his number is +44 20 7946 0958 and email jo.bloggs@example.com, go get him"),
        raw("3", "you are a pathetic loser"))
    assert threat.decision == "safety" and "threat" in threat.severe
    assert doxx.decision == "safety" and "personal_data" in doxx.severe
    assert insult.decision == "escalate" and not insult.severe
    assert any("threat" in line for line in threat.explanation)


def test_exempt_roles_are_never_escalated(steps):
    (mod,) = scored(steps, raw("1", "shut up you fucking idiot", author_roles=["moderator"]))
    assert mod.decision == "none" and mod.exempt
    assert "exempt" in mod.explanation[-1]


def test_feedback_outcomes(steps):
    (post,) = scored(steps, raw("p1", "that riff is fucking brutal"))
    fb = dict(community="r/x", action="none", moderator_id="m", time=T)
    assert steps.learn_feedback(ModerationFeedback(post_id="p1", label="not_toxic", **fb))[0] == "learned"
    assert steps.learn_feedback(ModerationFeedback(post_id="zz", label="toxic", **fb)) == ("no_features", None)
    outcome, before = steps.learn_feedback(ModerationFeedback(
        post_id="zz", label="toxic", text="you absolute moron", **fb))
    assert outcome == "learned" and 0 <= before <= 1  # rebuilt from the text it carried
    assert steps.learn_feedback(ModerationFeedback(post_id="p1", label="spam?", **fb))[0] \
        == "not_for_toxicity"
    # a trend verdict for a trend this worker never classified
    assert steps.learn_feedback(ModerationFeedback(post_id="p1", label="real", **fb))[0] \
        == "no_features"
    assert steps.toxicity.labels_learned == 2


def test_labels_move_only_their_community_and_survive_a_snapshot():
    model = ToxicityModel(policy_for=lambda c: CommunityPolicy()).load()
    banter = "this drummer is a fucking beast"
    first = model.score_batch([banter, banter], ["r/metal", "r/chess"])
    assert first[0].flagged and first[1].flagged
    for _ in range(25):
        model.learn(first[0].evidence, "r/metal", toxic=False)
    after = model.score_batch([banter, banter], ["r/metal", "r/chess"])
    assert not after[0].flagged and after[1].flagged
    assert after[0].threshold > first[0].threshold  # precision fell: threshold rose

    restored = ToxicityModel(policy_for=lambda c: CommunityPolicy()).load()
    restored.restore(pickle.loads(pickle.dumps(model.snapshot())))
    again = restored.score_batch([banter, banter], ["r/metal", "r/chess"])
    assert [s.toxicity for s in again] == [s.toxicity for s in after]
    with pytest.raises(ValueError, match="checkpoint"):
        restored.restore({**model.snapshot(), "version": "vigil-tox-1"})


def test_threshold_falls_when_precision_is_high_and_toxic_posts_are_missed():
    t = AdaptiveThreshold(threshold=0.8, target_precision=0.8)
    for _ in range(5):
        t.observe(0.9, toxic=True)  # flagged and right: precision stays high
    t.observe(0.6, toxic=True)  # missed
    assert t.threshold < 0.8


def test_checkpoint_is_atomic_and_carries_offsets(tmp_path, steps):
    from agents.feedback import read_checkpoint, write_checkpoint

    path = tmp_path / "models" / "toxicity.ckpt"
    assert read_checkpoint(path) is None
    write_checkpoint(path, steps.toxicity.snapshot(), {0: 12, 3: 7})
    snap = read_checkpoint(path)
    assert snap["feedback_offsets"] == {0: 12, 3: 7} and snap["version"] == steps.toxicity.version
    assert not path.with_suffix(".tmp").exists()


def test_minilm_embeddings_are_semantic_and_cached():
    emb = SentenceEmbedder(cache_size=10)
    texts = ["the servers are down again", "cannot log in, the server is offline",
             "I love the new map design", "the servers are down again"]
    v = emb.embed(texts)
    assert v.shape == (4, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2  # outage posts sit together, praise apart
    assert np.array_equal(v[0], v[3])
    emb.embed(["the servers are down again"])
    assert emb.cache_hits >= 1


def test_on_call_verdicts_teach_the_trend_classifier_and_are_checkpointed(steps, tmp_path):
    """A trend marked false_alarm lowers confidence for similar trends; the classifier
    travels in the checkpoint with the toxicity model."""
    from agents.feedback import read_checkpoint, write_checkpoint
    from models.bursts import BurstSignal
    from models.community_watch import WatchState

    texts = tuple(f"servers down again, cannot log in #{i}" for i in range(20))

    def trend(window_start: float):
        sig = BurstSignal(state="rising", kind="threat", severity="medium",
                          window_start=window_start, window_end=window_start + 600, volume=20,
                          baseline=3.0, zscore=9.0, growth_rate=6.0, sentiment=-0.5,
                          toxicity_share=0.0, first_seen=window_start + 60,
                          top_terms=("servers", "down", "login"), exemplars=(), sample=texts)
        (post,) = [steps.normalize(raw(f"t{window_start}", texts[0]), fmt="vigil",
                                   ingested_ts=0, now=2e9)]
        steps.watcher.observe = lambda *a, **k: [("volume", sig)]  # this signal, as if detected
        return steps.detect(WatchState(), steps.score_batch([post])[0])[0]

    first = trend(1793606400.0)
    assert first.category == "outage"
    fb = dict(post_id="-", community=first.community, action="none", moderator_id="m", time=T)
    for k in range(12):
        t = trend(1793606400.0 + 3600 * (k + 1))
        assert steps.learn_feedback(ModerationFeedback(label="false_alarm", trend_id=t.trend_id,
                                                       **fb))[0] == "learned"
    later = trend(1793606400.0 + 86400)
    assert later.confidence < first.confidence
    assert steps.learn_feedback(ModerationFeedback(label="real", trend_id="unknown", **fb)) \
        == ("no_features", None)

    path = tmp_path / "toxicity.ckpt"
    write_checkpoint(path, steps.learning_snapshot(), {0: 1})
    fresh = Steps(Settings.load(env={}, embeddings=False))
    fresh.restore_learning(read_checkpoint(path))
    assert fresh.classifier.n_labels == steps.classifier.n_labels == 12


class _Growing:
    """Pickles only on the third try, like a dict another thread is adding to."""
    calls = 0

    def __getstate__(self):
        _Growing.calls += 1
        if _Growing.calls < 3:
            raise RuntimeError("dictionary changed size during iteration")
        return {"ok": True}


class _Always:
    def __getstate__(self):
        raise RuntimeError("dictionary changed size during iteration")


def test_checkpoint_retries_a_model_that_changed_while_pickled(tmp_path, steps):
    """The trend classifier is read on the event loop while the inference thread pickles
    it; a dict that grows under the pickler raises RuntimeError, which must not lose the
    checkpoint."""
    from agents.feedback import read_checkpoint, write_checkpoint

    path = tmp_path / "models" / "toxicity.ckpt"
    write_checkpoint(path, {**steps.toxicity.snapshot(), "trend_classifier": _Growing()}, {0: 1})
    assert _Growing.calls == 3
    assert read_checkpoint(path)["trend_classifier"].__dict__ == {"ok": True}
    with pytest.raises(RuntimeError):
        write_checkpoint(path, {"trend_classifier": _Always()}, {0: 2})
    assert read_checkpoint(path)["feedback_offsets"] == {0: 1}  # the old one is intact
