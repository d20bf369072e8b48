"""create_app(): the ASGI application."""

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
from eventrail.kit.json import JsonResponse
from eventrail.kit.middleware import RequestGuardMiddleware, RequestIdMiddleware
from eventrail.orgs.endpoints import router as orgs_router

log = logging.getLogger("eventrail")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = database or Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
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
    install_error_handlers(app)
    # Added last = outermost: every response, the guard's included, gets a request id.
    app.add_middleware(RequestGuardMiddleware, lenient_prefixes=("/webhooks/",))
    app.add_middleware(RequestIdMiddleware)
    for router in (auth_router, orgs_router, customers_router, cards_router, audit_router):
        app.include_router(router)
    return app
