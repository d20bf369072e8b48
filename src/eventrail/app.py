"""create_app(): the ASGI application and its background parts."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from eventrail import __version__, openapi
from eventrail.audit.endpoints import router as audits_router
from eventrail.audit.endpoints import routes as audit_routes
from eventrail.auth.admission import Admission
from eventrail.auth.endpoints import router as auth_router
from eventrail.auth.service import Authenticator
from eventrail.cards.endpoints import router as cards_router
from eventrail.config import Settings, get_settings
from eventrail.console import endpoints as console
from eventrail.customers.endpoints import router as customers_router
from eventrail.db import Database
from eventrail.errors import install_error_handlers
from eventrail.events.endpoints import router as events_router
from eventrail.health.endpoints import router as health_router
from eventrail.health.service import Readiness
from eventrail.ingest.committer import GroupCommitter
from eventrail.ingest.endpoints import feed_router
from eventrail.ingest.endpoints import routes as ingest_routes
from eventrail.ingest.service import Ingestor
from eventrail.ingest.waiters import ResultWaiters
from eventrail.kit import metrics
from eventrail.kit.accesslog import AccessLogMiddleware
from eventrail.kit.asgi import FastLane, compile_template
from eventrail.kit.fastdb import ReadPool, ReadRoute
from eventrail.kit.json import JsonResponse
from eventrail.kit.middleware import (
    RequestGuardMiddleware,
    RequestIdMiddleware,
)
from eventrail.kit.ratelimit import RateLimiter
from eventrail.kit.signals import on_stop_signal
from eventrail.lane import LaneContext
from eventrail.notifications.delivery import Notifier, policy_from
from eventrail.notifications.endpoints import router as notifications_router
from eventrail.orgs.endpoints import router as orgs_router
from eventrail.processing.endpoints import router as logs_router
from eventrail.processing.endpoints import routes as processing_routes
from eventrail.processing.processor import Processor
from eventrail.processing.service import IngestProcessing
from eventrail.retention.service import BackgroundPruner

log = logging.getLogger("eventrail")


class Background:
    """What runs beside the HTTP API in every server process: the ingest writer
    (group commit), the processors and, where processors run, the pruner of expired
    rows (docs/retention.md)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.waiters = ResultWaiters()
        self.processor = Processor(
            db,
            self.waiters,
            batch_size=settings.processor_batch_size,
            threads=settings.processor_threads,
        )
        self.committer = GroupCommitter(db, on_commit=self.processor.wake)
        self.pruner = BackgroundPruner(db, settings)
        self.notifier = Notifier(db, policy_from(settings))

    def start(self) -> None:
        self.committer.start()
        if self.processor.thread_count > 0:
            self.processor.start()
            self.pruner.start()
            self.notifier.start()

    def stop(self) -> None:
        """After the HTTP server has answered what was in flight: write what is still
        queued for the group commit, then let the processors finish their batches
        (each step bounded: docs/deploy.md, "Stopping")."""
        self.waiters.close()
        self.pruner.stop()
        self.committer.stop()
        self.processor.stop()
        self.notifier.stop()


class EventrailApp(FastLane):
    """The ASGI application: the request metrics, then the fast lane in front of the
    FastAPI app."""

    def __init__(self, api: FastAPI) -> None:
        super().__init__(api, api.state.db.health)
        self.api = api
        self.state = api.state
        # Around both lanes: each request counted in the metrics and given one access
        # line, whichever lane serves it.
        self._outer: ASGIApp = AccessLogMiddleware(super().__call__, self._route_of)
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._outer(scope, receive, send)

    def _route_of(self, scope: Scope) -> str | None:
        """The template of the route a request was meant for when no router named it: a
        refusal before routing, and the framework's own pages (/openapi.json, /docs,
        its assets), which its router does not name. Rare: the documented paths and
        the pages are simply tried in turn, those without parameters first."""
        if self._templates is None:
            paths = set(self.api.openapi()["paths"])
            for route in self.api.router.routes:
                if isinstance(route, Mount):
                    paths.add(route.path + "/{path}")
                elif isinstance(route, Route):
                    paths.add(route.path)
            ordered = sorted(paths, key=lambda p: (p.count("{"), p))
            self._templates = [(compile_template(p), p) for p in ordered]
        path = scope["path"]
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return None


