"""GET /v2/events/logs and GET /v2/events/event_data (the seeds' read APIs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from eventrail.deps import CurrentCaller, Session
from eventrail.errors import BadRequest
from eventrail.kit.json import JsonResponse
from eventrail.processing import service

router = APIRouter(prefix="/v2/events", tags=["event logs and data"])

DEFAULT_EVENTS = 1000
MAX_EVENTS = 10_000
_DATE_HELP = "epoch ms, yyyy-MM-dd, yyyy-MM-dd HH:mm:ss or ISO 8601"


def _envelope(data: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse({"data": data, "warnings": [], "errors": []})


@router.get("/logs", summary="The org's event processing log, newest first")
def event_logs(
    caller: CurrentCaller,
    session: Session,
    event_name: str | None = Query(default=None, max_length=200),
    from_date: str | None = Query(default=None, max_length=64, description=_DATE_HELP),
    to_date: str | None = Query(default=None, max_length=64, description=_DATE_HELP),
    limit: int = Query(default=10, ge=1, le=1000),
    status: str | None = Query(default=None, max_length=40, description="Extension"),
    offset: int = Query(default=0, ge=0, le=10_000_000, description="Extension"),
) -> Any:
    return _envelope(
        service.list_logs(
            session,
            caller,
            event_name=event_name,
            from_date=from_date,
            to_date=to_date,
            status=status,
            limit=limit,
            offset=offset,
        )
    )


@router.get("/event_data/{userId}", summary="A customer's events, newest first")
def customer_events(
    caller: CurrentCaller,
    session: Session,
    user_id: int = Path(alias="userId", ge=1, le=2**63 - 1),
    user_id_query: int | None = Query(default=None, alias="userId", ge=1, le=2**63 - 1),
    scope: str | None = Query(default=None, max_length=20, description="child (connected orgs)"),
    event_name: str | None = Query(default=None, max_length=200),
    from_date: str | None = Query(default=None, max_length=64, description=_DATE_HELP),
    to_date: str | None = Query(default=None, max_length=64, description=_DATE_HELP),
    limit: int = Query(default=DEFAULT_EVENTS, ge=1, le=MAX_EVENTS),
) -> Any:
    if user_id_query is not None and user_id_query != user_id:
        raise BadRequest("Invalid value for query parameter 'userId': differs from the path")
    return _envelope(
        service.customer_events(
            session,
            caller,
            user_id,
            scope=scope,
            event_name=event_name,
            from_date=from_date,
            to_date=to_date,
            limit=limit,
        )
    )


@router.get("/event_data", summary="One event by its requestId")
def one_event(
    caller: CurrentCaller,
    session: Session,
    event_id: str = Query(alias="id", min_length=1, max_length=64),
) -> Any:
    return _envelope(service.one_event(session, caller, event_id))
