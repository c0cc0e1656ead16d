"""``vigil notify``: escalations → notifier routes, at least once, never blocking the
pipeline.

Each route reads ``escalations`` with its own consumer group (``vigil-notify-<route>``),
assigned every partition, and commits a message's offset only once the message is
settled: delivered, suppressed by the route's policy, or refused for good (a 4xx other
than 429, logged and counted as ``failed``). A tool that is down (429, 5xx, network)
is retried with exponential backoff and jitter, at least as long as its ``Retry-After``
asks, for as long as it takes; a restart resumes at the first unsettled escalation. So
one route's outage delays that route only, and the stream processors never wait for
any of it. Run one ``vigil notify`` per deployment (partitions are assigned, not
balanced: a second copy would deliver everything twice).

Escalations are delivered in order per partition (per dedup_key, so a resolve never
overtakes its trigger). On a route's first start (no committed offset) escalations
older than ``backfill_s`` are skipped as ``suppressed_backfill``: a new route does not
page about last month. An incident's change that on-call made in a route's own tool (an
acknowledge in PagerDuty, a click in Slack or Discord: ``evidence.action_source``) is not
sent back to that tool (``suppressed_echo``): PagerDuty already knows, and the clicked
chat message was updated in place.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Optional

import aiohttp
import structlog

from connectors.backoff import Backoff
from connectors.notifiers.base import DeliveryError, NotifierSink
from models.eventtime import parse_event_time
from models.notification_policy import Route, RoutePolicy
from streams import metrics
from streams.assigned import assign_every_partition

__all__ = ["sink_for", "RouteWorker", "run_routes", "Backoff"]  # Backoff: re-exported

log = structlog.get_logger("vigil.notify")
TOPIC = "escalations"


def sink_for(route: Route) -> NotifierSink:
    if route.sink == "pagerduty":
        from connectors.notifiers.pagerduty import PagerDutySink
        return PagerDutySink(route.name, route.settings)
    if route.sink == "slack":
        from connectors.notifiers.chat import SlackSink
        return SlackSink(route.name, route.settings)
    if route.sink == "discord":
        from connectors.notifiers.chat import DiscordSink
        return DiscordSink(route.name, route.settings)
    from connectors.notifiers.webhook import WebhookSink
    return WebhookSink(route.name, route.settings)


class RouteWorker:
    def __init__(self, route: Route, sink: NotifierSink, bootstrap: str, *,
                 backfill_s: float = 3600.0, backoff: Optional[Backoff] = None):
        self.route, self.sink, self.bootstrap = route, sink, bootstrap
        self.policy = RoutePolicy(route)
        self.backfill_s = backfill_s
        self.backoff = backoff or Backoff()
        self.started_at = time.time()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=f"vigil-notify-{self.route.name}",
            enable_auto_commit=False, auto_offset_reset="earliest",
            client_id=f"vigil-notify-{self.route.name}", fetch_max_wait_ms=100)
        await consumer.start()
        try:
            # the group's committed position (or the earliest) is where each starts
            tps = await assign_every_partition(consumer, TOPIC, from_beginning=False,
                                               wait_s=float("inf"), stop=self._stopping)
            if not tps:
                return
            fresh = {tp for tp in tps if await consumer.committed(tp) is None}
            # "no failures yet" reads as 0 on dashboards and alerts, not as no data
            for outcome in ("delivered", "failed"):
                metrics.NOTIFICATIONS.labels(route=self.route.name, sink=self.route.sink,
                                             outcome=outcome)
            metrics.NOTIFICATION_PENDING.labels(route=self.route.name).set(0)
            log.info("route_started", route=self.route.name, sink=self.route.sink,
                     partitions=len(tps), first_start=bool(fresh))
            async with aiohttp.ClientSession() as session:
                while not self._stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=500, max_records=50)
                    for tp, messages in batches.items():
                        for msg in messages:
                            settled = await self._settle(session, msg.value, backfill=tp in fresh)
                            if not settled:  # stopping mid-retry: leave it pending
                                return
                            await consumer.commit({tp: msg.offset + 1})
        finally:
            metrics.NOTIFICATION_PENDING.labels(route=self.route.name).set(0)
            await consumer.stop()

    async def _settle(self, session: aiohttp.ClientSession, raw: bytes, *, backfill: bool) -> bool:
        """True once the escalation needs nothing more from this route."""
        r = self.route
        try:
            esc = json.loads(raw)
            created = parse_event_time(esc["created_at"])
        except (ValueError, KeyError, TypeError) as exc:
            log.error("escalation_unreadable", route=r.name, error=str(exc))
            metrics.NOTIFICATIONS.labels(route=r.name, sink=r.sink, outcome="failed").inc()
            return True
        if backfill and created < self.started_at - self.backfill_s:
            metrics.NOTIFICATIONS.labels(route=r.name, sink=r.sink,
                                         outcome="suppressed_backfill").inc()
            return True
        if (esc.get("evidence") or {}).get("action_source") == r.sink:
            # on-call did this in that very tool (a PagerDuty acknowledge, a Slack click):
            # sending it back would echo, and PagerDuty could loop
            metrics.NOTIFICATIONS.labels(route=r.name, sink=r.sink, outcome="suppressed_echo").inc()
            return True
        decision = self.policy.decide(esc, now=time.time())
        if decision != "deliver":
            metrics.NOTIFICATIONS.labels(route=r.name, sink=r.sink,
                                         outcome=f"suppressed_{decision}").inc()
            return True
        bound = dict(route=r.name, sink=r.sink, dedup_key=esc["dedup_key"],
                     community=esc.get("community"), status=esc["status"])
        metrics.NOTIFICATION_PENDING.labels(route=r.name).set(1)
        self.backoff.reset()
        while True:
            try:
                await self.sink.send(session, esc)
            except DeliveryError as exc:
                metrics.NOTIFICATION_ATTEMPTS.labels(route=r.name, sink=r.sink,
                                                     result=exc.kind).inc()
                if not exc.retryable:
                    log.error("notification_refused", error=str(exc), **bound)
                    metrics.NOTIFICATIONS.labels(route=r.name, sink=r.sink, outcome="failed").inc()
                    metrics.NOTIFICATION_PENDING.labels(route=r.name).set(0)
                    return True
                wait = self.backoff.next(exc.retry_after)
                log.warning("notification_retry", error=str(exc), wait_s=round(wait, 2),
                            attempt=self.backoff.attempt, **bound)
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                    return False  # stopping: not settled, stays pending
                except asyncio.TimeoutError:
                    continue
            metrics.NOTIFICATION_ATTEMPTS.labels(route=r.name, sink=r.sink, result="ok").inc()
            metrics.NOTIFICATIONS.labels(route=r.name, sink=r.sink, outcome="delivered").inc()
            metrics.NOTIFICATION_SECONDS.labels(route=r.name).observe(max(0.0, time.time() - created))
            metrics.NOTIFICATION_PENDING.labels(route=r.name).set(0)
            log.info("notified", **bound)
            return True


async def run_routes(routes: list[Route], bootstrap: str, *, backfill_s: float = 3600.0,
                     stop: Optional[asyncio.Event] = None) -> None:
    workers = [RouteWorker(r, sink_for(r), bootstrap, backfill_s=backfill_s) for r in routes]
    tasks = [asyncio.create_task(w.run(), name=f"route:{w.route.name}") for w in workers]
    stop = stop or asyncio.Event()
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for w in workers:
        w.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    for t in done:
        if t is not stopper and t.exception():
            raise t.exception()
