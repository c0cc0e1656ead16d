"""``vigil serve``: Perspective API's v1alpha1 over HTTP, scored by Vigil.

    POST /v1alpha1/comments:analyze        AnalyzeComment
    POST /v1alpha1/comments:suggestscore   SuggestCommentScore: a label on moderation.feedback
    GET  /openapi.json                     the contract (committed: agents/api/openapi.json)
    GET  /healthz, /metrics
    /console/...                           the on-call console (:mod:`agents.console`)

A client built for Perspective changes only its endpoint (and key). Every request is
authenticated first (``?key=`` or ``Authorization: Bearer``; :mod:`agents.api.keys`),
then rate-limited per key, then parsed (:mod:`models.perspective`); every failure answers
in Google's error shape, never with a traceback. The comment is scored with the
requested community's learnt model (``communityId``; default ``api``) in a micro-batch
(:mod:`agents.api.batcher`), without touching the community's state: an analyzed
comment is not remembered, joins no topic and moves no threshold, so ``doNotStore``
holds for every request, and nothing of an analyze request is published or logged
beyond its method, outcome and latency.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import structlog
from aiohttp import web

from agents.api.batcher import MicroBatcher
from agents.api.keys import ApiKey, KeyStore, RateLimiter
from agents.api.learning import FeedbackLearner
from config.settings import Settings
from models import perspective as pv
from models.eventtime import to_iso
from models.language import UNDETERMINED, LanguageDetector
from models.moderator_labels import idempotency_key
from models.pseudonym import Pseudonymizer
from streams import metrics
from streams.pipeline import Pipeline
from streams.records import ModerationFeedback

__all__ = ["build_app", "DEFAULT_COMMUNITY", "OPENAPI"]

log = structlog.get_logger("vigil.serve")
DEFAULT_COMMUNITY = "api"
OPENAPI = Path(__file__).with_name("openapi.json")
MAX_BODY = 64 * 1024
_TOXICITY_LIKE = ("TOXICITY", "SEVERE_TOXICITY", "INSULT", "IDENTITY_ATTACK", "THREAT",
                  "PROFANITY", "SEXUALLY_EXPLICIT")


class Service:
    def __init__(self, settings: Settings, keys: KeyStore, *, producer_bootstrap: Optional[str]):
        self.settings, self.keys, self.limits = settings, keys, RateLimiter()
        self.pipeline = Pipeline(settings)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="vigil-serve-inference")
        self.batcher = MicroBatcher(self._score, self.executor,
                                    max_texts=settings.score_batch_size)
        self.learner = FeedbackLearner(self.pipeline, self.executor, settings.bootstrap_servers,
                                       Path(settings.data_dir) / "models" / "toxicity.ckpt")
        self.pseudonymize = Pseudonymizer(settings.effective_pseudonym_key)
        self.bootstrap = producer_bootstrap
        self.languages = None
        self._producer = None
        from agents.console.routes import Console

        self.console = Console(settings, self.send, self.pseudonymize, self._community_stats)

    # -- start/stop -------------------------------------------------------------------
    async def start(self, app: web.Application) -> None:
        from aiokafka import AIOKafkaProducer

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self._load)
        self.batcher.start()
        await self.learner.start()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                          client_id="vigil-serve")
        await self._producer.start()
        await self.console.feed.start()

    async def send(self, topic: str, key: bytes, record) -> None:
        """One record on the broker (acks=all) before the caller answers."""
        future = await self._producer.send(topic, record.dumps(), key=key)
        await asyncio.wait_for(future, timeout=10)

    async def stop(self, app: web.Application) -> None:
        await self.console.feed.stop()
        await self.batcher.stop()
        await self.learner.stop()
        if self._producer is not None:
            await self._producer.stop()
        self.executor.shutdown(wait=False)

    def _load(self) -> None:
        self.pipeline.load_models()
        self.languages = LanguageDetector()
        self.languages.load()

    def _community_stats(self, community: str) -> dict:
        """What this process's model has learnt for a community (read, not changed)."""
        model = self.pipeline.score.toxicity
        return {"labels": model.guard._labels.get(community, 0), "trust": model.trust(community)}

    # -- on the inference thread ------------------------------------------------------
    def _score(self, texts: list[str], communities: list[str]) -> list[dict[str, float]]:
        # the model only: nothing remembered, no topic joined, no threshold moved
        model = self.pipeline.score.toxicity
        scores = model.score_batch(texts, communities)
        return [pv.attribute_scores(s.toxicity, s.categories, model.meaning(s.evidence))
                for s in scores]

    # -- requests ---------------------------------------------------------------------
    def _authenticate(self, request: web.Request) -> ApiKey:
        given = request.query.get("key")
        auth = request.headers.get("Authorization", "")
        if not given and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given:
            raise pv.ApiError("UNAUTHENTICATED", "Method requires an API key: ?key= or "
                                                 "Authorization: Bearer.")
        key = self.keys.check(given)
        if key is None:
            raise pv.ApiError("PERMISSION_DENIED", "API key not valid, or revoked.")
        wait = self.limits.take(key.name, key.qps)
        if wait > 0:
            raise pv.ApiError("RESOURCE_EXHAUSTED", f"Quota exceeded: {key.qps:g} requests per "
                                                    "second for this key.", retry_after_s=wait)
        return key

    def _detect(self, text: str) -> list[str]:
        lang = self.languages.language(text)
        return [] if lang == UNDETERMINED else [lang]

    def _check_language(self, text: str, requested: tuple) -> list[str]:
        # the pipeline's rule (models/language.py): a request that names no language is
        # refused only when its text is surely not English, as Perspective refuses one
        detected = self._detect(text)
        unsupported = [x for x in requested if x.split("-")[0] not in pv.SUPPORTED_LANGUAGES]
        if not requested and detected and detected[0] not in pv.SUPPORTED_LANGUAGES:
            unsupported = detected
        if unsupported:
            raise pv.ApiError("UNIMPLEMENTED", f"Attributes do not support request languages: "
                                               f"{', '.join(unsupported)}. Vigil scores: "
                                               f"{', '.join(pv.SUPPORTED_LANGUAGES)}.")
        return detected

    async def analyze(self, body) -> dict:
        req = pv.parse_analyze(body)
        detected = self._check_language(req.text, req.languages)
        community = req.community or DEFAULT_COMMUNITY
        bounds = pv.sentences(req.text) if req.span_annotations else []
        results = await self.batcher.submit(
            [req.text] + [req.text[s:e] for s, e in bounds], community)
        return pv.analyze_response(req, results[0], [(s, e, r) for (s, e), r in
                                                     zip(bounds, results[1:])], detected)

    async def suggest(self, body, key: ApiKey) -> dict:
        req = pv.parse_suggest(body)
        detected = self._check_language(req.text, req.languages)
        given = [v for name, v in req.scores.items() if name in _TOXICITY_LIKE]
        if not given:
            raise pv.ApiError("INVALID_ARGUMENT", "attributeScores must include TOXICITY "
                                                  "(or another toxicity attribute) to learn from.")
        value = req.scores.get("TOXICITY", max(given))
        community = req.community or DEFAULT_COMMUNITY
        label = "toxic" if value >= 0.5 else "not_toxic"
        post_id = "api:" + idempotency_key(community, req.text)[:20]
        fb = ModerationFeedback(
            post_id=post_id, community=community, label=label, action="none",
            moderator_id=self.pseudonymize("api", key.name), time=to_iso(time.time()),
            text=req.text, source="api",
            idempotency_key=idempotency_key("api", key.name, community, post_id, label))
        await self.send("moderation.feedback", community.encode(), fb)
        out = {"detectedLanguages": detected, "requestedLanguages": list(req.languages)}
        if req.client_token is not None:
            out["clientToken"] = req.client_token
        return out


