"""Language awareness (issue 20): every scored post carries its language, and a post the
English-only scorers cannot read is marked, counted and put before a person, never passed
silently as clean. The sentences are ours."""

from __future__ import annotations

import json

import pytest

from agents import recording
from models.language import LanguageDetector, is_supported, normalize_code
from models.review_queue import ReviewQueue
from streams import metrics
from streams.events import Outputs
from tests.pipeline_kit import new_pipeline, normalize

OTHER_LANGUAGES = {
    "de": "Ihr seid alle komplette Idioten und dieses Forum ist der letzte Dreck",
    "es": "Sois todos unos idiotas y este foro es una basura, largaos de aquí",
    "fr": "Vous êtes tous des imbéciles et ce forum est une poubelle, dégagez",
    "it": "Siete tutti degli idioti e questo forum è spazzatura, andatevene via",
    "pt": "Vocês são todos uns idiotas e este fórum é um lixo, vão embora daqui",
    "ru": "Вы все идиоты, и этот форум полная помойка, убирайтесь отсюда",
    "ja": "お前らは全員バカだ。このフォーラムはゴミだから出て行け。",
}
ENGLISH = [
    "You are all complete idiots and this forum is garbage, get out of here",
    "thanks for the patch notes, see you all at the meetup on Saturday",
    "the new update broke my save file again, can someone from support help",
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    d = LanguageDetector()
    d.load()
    return d


@pytest.mark.parametrize("lang", sorted(OTHER_LANGUAGES))
def test_other_languages_are_detected_and_not_supported(detector, lang):
    found = detector.language(OTHER_LANGUAGES[lang])
    assert found == lang
    assert not is_supported(found)


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_english(detector, text):
    assert detector.language(text) == "en"


@pytest.mark.parametrize("text", ["gg ez", "lol", "😂😂😂", "@mod #help https://x.test/a"])
def test_too_little_to_tell_is_undetermined_and_scored_as_english(detector, text):
    assert detector.language(text) == "und"
    assert is_supported("und")


def test_links_mentions_and_hashtags_are_not_words_of_any_language(detector):
    text = "@acme_support #Überraschung https://beispiel.de/seite you broke the servers again"
    assert detector.language(text) == "en"


def test_the_platform_says_first_unless_it_says_no_language(detector):
    assert detector.language(ENGLISH[0], given="de") == "de"
    assert detector.language(OTHER_LANGUAGES["es"], given="und") == "es"  # X's "unsure"
    assert detector.language(OTHER_LANGUAGES["es"], given="qme") == "es"  # X's "media only"
    assert normalize_code("zh-Hans") == "zh" and normalize_code("es-419") == "es"


def _post(pid: str, text: str, lang=None) -> bytes:
    body = {"platform": "reddit", "community": "r/multilingual", "id": pid, "author": "a1",
            "text": text, "created_at": "2026-11-02T08:00:00Z"}
    if lang:
        body["lang"] = lang
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def scored():
    pipeline = new_pipeline()
    pipeline.load_models()
    posts = [normalize(pipeline, _post("de1", OTHER_LANGUAGES["de"]), now=1.8e9),
             normalize(pipeline, _post("en1", ENGLISH[0]), now=1.8e9),
             normalize(pipeline, _post("short", "lol ok"), now=1.8e9),
             normalize(pipeline, _post("given", ENGLISH[1], lang="pt-BR"), now=1.8e9)]
    return {s.post.post_id: s for s in pipeline.score.score(posts)}


def test_a_post_the_scorers_cannot_read_is_marked_with_why(scored):
    de = scored["de1"]
    assert (de.lang, de.lang_supported) == ("de", False)
    assert any("language de" in e and "lower bound" in e for e in de.explanation)
    en = scored["en1"]
    assert (en.lang, en.lang_supported) == ("en", True)
    assert not any(e.startswith("language ") for e in en.explanation)
    assert (scored["short"].lang, scored["short"].lang_supported) == ("und", True)
    assert (scored["given"].lang, scored["given"].lang_supported) == ("pt", False)


def test_it_goes_to_the_review_queue_however_low_its_score(scored):
    queue = ReviewQueue(band=0.25)
    de = scored["de1"].asdict()
    assert de["toxicity"] < de["threshold"] - 0.25  # under-scored: the point of the mark
    assert queue.add(de)
    item = queue.items("r/multilingual")[0]
    assert (item["post_id"], item["lang"], item["lang_supported"]) == ("de1", "de", False)
    assert not queue.add(scored["short"].asdict())  # low and readable: not queued


def _sample(name: str, labels: dict) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_posts_are_counted_by_language_and_unreadable_ones_stay_out_of_sentiment(scored):
    before_de = _sample("vigil_posts_language_total", {"language": "de", "supported": "false"})
    before_en = _sample("vigil_posts_language_total", {"language": "en", "supported": "true"})
    before_sent = _sample("vigil_sentiment_compound_count", {"community": "r/multilingual"})
    out = Outputs()
    out.scored.extend(scored.values())
    recording.record([], out)
    assert _sample("vigil_posts_language_total",
                   {"language": "de", "supported": "false"}) == before_de + 1
    assert _sample("vigil_posts_language_total",
                   {"language": "en", "supported": "true"}) == before_en + 1
    # the two readable posts (en, und) observed; the German and the Portuguese one are
    # not averaged in as "neutral"
    assert _sample("vigil_sentiment_compound_count",
                   {"community": "r/multilingual"}) == before_sent + 2


def test_language_label_is_bounded():
    assert metrics.language_label("de") == "de"
    assert metrics.language_label("und") == "und"
    for odd in ("pcm", "DE", "x-klingon", None, "🙂"):
        assert metrics.language_label(odd) == "other"
