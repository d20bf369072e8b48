"""Reading what processing wrote: the event log (seeds/002, 004) and customers'
events (seeds/000, 001)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from eventrail.auth.schemas import Caller
from eventrail.errors import BadRequest
from eventrail.kit.dates import parse_date_range, zone
from eventrail.models import EventLog
from eventrail.orgs.repository import OrgRepository
from eventrail.processing import statuses as st
from eventrail.processing.pipeline import record_view
from eventrail.processing.repository import ProcessingRepository

UNAUTHORIZED_FILTER = "UNAUTHORIZED"


def log_view(entry: EventLog, *, mask: bool = False) -> dict[str, Any]:
    """A log entry in the key order of seeds/002; ``status`` and ``eventName`` absent when
    there are none (an Unauthorized entry; a failed transformation). With ``mask``, the
    body's PSI values are shown as *****."""
    view: dict[str, Any] = {
        "startTime": entry.start_time,
        "responseTime": entry.response_time,
        "orgId": entry.org_id,
    }
    if entry.status is not None:
        view["status"] = entry.status
    if entry.event_name is not None:
        view["eventName"] = entry.event_name
    view.update(
        {
            "inputRequest": (
                entry.input_request_masked
                if mask and entry.input_request_masked is not None
                else entry.input_request
            ),
            "id": entry.id,
            "webhookId": entry.webhook_id,
            "parentOrgId": entry.parent_org_id,
            "message": entry.message,
        }
    )
    return view


def list_logs(
    session: Session,
    caller: Caller,
    *,
    event_name: str | None,
    from_date: str | None,
    to_date: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from_date", end_name="to_date", tz=zone(caller.org_timezone)
    )
    status_filter: str | None = None
    if status is not None:
        wanted = status.strip().upper()
        if wanted not in (*st.ALL, UNAUTHORIZED_FILTER):
            raise BadRequest(
                "Invalid value for query parameter 'status': must be one of "
                + ", ".join((*st.ALL, UNAUTHORIZED_FILTER))
            )
        status_filter = wanted
    entries = ProcessingRepository(session).logs(
        caller.org_id,
        event_name=event_name,
        status=status_filter,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
        offset=offset,
    )
    return [log_view(entry, mask=caller.masks_psi) for entry in entries]


def customer_events(
    session: Session,
    caller: Caller,
    customer_id: int,
    *,
    scope: str | None,
    event_name: str | None,
    from_date: str | None,
    to_date: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The customer's events, newest first; with scope=child, those in the caller's
    child orgs (each record keeps its own org and timezone)."""
    org_repo = OrgRepository(session)
    if scope is None:
        org_ids = [caller.org_id]
    elif scope.strip().lower() == "child":
        if caller.parent_org_id is not None:
            raise BadRequest(
                "Invalid value for query parameter 'scope': scope=child is for a parent org's "
                "credentials; this org is a child org"
            )
        org_ids = [org.id for org in org_repo.children(caller.org_id)]
        if not org_ids:
            return []
    else:
        raise BadRequest("Invalid value for query parameter 'scope': the only scope is 'child'")
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from_date", end_name="to_date", tz=zone(caller.org_timezone)
    )
    records = ProcessingRepository(session).records(
        org_ids,
        customer_id,
        event_name=event_name,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
    )
    timezones = {caller.org_id: caller.org_timezone}
    for org_id in {r.org_id for r in records} - set(timezones):
        org = org_repo.org(org_id)
        timezones[org_id] = org.timezone if org is not None else "UTC"
    return [record_view(r, timezones[r.org_id], mask=caller.masks_psi) for r in records]


def one_event(session: Session, caller: Caller, event_id: str) -> list[dict[str, Any]]:
    record = ProcessingRepository(session).record(caller.org_id, event_id.strip())
    if record is None:
        return []
    return [record_view(record, caller.org_timezone, mask=caller.masks_psi)]
