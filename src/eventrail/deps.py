"""Request dependencies, as ``Annotated`` aliases named for what they give."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import orm

from eventrail.audit.service import ChangeContext
from eventrail.auth.admission import Admission, read_credentials
from eventrail.auth.schemas import Caller
from eventrail.db import Database
from eventrail.errors import AdminRequired

_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request) -> AsyncIterator[orm.Session]:
    """The request's transaction. The session is made here, on the event loop (it
    connects when the handler first uses it, in the handler's worker thread), and
    committed or rolled back in one worker-thread call after the handler, as
    FastAPI runs a sync dependency's exit: shielded from cancellation, outside the
    thread pool's capacity (a commit never waits for a thread held by a handler
    waiting for a pooled connection). A sync generator would cost one thread
    hand-off more per request, to enter it."""
    db: Database = request.app.state.db
    session = db.session(write=request.method not in _READ_ONLY_METHODS)
    commit = False
    try:
        yield session
        commit = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(
                partial(db.finish, session, commit=commit), limiter=anyio.CapacityLimiter(1)
            )


# scope="function": the transaction commits when the handler returns, before the
# response is sent, so a 200 always means the change is durable.
Session = Annotated[orm.Session, Depends(_session, scope="function")]


async def _current_caller(request: Request) -> Caller:
    admission: Admission = request.app.state.admission
    credentials = read_credentials(request.scope["headers"], request.scope.get("client"))
    route = request.scope.get("route")
    endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    caller, decision = await admission.admit(credentials, endpoint)
    request.state.caller = caller
    request.state.rate_limit = decision
    return caller


CurrentCaller = Annotated[Caller, Depends(_current_caller)]


def _admin_caller(caller: CurrentCaller) -> Caller:
    if not caller.admin:
        raise AdminRequired()
    return caller


# The caller, who must hold the admin permission (org configuration); routes using
# it declare ADMIN_ONLY so that /openapi.json lists their 403.
AdminCaller = Annotated[Caller, Depends(_admin_caller)]
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller's till or client lacks the admin permission"}
}


def answers(model: type[BaseModel], admin_only: bool = False) -> dict[str, Any]:
    """A route's documented answer, for a handler that returns a plain dict (sent as it
    is): ``model`` in /openapi.json, and ADMIN_ONLY's 403 with ``admin_only``."""
    responses: dict[int | str, dict[str, Any]] = {200: {"model": model}}
    if admin_only:
        responses.update(ADMIN_ONLY)
    return {"response_model": None, "responses": responses}


def request_id(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


RequestId = Annotated[str, Depends(request_id)]


_USER_CONTEXT_HEADERS = (
    ("entityType", "user-context-entity-type"),
    ("entityId", "user-context-entity-id"),
    ("entitySource", "user-context-entity-source"),
    ("entitySourceId", "user-context-entity-source-id"),
)
_MAX_CONTEXT_VALUE = 255


async def _change_context(request: Request, caller: CurrentCaller) -> ChangeContext:
    context: dict[str, str | None] = {}
    for key, header in _USER_CONTEXT_HEADERS:
        raw = request.headers.get(header)
        context[key] = raw.strip()[:_MAX_CONTEXT_VALUE] if raw and raw.strip() else None
    mode = (context["entitySource"] or "API").upper()[:40]
    return ChangeContext(
        org_id=caller.org_id,
        request_id=request.state.request_id,
        updated_by=caller.till_id,
        till=caller.till_audit(),
        store=caller.store.as_audit() if caller.store else None,
        user_context=context if any(context.values()) else None,
        mode=mode,
    )


# Who is changing what, from where: the audit context of a write.
Change = Annotated[ChangeContext, Depends(_change_context)]
