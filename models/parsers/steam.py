"""Steam's payload: a user review wrapped with its app id, ``{"appid": <appid>, "review":
<Steam's review object as sent>}``, as ``connectors.steam`` produces it (the review
object does not name its app, and the link and community need it).

Review bombing is the threat here, so the parser keeps the vote (``voted_up``), playtime
and purchase flags in ``meta`` for the detectors. A review with ``timestamp_updated >
timestamp_created`` is an edit revision (``meta.edited``, ``meta.revision`` = the update
time). The review is BBCode, read as its words (``models.plain_text.bbcode_to_text``);
``language`` (Steam's name, ``schinese``, ``brazilian``, ``latam``) is mapped to BCP 47."""

from __future__ import annotations

from typing import Any, Mapping

from models.plain_text import bbcode_to_text

__all__ = ["parse_steam", "LANGS"]

#: Steam's API language codes (partner.steamgames.com/doc/store/localization/languages)
#: -> BCP 47 (Steam's own "Web API language code" column); taken as the post's language
LANGS = {"arabic": "ar", "bulgarian": "bg", "schinese": "zh-Hans", "tchinese": "zh-Hant",
         "czech": "cs", "danish": "da", "dutch": "nl", "english": "en", "finnish": "fi",
         "french": "fr", "german": "de", "greek": "el", "hungarian": "hu", "indonesian": "id",
         "italian": "it", "japanese": "ja", "koreana": "ko", "norwegian": "no", "polish": "pl",
         "portuguese": "pt", "brazilian": "pt-BR", "romanian": "ro", "russian": "ru",
         "spanish": "es", "latam": "es-419", "swedish": "sv", "thai": "th", "turkish": "tr",
         "ukrainian": "uk", "vietnamese": "vi"}


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _text(review: Any) -> Any:
    """A review is BBCode (``[h1]``, ``[b]``, ``[spoiler]``, ``[url=…]``, ``[list]``,
    ``[quote]``, ``[table]``, ``[noparse]``): read as its words.

    >>> _text("[h1]Verdict[/h1][list][*]fun[*]cheap[/list][quote=dev]thanks[/quote]")
    'Verdict\\nfun\\ncheap'
    """
    return bbcode_to_text(review) if isinstance(review, str) else review


def parse_steam(obj: Mapping[str, Any]) -> dict:
    """A review wrapped with its app id (``{"appid", "review"}``) as canonical post fields.

    >>> f = parse_steam({"appid": 1091500, "review": {"recommendationid": "1577",
    ...     "author": {"steamid": "76561198000000001", "playtime_at_review": 95},
    ...     "language": "schinese", "review": "优化太差了", "timestamp_created": 1793606400,
    ...     "timestamp_updated": 1793610000, "voted_up": False}})
    >>> f["post_id"], f["lang"], f["meta"]["voted_up"], f["meta"]["edited"], f["meta"]["revision"]
    ('1577', 'zh-Hans', False, True, 1793610000)
    >>> f["url"]
    'https://steamcommunity.com/profiles/76561198000000001/recommended/1091500/'
    """
    review, appid = obj.get("review"), obj.get("appid")
    if not isinstance(review, Mapping):
        return {}
    author = review.get("author") if isinstance(review.get("author"), Mapping) else {}
    steamid = author.get("steamid")
    created, updated = review.get("timestamp_created"), review.get("timestamp_updated")
    edited = _int(updated) > _int(created)
    rid = review.get("recommendationid")
    language = review.get("language")
    return {
        "platform": "steam", "community": None,  # the key: configured name or steam:app/<id>
        "post_id": None if rid is None else str(rid), "author": steamid,
        "text": _text(review.get("review")), "created_at": created,
        "thread_id": None if rid is None else str(rid), "parent_id": None,
        "lang": LANGS.get(language) if isinstance(language, str) else None,
        "url": (f"https://steamcommunity.com/profiles/{steamid}/recommended/{appid}/"
                if steamid and appid else None),
        "meta": {
            "appid": appid, "voted_up": review.get("voted_up"),
            "votes_up": review.get("votes_up"), "votes_funny": review.get("votes_funny"),
            "weighted_vote_score": review.get("weighted_vote_score"),
            "comment_count": review.get("comment_count"),
            "steam_purchase": review.get("steam_purchase"),
            "received_for_free": review.get("received_for_free"),
            "early_access": review.get("written_during_early_access"),
            "playtime_forever": author.get("playtime_forever"),
            "playtime_at_review": author.get("playtime_at_review"),
            "playtime_last_two_weeks": author.get("playtime_last_two_weeks"),
            "author_num_reviews": author.get("num_reviews"),
            "author_num_games_owned": author.get("num_games_owned"),
            "steam_language": language, "edited": edited,
            # the developer's answer is theirs, not the reviewer's words: only noted
            "developer_response": bool(review.get("developer_response")),
            "revision": updated if edited else None,
        },
    }
