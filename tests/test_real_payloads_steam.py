"""Steam payloads in the shape the store's ``appreviews`` endpoint answers
(``tests/payloads/steam/SOURCES.md``), each review wrapped with its app id as
``connectors.steam`` produces it, through the normaliser: BBCode read as words, Steam's
language names as BCP 47 codes, an edit the same post."""

from __future__ import annotations

import pytest

from tests.recorded_payloads import check, cited, dead_letters, files, load, outcome

APPID, KEY = 1091500, "steam:app/1091500"

#: file -> what each review in it must become (in the file's order), read off the payload
EXPECTED = {
    "appreviews_recent_bbcode.json": [
        {"kind": "post", "community": KEY, "post_id": "180000001", "thread_id": "180000001",
         "parent_id": None, "lang": "en", "meta.voted_up": False, "meta.edited": False,
         "text": "Verdict: wait for patches\nCrashes every ten minutes.\nSaves corrupted\n"
                 "No refunds after 2h\nThe final boss is the launcher.\nSee the patch notes.\n"
                 "FPS Setting\n24 Low",
         "url": f"https://steamcommunity.com/profiles/76561190000000001/recommended/{APPID}/"},
        {"kind": "post", "post_id": "180000002", "lang": "zh-Hans",
         "text": "优化太差了，但是剧情不错。", "meta.steam_language": "schinese"}],
    "appreviews_updated_edit.json": [
        # updated after it was written: the same post (its id), a new revision
        {"kind": "post", "post_id": "180000003", "thread_id": "180000003", "lang": "pt-BR",
         "meta.edited": True, "meta.revision": 1793650000, "meta.developer_response": True,
         "created_at": "2026-10-26T07:33:20Z",
         "text": "ATUALIZAÇÃO: o patch 1.2 corrigiu os saves. Não comprem. Agora recomendo."}],
    "appreviews_quote_noparse.json": [
        {"kind": "post", "post_id": "180000004", "lang": "ko",
         "text": "아직도 프레임이 떨어집니다."},  # the quoted developer's words left out
        {"kind": "post", "post_id": "180000005", "lang": "es-419",
         "text": "Usa [b] para negritas en las reseñas. Buen juego <3",
         "meta.received_for_free": True},
        {"kind": "post", "post_id": "180000006", "text": "[quote]"}],  # only a quote
    "appreviews_2017_early_access.json": [
        # an older answer: no playtime_at_review, a numeric weighted_vote_score
        {"kind": "post", "post_id": "31000007", "lang": "zh-Hant", "meta.early_access": True,
         "meta.playtime_at_review": None, "created_at": "2017-05-17T05:46:40Z",
         "text": "搶先體驗版本：\n地圖太小\n伺服器常斷線\n期待正式版。"}],
    "appreviews_first_page_summary.json": [
        {"kind": "post", "post_id": "180000010", "lang": "ru",
         "text": "Итог\nИгра хорошая, но сервера падают каждый вечер.\nError 0x8007"},
        {"kind": "post", "post_id": "180000011", "lang": "uk", "meta.voted_up": False,
         "text": "Не запускається 😡 підтримка мовчить"}],
    "appreviews_last_page_empty.json": [],  # the end of the pages: nothing to produce
}


def payloads(name: str) -> list[dict]:
    return [{"appid": APPID, "review": r} for r in load("steam", name)["reviews"]]


def test_every_payload_file_is_cited_and_expected():
    assert len(files("steam")) >= 4
    assert cited("steam") == []
    assert sorted(EXPECTED) == files("steam")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_steam_payloads_read_as_expected(name):
    got = payloads(name)
    assert len(got) == len(EXPECTED[name]), name
    for i, (payload, want) in enumerate(zip(got, EXPECTED[name])):
        check(outcome(payload, "steam", KEY), want, f"{name}[{i}]")


def test_no_recorded_steam_payload_is_dead_lettered():
    every = [p for name in files("steam") for p in payloads(name)]
    assert len(every) >= 9 and dead_letters(every, "steam", KEY) == []
