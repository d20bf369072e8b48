"""Reading what processing wrote: the event log and customers'
events, in the shapes of Capillary's. Run by the fast lane, on its plain read connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from sqlalchemy.orm import Session

from eventrail.auth.schemas import Caller
from eventrail.db import Database
from eventrail.errors import BadRequest
from eventrail.ingest.queue import VERDICT_OK, Queued
from eventrail.ingest.waiters import Verdict
from eventrail.kit import ids as ids_kit
from eventrail.kit.dates import format_iso, now_ms, parse_date_range, to_ms, zone
from eventrail.kit.dbhealth import is_unavailable
from eventrail.kit.json import payload_problem
from eventrail.kit.keyset import cursor_param, cursor_text
from eventrail.models.event_log_count import SLOT_MS
from eventrail.processing import statuses as st
from eventrail.processing.pipeline import BatchPipeline, record_view
from eventrail.processing.repository import (
    Candidate,
    EventReads,
    LogFilter,
    LogRow,
    ProcessingRepository,
)
from eventrail.processing.schemas import MAX_REPLAY_IDS, LogEntryOut, ReplayIn

if TYPE_CHECKING:
    from eventrail.ingest.service import Ingestor
    from eventrail.processing.processor import Processor

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
    if entry.replay_of is not None:
        view["replayOf"] = entry.replay_of
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


@dataclass(slots=True)  # not frozen: built for every request (frozen costs 4x)
class LogFilters:
    """The log read's filters, as its parameters give them (dates in the org's timezone)."""

    event_name: str | None
    status: str | None
    start_ms: int | None
    end_ms: int | None

    def of(self, org_id: int) -> LogFilter:
        """The filters on one org's log, as the repository reads them."""
        return LogFilter(
            [org_id],
            status=self.status,
            event_name=self.event_name,
            start_ms=self.start_ms,
            end_ms=self.end_ms,
        )


def log_filters(
    timezone: str,
    *,
    event_name: str | None,
    from_date: str | None,
    to_date: str | None,
    status: str | None,
) -> LogFilters:
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from_date", end_name="to_date", tz=zone(timezone)
    )
    return LogFilters(event_name, _status_filter(status), start_ms, end_ms)


@dataclass(slots=True)  # not frozen: built for every request (frozen costs 4x)
class Page:
    """Rows of a read API, and the cursor of the page after them (None: no more, or the
    client sent no cursor and pages by offset)."""

    data: list[dict[str, Any]]
    next_cursor: str | None


def _page_end(rows: list[Any], limit: int, time_of: Callable[[Any], int]) -> str | None:
    """The cursor after the last row shown, when a row more than the page was read."""
    if len(rows) <= limit or limit == 0:
        return None
    last = rows[limit - 1]
    return cursor_text((time_of(last), last[-1]))


def list_logs(
    reads: EventReads,
    caller: Caller,
    *,
    event_name: str | None,
    from_date: str | None,
    to_date: str | None,
    status: str | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
) -> Page:
    """A page of the log; with ``cursor`` ("" for the first page), the entries after
    it, and the next page's cursor."""
    f = log_filters(
        caller.org_timezone,
        event_name=event_name,
        from_date=from_date,
        to_date=to_date,
        status=status,
    )
    before = _cursor(cursor or None, CURSOR_PARAMETER, CURSOR_HINT)
    if cursor is not None and offset:
        raise BadRequest("Invalid value for query parameter 'offset': not with a cursor")
    rows = reads.logs(
        caller.org_id,
        event_name=f.event_name,
        status=f.status,
        start_ms=f.start_ms,
        end_ms=f.end_ms,
        limit=limit,
        offset=offset,
        before=before,
        probe=cursor is not None,
    )
    mask = caller.masks_psi
    data = [log_view(entry, mask=mask) for entry, _ in rows[:limit]]
    if cursor is None:
        return Page(data, None)
    return Page(data, _page_end(rows, limit, lambda row: row[0].start_time))


