"""Hostile and malformed ``posts.raw`` payloads through the normalize stage (the entry
point the pipeline uses): each is a dead letter with its documented reason, never a
crash and never ``internal_error`` (kept for Vigil's own bugs)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from config.settings import Settings
from models.eventtime import parse_event_time
from models.normalize import (DLQ_REASONS, MalformedPost, NormalizeLimits, Normalizer,
                              json_depth)
from models.parsers import FORMATS
from models.parsers.discourse import parse_discourse
from models.parsers.telegram import parse_telegram
from models.pseudonym import Pseudonymizer
from streams.events import Input
from streams.records import DeadLetter, Post
from streams.stages.normalize import NormalizeStage

NOW = parse_event_time("2026-11-02T12:00:00Z")
KEY = b"test-key"
LIMIT = NormalizeLimits().max_depth


@pytest.fixture
def stage() -> NormalizeStage:
    return NormalizeStage(Settings.load(env={}), Pseudonymizer(KEY))


def feed(stage: NormalizeStage, raw: bytes, fmt: str = "vigil", offset: int = 0):
    item = Input("posts.raw", raw, key=b"r/acmegames", headers={"vigil-format": fmt},
                 offset=offset)
    return stage.normalize(item, now=NOW)


def reason(result) -> str:
    assert isinstance(result, DeadLetter), f"not a dead letter: {result!r}"
    assert result.reason in DLQ_REASONS
    return result.reason


_ids = iter(range(10**9))


def post(**changes) -> dict:
    """A valid post in Vigil's own format, with a fresh id (no dedup between tests)."""
    base = {"platform": "reddit", "community": "r/acmegames", "id": f"bad-{next(_ids)}",
            "author": "bob", "text": "patch notes are up", "created_at": "2026-11-02T08:00:00Z"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def enc(obj, **kw) -> bytes:
    return json.dumps(obj, ensure_ascii=False, **kw).encode("utf-8", "surrogatepass")


def nested(depth: int, leaf=1, key: str = "a"):
    """``depth`` objects inside each other (``{"a": {"a": ... leaf}}``)."""
    for _ in range(depth):
        leaf = {key: leaf}
    return leaf


def true_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(true_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(true_depth, value), default=0)
    return 0


# -- too_deep -----------------------------------------------------------------------


def test_20000_deep_array_is_too_deep(stage):
    dl = feed(stage, b"[" * 20_000 + b"]" * 20_000)
    assert reason(dl) == "too_deep"


def test_5000_deep_object_is_too_deep(stage):
    dl = feed(stage, b'{"a":' * 5_000 + b"1" + b"}" * 5_000)
    assert reason(dl) == "too_deep"


def test_900_deep_meta_is_too_deep(stage):
    assert reason(feed(stage, enc(post(meta=nested(900))))) == "too_deep"


def test_deep_and_unterminated_is_too_deep_not_a_crash(stage):
    assert reason(feed(stage, b"[" * 50_000)) == "too_deep"
    assert reason(feed(stage, b'{"a":' * 10_000)) == "too_deep"


@pytest.mark.parametrize("depth", range(LIMIT - 4, LIMIT + 5))
def test_depth_around_the_limit(stage, depth):
    """A post nested ``depth`` deep (the top-level object is 1) is accepted up to the
    limit and ``too_deep`` past it, whatever mix of arrays and objects makes the depth
    and whatever brackets and quotes its strings hold."""
    rng = random.Random(depth)
    for trial in range(20):
        value = "[{\\\"}]" if trial % 2 else 7
        for _ in range(depth - 2):  # meta is 2: the top-level object and meta itself
            value = ([value, "]]", "{"] if rng.random() < 0.5
                     else {"k": value, "s": "\\\"[[{\\"})
        raw = enc(post(meta={"v": value}))
        assert true_depth(json.loads(raw)) == depth
        assert json_depth(raw, LIMIT) == min(true_depth(json.loads(raw)), LIMIT + 1)
        result = feed(stage, raw)
        if true_depth(json.loads(raw)) <= LIMIT:
            assert isinstance(result, Post), (depth, trial, result)
        else:
            assert reason(result) == "too_deep", (depth, trial)


@pytest.mark.parametrize("depth", [LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 2])
def test_bare_deep_arrays_around_the_limit(stage, depth):
    raw = b"[" * depth + b"]" * depth
    assert reason(feed(stage, raw)) == ("not_an_object" if depth <= LIMIT else "too_deep")


def test_json_depth_matches_the_parser():
    """Property: the byte scan's depth is the parsed value's, for random JSON with
    strings full of brackets, quotes, backslashes and non-ASCII."""
    rng = random.Random(7)
    alphabet = '[]{}"\\ a:,é😡\n'

    def value(budget: int):
        roll = rng.random()
        if budget <= 0 or roll < 0.3:
            return rng.choice([1, None, True, 2.5,
                               "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))])
        if roll < 0.65:
            return [value(budget - 1) for _ in range(rng.randint(0, 3))]
        return {"".join(rng.choice(alphabet) for _ in range(3)): value(budget - 1)
                for _ in range(rng.randint(0, 3))}

    for _ in range(2_000):
        v = value(rng.randint(0, 12))
        for raw in (enc(v), json.dumps(v).encode(), json.dumps(v, indent=1).encode()):
            assert json_depth(raw, 100) == true_depth(v)
        assert json_depth(enc(v), 3) == min(true_depth(v), 4)


def test_depth_limit_is_a_normalize_limit():
    n = Normalizer(Pseudonymizer(KEY), NormalizeLimits(max_depth=3))
    n.normalize(enc(post(meta={"a": [1]})), now=NOW)  # 3 deep
    with pytest.raises(MalformedPost, match="too_deep"):
        n.normalize(enc(post(meta={"a": [[1]]})), now=NOW)


def test_payload_size_is_checked_before_depth(stage):
    assert reason(feed(stage, b"[" * 70_000)) == "payload_too_large"


def test_recursion_error_while_parsing_json_is_too_deep():
    """Were the depth limit set past what Python can recurse, json.loads's
    RecursionError is still a too_deep dead letter."""
    n = Normalizer(Pseudonymizer(KEY), NormalizeLimits(max_payload_bytes=10**6,
                                                       max_depth=10**6))
    with pytest.raises(MalformedPost) as info:
        n.normalize(b"[" * 50_000 + b"]" * 50_000, now=NOW)
    assert info.value.reason == "too_deep"


def test_recursion_error_in_a_parser_is_too_deep_through_the_stage(stage):
    def recurse(obj):
        return recurse(obj)

    stage.normalizer = Normalizer(stage.normalizer.pseudonymize, stage.normalizer.limits,
                                  {**FORMATS, "test-recurse": recurse})
    assert reason(feed(stage, b"{}", fmt="test-recurse")) == "too_deep"


def test_moderate_nesting_is_still_a_post(stage):
    meta = {"thread": {"path": [["a", {"b": [1, 2, {"c": "[[[{{{"}]}]]},
            "deep": nested(20, leaf=["x"])}
    result = feed(stage, enc(post(meta=meta)))
    assert isinstance(result, Post) and result.meta == meta


# -- invalid_encoding ---------------------------------------------------------------

SURROGATE_TEXT = (b'{"platform": "reddit", "community": "r/acmegames", "id": "s-1", '
                  b'"text": "bad \\ud800 here", "created_at": "2026-11-02T08:00:00Z"}')


def test_lone_surrogate_in_text_is_invalid_encoding(stage):
    assert json.loads(SURROGATE_TEXT)["text"] == "bad \ud800 here"  # json.loads takes it
    assert reason(feed(stage, SURROGATE_TEXT)) == "invalid_encoding"


@pytest.mark.parametrize("changes", [
    {"text": "trailing \udfff"}, {"author": "\ud83d"}, {"community": "r/\udc00x"},
    {"lang": "e\ud800n"}, {"url": "https://x/\udbff"}, {"thread_id": "\ud800"},
    {"meta": {"note": "\ud800"}}, {"meta": {"\udc01": 1}},
    {"meta": {"a": [{"b": ["ok", "\ud834"]}]}},
    {"not_a_canonical_field": "\ud800"},  # anywhere in the payload: it is not Unicode
], ids=lambda c: next(iter(c)))
def test_lone_surrogate_anywhere_is_invalid_encoding(stage, changes):
    for ensure_ascii in (True, False):  # an escape, or the encoded surrogate itself
        raw = (json.dumps(post(**changes), ensure_ascii=True).encode() if ensure_ascii
               else enc(post(**changes)))
        assert reason(feed(stage, raw)) == "invalid_encoding", raw


@pytest.mark.parametrize("raw", [
    b"\xff\xfe{",
    b'{"platform": "reddit", "text": "caf\xe9"}',  # Latin-1
    b'{"platform": "reddit", "text": "\xe2\x82"}',  # a cut multi-byte character
    b'{"text": "\xc0\xaf"}',  # an overlong encoding
    json.dumps(post()).encode("utf-16"),
    json.dumps(post()).encode("utf-32"),
], ids=["bom-junk", "latin-1", "cut-char", "overlong", "utf-16", "utf-32"])
def test_bytes_not_utf8_are_invalid_encoding(stage, raw):
    assert reason(feed(stage, raw)) == "invalid_encoding"


def test_valid_unicode_survives(stage):
    text = "smile 😀 𝄞 ünïcødé \\ud800 as typed"  # the last is a backslash and letters
    for ensure_ascii in (True, False):  # surrogate *pairs* as escapes are fine
        raw = json.dumps(post(text=text, meta={"e": "😡"}), ensure_ascii=ensure_ascii).encode()
        result = feed(stage, raw)
        assert isinstance(result, Post) and result.text == text
    bom = b"\xef\xbb\xbf" + enc(post())
    assert isinstance(feed(stage, bom), Post)


# -- wrong_type ---------------------------------------------------------------------


@pytest.mark.parametrize("changes", [
    {"lang": 5}, {"author": 12345}, {"url": 3.14},
    {"lang": True}, {"author": ["bob"]}, {"author": {"id": "1"}}, {"author": 1.0},
    {"url": 3}, {"url": ["https://x"]}, {"lang": {"code": "en"}},
    {"platform": 1}, {"community": 7}, {"text": 42},
    {"id": 1.5}, {"id": True}, {"thread_id": 2.0}, {"thread_id": False},
    {"parent_id": [1]}, {"parent_id": True}, {"meta": ["a"]},
], ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}")
def test_every_canonical_field_is_type_checked(stage, changes):
    """lang=5 and author=12345 used to be accepted while url=3.14 was not: all one
    reason now."""
    dl = feed(stage, enc(post(**changes)))
    assert reason(dl) == "wrong_type"
    assert repr(next(iter(changes))) in dl.detail  # names the field


def test_integer_ids_are_still_ids(stage):
    result = feed(stage, enc(post(id=123456789, thread_id=7, parent_id=8, lang=None,
                                  url=None, author=None)))
    assert isinstance(result, Post)
    assert (result.post_id, result.thread_id, result.parent_id) == ("123456789", "7", "8")
    assert result.author_id == "unknown"


def test_platform_numeric_user_ids_are_stringified_by_their_parsers(stage):
    pseudonym = Pseudonymizer(KEY)
    update = {"update_id": 9, "message": {"message_id": 42, "date": 1793606400,
              "from": {"id": 7, "is_bot": False}, "chat": {"id": -1001, "type": "supergroup"},
              "text": "hello"}}
    assert parse_telegram(update)["author"] == "7"
    result = feed(stage, enc(update), fmt="telegram")
    assert isinstance(result, Post) and result.author_id == pseudonym("telegram", "7")

    item = {"post": {"id": 812, "topic_id": 77, "post_number": 2, "user_id": 4,
                     "username": "sam", "raw": "same here", "created_at": "2026-11-02T08:00:00Z"}}
    assert parse_discourse(item)["author"] == "4"
    result = feed(stage, enc(item), fmt="discourse")
    assert isinstance(result, Post) and result.author_id == pseudonym("discourse", "4")
    assert (result.post_id, result.thread_id) == ("77/2", "77")


# -- 10,000 malformed payloads ------------------------------------------------------

#: kind of damage -> the reasons it may give (truncating a non-ASCII payload may cut a
#: character: invalid_encoding; random bytes are whatever they happen to be)
KINDS = {
    "truncated": {"invalid_json", "invalid_encoding"},
    "random_bytes": set(DLQ_REASONS) - {"internal_error"},
    "not_utf8": {"invalid_encoding"},
    "deep": {"too_deep"},
    "wrong_type": {"wrong_type"},
    "missing_field": {"missing_field"},
    "huge": {"payload_too_large"},
    "lone_surrogate": {"invalid_encoding"},
    "not_an_object": {"not_an_object"},
}
CANONICAL = ("platform", "community", "id", "text", "created_at", "author", "thread_id",
             "parent_id", "lang", "url", "meta")
NOT_STRING = [5, 12345, 3.14, True, False, [], ["x"], {}, {"a": "b"}, -1, 0.0]


def malformed(rng: random.Random, kind: str) -> bytes:
    good = post(text=rng.choice(["gg", "patch notes are up", "¡rompió todo! 😡", "新しい"]),
                meta=rng.choice([{}, {"score": 3}, {"tags": ["a", {"b": None}]}]))
    if kind == "truncated":
        raw = enc(good)
        return raw[:rng.randrange(0, len(raw))]
    if kind == "random_bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    if kind == "not_utf8":
        raw = enc(good)
        bad = rng.choice([b"\xff", b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                          b"\xc0\xaf", b"\x80"])
        at = raw.index(b'"text": "') + 9
        return raw[:at] + bad + raw[at:]
    if kind == "deep":
        shape = rng.randrange(4)
        if shape == 0:  # within the size limit: up to 30,000 deep
            depth = rng.randrange(LIMIT + 1, 30_000)
            return b"[" * depth + b"]" * depth
        if shape == 1:
            depth = rng.randrange(LIMIT + 1, 10_000)
            return b'{"a":' * depth + b"1" + b"}" * depth
        if shape == 2:  # deep and cut short
            return b"[" * rng.randrange(LIMIT + 1, 60_000)
        return enc(post(meta=nested(rng.randrange(LIMIT, 900), leaf=[])))
    if kind == "wrong_type":
        name = rng.choice([n for n in CANONICAL if n != "created_at"])  # that: bad_timestamp
        if name == "meta":  # a falsy meta reads as none
            wrong = [v for v in NOT_STRING if v and not isinstance(v, dict)]
        elif name in ("id", "thread_id", "parent_id"):  # integers are ids
            wrong = [v for v in NOT_STRING if type(v) is not int]
        else:
            wrong = NOT_STRING
        return enc({**good, name: rng.choice(wrong)})
    if kind == "missing_field":
        # (no community: the message key stands for it, by design)
        name = rng.choice(["platform", "id", "text", "created_at"])
        bad = {k: v for k, v in good.items() if k != name}
        if rng.random() < 0.5:
            bad[name] = None
        return enc(bad)
    if kind == "huge":
        return enc({**good, "text": "x" * rng.randrange(65_537, 100_000)})
    if kind == "lone_surrogate":
        name = rng.choice(["text", "author", "community", "meta", "extra"])
        lone = chr(rng.randrange(0xD800, 0xE000))
        value = {"note": lone} if name == "meta" else f"a{lone}b"
        return (json.dumps({**good, name: value}, ensure_ascii=rng.random() < 0.5)
                .encode("utf-8", "surrogatepass"))
    if kind == "not_an_object":
        return json.dumps(rng.choice([[good], "a post", 42, 3.5, None, True, [], [1, 2]])).encode()
    raise AssertionError(kind)


def malformed_payloads(n: int, rng: random.Random) -> list[bytes]:
    """``n`` damaged payloads, every kind in turn (the fault campaign sends them too)."""
    kinds = sorted(KINDS)
    return [malformed(rng, kinds[i % len(kinds)]) for i in range(n)]


def test_10000_malformed_payloads_are_dead_letters_with_a_reason(stage):
    rng = random.Random(2026)
    kinds = sorted(KINDS)
    counts: Counter = Counter()
    for i in range(10_000):
        kind = kinds[i % len(kinds)]
        raw = malformed(rng, kind)
        result = feed(stage, raw, offset=i)  # must not raise
        assert isinstance(result, DeadLetter), (kind, raw[:200], result)
        assert result.reason in KINDS[kind], (kind, result.reason, result.detail, raw[:200])
        assert result.reason in DLQ_REASONS and result.reason != "internal_error"
        json.loads(result.dumps())  # the dead letter itself serialises
        counts[result.reason] += 1
    assert sum(counts.values()) == 10_000
    assert {"too_deep", "invalid_encoding", "wrong_type", "missing_field", "invalid_json",
            "payload_too_large", "not_an_object"} <= set(counts)


def _mutations(obj, rng: random.Random):
    """Copies of a payload with one value replaced by a value of another type."""
    paths = []

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                paths.append(path + (k,))
                walk(v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value[:3]):
                paths.append(path + (i,))
                walk(v, path + (i,))
    walk(obj, ())
    for path in paths:
        for wrong in (7, True, [1, 2], {"x": [1]}, "s", None, 1.5):
            copy = json.loads(json.dumps(obj))
            target = copy
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = wrong
            yield copy


@pytest.mark.parametrize("fmt", ["x", "discord", "discourse", "reddit", "telegram"])
def test_platform_payloads_of_the_wrong_shape_are_bad_input_not_vigil_bugs(stage, fmt):
    # shapes as the connector tests record them; every field in turn gets a value of
    # another type: a dead letter with a documented reason or a post, never a crash
    # and never internal_error
    from tests import (test_discord_connector as discord, test_discourse_connector as discourse,
                       test_reddit_connector as reddit, test_x_connector as x)

    samples = {
        "x": x.line("1852000000000000009", "hello there"),
        "discord": {"t": "MESSAGE_CREATE", "d": discord.message(3, attachments=[{"id": "1"}])},
        "discourse": discourse.hook_body(701, raw="hello"),
        "reddit": reddit.comment(1, "t3_p1", body="hello"),
        "telegram": {"update_id": 5, "message": {
            "message_id": 9, "date": 1793606432, "text": "hello",
            "chat": {"id": -100123, "type": "supergroup", "title": "Acme"},
            "from": {"id": 42, "is_bot": False, "first_name": "Sam"}}},
    }
    rng = random.Random(7)
    reasons = Counter()
    for i, payload in enumerate(_mutations(samples[fmt], rng)):
        result = feed(stage, json.dumps(payload).encode(), fmt=fmt, offset=i)
        if isinstance(result, DeadLetter):
            reasons[result.reason] += 1
    assert reasons and "internal_error" not in reasons, reasons
    assert set(reasons) <= set(DLQ_REASONS)
