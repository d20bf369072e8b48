"""Reading what processing wrote: the event log and customers'
events, in the shapes of Capillary's. Run by the fast lane, on its plain read connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventrail.auth.schemas import Caller
from eventrail.errors import BadRequest
from eventrail.kit.dates import parse_date_range, zone
from eventrail.kit.fastdb import ReadConnection
from eventrail.orgs.repository import children_query
from eventrail.processing import statuses as st
from eventrail.processing.pipeline import record_view
from eventrail.processing.repository import (
    LogFilter,
    LogRow,
    RecordRow,
    customer_record_ids_query,
    log_entry_query,
    log_page_query,
    log_status_counts_query,
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


def _status_filter(status: str | None, name: str = "query parameter 'status'") -> str | None:
    if status is None:
        return None
    wanted = status.strip().upper()
    if wanted not in (*st.ALL, UNAUTHORIZED_FILTER):
        raise BadRequest(
            f"Invalid value for {name}: must be one of " + ", ".join((*st.ALL, UNAUTHORIZED_FILTER))
        )
    return wanted


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
    status_filter = _status_filter(status)
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
    """The customer's events, newest first; with scope "child", those in the caller's
    child orgs (each record keeps its own org and timezone)."""
    timezones = {caller.org_id: caller.org_timezone}
    if scope is None:
        org_ids = [caller.org_id]
    else:  # "child", the only scope (processing.endpoints checks the word)
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


# -- the console's reads of the log ------------------------------------------------
CUSTOMER_FILTER_EVENTS = 500


def visible_orgs(reader: ReadConnection, caller: Caller) -> dict[int, str]:
    """The orgs whose log the caller reads, with their timezones: its own, and a
    parent org's children."""
    orgs = {caller.org_id: caller.org_timezone}
    if caller.parent_org_id is None:
        orgs.update(dict(reader.rows(*children_query(caller.org_id))))
    return orgs


@dataclass(frozen=True, slots=True)
class LogPage:
    entries: list[dict[str, Any]]  # log_view of each, plus "cursor"
    next_cursor: str | None  # the cursor of the page after this one
    counts: dict[str, int]  # entries per status under the other filters


def _cursor(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    time_part, _, seq_part = text.partition(".")
    if not (time_part.isdigit() and seq_part.isdigit()) or len(text) > 40:
        raise BadRequest("Invalid value for 'cursor': use the link of the page")
    return int(time_part), int(seq_part)


def log_page(
    reader: ReadConnection,
    caller: Caller,
    *,
    status: str | None = None,
    event_name: str | None = None,
    webhook_id: str | None = None,
    request_id: str | None = None,
    customer_id: int | None = None,
    from_date: str | None = None,
    to_date: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> LogPage:
    """One page of the log, newest first, with the counts per status of the filter.
    ``customer_id`` keeps the entries of that customer's newest events."""
    org_ids = list(visible_orgs(reader, caller))
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from", end_name="to", tz=zone(caller.org_timezone)
    )
    ids = None
    if customer_id is not None:
        found = reader.rows(
            *customer_record_ids_query(org_ids, customer_id, CUSTOMER_FILTER_EVENTS)
        )
        ids = [str(row[0]) for row in found]
    f = LogFilter(
        org_ids,
        status=_status_filter(status, "'status'"),
        event_name=event_name,
        webhook_id=webhook_id,
        request_id=request_id,
        ids=ids,
        start_ms=start_ms,
        end_ms=end_ms,
    )
    rows = reader.rows(*log_page_query(f, before=_cursor(cursor), limit=limit))
    mask = caller.masks_psi
    entries = []
    for row in rows[:limit]:
        entry = LogRow(*row[:-1])
        view = log_view(entry, mask=mask)
        view["webhookId"] = entry.webhook_id  # the console's org owns the webhook it names
        view["cursor"] = f"{entry.start_time}.{row[-1]}"
        entries.append(view)
    counts = {
        (status_ or UNAUTHORIZED_FILTER): int(n)
        for status_, n in reader.rows(*log_status_counts_query(f))
    }
    return LogPage(
        entries, entries[-1]["cursor"] if len(rows) > limit and entries else None, counts
    )


def log_entry(reader: ReadConnection, caller: Caller, log_id: str) -> dict[str, Any] | None:
    """One entry of the caller's orgs' log (None: not one of theirs), with the event
    it stored when it succeeded (``record``)."""
    org_ids = list(visible_orgs(reader, caller))
    rows = reader.rows(*log_entry_query(org_ids, log_id.strip()))
    if not rows:
        return None
    entry = LogRow(*rows[0][:-1])
    view = log_view(entry, mask=caller.masks_psi)
    view["webhookId"] = entry.webhook_id
    found = reader.one(*record_query(entry.org_id, entry.id))
    view["record"] = (
        record_view(RecordRow(*found), caller.org_timezone, mask=caller.masks_psi)
        if found is not None
        else None
    )
    view["customerId"] = RecordRow(*found).customer_id if found is not None else None
    return view
