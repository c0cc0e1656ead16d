"""The callback server of ``vigil notify``: Slack and Discord button clicks and PagerDuty
webhooks, verified, then written to ``incidents.actions`` / ``moderation.feedback``.

    POST /slack/interactions     Slack app > Interactivity > Request URL
    POST /discord/interactions   Discord application > Interactions Endpoint URL
    POST /pagerduty/webhook      PagerDuty > Integrations > Generic Webhooks (v3)
    GET  /healthz

Order per request: size limit, signature (:mod:`~connectors.callbacks.verify`), replay
check, parse (:mod:`~connectors.callbacks.actions`), produce with ``acks=all`` and wait,
then answer: Slack gets its 200 and the message is replaced through ``response_url``,
Discord gets the type-7 update itself, PagerDuty a 200. So an answer of success means the
record is on the broker; a broker outage answers 503 and the tool (or the person) tries
again. Nothing unverified is parsed, let alone produced. Every request is counted in
``vigil_callbacks_total{tool, outcome}``.

PagerDuty names the incident by its ``incident_key`` (Vigil's dedup_key) but not its
community, which keys ``incidents.actions``: :class:`IncidentDirectory` reads
``escalations`` from the start and keeps ``dedup_key -> community``. An incident Vigil did
not raise (another integration on the same service) is ignored with a 200.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from typing import Callable, Optional
from urllib.parse import parse_qs

import aiohttp
import structlog
from aiohttp import web

from connectors.callbacks import actions
from connectors.callbacks.buttons import Unreadable
from connectors.callbacks.verify import (Refused, ReplayGuard, verify_discord,
                                         verify_pagerduty, verify_slack)
from streams import metrics

__all__ = ["CallbackServer", "IncidentDirectory"]

log = structlog.get_logger("vigil.callbacks")
MAX_BODY = 256 * 1024
DAY_S = 24 * 3600.0


class IncidentDirectory:
    """``dedup_key -> community`` of every escalation on the topic (bounded)."""

    def __init__(self, bootstrap: str, max_keys: int = 500_000):
        self.bootstrap, self.max_keys = bootstrap, max_keys
        self._map: OrderedDict[str, str] = OrderedDict()
        self._task: Optional[asyncio.Task] = None

    def get(self, dedup_key: str) -> Optional[str]:
        return self._map.get(dedup_key)

    def add(self, dedup_key: str, community: str) -> None:
        self._map[dedup_key] = community
        self._map.move_to_end(dedup_key)
        while len(self._map) > self.max_keys:
            self._map.popitem(last=False)

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", group_id=None)
        await consumer.start()
        # in the background: the callback server answers while the topic is looked up
        self._task = asyncio.create_task(self._run(consumer), name="incident-directory")

    async def _run(self, consumer) -> None:
        from streams.assigned import assign_every_partition

        try:
            while not await assign_every_partition(consumer, "escalations", wait_s=30.0):
                log.warning("escalations_topic_missing")
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for r in records:
                        try:
                            esc = json.loads(r.value)
                            self.add(esc["dedup_key"], esc["community"])
                        except (ValueError, KeyError, TypeError):
                            continue
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class CallbackServer:
    def __init__(self, bootstrap: str, pseudonymize: Callable[[str, str], str], *,
                 slack_secret: Optional[bytes] = None, discord_public_key: Optional[str] = None,
                 pagerduty_secrets: tuple[bytes, ...] = (), host: str = "0.0.0.0", port: int = 8090):
        self.bootstrap, self.pseudonymize = bootstrap, pseudonymize
        self.slack_secret, self.discord_key = slack_secret, discord_public_key
        self.pagerduty_secrets, self.host, self.port = pagerduty_secrets, host, port
        self.replays = ReplayGuard()
        self.deliveries = ReplayGuard(window_s=DAY_S)  # PagerDuty retries for hours
        self.directory = IncidentDirectory(bootstrap)
        self._producer = self._runner = self._http = None
        self._updates: set[asyncio.Task] = set()

    async def start(self) -> None:
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                          client_id="vigil-callbacks")
        await self._producer.start()
        if self.pagerduty_secrets:
            await self.directory.start()
        self._http = aiohttp.ClientSession()
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
        for path, tool, on in (("/slack/interactions", "slack", self.slack_secret),
                               ("/discord/interactions", "discord", self.discord_key),
                               ("/pagerduty/webhook", "pagerduty", self.pagerduty_secrets)):
            if on:
                app.router.add_post(path, self._handler(tool))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("callbacks_listening", host=self.host, port=self.port,
                 slack=bool(self.slack_secret), discord=bool(self.discord_key),
                 pagerduty=bool(self.pagerduty_secrets))

    async def stop(self) -> None:
        await asyncio.gather(*self._updates, return_exceptions=True)
        for closer in (self._runner and self._runner.cleanup, self.directory.stop,
                       self._producer and self._producer.stop, self._http and self._http.close):
            if closer:
                await closer()

    def _handler(self, tool: str):
        handle = {"slack": self._slack, "discord": self._discord, "pagerduty": self._pagerduty}[tool]

        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return self._count(tool, "too_large", web.json_response({}, status=413))
            try:
                return await handle(request.headers, body)
            except Refused as exc:
                log.warning("callback_refused", tool=tool, reason=exc.reason)
                return self._count(tool, exc.reason, web.json_response(
                    {"error": "invalid request signature"}, status=401))
            except (Unreadable, ValueError, KeyError, TypeError, AttributeError):
                return self._count(tool, "unreadable", web.json_response({}, status=400))
            except actions.Ignored as exc:
                log.info("callback_ignored", tool=tool, reason=exc.reason)
                return self._count(tool, "ignored", web.json_response({}))
            except (OSError, asyncio.TimeoutError) as exc:  # the broker: the tool retries
                log.error("callback_unavailable", tool=tool, error=type(exc).__name__)
                return self._count(tool, "unavailable", web.json_response({}, status=503))
        return endpoint

    @staticmethod
    def _count(tool: str, outcome: str, response: web.StreamResponse) -> web.StreamResponse:
        metrics.CALLBACKS.labels(tool=tool, outcome=outcome).inc()
        return response

    async def _produce(self, records: actions.Out) -> None:
        from aiokafka.errors import KafkaError

        try:
            futures = [await self._producer.send(topic, rec.dumps(), key=key)
                       for topic, key, rec in records]
            await asyncio.wait_for(asyncio.gather(*futures), timeout=10)
        except KafkaError as exc:
            raise OSError(str(exc)) from None

    async def _slack(self, headers, body: bytes) -> web.StreamResponse:
        verify_slack(self.slack_secret, headers, body, now=time.time())
        self.replays.check("slack:" + headers.get("X-Slack-Signature", ""))
        payload = json.loads(parse_qs(body.decode())["payload"][0])
        records, message = actions.slack_click(payload, self.pseudonymize)
        await self._produce(records)
        if payload.get("response_url"):  # after the answer: Slack wants it within 3 s
            task = asyncio.create_task(self._replace(payload["response_url"], message))
            self._updates.add(task)
            task.add_done_callback(self._updates.discard)
        self._accepted("slack", records)
        return web.Response(status=200)

    async def _replace(self, url: str, message: dict) -> None:
        try:
            async with self._http.post(url, json=message, timeout=aiohttp.ClientTimeout(total=10)) as r:
                metrics.CALLBACK_UPDATES.labels(tool="slack", result="ok" if r.status < 300
                                                else f"http_{r.status // 100}xx").inc()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            metrics.CALLBACK_UPDATES.labels(tool="slack", result="network").inc()

    async def _discord(self, headers, body: bytes) -> web.StreamResponse:
        verify_discord(self.discord_key, headers, body, now=time.time())
        interaction = json.loads(body)
        if interaction.get("type") == 1:  # PING: Discord checking the endpoint
            return self._count("discord", "ping", web.json_response({"type": 1}))
        if interaction.get("type") != 3:
            raise actions.Ignored("not_a_click")
        self.replays.check("discord:" + str(interaction.get("id")))
        records, update = actions.discord_click(interaction, self.pseudonymize)
        await self._produce(records)
        self._accepted("discord", records)
        return web.json_response(update)

    async def _pagerduty(self, headers, body: bytes) -> web.StreamResponse:
        verify_pagerduty(self.pagerduty_secrets, headers, body)
        payload = json.loads(body)
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        delivery = "pagerduty:" + str(event.get("id") or "")
        if event.get("id") and self.deliveries.seen(delivery):
            # PagerDuty delivering again (our answer was lost): it acted already, say so
            return self._count("pagerduty", "duplicate", web.json_response({}))
        key = ((event.get("data") or {}) if isinstance(event.get("data"), dict) else {}).get("incident_key")
        for _ in range(10):  # the directory may trail the topic by a moment
            if not key or self.directory.get(key) is not None:
                break
            await asyncio.sleep(0.5)
        records = actions.pagerduty_event(payload, self.directory.get, self.pseudonymize)
        await self._produce(records)
        if event.get("id"):
            self.deliveries.add(delivery)  # only once it is on the broker
        self._accepted("pagerduty", records)
        return web.json_response({})

    def _accepted(self, tool: str, records: actions.Out) -> None:
        metrics.CALLBACKS.labels(tool=tool, outcome="accepted").inc()
        for topic, _, rec in records:
            log.info("callback_accepted", tool=tool, topic=topic, community=rec.community,
                     what=getattr(rec, "action", None) if topic == "incidents.actions" else rec.label)
