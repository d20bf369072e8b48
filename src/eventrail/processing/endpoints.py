"""GET /v2/events/logs and GET /v2/events/event_data: read APIs served
by the fast lane (their OpenAPI description is in ``openapi.py``); the replay and
summary APIs of the log, FastAPI routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from eventrail.deps import ADMIN_ONLY, AdminCaller, CurrentCaller, RequestId, Session
from eventrail.errors import BadRequest
from eventrail.kit.asgi import (
    FastRequest,
    FastResponse,
    Route,
    int_param,
    json_response,
    str_param,
)
from eventrail.kit.schemas import QueryBool
from eventrail.lane import LaneContext
from eventrail.processing import service
from eventrail.processing.schemas import ReplayAnswer, ReplayIn, SummaryAnswer

DEFAULT_EVENTS = 1000
MAX_EVENTS = 10_000
_LONG = 2**63 - 1
LOGS = "GET /v2/events/logs"
EVENT_DATA = "GET /v2/events/event_data/{userId}"
ONE_EVENT = "GET /v2/events/event_data"


def _envelope(data: list[dict[str, object]]) -> FastResponse:
    return json_response({"data": data, "warnings": [], "errors": []})


def routes(ctx: LaneContext) -> list[Route]:
    async def event_logs(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, LOGS)
        data = service.list_logs(
            ctx.reader,
            caller,
            event_name=str_param(request, "event_name", 200),
            from_date=str_param(request, "from_date", 64),
            to_date=str_param(request, "to_date", 64),
            status=str_param(request, "status", 40),
            limit=int_param(request, "limit", 10, 1, 1000) or 10,
            offset=int_param(request, "offset", 0, 0, 10_000_000) or 0,
        )
        return _envelope(data)

    async def customer_events(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, EVENT_DATA)
        raw = request.path_params["userId"]
        # len() first: int() of thousands of digits raises (Python's 4300-digit limit).
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not 1 <= int(raw) <= _LONG:
            raise BadRequest(
                "Invalid value for path parameter 'userId': must be a customer id (a positive "
                "64-bit integer)"
            )
        user_id = int(raw)
        again = int_param(request, "userId", None, 1, _LONG)
        if again is not None and again != user_id:
            raise BadRequest("Invalid value for query parameter 'userId': differs from the path")
        data = service.customer_events(
            ctx.reader,
            caller,
            user_id,
            scope=str_param(request, "scope", 20),
            event_name=str_param(request, "event_name", 200),
            from_date=str_param(request, "from_date", 64),
            to_date=str_param(request, "to_date", 64),
            limit=int_param(request, "limit", DEFAULT_EVENTS, 1, MAX_EVENTS) or DEFAULT_EVENTS,
        )
        return _envelope(data)

    async def one_event(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, ONE_EVENT)
        event_id = request.query.get("id")
        if event_id is None:
            raise BadRequest("Missing required query parameter 'id'")
        if not 1 <= len(event_id) <= 64:
            raise BadRequest("Invalid value for query parameter 'id': 1 to 64 characters")
        return _envelope(service.one_event(ctx.reader, caller, event_id))

    return [
        ("GET", "/v2/events/logs", event_logs),
        ("GET", "/v2/events/event_data/{userId}", customer_events),
        ("GET", "/v2/events/event_data", one_event),
    ]


# -- the console's APIs: FastAPI routes (not hot; their shapes are pydantic models) ------
router = APIRouter(prefix="/v2/events/logs", tags=["event logs and data"])


@router.post(
    "/replay",
    summary="Run failed log entries through the pipeline again, each as a new entry",
    response_model=ReplayAnswer,
    responses=ADMIN_ONLY,
)
async def replay_logs(
    request: Request,
    body: ReplayIn,
    caller: AdminCaller,
    call_id: RequestId,
    wait: Annotated[
        QueryBool, Query(description="Answer after processing, with each replay's verdict")
    ] = False,
) -> Any:
    state = request.app.state
    ticket = service.ReplayTicket(caller.org_id, caller.org_timezone, caller.credential, call_id)
    return await service.replay_and_wait(
        state.db,
        state.ingestor,
        state.background.processor,
        ticket,
        body,
        wait=wait,
    )


@router.get(
    "/summary",
    summary="Outcome counts: per status per hour or day, and per (event name, status, message)",
    response_model=SummaryAnswer,
)
def logs_summary(
    caller: CurrentCaller,
    session: Session,
    from_date: str = Query(
        min_length=1, max_length=64, description="Inclusive, on startTime (org's timezone)"
    ),
    to_date: str = Query(
        min_length=1, max_length=64, description="Inclusive, on startTime (org's timezone)"
    ),
    bucket: str = Query(
        default="hour",
        max_length=10,
        json_schema_extra={"enum": list(service.BUCKETS)},
        description="hour or day, in the org's timezone",
    ),
    event_name: str | None = Query(default=None, max_length=200, description="Exact event name"),
    webhook_id: str | None = Query(
        default=None,
        alias="webhookId",
        pattern="^[0-9a-f]{32}$",
        description="The webhook the requests were posted to",
    ),
) -> Any:
    return service.summary(
        session,
        caller,
        from_date=from_date,
        to_date=to_date,
        bucket=bucket,
        event_name=event_name,
        webhook_id=webhook_id,
    )
