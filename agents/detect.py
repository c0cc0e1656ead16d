"""posts.scored (ScoredPost) -> signals.trends (TrendSignal): per-community bursts."""

from __future__ import annotations

import time

import structlog

from agents.runtime import steps
from models.community_watch import WatchState
from streams import channels, metrics
from streams.app import app
from streams.tables import burst_state

log = structlog.get_logger("vigil.detect")


@app.agent(channels.posts_scored, name="vigil.detect")
async def detect(stream):
    async for scored in stream:
        community = scored.post.community
        started = time.perf_counter()
        with metrics.counting_errors("detect"):
            state = WatchState.from_dict(burst_state.get(community))
            signals = steps.detect(state, scored)
        # Written per event so the changelog lands on this event's partition.
        burst_state[community] = state.to_dict()
        metrics.STAGE_SECONDS.labels(stage="detect").observe(time.perf_counter() - started)
        # signals: zero, one ("rising" or "resolved"), or rarely two TrendSignals
        for sig in signals:
            metrics.TRENDS.labels(kind=sig.kind, state=sig.state).inc()
            log.info("trend", community=community, trend_id=sig.trend_id, state=sig.state,
                     kind=sig.kind, volume=sig.volume, baseline=sig.baseline)
            await channels.signals_trends.send(key=community, value=sig)
