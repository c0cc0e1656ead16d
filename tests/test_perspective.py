"""Perspective's request and response shapes (models/perspective.py), no server."""

from __future__ import annotations

import pytest

from models import perspective as pv


def test_spans_are_sentences_in_utf16_code_units_whatever_the_characters():
    text = "Cafe\u0301 ☕ 👍🏽 ok! Second one 🇬🇧?\nThird"
    bounds = pv.sentences(text)
    assert [text[s:e] for s, e in bounds] == ["Cafe\u0301 ☕ 👍🏽 ok!", "Second one 🇬🇧?", "Third"]
    units = pv.utf16_offsets(text, [i for s, e in bounds for i in (s, e)])
    encoded = text.encode("utf-16-le")
    pieces = [encoded[2 * units[k]:2 * units[k + 1]].decode("utf-16-le")
              for k in range(0, len(units), 2)]
    assert pieces == [text[s:e] for s, e in bounds]
    assert units[1] - units[0] == len("Cafe\u0301 ☕ ") + 4 + len(" ok!")  # 👍🏽 = 2 + 2


def test_requests_are_read_strictly_and_refused_in_googles_words():
    req = pv.parse_analyze({"comment": {"text": "<p>a <b>b</b></p>", "type": "HTML"},
                            "requestedAttributes": {"INSULT": {"scoreThreshold": 0.5}},
                            "doNotStore": True, "communityId": "c", "clientToken": "t"})
    assert (req.text, req.attributes, req.do_not_store, req.community) == (
        "a b", {"INSULT": (None, 0.5)}, True, "c")
    bad = [{}, {"comment": {"text": 3}, "requestedAttributes": {"TOXICITY": {}}},
           {"comment": {"text": "x", "type": "MARKDOWN"}, "requestedAttributes": {"TOXICITY": {}}},
           {"comment": {"text": "x"}, "requestedAttributes": {}},
           {"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}},
           {"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV"}}},
           {"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "languages": "en"},
           {"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "doNotStore": "yes"},
           {"comment": {"text": "x" * (pv.MAX_TEXT_CHARS + 1)}, "requestedAttributes": {"TOXICITY": {}}}]
    for body in bad:
        with pytest.raises(pv.ApiError) as err:
            pv.parse_analyze(body)
        assert err.value.body()["error"]["status"] == "INVALID_ARGUMENT"
        assert err.value.code == 400


def test_the_response_leaves_out_attributes_under_their_threshold_and_echoes_the_token():
    req = pv.parse_analyze({"comment": {"text": "a. b"}, "spanAnnotations": True,
                            "clientToken": "t-1",
                            "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.5},
                                                    "PROFANITY": {}}})
    low = pv.attribute_scores(0.2, {"profanity": 0.1})
    high = pv.attribute_scores(0.9, {"profanity": 0.7})
    body = pv.analyze_response(req, low, [(0, 2, high), (3, 4, low)], ["en"])
    assert set(body["attributeScores"]) == {"PROFANITY"} and body["clientToken"] == "t-1"
    spans = body["attributeScores"]["PROFANITY"]["spanScores"]
    assert [(s["begin"], s["end"], s["score"]["value"]) for s in spans] == [(0, 2, 0.7), (3, 4, 0.1)]
    # SEVERE_TOXICITY stays low for mild toxicity and follows a severe rule
    assert pv.attribute_scores(0.6, {})["SEVERE_TOXICITY"] < 0.2
    assert pv.attribute_scores(0.6, {"self_harm": 0.9})["SEVERE_TOXICITY"] == 0.9
