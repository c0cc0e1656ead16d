"""Normalisation of raw payloads: every dead-letter reason, and the canonical fields."""

from __future__ import annotations

import json

import pytest

from models.eventtime import EventTimeError, parse_event_time, to_iso
from models.normalize import DLQ_REASONS, MalformedPost, NormalizeLimits, Normalizer
from models.pseudonym import Pseudonymizer

NOW = parse_event_time("2026-11-02T12:00:00Z")
LIMITS = NormalizeLimits(max_payload_bytes=2048, max_text_chars=100, max_clock_skew_s=300)


def make(key: bytes = b"test-key") -> Normalizer:
    return Normalizer(Pseudonymizer(key), LIMITS)


def payload(**changes) -> dict:
    base = {"platform": "reddit", "community": "r/acmegames", "id": "rd-1", "author": "bob",
            "text": "patch notes are up", "created_at": "2026-11-02T08:00:00Z"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def enc(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


CASES = [
    ("payload_too_large", enc(payload(text="x" * 3000)), None),
    ("invalid_encoding", b"\xff\xfe{", None),
    ("invalid_json", b'{"platform": "reddit", "text": "cut', None),
    ("too_deep", b"[" * 100 + b"]" * 100, None),
    ("not_an_object", b'["a", "list"]', None),
    ("unknown_format", enc(payload()), "myspace"),
    ("missing_field", enc(payload(text=_DROP)), None),
    ("wrong_type", enc(payload(text=42)), None),
    ("empty_text", enc(payload(text="   \n\t ")), None),
    ("text_too_long", enc(payload(text="y" * 101)), None),
    ("bad_timestamp", enc(payload(created_at="yesterday-ish")), None),
    ("future_timestamp", enc(payload(created_at=to_iso(NOW + 3600))), None),
]


# "internal_error" is given by streams/stages/normalize.py when a format parser crashes,
# never by the Normalizer.
NOT_FROM_PAYLOAD = {"internal_error"}


def test_cases_cover_every_reason():
    assert sorted(r for r, _, _ in CASES) == sorted(set(DLQ_REASONS) - NOT_FROM_PAYLOAD)


@pytest.mark.parametrize("reason,raw,fmt", CASES, ids=[c[0] for c in CASES])
def test_dead_letter_reason(reason, raw, fmt):
    with pytest.raises(MalformedPost) as info:
        make().normalize(raw, fmt=fmt, now=NOW)
    assert info.value.reason == reason
    assert str(info.value).startswith(reason + ":")


@pytest.mark.parametrize("changes", [
    {"platform": 1}, {"community": ["r/x"]}, {"id": 1.5}, {"id": True},
    {"thread_id": {"a": 1}}, {"meta": "notadict"},
])
def test_wrong_type_variants(changes):
    with pytest.raises(MalformedPost) as info:
        make().normalize(enc(payload(**changes)), now=NOW)
    assert info.value.reason == "wrong_type"


@pytest.mark.parametrize("field", ["platform", "community", "id", "created_at"])
def test_missing_required_fields(field):
    with pytest.raises(MalformedPost, match=r"missing_field"):
        make().normalize(enc(payload(**{field: _DROP})), now=NOW)


@pytest.mark.parametrize("ts", [True, "2026-13-01T00:00:00Z", 12345, float("nan"), None])
def test_parse_event_time_rejects(ts):
    with pytest.raises(EventTimeError):
        parse_event_time(ts)


def test_future_within_skew_accepted():
    post, ts = make().normalize(enc(payload(created_at=to_iso(NOW + 200))), now=NOW)
    assert ts == NOW + 200


def test_happy_path_fields():
    raw = enc(payload(platform=" Reddit ", community=" r/acmegames ", text="  hi there \n",
                      created_at="2026-11-02T09:30:00+01:00", thread_id=7,
                      meta={"score": 3, "flair": "bug"}))
    post, ts = make().normalize(raw, now=NOW)
    assert post["platform"] == "reddit"
    assert post["community"] == "r/acmegames"
    assert post["text"] == "hi there"
    assert post["created_at"] == "2026-11-02T08:30:00Z"
    assert ts == parse_event_time("2026-11-02T08:30:00Z")
    assert post["thread_id"] == "7" and post["parent_id"] is None
    assert post["meta"] == {"score": 3, "flair": "bug"}
    assert post["author_id"] != "bob" and "bob" not in post["author_id"]


def test_author_pseudonym_stable_and_keyed():
    a1, _ = make(b"k1").normalize(enc(payload()), now=NOW)
    a2, _ = make(b"k1").normalize(enc(payload(id="rd-2", text="other")), now=NOW)
    b, _ = make(b"k2").normalize(enc(payload()), now=NOW)
    other, _ = make(b"k1").normalize(enc(payload(author="alice")), now=NOW)
    discord, _ = make(b"k1").normalize(enc(payload(platform="discord")), now=NOW)
    assert a1["author_id"] == a2["author_id"]
    assert len({a1["author_id"], b["author_id"], other["author_id"],
                discord["author_id"]}) == 4


@pytest.mark.parametrize("author", [_DROP, None, ""])
def test_missing_author_is_unknown(author):
    post, _ = make().normalize(enc(payload(author=author)), now=NOW)
    assert post["author_id"] == "unknown"


def test_epoch_ms_and_numeric_id():
    ms = int(parse_event_time("2026-11-02T08:00:00Z") * 1000) + 250
    post, ts = make().normalize(enc(payload(id=123456789, created_at=ms)), now=NOW)
    assert post["post_id"] == "123456789"
    assert post["created_at"] == "2026-11-02T08:00:00.250Z"
    assert ts == ms / 1000


def test_epoch_seconds_and_naive_iso_are_utc():
    epoch = parse_event_time("2026-11-02T08:00:00Z")
    for value in (epoch, int(epoch), "2026-11-02T08:00:00", "2026-11-02T08:00:00z"):
        post, ts = make().normalize(enc(payload(created_at=value)), now=NOW)
        assert post["created_at"] == "2026-11-02T08:00:00Z" and ts == epoch


def test_post_id_alias_accepted():
    post, _ = make().normalize(enc(payload(id=_DROP, post_id="p-9")), now=NOW)
    assert post["post_id"] == "p-9"


@pytest.mark.parametrize("text", [
    "¡El parche 2.3 rompió todo! 😡", "Merci pour la nouvelle carte 🎉🔥",
    "Größter Patch überhaupt", "新しいマップ最高", "👍👍👍",
])
def test_non_english_and_emoji_survive(text):
    post, _ = make().normalize(enc(payload(text=f"  {text} ")), now=NOW)
    assert post["text"] == text


def test_text_limit_counts_characters_not_bytes():
    post, _ = make().normalize(enc(payload(text="é" * 100)), now=NOW)  # 200 bytes, 100 chars
    assert len(post["text"]) == 100


def test_payload_limit_is_inclusive():
    raw = enc(payload())
    n = Normalizer(Pseudonymizer(b"k"), NormalizeLimits(max_payload_bytes=len(raw)))
    assert n.normalize(raw, now=NOW)[0]["post_id"] == "rd-1"
    with pytest.raises(MalformedPost, match="payload_too_large"):
        n.normalize(raw + b" ", now=NOW)


def test_pseudonymizer_rejects_empty_key():
    with pytest.raises(ValueError):
        Pseudonymizer(b"")
