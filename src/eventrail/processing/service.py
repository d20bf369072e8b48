"""Reading what processing wrote: the event log and customers'
events, in the shapes of Capillary's. Run by the fast lane, on its plain read connection."""

from __future__ import annotations

from typing import Any

from eventrail.auth.schemas import Caller
from eventrail.errors import BadRequest
from eventrail.kit.dates import parse_date_range, zone
from eventrail.kit.fastdb import ReadConnection
from eventrail.orgs.repository import children_query
from eventrail.processing import statuses as st
from eventrail.processing.pipeline import record_view
from eventrail.processing.repository import (
    LogRow,
    RecordRow,
    logs_query,
    record_query,
    records_query,
)

UNAUTHORIZED_FILTER = "UNAUTHORIZED"


def log_view(entry: LogRow, *, mask: bool = False) -> dict[str, Any]:
    """A log entry in the key order of Capillary's log; ``status`` and ``eventName`` absent when
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
    view["inputRequest"] = (
        entry.input_request_masked
        if mask and entry.input_request_masked is not None
        else entry.input_request
    )
    view["id"] = entry.id
    # Empty for an event routed from a parent org (orgResolver): the parent's webhook
    # id is its secret. Entries written before that rule kept the id; it is not shown.
    view["webhookId"] = entry.webhook_id if entry.parent_org_id == -1 else ""
    view["parentOrgId"] = entry.parent_org_id
    view["message"] = entry.message
    return view


def list_logs(
    reader: ReadConnection,
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
    sql, params = logs_query(
        caller.org_id,
        event_name=event_name,
        status=status_filter,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
        offset=offset,
    )
    mask = caller.masks_psi
    return [log_view(LogRow(*row), mask=mask) for row in reader.rows(sql, params)]


def customer_events(
    reader: ReadConnection,
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
    timezones = {caller.org_id: caller.org_timezone}
    if scope is None:
        org_ids = [caller.org_id]
    elif scope.strip().lower() == "child":
        if caller.parent_org_id is not None:
            raise BadRequest(
                "Invalid value for query parameter 'scope': scope=child is for a parent org's "
                "credentials; this org is a child org"
            )
        children = reader.rows(*children_query(caller.org_id))
        timezones.update(dict(children))
        org_ids = [org_id for org_id, _ in children]
        if not org_ids:
            return []
    else:
        raise BadRequest("Invalid value for query parameter 'scope': the only scope is 'child'")
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from_date", end_name="to_date", tz=zone(caller.org_timezone)
    )
    sql, params = records_query(
        org_ids,
        customer_id,
        event_name=event_name,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
    )
    mask = caller.masks_psi
    return [
        record_view(record, timezones[record.org_id], mask=mask)
        for record in (RecordRow(*row) for row in reader.rows(sql, params))
    ]


def one_event(reader: ReadConnection, caller: Caller, event_id: str) -> list[dict[str, Any]]:
    row = reader.one(*record_query(caller.org_id, event_id.strip()))
    if row is None:
        return []
    return [record_view(RecordRow(*row), caller.org_timezone, mask=caller.masks_psi)]