# -- exports (GET /v2/events/logs/export, eventrail export logs|events) ----------------
LOG_EXPORT_COLUMNS = (*LogEntryOut.model_json_schema(by_alias=True)["properties"], "cursor")
EVENT_EXPORT_COLUMNS = (
    "orgId",
    "userId",
    "date",
    "eventName",
    "eventId",
    "source",
    "tillCode",
    "displayName",
    "additonalAttributes",
    "psiAttributes",
    "uniqueId",
    "cursor",
)


def export_logs(
    reads: EventReads,
    org_id: int,
    f: LogFilters,
    *,
    mask: bool,
    after: tuple[int, int] | None,
    batch: int,
) -> Iterator[list[dict[str, Any]]]:
    """The log's entries matching ``f``, oldest first, a keyset batch at a time."""
    for rows in reads.logs_export(f.of(org_id), after=after, batch=batch):
        yield [
            {**log_view(entry, mask=mask), "cursor": cursor_text((entry.start_time, seq))}
            for entry, seq in rows
        ]


def export_events(
    reads: EventReads,
    org_id: int,
    timezone: str,
    *,
    event_name: str | None,
    start_ms: int | None,
    end_ms: int | None,
    mask: bool,
    after: tuple[int, int] | None,
    batch: int,
) -> Iterator[list[dict[str, Any]]]:
    """The org's stored events, oldest first, a keyset batch at a time."""
    for rows in reads.records_export(
        org_id, event_name=event_name, start_ms=start_ms, end_ms=end_ms, after=after, batch=batch
    ):
        yield [
            {
                **record_view(record, timezone, mask=mask),
                "cursor": cursor_text((record.created_at, seq)),
            }
            for record, seq in rows
        ]


def customer_events(
    reads: EventReads,
    caller: Caller,
    customer_id: int,
    *,
    scope: str | None,
    event_name: str | None,
    from_date: str | None,
    to_date: str | None,
    limit: int,
    cursor: str | None = None,
) -> Page:
    """The customer's events, newest first; with scope "child", those in the caller's
    child orgs (each record keeps its own org and timezone). With ``cursor`` ("" for
    the first page), the events after it, and the next page's cursor."""
    before = _cursor(cursor or None, CURSOR_PARAMETER, CURSOR_HINT)
    timezones = {caller.org_id: caller.org_timezone}
    if scope is None:
        org_ids = [caller.org_id]
    else:  # "child", the only scope (processing.endpoints checks the word)
        if caller.parent_org_id is not None:
            raise BadRequest(
                "Invalid value for query parameter 'scope': scope=child is for a parent org's "
                "credentials; this org is a child org"
            )
        children = reads.child_orgs(caller.org_id)
        timezones.update(dict(children))
        org_ids = [org_id for org_id, _ in children]
        if not org_ids:
            return Page([], None)
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from_date", end_name="to_date", tz=zone(caller.org_timezone)
    )
    records = reads.records(
        org_ids,
        customer_id,
        event_name=event_name,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit if cursor is None else limit + 1,
        before=before,
    )
    mask = caller.masks_psi
    data = [
        record_view(record, timezones[record.org_id], mask=mask) for record, _ in records[:limit]
    ]
    if cursor is None:
        return Page(data, None)
    return Page(data, _page_end(records, limit, lambda row: row[0].created_at))


def one_event(reads: EventReads, caller: Caller, event_id: str) -> list[dict[str, Any]]:
    record = reads.record(caller.org_id, event_id.strip())
    if record is None:
        return []
    return [record_view(record, caller.org_timezone, mask=caller.masks_psi)]


# -- the console's reads of the log ------------------------------------------------
CUSTOMER_FILTER_EVENTS = 500


def visible_orgs(reads: EventReads, caller: Caller) -> dict[int, str]:
    """The orgs whose log the caller reads, with their timezones: its own, and a
    parent org's children."""
    orgs = {caller.org_id: caller.org_timezone}
    if caller.parent_org_id is None:
        orgs.update(dict(reads.child_orgs(caller.org_id)))
    return orgs


@dataclass(frozen=True, slots=True)
class LogPage:
    entries: list[dict[str, Any]]  # log_view of each, plus "cursor"
    next_cursor: str | None  # the cursor of the page after this one
    counts: dict[str, int]  # entries per status under the other filters


