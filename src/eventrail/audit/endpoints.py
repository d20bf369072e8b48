"""GET /api_gateway/v2/audits, served by the fast lane. Its parameters are declared
once here (``kit/params.py``): the handler parses with them and ``openapi.py``
documents them."""

from __future__ import annotations

from eventrail.audit import service
from eventrail.audit.repository import AuditQuery
from eventrail.kit.asgi import FastRequest, FastResponse, Route, json_response
from eventrail.kit.dates import parse_date_range, zone
from eventrail.kit.params import LONG_MAX, Bool, Choice, ChoiceList, Date, Int, Params, Str
from eventrail.lane import LaneContext

AUDITS = "GET /api_gateway/v2/audits"
_MAX_PAGE_NO = 10_000_000

# Checked in this order; the dates are read between the two groups.
AUDITS_PARAMS = Params(
    Choice("entityType", ("CUSTOMER", "CARD"), "Entity type", required=True),
    Int("entityId", 1, LONG_MAX, "Customer or card id", required=True),
    Int("limit", 1, 100, "Page size", default=10),
    Int("pageNo", 0, _MAX_PAGE_NO, "0-based page", default=0),
    Choice("sortBy", ("autoUpdateTime", "createdOn"), "Sort key", default="autoUpdateTime"),
    Choice("sortOrder", ("ASC", "DESC"), "Sort order", default="DESC"),
    Date("startDate", "On autoUpdateTime"),
    Date("endDate", "On autoUpdateTime"),
)
AUDITS_FILTERS = Params(
    ChoiceList(
        "referenceType",
        service.REFERENCE_TYPES,
        "The events' reference type; extension: several, comma-separated (entries with any)",
        max_length=400,
    ),
    Str("source", 40, "Entry source"),
    Str("referenceValue", 100, "An updatedField"),
    Bool("includeUserContext", "Show userContextDetails", default=False),
    Str("requestId", 64, "Extension: the entries of one request (its X-Cap-Requestid)"),
    Int("updatedBy", 1, LONG_MAX, "Extension: the entries made by this till (its id)"),
    Str("updatedByMode", 40, "Extension: the entries made in this mode (e.g. API), any case"),
)


def routes(ctx: LaneContext) -> list[Route]:
    async def audits(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, AUDITS)
        q = AUDITS_PARAMS.parse(request.query)
        start_ms, end_ms = parse_date_range(
            q["startDate"],
            q["endDate"],
            start_name="startDate",
            end_name="endDate",
            tz=zone(caller.org_timezone),
        )
        f = AUDITS_FILTERS.parse(request.query)
        limit: int = q["limit"]
        kinds: tuple[str, ...] = f["referenceType"] or ()
        query = AuditQuery(
            org_id=caller.org_id,
            entity_type=q["entityType"],
            entity_id=q["entityId"],
            source=f["source"],
            start_ms=start_ms,
            end_ms=end_ms,
            reference_type=kinds[0] if len(kinds) == 1 else None,
            reference_types=kinds if len(kinds) > 1 else (),
            reference_value=f["referenceValue"],
            request_id=f["requestId"],
            updated_by=f["updatedBy"],
            updated_by_mode=f["updatedByMode"],
            sort_by=q["sortBy"],
            descending=q["sortOrder"] == "DESC",
            limit=limit,
            offset=q["pageNo"] * limit,
        )
        page = service.audit_page(
            ctx.reader, query, include_user_context=f["includeUserContext"], mask=caller.masks_psi
        )
        return json_response(page)

    return [("GET", "/api_gateway/v2/audits", audits)]
