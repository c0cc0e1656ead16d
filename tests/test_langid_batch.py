"""The batched language model decides exactly as py3langid's own ``rank`` does."""

from __future__ import annotations

import json
import random
import re

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from bench.corpus import make_corpus
from models.langid_batch import BatchLanguageModel
from models.language import _NOT_WORDS, LanguageDetector, UNDETERMINED, normalize_code
from tests.test_language import ENGLISH, OTHER_LANGUAGES

_LETTER = re.compile(r"[^\W\d_]")


@pytest.fixture(scope="module")
def library() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _texts() -> list[str]:
    rng = random.Random(5)
    pieces = list(OTHER_LANGUAGES.values()) + ENGLISH
    words = " ".join(pieces).split()
    texts = [json.loads(v)["text"] for v in make_corpus(400, seed=9)[0]]
    texts += pieces + [p.upper() for p in pieces] + ["", "!!!", "😂😂", "12345 678", "x"]
    for _ in range(400):  # languages mixed, capitals, emoji and odd bytes, 1-300 words
        mixed = [rng.choice(words) for _ in range(rng.randint(1, 300))]
        if rng.random() < 0.3:
            odd = rng.choice(["😂", "\u0301", "\ufeff", "ǅ", "ß"])
            mixed.insert(rng.randrange(len(mixed) + 1), odd)
        texts.append(" ".join(mixed))
    return texts


def test_first_language_and_english_probability_equal_the_librarys(library):
    texts = _texts()
    got = BatchLanguageModel(library).first_and_english(texts)
    expected = []
    for t in texts:
        ranked = library.rank(t)
        expected.append((ranked[0][0], next(p for code, p in ranked if code == "en")))
    assert [i for i, (g, e) in enumerate(zip(got, expected)) if g != e] == []
    assert len({first for first, _ in got}) >= 7  # the texts really span languages


def test_a_batch_decides_each_post_as_if_alone(library):
    texts = _texts()[:200]
    model = BatchLanguageModel(library)
    assert model.first_and_english(texts) == [model.first_and_english([t])[0] for t in texts]


def test_the_detector_keeps_its_rule(library):
    """Platform code first; too few letters undetermined; English first, or another
    language only when English's probability is at most 0.02: the rule of issue 20,
    written here against the library directly."""
    texts = _texts()
    rng = random.Random(3)
    given = [rng.choice([None, None, None, "es", "und", "pt-BR"]) for _ in texts]

    def rule(text, platform):
        if normalize_code(platform):
            return normalize_code(platform)
        cleaned = _NOT_WORDS.sub(" ", text)
        if len(_LETTER.findall(cleaned)) < 12:
            return UNDETERMINED
        ranked = library.rank(cleaned)
        english = next(p for code, p in ranked if code == "en")
        return "en" if ranked[0][0] == "en" else (ranked[0][0] if english <= 0.02 else UNDETERMINED)

    expected = [rule(t, g) for t, g in zip(texts, given)]
    assert LanguageDetector().languages(texts, given) == expected
    assert {"en", UNDETERMINED, "es", "de"} <= set(expected)