CURSOR_PARAMETER = "query parameter 'cursor'"
CURSOR_HINT = "use the nextCursor of the previous page (empty for the first page)"


def _cursor(
    text: str | None, name: str = "'cursor'", hint: str = "use the link of the page"
) -> tuple[int, int] | None:
    """The (time, seq) a page starts after, from the cursor a previous page gave (the
    console's links and the read APIs' nextCursor are the same text)."""
    return cursor_param(text, name, hint)


def log_page(
    reads: EventReads,
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
    org_ids = list(visible_orgs(reads, caller))
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from", end_name="to", tz=zone(caller.org_timezone)
    )
    ids = None
    if customer_id is not None:
        ids = reads.customer_record_ids(org_ids, customer_id, CUSTOMER_FILTER_EVENTS)
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
    rows = reads.log_page(f, before=_cursor(cursor), limit=limit)
    mask = caller.masks_psi
    entries = []
    for entry, seq in rows[:limit]:
        view = log_view(entry, mask=mask)
        view["webhookId"] = entry.webhook_id  # the console's org owns the webhook it names
        view["cursor"] = cursor_text((entry.start_time, seq))
        entries.append(view)
    return LogPage(
        entries,
        entries[-1]["cursor"] if len(rows) > limit and entries else None,
        {(status_ or UNAUTHORIZED_FILTER): n for status_, n in reads.status_counts(f).items()},
    )


def log_entry(reads: EventReads, caller: Caller, log_id: str) -> dict[str, Any] | None:
    """One entry of the caller's orgs' log (None: not one of theirs), with the event
    it stored when it succeeded (``record``)."""
    entry = reads.log_entry(list(visible_orgs(reads, caller)), log_id.strip())
    if entry is None:
        return None
    view = log_view(entry, mask=caller.masks_psi)
    view["webhookId"] = entry.webhook_id
    found = reads.record(entry.org_id, entry.id)
    view["record"] = (
        record_view(found, caller.org_timezone, mask=caller.masks_psi)
        if found is not None
        else None
    )
    view["customerId"] = found.customer_id if found is not None else None
    return view


# -- replays -------------------------------------------------------------------------
REPLAYABLE = st.REPLAYABLE


@dataclass(frozen=True, slots=True)
class ReplayTicket:
    """Who asks for a replay, and in which call (recorded with every replay)."""

    org_id: int
    org_timezone: str
    requested_by: str
    call_id: str


def _skip(entry_id: str, reason: str) -> dict[str, Any]:
    return {"id": entry_id, "outcome": "skipped", "reason": reason}


def _why_not(entry: Candidate | None, webhooks: set[str]) -> str | None:
    """Why this entry cannot be replayed, before asking the database for a claim."""
    if entry is None:
        return "not_found"
    if entry.replay_of is not None:
        return "is_a_replay"
    if entry.status == st.EVENT_SUCCESS:
        return "not_a_failure"
    if entry.status not in REPLAYABLE:
        return "not_replayable"
    if entry.parent_org_id != -1:
        return "routed_from_parent"
    if entry.webhook_id not in webhooks:
        return "webhook_unavailable"
    try:
        payload = orjson.loads(entry.input_request)
    except orjson.JSONDecodeError:
        return "not_replayable"
    if not isinstance(payload, dict) or payload_problem(payload) is not None:
        return "not_replayable"
    return None