def create_app(settings: Settings | None = None, database: Database | None = None) -> EventrailApp:
    settings = settings or get_settings()
    if settings.metrics_dir is not None and metrics.directory() != str(settings.metrics_dir):
        raise ValueError(
            "EVENTRAIL_METRICS_DIR is honoured by `eventrail serve`; under another server "
            "set PROMETHEUS_MULTIPROC_DIR to the same directory"
        )
    db = database or Database(settings)
    background = Background(db, settings)
    reads = ReadRoute(
        ReadPool(settings, db.health, threads=settings.read_threads),
        ReadPool(settings, db.health, url=settings.read_database_url, threads=settings.read_threads)
        if settings.read_database_url
        else None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything made while starting (modules, the app, the ORM's registries)
        # lives as long as the process: moved out of the collector's sight, the
        # full collections that large answers set off no longer walk all of it
        # (bench/README.md: the p99 of event_data for the busiest customers).
        gc.collect()
        gc.freeze()
        background.start()
        try:
            # On SIGTERM, before uvicorn's own handler starts the shutdown:
            # handlers waiting for a verdict (?wait=true) answer without it now
            # rather than hold the shutdown for up to their 30 s.
            with on_stop_signal(background.waiters.close, chain=True):
                yield
        finally:
            background.stop()
            reads.close()
            limiter.close()
            metrics.process_ended()
            if database is None:
                db.dispose()

    api = FastAPI(
        title="eventrail",
        version=__version__,
        summary="Behavioural events and entity audit trail, wire-compatible with Capillary",
        default_response_class=JsonResponse,
        lifespan=lifespan,
        # /docs and /redoc are eventrail's own, with pinned local assets (openapi.py)
        docs_url=None,
        redoc_url=None,
    )
    limiter = RateLimiter(settings.redis_url, key_prefix=settings.redis_key_prefix)
    authenticator = Authenticator(
        settings.signing_key(),
        limiter,
        failures_per_minute=settings.auth_failures_per_minute,
        failures_per_hour=settings.auth_failures_per_hour,
    )
    admission = Admission(db, authenticator, limiter)
    api.state.settings = settings
    api.state.db = db
    api.state.authenticator = authenticator
    api.state.rate_limiter = limiter
    api.state.admission = admission
    api.state.background = background
    api.state.readiness = Readiness(
        db,
        background.processor,
        limiter,
        max_queue_age_seconds=settings.ready_max_queue_age_seconds,
    )
    api.state.reads = reads
    ingestor = Ingestor(
        db,
        admission,
        background.committer,
        background.waiters,
        IngestProcessing(db),
        processors_here=background.processor.thread_count > 0,
    )
    api.state.ingestor = ingestor
    install_error_handlers(api)
    # Added last = outermost: every response, the guard's included, gets a request id.
    api.add_middleware(RequestGuardMiddleware)
    api.add_middleware(RequestIdMiddleware)
    for router in (
        health_router,
        auth_router,
        orgs_router,
        customers_router,
        cards_router,
        events_router,
        logs_router,
        notifications_router,
        audits_router,
        feed_router,
    ):
        api.include_router(router)
    console.install(api)
    openapi.install(api)

    app = EventrailApp(api)
    lane = LaneContext(settings, db, reads, admission)
    for method, template, handler in (
        *ingest_routes(ingestor),  # first: the busiest patterned routes
        *processing_routes(lane),
        *audit_routes(lane),
    ):
        app.route(method, template, handler)
    return app