def _error(exc: pv.ApiError) -> web.Response:
    headers = ({"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
               if exc.retry_after_s else {})
    return web.json_response(exc.body(), status=exc.code, headers=headers)


def _endpoint(service: Service, method: str):
    async def handle(request: web.Request) -> web.Response:
        started, outcome = time.perf_counter(), "ok"
        try:
            key = service._authenticate(request)
            if request.content_length and request.content_length > MAX_BODY:
                raise pv.ApiError("INVALID_ARGUMENT", f"Request larger than {MAX_BODY} bytes.")
            try:
                body = json.loads(await request.read())
            except (ValueError, UnicodeDecodeError):
                raise pv.ApiError("INVALID_ARGUMENT", "Request body is not valid JSON.") from None
            if method == "analyze":
                return web.json_response(await service.analyze(body))
            return web.json_response(await service.suggest(body, key))
        except pv.ApiError as exc:
            outcome = exc.status.lower()
            return _error(exc)
        except web.HTTPRequestEntityTooLarge:
            outcome = "invalid_argument"
            return _error(pv.ApiError("INVALID_ARGUMENT", f"Request larger than {MAX_BODY} bytes."))
        except Exception as exc:  # a bug or a broker outage: the shape holds, no traceback
            outcome = "internal"
            log.error("request_failed", method=method, error=type(exc).__name__)
            return _error(pv.ApiError("UNAVAILABLE" if isinstance(exc, (OSError, asyncio.TimeoutError))
                                      else "INTERNAL", "The request could not be served; retry."))
        finally:
            metrics.API_REQUESTS.labels(method=method, outcome=outcome).inc()
            metrics.API_SECONDS.labels(method=method).observe(time.perf_counter() - started)
    return handle


async def _metrics(request: web.Request) -> web.Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return web.Response(body=generate_latest(metrics.REGISTRY),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(settings: Settings, keys: KeyStore) -> web.Application:
    service = Service(settings, keys, producer_bootstrap=settings.bootstrap_servers)
    app = web.Application(client_max_size=MAX_BODY)
    app["service"] = service
    app.on_startup.append(service.start)
    app.on_cleanup.append(service.stop)
    app.router.add_post("/v1alpha1/comments:analyze", _endpoint(service, "analyze"))
    app.router.add_post("/v1alpha1/comments:suggestscore", _endpoint(service, "suggestscore"))
    app.router.add_get("/openapi.json", lambda _: web.FileResponse(OPENAPI))
    app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
    app.router.add_get("/metrics", _metrics)
    service.console.routes(app)  # the on-call console, on the same port
    return app
