"""GET /v2/events/logs, GET /v2/events/event_data and GET /v2/events/search: read APIs served
by the fast lane, whose parameters are declared once here (``kit/params.py``):
the handlers parse with them and ``openapi.py`` documents them; and the replay and
summary APIs of the log, FastAPI routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from eventrail.deps import ADMIN_ONLY, AdminCaller, CurrentCaller, RequestId
from eventrail.errors import BadRequest
from eventrail.kit import exports
from eventrail.kit.asgi import FastRequest, FastResponse, Route, json_response
from eventrail.kit.fastdb import READ_FROM
from eventrail.kit.params import LONG_MAX, Bool, Choice, Date, Int, Params, PathId, Str
from eventrail.kit.requests import parse_query
from eventrail.kit.schemas import QueryBool
from eventrail.lane import LaneContext
from eventrail.processing import search, service
from eventrail.processing import statuses as st
from eventrail.processing.exceptions import InvalidSearchParameter
from eventrail.processing.repository import EventReads
from eventrail.processing.schemas import ReplayAnswer, ReplayIn, SummaryAnswer
from eventrail.processing.search_repository import SearchReads

DEFAULT_EVENTS = 1000
MAX_EVENTS = 10_000
LOGS = "GET /v2/events/logs"
EVENT_DATA = "GET /v2/events/event_data/{userId}"
ONE_EVENT = "GET /v2/events/event_data"
SEARCH = "GET /v2/events/search"

LOGS_FILTERS = Params(
    Str("event_name", 200, "Exact event name"),
    Date("from_date", "Inclusive, on startTime"),
    Date("to_date", "Inclusive, on startTime"),
    # The status's words are checked after the dates (service.list_logs).
    Str(
        "status",
        40,
        "Extension: one of " + ", ".join((*st.ALL, service.UNAUTHORIZED_FILTER)) + " (any case)",
    ),
)
LOGS_PARAMS = LOGS_FILTERS + Params(
    Int("limit", 1, 1000, "Entries", default=10),
    Int("offset", 0, 10_000_000, "Extension", default=0),
    Str(
        "cursor",
        40,
        "Extension: page on (startTime, id) instead of an offset, so entries arriving "
        "between pages neither shift nor repeat rows. Empty for the first page, then the "
        "previous answer's nextCursor; the answer then carries nextCursor (null: no more)",
    ),
)
# The export: the read's filters, no page; the format and a cursor.
LOGS_EXPORT_PARAMS = LOGS_FILTERS + exports.export_params()
# The path's customer id, and the same id again in the query if a client sends it.
CUSTOMER_PARAMS = Params(
    PathId("userId", "a customer id", "Customer id"),
    Int("userId", 1, LONG_MAX, "Optional: the path's customer id again", key="again"),
)
CUSTOMER_EVENTS_PARAMS = Params(
    Choice(
        "scope",
        ("child",),
        "child: the customer's events in the child orgs",
        max_length=20,
        message="the only scope is 'child'",
        late=True,
    ),
    Str("event_name", 200, "Extension"),
    Date("from_date", "Extension, on processing time"),
    Date("to_date", "Extension, on processing time"),
    Int("limit", 1, MAX_EVENTS, "Extension", default=DEFAULT_EVENTS),
    Str(
        "cursor",
        40,
        "Extension: page on (processing time, id). Empty for the first page, then the "
        "previous answer's nextCursor; the answer then carries nextCursor (null: no more)",
    ),
)
ONE_EVENT_PARAMS = Params(
    Str("id", 64, "requestId", min_length=1, message="1 to 64 characters", required=True),
)

_ACCOUNT = "Account of the source, for sources with several accounts"
SEARCH_PARAMS = Params(
    Str(
        "eventId",
        64,
        "A definition's eventId (its events), or a stored event's eventId (= requestId)",
        min_length=1,
        message="1 to 64 characters",
    ),
    Str("eventName", 100, "Exact event name", min_length=1, message="1 to 100 characters"),
    Choice("userIdentifierType", search.USER_TYPES, "How userIdentifierValue names the customer"),
    Str("userIdentifierValue", 255, "The customer's mobile, email or id"),
    Str("userIdentifierSource", 40, "Source of the identifier (default INSTORE)"),
    Str("userIdentifierAccountId", 100, _ACCOUNT),
    Choice(
        "userGroupIdentifierType",
        search.GROUP_TYPES,
        "How userGroupIdentifierValue names the user group: by its id or external id, or "
        "by a member (the groups of that customer); the events of the group's members",
    ),
    Str("userGroupIdentifierValue", 255, "The group's id or external id, or a member's"),
    Str("userGroupIdentifierSource", 40, "Source of a member's identifier (default INSTORE)"),
    Str("userGroupIdentifierAccountId", 100, _ACCOUNT),
    Date("fromDate", "Inclusive, on the processing time (the items' date)"),
    Date("tillDate", "Inclusive, on the processing time (the items' date)"),
    Int("limit", 1, 1000, "Events", default=10),
    Int("offset", 0, 100_000, "Events skipped", default=0),
    Choice("sortOrder", ("ASC", "DESC"), "By date (any case)", default="DESC"),
    Bool("includeSideEffects", "Add sideEffects and clickEventSideEffects", default=False),
    Bool("isDuplicate", "Only duplicates (true) or only originals (false)"),
    Bool(
        "allowExactMatch",
        "Attribute filters (any other key, name=value, up to "
        f"{search.MAX_ATTRIBUTE_FILTERS}): true, the attribute's value exactly; false, "
        "each word of the value within it, ignoring case",
        default=False,
    ),
    Choice(
        "scope",
        ("child",),
        "Extension: child searches the events of a parent org's child orgs",
        max_length=20,
        message="the only scope is 'child'",
    ),
)


def _envelope(data: list[dict[str, object]]) -> FastResponse:
    return json_response({"data": data, "warnings": [], "errors": []})


def _page(page: service.Page, cursor: str | None) -> FastResponse:
    """The envelope; ``nextCursor`` added only for a client that pages by cursor."""
    if cursor is None:
        return _envelope(page.data)
    body = {"data": page.data, "warnings": [], "errors": [], "nextCursor": page.next_cursor}
    return json_response(body)


def routes(ctx: LaneContext) -> list[Route]:
    reads = ctx.reads.using(EventReads)
    search_reads = ctx.reads.using(SearchReads)

    async def event_logs(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, LOGS)
        params = LOGS_PARAMS.parse(request.query)
        page = service.list_logs(reads(request.header(READ_FROM)), caller, **params)
        return _page(page, params["cursor"])

    async def customer_events(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, EVENT_DATA)
        ids = CUSTOMER_PARAMS.parse(request.query, request.path_params)
        user_id = ids["userId"]
        if ids["again"] is not None and ids["again"] != user_id:
            raise BadRequest("Invalid value for query parameter 'userId': differs from the path")
        params = CUSTOMER_EVENTS_PARAMS.parse(request.query)
        page = service.customer_events(reads(request.header(READ_FROM)), caller, user_id, **params)
        return _page(page, params["cursor"])

    async def one_event(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, ONE_EVENT)
        event_id = ONE_EVENT_PARAMS.parse(request.query)["id"]
        return _envelope(service.one_event(reads(request.header(READ_FROM)), caller, event_id))

    async def search_events(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, SEARCH)
        try:
            values = SEARCH_PARAMS.parse(request.query)
            answer = search.search_events(
                search_reads(request.header(READ_FROM)), caller, request.query, values
            )
        except BadRequest as exc:
            if exc.code != BadRequest.code:
                raise
            raise InvalidSearchParameter(exc.message) from None
        return json_response(answer)

    return [
        ("GET", "/v2/events/search", search_events),
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
    request: Request,
    caller: CurrentCaller,
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
    reads = EventReads(request.app.state.reads.pool(request.headers.get(READ_FROM)))
    return service.summary(
        reads,
        caller,
        from_date=from_date,
        to_date=to_date,
        bucket=bucket,
        event_name=event_name,
        webhook_id=webhook_id,
    )


@router.get(
    "/export",
    summary="Extension: every log entry the filters match, streamed as NDJSON or CSV",
    response_class=Response,
    responses=exports.openapi_answer("LogEntryOut"),
    openapi_extra={"parameters": LOGS_EXPORT_PARAMS.openapi()},
)
async def export_logs(request: Request, caller: CurrentCaller) -> Response:
    q = LOGS_EXPORT_PARAMS.parse(parse_query(request.scope.get("query_string", b"")))
    f = service.log_filters(
        caller.org_timezone,
        event_name=q["event_name"],
        from_date=q["from_date"],
        to_date=q["to_date"],
        status=q["status"],
    )
    after = exports.after_param(q["after"])
    return exports.response(
        request.app.state.reads,
        request.headers.get(READ_FROM),
        lambda pool: service.export_logs(
            EventReads(pool),
            caller.org_id,
            f,
            mask=caller.masks_psi,
            after=after,
            batch=exports.BATCH_ROWS,
        ),
        fmt=q["format"],
        columns=service.LOG_EXPORT_COLUMNS,
        filename="event-logs",
    )
