"""GET /api_gateway/v2/audits, served by the fast lane; its export and the hash
chain's head, FastAPI routes. Its parameters are declared
once here (``kit/params.py``): the handler parses with them and ``openapi.py``
documents them."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from eventrail.audit import chain, service
from eventrail.audit.repository import AuditExport, AuditQuery, AuditReads
from eventrail.audit.schemas import ChainHeadOut
from eventrail.deps import CurrentCaller
from eventrail.errors import BadRequest
from eventrail.kit import exports
from eventrail.kit.asgi import FastRequest, FastResponse, Route, json_response
from eventrail.kit.dates import parse_date_range, zone
from eventrail.kit.fastdb import READ_FROM, ReadRoute
from eventrail.kit.params import LONG_MAX, Bool, Choice, ChoiceList, Date, Int, Params, Str
from eventrail.kit.requests import parse_query
from eventrail.lane import LaneContext

AUDITS = "GET /api_gateway/v2/audits"
_MAX_PAGE_NO = 10_000_000

# Checked in this order; the dates are read between the two groups.
AUDITS_ENTITY = Params(
    Choice("entityType", ("CUSTOMER", "CARD"), "Entity type", required=True),
    Int("entityId", 1, LONG_MAX, "Customer or card id", required=True),
)
AUDITS_DATES = Params(
    Date("startDate", "On autoUpdateTime"),
    Date("endDate", "On autoUpdateTime"),
)
AUDITS_PARAMS = (
    AUDITS_ENTITY
    + Params(
        Int("limit", 1, 100, "Page size", default=10),
        Int("pageNo", 0, _MAX_PAGE_NO, "0-based page", default=0),
        Choice("sortBy", ("autoUpdateTime", "createdOn"), "Sort key", default="autoUpdateTime"),
        Choice("sortOrder", ("ASC", "DESC"), "Sort order", default="DESC"),
    )
    + AUDITS_DATES
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


def _optional(params: Params) -> Params:
    """The same declarations, not required (the export's whole-org extension)."""
    copies = []
    for param in params.params:
        twin = copy.copy(param)
        twin.required = False
        twin.description += "; extension: leave out entityType and entityId for the whole org"
        copies.append(twin)
    return Params(*copies)


# The export: the read's filters without its page and order; the format and a cursor.
AUDITS_EXPORT_PARAMS = (
    _optional(AUDITS_ENTITY) + AUDITS_DATES + AUDITS_FILTERS + exports.export_params()
)


def _dates(q: dict[str, Any], timezone: str) -> tuple[int | None, int | None]:
    """The startDate and endDate of a read or an export (``AUDITS_DATES``) in ms."""
    return parse_date_range(
        q["startDate"], q["endDate"], start_name="startDate", end_name="endDate", tz=zone(timezone)
    )


def routes(ctx: LaneContext) -> list[Route]:
    reads = ctx.reads.using(AuditReads)

    async def audits(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, AUDITS)
        q = AUDITS_PARAMS.parse(request.query)
        start_ms, end_ms = _dates(q, caller.org_timezone)
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
        page = await service.serve_audit_page(
            reads(request.header(READ_FROM)),
            query,
            include_user_context=f["includeUserContext"],
            mask=caller.masks_psi,
        )
        return json_response(page)

    return [("GET", "/api_gateway/v2/audits", audits)]


# -- FastAPI routes: the export (streamed) and the chain's head ----------------------
router = APIRouter(prefix="/api_gateway/v2/audits", tags=["audit"])


@router.get(
    "/export",
    summary="Extension: every audit entry the filters match (an entity's, or the org's "
    "in a date range), streamed as NDJSON or CSV",
    response_class=Response,
    responses=exports.openapi_answer("AuditEntryOut"),
    openapi_extra={"parameters": AUDITS_EXPORT_PARAMS.openapi()},
)
async def export_audits(request: Request, caller: CurrentCaller) -> Response:
    q = AUDITS_EXPORT_PARAMS.parse(parse_query(request.scope.get("query_string", b"")))
    entity: tuple[str, int] | None = None
    if q["entityType"] is not None or q["entityId"] is not None:
        for name in ("entityType", "entityId"):
            if q[name] is None:
                raise BadRequest(
                    f"Missing required query parameter '{name}' "
                    "(give entityType and entityId, or neither for the whole org)"
                )
        entity = (q["entityType"], q["entityId"])
    start_ms, end_ms = _dates(q, caller.org_timezone)
    after = exports.after_param(q["after"])
    x = AuditExport(
        caller.org_id,
        entity,
        start_ms=start_ms,
        end_ms=end_ms,
        source=q["source"],
        reference_type=q["referenceType"],
        reference_value=q["referenceValue"],
        include_user_context=q["includeUserContext"],
    )
    return exports.response(
        request.app.state.reads,
        request.headers.get(READ_FROM),
        lambda pool: service.export_audits(
            AuditReads(pool), x, mask=caller.masks_psi, after=after, batch=exports.BATCH_ROWS
        ),
        fmt=q["format"],
        columns=service.AUDIT_EXPORT_COLUMNS,
        filename="audits",
    )


@router.get(
    "/chainHead",
    summary="Extension: the newest link of the org's audit hash chain, to anchor elsewhere",
    response_model=ChainHeadOut,
)
def chain_head(request: Request, caller: CurrentCaller) -> Any:
    route: ReadRoute = request.app.state.reads
    head = AuditReads(route.pool(request.headers.get(READ_FROM))).chain_head(caller.org_id)
    if head is None:
        return {
            "orgId": caller.org_id,
            "seq": 0,
            "hash": chain.GENESIS,
            "updatedAt": None,
            "prunedSeq": 0,
        }
    return {
        "orgId": caller.org_id,
        "seq": head.seq,
        "hash": head.head_hash,
        "updatedAt": head.updated_at,
        "prunedSeq": head.pruned_seq,
    }
