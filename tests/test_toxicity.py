"""Toxicity and sentiment scorers on realistic community text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.sentiment import SentimentScorer
from models.toxicity import LexicalToxicityScorer, ToxicityResult

THRESHOLD = 0.8  # Settings.toxicity_threshold default

TOXIC = {
    "shut up you fucking idiot": "fucking",
    "you are a worthless piece of shit": "shit",
    "go fuck yourself, moron": "fuck",
    "this guy is a stupid asshole": "asshole",
    "nobody cares what you think you dumb bitch": "bitch",
}
CLEAN = [
    "The killer feature of this patch is the new map editor",
    "this update is sick, the new skins look great",
    "shoot me a message if you want to team up tonight",
    "thanks for the help, see you at the meetup",
    "servers are down again after patch 2.3, any ETA?",
    "gg everyone, that raid was a blast",
]


@pytest.fixture(scope="module")
def scorer() -> LexicalToxicityScorer:
    return LexicalToxicityScorer().load()


@pytest.fixture(scope="module")
def scores(scorer) -> dict[str, ToxicityResult]:
    texts = list(TOXIC) + CLEAN
    return dict(zip(texts, scorer.score_batch(texts)))


def test_threshold_separates_clear_cases(scores):
    for text in TOXIC:
        assert scores[text].toxicity >= THRESHOLD, text
    for text in CLEAN:
        assert scores[text].toxicity < THRESHOLD, text
    assert min(scores[t].toxicity for t in TOXIC) > max(scores[t].toxicity for t in CLEAN)


@pytest.mark.parametrize("text,term", list(TOXIC.items()))
def test_explanation_names_profane_term(scores, text, term):
    result = scores[text]
    assert term in result.terms
    assert all(t in text.lower() for t in result.terms)
    assert any(term in line for line in result.explanation())
    assert result.explanation()[0].startswith(f"profanity-check p={result.toxicity:.2f}")
    assert 0.0 <= result.toxicity <= 1.0
    assert result.categories == {"profanity": result.toxicity}


def test_max_terms_respected(scorer):
    limited = LexicalToxicityScorer(max_terms=1)
    limited._vectorizer, limited._model = scorer._vectorizer, scorer._model
    limited._coef, limited._vocab = scorer._coef, scorer._vocab
    (r,) = limited.score_batch(["shut up you fucking idiot"])
    assert len(r.terms) == 1


def test_batch_order_and_empty(scorer):
    assert scorer.score_batch([]) == []
    fwd = scorer.score_batch([CLEAN[0], "shut up you fucking idiot"])
    rev = scorer.score_batch(["shut up you fucking idiot", CLEAN[0]])
    assert fwd[0].toxicity == pytest.approx(rev[1].toxicity)
    assert fwd[1].toxicity == pytest.approx(rev[0].toxicity)


def test_no_weights_at_construction_or_import():
    s = LexicalToxicityScorer()
    assert s._model is None
    assert s.score_batch([]) == [] and s._model is None  # an empty batch loads nothing
    code = "import sys, models.toxicity; print('profanity_check' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], check=True)
    assert out.stdout.strip() == "False"


def test_load_is_idempotent(scorer):
    model = scorer._model
    assert scorer.load() is scorer and scorer._model is model


@pytest.mark.parametrize("praise,complaint", [
    ("best update ever, thank you devs!", "this update is broken and terrible"),
    ("love the new map, great work everyone", "worst patch ever, I hate these crashes"),
])
def test_sentiment_praise_above_complaint(praise, complaint):
    p, c = SentimentScorer().score_batch([praise, complaint])
    assert p > 0.3 > c
    assert -1.0 <= c < 0 < p <= 1.0


def test_sentiment_batch_shapes():
    s = SentimentScorer()
    assert s.score_batch([]) == []
    assert s.score_batch(["the patch is out"]) == [0.0]
