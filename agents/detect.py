"""posts.scored (ScoredPost) -> signals.trends (TrendSignal): bursts, spikes and raids
per community."""

from __future__ import annotations

import time
from typing import Any

import structlog

from agents.runtime import steps
from models.community_watch import WatchState
from models.raids import RaidState
from streams import channels, metrics
from streams.app import app
from streams.tables import burst_state, raid_state

log = structlog.get_logger("vigil.detect")

RAID_SYNC_EVERY = 100
# community -> [RaidState, posts since last sync]. The raid state holds an author map,
# too big to copy from the table per post; it is kept here and synced to the table
# every RAID_SYNC_EVERY posts and on every raid signal.
_raids: dict[str, list] = {}


@app.on_partitions_revoked.connect
async def _forget_raid_cache(app_: Any, revoked: Any, **_: Any) -> None:
    # A community may move to another worker; it must start from the table, not from
    # what this worker last saw, if it ever comes back.
    _raids.clear()


def _raid_for(community: str) -> list:
    entry = _raids.get(community)
    if entry is None:
        entry = _raids[community] = [RaidState.from_dict(raid_state.get(community)), 0]
    return entry


@app.agent(channels.posts_scored, name="vigil.detect")
async def detect(stream):
    async for scored in stream:
        community = scored.post.community
        started = time.perf_counter()
        raid = _raid_for(community)
        with metrics.counting_errors("detect"):
            state = WatchState.from_dict(burst_state.get(community))
            signals = steps.detect(state, scored, raid[0])
        # Written per event so the changelog lands on this event's partition.
        burst_state[community] = state.to_dict()
        raid[1] += 1
        if raid[1] >= RAID_SYNC_EVERY or any(s.topic_id == "raid" for s in signals):
            raid_state[community] = raid[0].to_dict()
            raid[1] = 0
        metrics.STAGE_SECONDS.labels(stage="detect").observe(time.perf_counter() - started)
        label = metrics.community_label(community)
        metrics.BURST_ZSCORE.labels(community=label).set(steps.burst_zscore(state))
        active = state.active_trends()
        for kind in ("threat", "opportunity", "neutral"):
            metrics.TRENDS_ACTIVE.labels(community=label, kind=kind).set(active.get(kind, 0))
        # signals: usually none; a trend's lifecycle step, a share spike or a raid
        for sig in signals:
            metrics.TRENDS.labels(community=label, kind=sig.kind, state=sig.state).inc()
            log.info("trend", community=community, trend_id=sig.trend_id, state=sig.state,
                     kind=sig.kind, topic=sig.topic_id, volume=sig.volume, baseline=sig.baseline)
            await channels.signals_trends.send(key=community, value=sig)
