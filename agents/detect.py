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
_settings = app.vigil_settings

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


def _write(table, key: str, value: dict, partition: int) -> None:
    # A batch spans partitions, so the changelog partition is named, not taken from
    # the stream's current event: the community's own, as a per-event write would use.
    table.data[key] = value
    table.send_changelog(partition, key, value)


@app.agent(channels.posts_scored, name="vigil.detect")
async def detect(stream):
    # Batched like scoring: a community's state is read and written once per batch, not
    # per post (one changelog record per community per batch); the offsets are acked
    # after the batch, so a crash replays the batch onto the state it started from.
    async for events in stream.take_events(_settings.score_batch_size,
                                           within=_settings.score_batch_within_s):
        started = time.perf_counter()
        touched: dict[str, tuple[WatchState, int]] = {}
        out: list = []
        for event in events:
            scored = event.value
            community = scored.post.community
            state = (touched[community][0] if community in touched
                     else WatchState.from_dict(burst_state.get(community)))
            touched[community] = (state, event.message.partition)
            raid = _raid_for(community)
            with metrics.counting_errors("detect"):
                signals = steps.detect(state, scored, raid[0])
            raid[1] += 1
            if raid[1] >= RAID_SYNC_EVERY or any(s.topic_id == "raid" for s in signals):
                _write(raid_state, community, raid[0].to_dict(), event.message.partition)
                raid[1] = 0
            out.extend(signals)
        # touched: community -> (its state after the batch, the partition it lives on)
        for community, (state, partition) in touched.items():
            _write(burst_state, community, state.to_dict(), partition)
            label = metrics.community_label(community)
            metrics.BURST_ZSCORE.labels(community=label).set(steps.burst_zscore(state))
            active = state.active_trends()
            for kind in ("threat", "opportunity", "neutral"):
                metrics.TRENDS_ACTIVE.labels(community=label, kind=kind).set(active.get(kind, 0))
        metrics.STAGE_SECONDS.labels(stage="detect").observe(time.perf_counter() - started)
        # out: usually empty; a trend's lifecycle step, a share spike or a raid
        for sig in out:
            metrics.TRENDS.labels(community=metrics.community_label(sig.community),
                                  kind=sig.kind, state=sig.state).inc()
            log.info("trend", community=sig.community, trend_id=sig.trend_id, state=sig.state,
                     kind=sig.kind, topic=sig.topic_id, volume=sig.volume, baseline=sig.baseline)
            await channels.signals_trends.send(key=sig.community, value=sig)
