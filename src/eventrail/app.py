"""create_app(): the ASGI application and its background parts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from eventrail import __version__
from eventrail.audit.endpoints import router as audit_router
from eventrail.auth.endpoints import router as auth_router
from eventrail.auth.service import Authenticator
from eventrail.cards.endpoints import router as cards_router
from eventrail.config import Settings, get_settings
from eventrail.customers.endpoints import router as customers_router
from eventrail.db import Database
from eventrail.errors import install_error_handlers
from eventrail.events.endpoints import router as events_router
from eventrail.ingest.committer import GroupCommitter
from eventrail.ingest.endpoints import routes as ingest_routes
from eventrail.ingest.service import Ingestor
from eventrail.kit.json import JsonResponse
from eventrail.kit.middleware import RequestGuardMiddleware, RequestIdMiddleware
from eventrail.kit.ratelimit import RateLimiter
from eventrail.orgs.endpoints import router as orgs_router
from eventrail.processing.endpoints import router as processing_router
from eventrail.processing.processor import Processor
from eventrail.processing.waiters import ResultWaiters

log = logging.getLogger("eventrail")


class Background:
    """What runs beside the HTTP API in every server process: the ingest writer
    (group commit) and the processors."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.waiters = ResultWaiters()
        self.processor = Processor(
            db,
            self.waiters,
            batch_size=settings.processor_batch_size,
            threads=settings.processor_threads,
        )
        self.committer = GroupCommitter(db, on_commit=self.processor.wake)

    def start(self) -> None:
        self.committer.start()
        if self.processor.thread_count > 0:
            self.processor.start()

    def stop(self) -> None:
        self.committer.stop()
        self.processor.stop()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = database or Database(settings)
    background = Background(db, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background.start()
        try:
            yield
        finally:
            background.stop()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="eventrail",
        version=__version__,
        summary="Behavioural events and entity audit trail, wire-compatible with Capillary",
        default_response_class=JsonResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.authenticator = Authenticator(settings.signing_key())
    app.state.rate_limiter = RateLimiter(settings.redis_url, key_prefix=settings.redis_key_prefix)
    app.state.background = background
    app.state.ingestor = Ingestor(
        db,
        app.state.authenticator,
        background.committer,
        background.waiters,
        app.state.rate_limiter,
    )
    install_error_handlers(app)
    # Added last = outermost: every response, the guard's included, gets a request id.
    app.add_middleware(RequestGuardMiddleware, lenient_prefixes=("/webhooks/",))
    app.add_middleware(RequestIdMiddleware)
    for router in (
        auth_router,
        orgs_router,
        customers_router,
        cards_router,
        audit_router,
        events_router,
        processing_router,
    ):
        app.include_router(router)
    app.router.routes.extend(ingest_routes)
    return app
