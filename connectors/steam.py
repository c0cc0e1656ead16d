"""Steam: the newest user reviews of configured apps, from the store's public review feed.

API shape (partner.steamgames.com/doc/store/getreviews): ``GET
https://store.steampowered.com/appreviews/<appid>?json=1&filter=recent&language=all&
purchase_type=all&num_per_page=100&cursor=<cursor>``; no key, no login. ``filter=recent``
lists reviews newest created first (``updated``: by last update). ``cursor`` is ``*`` for
the first page, then the ``cursor`` the previous answer returned: opaque base64 holding
``+``, ``/`` and ``=``, so it is URL-encoded (a raw ``+`` would arrive as a space). The
answer: ``success`` (1 when the query worked), ``query_summary`` (``num_reviews``,
``review_score``, ``total_positive``... on the first page), ``cursor``, and ``reviews``
[{``recommendationid``, ``author`` {``steamid``, ``num_games_owned``, ``num_reviews``,
``playtime_forever``, ``playtime_last_two_weeks``, ``playtime_at_review`` (minutes)},
``language``, ``review``, ``timestamp_created``, ``timestamp_updated``, ``voted_up``,
``votes_up``, ``votes_funny``, ``weighted_vote_score``, ``comment_count``,
``steam_purchase``, ``received_for_free``, ``written_during_early_access``}]. Steam
documents no rate limit; it answers 429 when asked too often (PoliteHttp backs off).

Each app's cursor is the newest ``timestamp_created`` produced; a poll starts at ``*`` and
pages back until a review older than that, an empty page, a cursor Steam already gave
(its end of the list), or ``max_pages``. The first run reads one page only, not the app's
whole history.

What is produced: ``{"appid": <appid>, "review": <Steam's review object as sent>}``. The
review objects do not name their app (the URL does), and a review's link and community
need it, so the connector wraps each one with its app id.

Review bombing is the threat here, so the parser keeps the vote (``voted_up``), playtime
and purchase flags in ``meta`` for the detectors. A review with ``timestamp_updated >
timestamp_created`` is an edit revision (``meta.edited``, ``meta.revision`` = the update
time; connector id ``<recommendationid>@<timestamp_updated>``). With ``filter = "recent"``
an edit is seen only when the edited review is on a page fetched anyway;
``filter = "updated"`` orders by last update (and the cursor follows
``timestamp_updated``), so players flipping old positive reviews to negative are seen.
Deleted reviews just vanish from the feed: there is no deletion event to produce. A
review with blank text is dead-lettered as ``empty_text`` (a bare vote is no text to score).

    [steam]
    name = "acme"                      # cursor/metrics name: steam:acme
    # an app id, or a table naming the community its reviews are keyed by
    # (default "steam:app/<appid>")
    apps = [{id = 1091500, community = "steam:cyberpunk"}, 730]
    filter = "recent"                  # or "updated": also catches edits of older reviews
    language = "all"                   # Steam's API language code, e.g. "english"
    poll_interval_s = 60
    max_pages = 10
    # api_url = "https://store.steampowered.com"
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import structlog

from connectors.polling import Page, PoliteHttp, PollingSource, RawPost
from models.parsers.steam import _int

__all__ = ["SteamSource"]

log = structlog.get_logger("vigil.connect")


class SteamSource(PollingSource):
    platform = fmt = "steam"

    def __init__(self, name: str, sink, cursors, *, apps: list[tuple[int, str]],
                 filter: str = "recent", language: str = "all", interval_s: float = 60.0,
                 max_pages: int = 10, api_url: str = "https://store.steampowered.com"):
        super().__init__(name, sink, cursors, interval_s=interval_s)
        if filter not in ("recent", "updated"):
            raise ValueError(f"steam: filter must be 'recent' or 'updated', not {filter!r}")
        if not apps:
            raise ValueError("steam: list at least one app in apps")
        self.apps, self.filter, self.language = apps, filter, language
        self.sort_field = "timestamp_updated" if filter == "updated" else "timestamp_created"
        self.max_pages, self.api_url = max_pages, api_url.rstrip("/")

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], sink, cursors) -> "SteamSource":
        apps = []
        for app in cfg.get("apps") or []:
            appid = int(app["id"] if isinstance(app, Mapping) else app)
            community = app.get("community") if isinstance(app, Mapping) else None
            apps.append((appid, community or f"steam:app/{appid}"))
        return cls(name, sink, cursors, apps=apps, filter=cfg.get("filter", "recent"),
                   language=cfg.get("language", "all"),
                   interval_s=float(cfg.get("poll_interval_s", 60)),
                   max_pages=int(cfg.get("max_pages", 10)),
                   api_url=cfg.get("api_url", "https://store.steampowered.com"))

    async def _page(self, http: PoliteHttp, appid: int, cursor: str) -> dict:
        # params are URL-encoded by aiohttp: the cursor's "+" goes out as %2B, not a space
        params = {"json": "1", "filter": self.filter, "language": self.language,
                  "num_per_page": "100", "cursor": cursor, "purchase_type": "all"}
        _, _, body = await http.request("GET", f"{self.api_url}/appreviews/{appid}",
                                        params=params, headers={"User-Agent": "vigil/1.0"})
        data = json.loads(body)
        return data if isinstance(data, dict) else {}

    async def fetch(self, http: PoliteHttp, cursor: dict) -> Page:
        state = dict(cursor.get("apps", {}))
        posts: list[RawPost] = []
        ids: set[str] = set()
        for appid, community in self.apps:
            newest: Optional[float] = state.get(str(appid))
            top, at, given, pages = newest, "*", {"*"}, 0
            while pages < self.max_pages:
                data = await self._page(http, appid, at)
                pages += 1
                if data.get("success") != 1:
                    # an app id Steam does not know: the others are still worth reading
                    log.warning("steam_query_failed", app=appid, success=data.get("success"))
                    break
                reviews = [r for r in data.get("reviews") or [] if isinstance(r, dict)]
                reached = False
                for review in reviews:
                    when = float(_int(review.get(self.sort_field)))
                    rid = str(review.get("recommendationid"))
                    updated = _int(review.get("timestamp_updated"))
                    edited = updated > _int(review.get("timestamp_created"))
                    if newest is not None and when < newest:
                        reached = True  # older than what we already produced...
                        if not edited or updated < newest:
                            continue  # ...and not edited since either
                    else:
                        top = max(top or when, when)
                    if edited:
                        rid = f"{rid}@{updated}"  # an edit: a new revision of the review
                    if rid in ids:
                        continue  # met twice in one poll (the list moved while paging)
                    ids.add(rid)
                    payload = json.dumps({"appid": appid, "review": review}, ensure_ascii=False,
                                         separators=(",", ":")).encode()
                    posts.append(RawPost(rid, community, payload, when))
                at = data.get("cursor")
                # first run: one page only; an empty page or a cursor given before is the end
                if reached or not reviews or not at or at in given or newest is None:
                    break
                given.add(at)
            if top is not None:
                state[str(appid)] = top
        return Page(posts, {"apps": state})