def replay(
    session: Session,
    ticket: ReplayTicket,
    *,
    ids: list[str] | None,
    status: str | None = None,
    event_name: str | None = None,
    webhook_id: str | None = None,
    from_date: str | None = None,
    to_date: str | None = None,
    limit: int = MAX_REPLAY_IDS,
) -> list[dict[str, Any]]:
    """Queue a replay of each replayable entry (``ids``, else those the filter finds);
    one outcome per distinct entry, in order. Idempotent: the claim in event_replays
    lets one replay per entry run or succeed (see docs/events.md, "Replay")."""
    repo = ProcessingRepository(session)
    if ids is not None:
        wanted = list(dict.fromkeys(i.strip() for i in ids))
        found = repo.replay_candidates(ticket.org_id, wanted)
        entries = [(i, found.get(i)) for i in wanted]
    else:
        statuses: tuple[str, ...] = REPLAYABLE
        if status is not None:
            status = status.strip().upper()
            if status not in REPLAYABLE:
                raise BadRequest(
                    "Invalid value for field 'status' in request body: must be one of "
                    + ", ".join(REPLAYABLE)
                )
            statuses = (status,)
        start_ms, end_ms = parse_date_range(
            from_date,
            to_date,
            start_name="from_date",
            end_name="to_date",
            tz=zone(ticket.org_timezone),
        )
        matched = repo.replay_matching(
            ticket.org_id,
            statuses=statuses,
            event_name=event_name,
            webhook_id=webhook_id,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
        )
        entries = [(e.id, e) for e in matched]
    webhooks = repo.enabled_webhooks(ticket.org_id, (e.webhook_id for _, e in entries if e))
    now = now_ms()
    outcomes: dict[str, dict[str, Any]] = {}
    claims: list[dict[str, Any]] = []
    queued: dict[str, dict[str, Any]] = {}
    for entry_id, entry in entries:
        reason = _why_not(entry, webhooks)
        if reason is not None:
            outcomes[entry_id] = _skip(entry_id, reason)
            continue
        assert entry is not None
        replay_id = str(ids_kit.uuid4())
        claims.append(
            {
                "id": replay_id,
                "org_id": ticket.org_id,
                "original_id": entry.id,
                "state": "pending",
                "requested_by": ticket.requested_by,
                "requested_at": now,
                "call_id": ticket.call_id,
            }
        )
        queued[entry.id] = {
            "request_id": replay_id,
            "org_id": entry.org_id,
            "webhook_id": entry.webhook_id,
            "received_at": now,
            "body": entry.input_request,
            "verdict": VERDICT_OK,
            "detail": None,
            "replay_of": entry.id,
        }
    claimed = repo.claim_replays(claims)
    refused = [original for original in queued if original not in claimed]
    states = repo.live_replay_states(ticket.org_id, refused)
    for original in refused:
        reason = "already_succeeded" if states.get(original) == "succeeded" else "in_progress"
        outcomes[original] = _skip(original, reason)
    repo.enqueue([queued[o] for o in queued if o in claimed])
    for original in claimed:
        outcomes[original] = {
            "id": original,
            "outcome": "replayed",
            "replayId": queued[original]["request_id"],
        }
    return [outcomes[entry_id] for entry_id, _ in entries]


async def replay_and_wait(
    db: Database,
    ingestor: Ingestor,
    processor: Processor,
    ticket: ReplayTicket,
    body: ReplayIn,
    *,
    wait: bool,
) -> dict[str, Any]:
    """Replay in a transaction of its own, committed before the answer (and before any
    wait: the processors only see a replay once it is committed); with ``wait``, each
    replay's verdict as ``?wait=true`` gives a webhook post's."""

    def run() -> list[dict[str, Any]]:
        with db.transaction(write=True) as session:
            return replay(
                session,
                ticket,
                ids=body.ids,
                status=body.status,
                event_name=body.event_name,
                webhook_id=body.webhook_id,
                from_date=body.from_date,
                to_date=body.to_date,
                limit=body.limit or MAX_REPLAY_IDS,
            )

    results = await anyio.to_thread.run_sync(run)
    replayed = [r for r in results if r["outcome"] == "replayed"]
    if replayed:
        processor.wake()
    if wait and replayed:
        # Registered after the commit: a verdict that came first is found in the log.
        request_ids = [r["replayId"] for r in replayed]
        futures = [ingestor.waiters.register(rid) for rid in request_ids]
        for outcome, verdict in zip(
            replayed, await ingestor.verdicts(ticket.org_id, request_ids, futures), strict=True
        ):
            outcome["result"] = ingestor.result(verdict)
    return {
        "replayed": len(replayed),
        "skipped": len(results) - len(replayed),
        "results": results,
        "warnings": [],
        "errors": [],
    }


