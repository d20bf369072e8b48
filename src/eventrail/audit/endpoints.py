"""GET /api_gateway/v2/audits, served by the fast lane (its OpenAPI
description is in ``openapi.py``)."""

from __future__ import annotations

from eventrail.audit import service
from eventrail.audit.repository import AuditQuery
from eventrail.errors import BadRequest
from eventrail.kit.asgi import (
    FastRequest,
    FastResponse,
    Route,
    bool_param,
    int_param,
    json_response,
    required_int,
    str_param,
)
from eventrail.kit.dates import parse_date_range, zone
from eventrail.lane import LaneContext

AUDITS = "GET /api_gateway/v2/audits"
_REFERENCE_TYPES = {name.lower(): name for name in service.REFERENCE_TYPES}
_SORT_KEYS = {"autoupdatetime": "autoUpdateTime", "createdon": "createdOn"}
_ENTITY_TYPES = {"customer": "CUSTOMER", "card": "CARD"}
_ORDERS = {"asc": "ASC", "desc": "DESC"}
_MAX_PAGE_NO = 10_000_000


def _choice(request: FastRequest, name: str, choices: dict[str, str], default: str | None) -> str:
    raw = str_param(request, name, 40)
    if raw is None:
        if default is None:
            raise BadRequest(f"Missing required query parameter '{name}'")
        return default
    found = choices.get(raw.strip().lower())
    if found is None:
        allowed = ", ".join(sorted(set(choices.values())))
        raise BadRequest(f"Invalid value for query parameter '{name}': must be one of {allowed}")
    return found


def routes(ctx: LaneContext) -> list[Route]:
    async def audits(request: FastRequest) -> FastResponse:
        caller = await ctx.caller(request, AUDITS)
        kind = _choice(request, "entityType", _ENTITY_TYPES, None)
        entity_id = required_int(request, "entityId", 1, 2**63 - 1)
        limit = int_param(request, "limit", 10, 1, 100) or 10
        page_no = int_param(request, "pageNo", 0, 0, _MAX_PAGE_NO) or 0
        sort_by = _choice(request, "sortBy", _SORT_KEYS, "autoUpdateTime")
        order = _choice(request, "sortOrder", _ORDERS, "DESC")
        start_ms, end_ms = parse_date_range(
            str_param(request, "startDate", 64),
            str_param(request, "endDate", 64),
            start_name="startDate",
            end_name="endDate",
            tz=zone(caller.org_timezone),
        )
        reference_type = (
            _choice(request, "referenceType", _REFERENCE_TYPES, None)
            if "referenceType" in request.query
            else None
        )
        query = AuditQuery(
            org_id=caller.org_id,
            entity_type=kind,
            entity_id=entity_id,
            source=str_param(request, "source", 40),
            start_ms=start_ms,
            end_ms=end_ms,
            reference_type=reference_type,
            reference_value=str_param(request, "referenceValue", 100),
            sort_by=sort_by,
            descending=order == "DESC",
            limit=limit,
            offset=page_no * limit,
        )
        page = service.audit_page(
            ctx.reader,
            query,
            include_user_context=bool_param(request, "includeUserContext", False),
            mask=caller.masks_psi,
        )
        return json_response(page)

    return [("GET", "/api_gateway/v2/audits", audits)]
