from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from eventrail.audit import service
from eventrail.audit.repository import AuditQuery
from eventrail.audit.schemas import AuditPage
from eventrail.deps import CurrentCaller, Session
from eventrail.errors import BadRequest
from eventrail.kit.dates import parse_date_range, zone
from eventrail.kit.json import JsonResponse

router = APIRouter(tags=["audit"])

_REFERENCE_TYPES = {name.lower(): name for name in service.REFERENCE_TYPES}
_SORT_KEYS = {"autoupdatetime": "autoUpdateTime", "createdon": "createdOn"}
_MAX_PAGE_NO = 10_000_000


def _choice(value: str, choices: dict[str, str], name: str) -> str:
    found = choices.get(value.strip().lower())
    if found is None:
        allowed = ", ".join(sorted(set(choices.values())))
        raise BadRequest(f"Invalid value for query parameter '{name}': must be one of {allowed}")
    return found


@router.get(
    "/api_gateway/v2/audits",
    summary="Audit log of a CUSTOMER or CARD",
    response_class=JsonResponse,
    responses={200: {"model": AuditPage}},
)
def get_audits(
    caller: CurrentCaller,
    session: Session,
    entity_type: str = Query(alias="entityType", description="CUSTOMER or CARD", max_length=20),
    entity_id: int = Query(
        alias="entityId", ge=1, le=2**63 - 1, description="Customer id or card id"
    ),
    source: str | None = Query(default=None, max_length=40, description="Entry source filter"),
    limit: int = Query(default=10, ge=1, le=100),
    page_no: int = Query(default=0, alias="pageNo", ge=0, le=_MAX_PAGE_NO),
    sort_by: str = Query(default="autoUpdateTime", alias="sortBy", max_length=40),
    sort_order: str = Query(default="DESC", alias="sortOrder", max_length=10),
    start_date: str | None = Query(default=None, alias="startDate", max_length=64),
    end_date: str | None = Query(default=None, alias="endDate", max_length=64),
    reference_type: str | None = Query(default=None, alias="referenceType", max_length=40),
    reference_value: str | None = Query(default=None, alias="referenceValue", max_length=100),
    include_user_context: bool = Query(default=False, alias="includeUserContext"),
) -> Any:
    kind = _choice(entity_type, {"customer": "CUSTOMER", "card": "CARD"}, "entityType")
    order = _choice(sort_order, {"asc": "ASC", "desc": "DESC"}, "sortOrder")
    start_ms, end_ms = parse_date_range(
        start_date,
        end_date,
        start_name="startDate",
        end_name="endDate",
        tz=zone(caller.org_timezone),
    )
    query = AuditQuery(
        org_id=caller.org_id,
        entity_type=kind,
        entity_id=entity_id,
        source=source,
        start_ms=start_ms,
        end_ms=end_ms,
        reference_type=(
            _choice(reference_type, _REFERENCE_TYPES, "referenceType")
            if reference_type is not None
            else None
        ),
        reference_value=reference_value,
        sort_by=_choice(sort_by, _SORT_KEYS, "sortBy"),
        descending=order == "DESC",
        limit=limit,
        offset=page_no * limit,
    )
    page = service.audit_page(
        session, query, include_user_context=include_user_context, mask=caller.masks_psi
    )
    return JsonResponse(page)