# -- dry runs --------------------------------------------------------------------------
class IngestProcessing:
    """What ingestion asks of the processors (``ingest.waiters.Processing``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def dry_run(self, request: Queued) -> dict[str, Any]:
        return dry_run(self.db, request)

    def logged(self, org_id: int, request_ids: list[str]) -> dict[str, Verdict]:
        with self.db.transaction(write=False) as session:
            return ProcessingRepository(session).logged_verdicts(org_id, request_ids)


def dry_run(db: Database, request: Queued) -> dict[str, Any]:
    """The pipeline's verdict on a request, in a transaction rolled back whatever
    happens: no log entry, no event, no customer registered, no unique key taken.
    ``step`` names the step that failed (None on success)."""
    with db.transaction(write=True) as session:
        pipeline = BatchPipeline(session, now_ms())
        try:
            result = pipeline.run([request])
        except Exception as exc:
            if is_unavailable(exc):
                raise
            session.rollback()
            reason = f"{pipeline.step} step: {type(exc).__name__}"
            return {
                "status": st.EVENT_PROCESSING_FAILED,
                "message": st.processing_failed(reason),
                "step": pipeline.step,
            }
        session.rollback()
    status, message = result.outcomes[request.request_id]
    return {"status": status, "message": message, "step": result.steps.get(request.request_id)}


# -- the outcome summary ---------------------------------------------------------------
MAX_SUMMARY_DAYS = 366
BUCKETS = ("hour", "day")


def _bucket_start(slot: int, bucket: str, tz: tzinfo) -> int:
    moment = datetime.fromtimestamp(slot / 1000, tz=tz)
    if bucket == "day":
        moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        moment = moment.replace(minute=0, second=0, microsecond=0)
    return to_ms(moment)


def summary(
    reads: EventReads,
    caller: Caller,
    *,
    from_date: str,
    to_date: str,
    bucket: str,
    event_name: str | None,
    webhook_id: str | None,
) -> dict[str, Any]:
    """Counts per status per hour or day (in the org's timezone), and per (event name,
    status, message), from the rollup: whole quarter-hours, the one holding
    ``from_date`` to the one holding ``to_date``."""
    tz = zone(caller.org_timezone)
    kind = bucket.strip().lower()
    if kind not in BUCKETS:
        raise BadRequest("Invalid value for query parameter 'bucket': must be hour or day")
    start_ms, end_ms = parse_date_range(
        from_date, to_date, start_name="from_date", end_name="to_date", tz=tz
    )
    assert start_ms is not None
    assert end_ms is not None
    if end_ms - start_ms > MAX_SUMMARY_DAYS * 86_400_000:
        raise BadRequest(
            f"Invalid value for query parameter 'to_date': the range is at most "
            f"{MAX_SUMMARY_DAYS} days"
        )
    lo, hi = start_ms // SLOT_MS * SLOT_MS, end_ms // SLOT_MS * SLOT_MS
    filters = {"event_name": event_name, "webhook_id": webhook_id}
    per_bucket: dict[int, dict[str | None, int]] = {}
    starts: dict[int, int] = {}
    for slot, status, count in reads.slot_counts(caller.org_id, lo, hi, **filters):
        start = starts.get(slot)
        if start is None:
            start = starts[slot] = _bucket_start(int(slot), kind, tz)
        statuses = per_bucket.setdefault(start, {})
        key = status or None
        statuses[key] = statuses.get(key, 0) + int(count)
    buckets = [
        {
            "start": format_iso(start, tz),
            "startMs": start,
            "total": sum(statuses.values()),
            "statuses": [
                {"status": status, "count": count}
                for status, count in sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0] or ""))
            ],
        }
        for start, statuses in sorted(per_bucket.items(), reverse=True)
    ]
    outcomes = [
        {
            "eventName": name or None,
            "status": status or None,
            "message": message,
            "count": int(count),
        }
        for name, status, message, count in reads.outcome_counts(caller.org_id, lo, hi, **filters)
    ]
    return {
        "fromMs": lo,
        "toMs": hi + SLOT_MS,
        "bucket": kind,
        "total": sum(b["total"] for b in buckets),
        "buckets": buckets,
        "outcomes": outcomes,
        "warnings": [],
        "errors": [],
    }
