"""All SQL of processing: claiming queued requests, looking up in bulk, writing results,
and the read queries of the logs and event-data APIs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.ingest.queue import Queued
from eventrail.ingest.waiters import Verdict
from eventrail.kit.fastdb import ReadPool
from eventrail.kit.keyset import Keyset
from eventrail.kit.sql import bulk_insert, in_list, insert_ignore_returning, skip_locked, upsert_add
from eventrail.models import (
    Customer,
    EventDefinition,
    EventLog,
    EventLogCount,
    EventReplay,
    EventUniqueKey,
    GroupMember,
    IngestRequest,
    Org,
    Store,
    Till,
    TransformerMapping,
    UserGroup,
    Webhook,
)
from eventrail.models.event_log_count import SLOT_MS
from eventrail.models.event_replay import LIVE_STATES
from eventrail.orgs.repository import children_query
from eventrail.processing.statuses import EVENT_SUCCESS

_QUEUED_COLUMNS = ", ".join(Queued._fields)
LOG_INSERT_COLUMNS = (
    "id",
    "org_id",
    "parent_org_id",
    "webhook_id",
    "start_time",
    "seq",
    "response_time",
    "status",
    "event_name",
    "input_request",
    "input_request_masked",
    "message",
    "replay_of",
)
RECORD_INSERT_COLUMNS = (
    "id",
    "org_id",
    "customer_id",
    "event_name",
    "created_at",
    "seq",
    "source",
    "till_code",
    "display_name",
    "attributes",
    "psi_attributes",
    "unique_id",
    "is_duplicate",
)


def _by_org(keys: Iterable[tuple[int, Any]]) -> dict[int, list[Any]]:
    """Ids grouped by their org, so that each statement stays within one org."""
    grouped: dict[int, set[Any]] = {}
    for org_id, key in keys:
        grouped.setdefault(org_id, set()).add(key)
    return {org_id: sorted(ids) for org_id, ids in sorted(grouped.items())}


class Candidate(NamedTuple):
    """What replaying a log entry needs to know about it."""

    id: str
    org_id: int
    parent_org_id: int
    webhook_id: str
    status: str | None
    input_request: str
    replay_of: str | None


_CANDIDATE_COLUMNS = tuple(getattr(EventLog, name) for name in Candidate._fields)


class ProcessingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the queue --------------------------------------------------------------
    def claim(self, limit: int) -> list[Queued]:
        """The oldest queued requests, locked for this transaction.

        On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several processors (in
        one process or many) take disjoint batches; on SQLite the writing
        transaction (BEGIN IMMEDIATE) already excludes every other writer.
        """
        sql = f"SELECT {_QUEUED_COLUMNS} FROM ingest_requests ORDER BY id LIMIT :limit"
        sql += skip_locked(self.session)
        return [Queued(*row) for row in self.session.execute(sa.text(sql), {"limit": limit})]

    def delete_claimed(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        where, params = in_list(self.session, "id", "ids", ids)
        self.session.execute(sa.text(f"DELETE FROM ingest_requests WHERE {where}"), params)

    def queue_depth(self) -> int:
        """How many requests wait in the queue (GET /metrics)."""
        return int(self.session.scalar(sa.select(sa.func.count()).select_from(IngestRequest)) or 0)

    def oldest_queued_at(self) -> int | None:
        """When the oldest queued request arrived (epoch ms); None when none waits."""
        sql = "SELECT received_at FROM ingest_requests ORDER BY id LIMIT 1"
        value = self.session.execute(sa.text(sql)).scalar()
        return int(value) if value is not None else None

    # -- configuration ----------------------------------------------------------
    def webhooks(self, ids: Iterable[str]) -> dict[str, tuple[Webhook, Till]]:
        """The webhooks of these ids, each with its till."""
        return self._webhooks(Webhook.id, ids)

    def config_versions(self, org_ids: Sequence[int]) -> dict[int, int]:
        """The counter of configuration changes of each org that has one
        (``config_versions``, kept by triggers)."""
        where, params = in_list(self.session, "org_id", "orgs", org_ids)
        sql = f"SELECT org_id, version FROM config_versions WHERE {where}"
        rows = self.session.execute(sa.text(sql), params)
        return {int(org): int(version) for org, version in rows}

    def webhooks_of(self, org_ids: Iterable[int]) -> dict[str, tuple[Webhook, Till]]:
        """Every webhook of the orgs, each with its till."""
        return self._webhooks(Webhook.org_id, org_ids)

    def _webhooks(
        self, column: sa.orm.InstrumentedAttribute[Any], values: Iterable[Any]
    ) -> dict[str, tuple[Webhook, Till]]:
        wanted = list(set(values))
        if not wanted:
            return {}
        stmt = (
            sa.select(Webhook, Till)
            .join(Till, (Till.id == Webhook.till_id) & (Till.org_id == Webhook.org_id))
            .where(column.in_(wanted))
        )
        return {webhook.id: (webhook, till) for webhook, till in self.session.execute(stmt)}

    def orgs(self, ids: Iterable[int]) -> dict[int, Org]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        return {o.id: o for o in self.session.scalars(sa.select(Org).where(Org.id.in_(wanted)))}

    def definitions(self, org_ids: Iterable[int]) -> Sequence[EventDefinition]:
        wanted = list(set(org_ids))
        if not wanted:
            return []
        stmt = sa.select(EventDefinition).where(EventDefinition.org_id.in_(wanted))
        return self.session.scalars(stmt).all()

    def mappings(self, org_ids: Iterable[int]) -> Sequence[TransformerMapping]:
        wanted = list(set(org_ids))
        if not wanted:
            return []
        stmt = sa.select(TransformerMapping).where(TransformerMapping.org_id.in_(wanted))
        return self.session.scalars(stmt).all()

    def tills_by_code(self, org_id: int, codes: Iterable[str]) -> dict[str, Till]:
        wanted = list(set(codes))
        if not wanted:
            return {}
        stmt = sa.select(Till).where(Till.org_id == org_id, Till.code.in_(wanted))
        return {till.code: till for till in self.session.scalars(stmt)}

    def till_with_store(self, org_id: int, till_id: int) -> tuple[Till, Store | None] | None:
        stmt = (
            sa.select(Till, Store)
            .outerjoin(Store, (Store.id == Till.store_id) & (Store.org_id == Till.org_id))
            .where(Till.org_id == org_id, Till.id == till_id)
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row is not None else None

    def mark_verified(self, definitions: Iterable[tuple[int, int]]) -> None:
        """Mark the definitions (org_id, id) verified: one statement per org."""
        for org_id, ids in _by_org(definitions).items():
            self.session.execute(
                sa.update(EventDefinition)
                .where(
                    EventDefinition.org_id == org_id,
                    EventDefinition.id.in_(ids),
                    EventDefinition.verified.is_(False),
                )
                .values(verified=True)
            )

    # -- customers and groups ---------------------------------------------------
    def customers_by_identifier(
        self, org_id: int, source: str, account_id: str, type_: str, values: Iterable[str]
    ) -> dict[str, int]:
        wanted = list(set(values))
        if not wanted:
            return {}
        # Plain SQL with the values as one parameter: the same text for every batch
        # (an IN list of as many values was compiled and converted for each).
        where, params = in_list(self.session, "value", "values", wanted)
        sql = (
            "SELECT value, customer_id FROM customer_identifiers WHERE org_id = :org_id "
            f"AND source = :source AND account_id = :account_id AND type = :type AND {where}"
        )
        params.update(org_id=org_id, source=source, account_id=account_id, type=type_)
        return {str(v): int(c) for v, c in self.session.execute(sa.text(sql), params)}

    def customers_by_id(self, org_id: int, ids: Iterable[int]) -> dict[int, int | None]:
        """{customer id: id it was merged into, or None} for the ids that exist."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        stmt = sa.select(Customer.id, Customer.merged_into_id).where(
            Customer.org_id == org_id, Customer.id.in_(wanted)
        )
        return dict(self.session.execute(stmt).all())

    def groups(self, org_id: int, external_ids: Iterable[str]) -> dict[str, int]:
        wanted = list(set(external_ids))
        if not wanted:
            return {}
        stmt = sa.select(UserGroup.external_id, UserGroup.id).where(
            UserGroup.org_id == org_id, UserGroup.external_id.in_(wanted)
        )
        return dict(self.session.execute(stmt).all())

    def groups_by_id(self, org_id: int, ids: Iterable[int]) -> set[int]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        stmt = sa.select(UserGroup.id).where(UserGroup.org_id == org_id, UserGroup.id.in_(wanted))
        return set(self.session.scalars(stmt))

    def memberships(self, org_id: int, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        wanted = list(set(pairs))
        if not wanted:
            return set()
        stmt = sa.select(GroupMember.group_id, GroupMember.customer_id).where(
            GroupMember.org_id == org_id,
            sa.tuple_(GroupMember.group_id, GroupMember.customer_id).in_(wanted),
        )
        return {(gid, cid) for gid, cid in self.session.execute(stmt)}

    # -- results ----------------------------------------------------------------
    def insert_logs(self, rows: list[dict[str, Any]]) -> None:
        """Log entries, with what they change beside them: the outcome rollup
        (event_log_counts) and the state of the replays among them. Call it last in
        the batch's transaction: the rollup's rows are shared by every processor, and
        are held only from here to the commit."""
        self._bulk_insert("event_logs", LOG_INSERT_COLUMNS, rows)
        self._finish_replays(rows)
        self._count(rows)

    def _finish_replays(self, rows: list[dict[str, Any]]) -> None:
        done = [r for r in rows if r.get("replay_of") is not None]
        for state in ("succeeded", "failed"):
            ended = _by_org(
                (r["org_id"], r["id"])
                for r in done
                if (r["status"] == EVENT_SUCCESS) == (state == "succeeded")
            )
            for org_id, ids in ended.items():
                self.session.execute(
                    sa.update(EventReplay)
                    .where(
                        EventReplay.org_id == org_id,
                        EventReplay.id.in_(ids),
                        EventReplay.state == "pending",
                    )
                    .values(state=state)
                )

    def _count(self, rows: list[dict[str, Any]]) -> None:
        totals: dict[tuple[int, int, str, str, str, str], list[Any]] = {}
        for row in rows:
            message = row["message"]
            key = (
                row["org_id"],
                row["start_time"] // SLOT_MS * SLOT_MS,
                row["webhook_id"],
                row["event_name"] or "",
                row["status"] or "",
                hashlib.md5(message.encode(), usedforsecurity=False).hexdigest(),
            )
            entry = totals.setdefault(key, [message, 0])
            entry[1] += 1
        names = ("org_id", "slot", "webhook_id", "event_name", "status", "message_hash")
        # Sorted: two processors bumping overlapping counters lock them in one order.
        values = [
            {**dict(zip(names, key, strict=True)), "message": message, "count": count}
            for key, (message, count) in sorted(totals.items())
        ]
        upsert_add(
            self.session,
            EventLogCount.__table__,  # type: ignore[arg-type]
            values,
            list(names),
            "count",
        )

    def insert_records(self, rows: list[dict[str, Any]]) -> None:
        """Event records; ``attributes`` and ``psi_attributes`` as JSON text."""
        self._bulk_insert("event_records", RECORD_INSERT_COLUMNS, rows)

    def _bulk_insert(
        self, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]
    ) -> None:
        """COPY on PostgreSQL, one executemany on SQLite: in the session's transaction,
        without the ORM's per-row work (the processors' largest cost, measured)."""
        if rows:
            raw = self.session.connection().connection.driver_connection
            values = itemgetter(*columns)  # a tuple of the columns, in C: per row
            bulk_insert(raw, table, columns, [values(row) for row in rows])

    def claim_unique_keys(self, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
        """Insert (org, uniqueId) keys; those that were new (the others are duplicates)."""
        # Sorted, so that two processors inserting overlapping keys lock them in the
        # same order and cannot deadlock.
        ordered = sorted(rows, key=lambda r: (r["org_id"], r["unique_id"]))
        table = EventUniqueKey.__table__
        inserted = insert_ignore_returning(
            self.session,
            table,  # type: ignore[arg-type]
            ordered,
            ("org_id", "unique_id"),
        )
        return {(int(org_id), str(unique_id)) for org_id, unique_id in inserted}

    # -- reads ------------------------------------------------------------------
    def logged_verdicts(self, org_id: int, request_ids: Sequence[str]) -> dict[str, Verdict]:
        """(status, message) of the log entries among ``request_ids`` posted to a
        webhook of ``org_id``: in that org, or routed to one of its children (the
        orgs are named, so that each read stays within known orgs)."""
        children = self.session.scalars(sa.select(Org.id).where(Org.parent_org_id == org_id))
        stmt = sa.select(EventLog.id, EventLog.status, EventLog.message).where(
            EventLog.org_id.in_([org_id, *children]), EventLog.id.in_(list(request_ids))
        )
        return {rid: (status, message) for rid, status, message in self.session.execute(stmt)}

    # -- replays ----------------------------------------------------------------
    def replay_candidates(self, org_id: int, ids: Sequence[str]) -> dict[str, Candidate]:
        """The org's log entries among ``ids`` (another org's are simply not found)."""
        stmt = sa.select(*_CANDIDATE_COLUMNS).where(
            EventLog.org_id == org_id, EventLog.id.in_(list(set(ids)))
        )
        return {row[0]: Candidate(*row) for row in self.session.execute(stmt)}

    def replay_matching(
        self,
        org_id: int,
        *,
        statuses: Sequence[str],
        event_name: str | None,
        webhook_id: str | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int | None,
    ) -> list[Candidate]:
        """The org's original (not replayed) entries of these statuses that no replay
        has fixed or is running for, newest first (``ix_event_logs_org_status_start``)."""
        stmt = self._matching(
            _CANDIDATE_COLUMNS, org_id, statuses, event_name, webhook_id, start_ms, end_ms, limit
        )
        return [Candidate(*row) for row in self.session.execute(stmt)]

    def replay_matching_ids(
        self,
        org_id: int,
        *,
        statuses: Sequence[str],
        start_ms: int | None,
    ) -> list[str]:
        """The ids only of ``replay_matching`` (the command line replays them by id)."""
        stmt = self._matching((EventLog.id,), org_id, statuses, None, None, start_ms, None, None)
        return [str(i) for i in self.session.scalars(stmt)]

    @staticmethod
    def _matching(
        columns: tuple[Any, ...],
        org_id: int,
        statuses: Sequence[str],
        event_name: str | None,
        webhook_id: str | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int | None,
    ) -> sa.Select[Any]:
        live = sa.select(EventReplay.id).where(
            EventReplay.org_id == org_id,
            EventReplay.original_id == EventLog.id,
            EventReplay.state.in_(LIVE_STATES),
        )
        stmt = sa.select(*columns).where(
            EventLog.org_id == org_id,
            EventLog.status.in_(list(statuses)),
            EventLog.replay_of.is_(None),
            ~live.exists(),
        )
        if event_name is not None:
            stmt = stmt.where(EventLog.event_name == event_name)
        if webhook_id is not None:
            stmt = stmt.where(EventLog.webhook_id == webhook_id)
        if start_ms is not None:
            stmt = stmt.where(EventLog.start_time >= start_ms)
        if end_ms is not None:
            stmt = stmt.where(EventLog.start_time <= end_ms)
        stmt = stmt.order_by(EventLog.start_time.desc(), EventLog.seq.desc())
        return stmt.limit(limit) if limit is not None else stmt

    def enabled_webhooks(self, org_id: int, ids: Iterable[str]) -> set[str]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        stmt = sa.select(Webhook.id).where(
            Webhook.org_id == org_id, Webhook.id.in_(wanted), Webhook.enabled.is_(True)
        )
        return set(self.session.scalars(stmt))

    def claim_replays(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert pending replays; the originals whose replay was inserted. The partial
        unique index (one pending or succeeded replay per original) refuses the others:
        a concurrent replay of the same entry waits here for the first to commit, and
        is then refused."""
        # Sorted, so that two replays of overlapping ids lock them in the same order.
        ordered = sorted(rows, key=lambda r: r["original_id"])
        table = EventReplay.__table__
        inserted = insert_ignore_returning(
            self.session,
            table,  # type: ignore[arg-type]
            ordered,
            ("original_id",),
        )
        return {str(original) for (original,) in inserted}

    def live_replay_states(self, org_id: int, original_ids: Iterable[str]) -> dict[str, str]:
        wanted = list(set(original_ids))
        if not wanted:
            return {}
        stmt = sa.select(EventReplay.original_id, EventReplay.state).where(
            EventReplay.org_id == org_id,
            EventReplay.original_id.in_(wanted),
            EventReplay.state.in_(LIVE_STATES),
        )
        return {str(o): str(s) for o, s in self.session.execute(stmt)}

    def enqueue(self, rows: list[dict[str, Any]]) -> None:
        """Queue requests (replays) for the processors, in this transaction."""
        if rows:
            self.session.execute(sa.insert(IngestRequest), rows)


# -- the read APIs' SQL (run by the fast lane on a plain driver connection) -------------
# Each builder returns (sql, params) with ``:name`` parameters. The WHERE clauses
# and ORDER BY match the indexes exactly: (org_id[, event_name | status],
# start_time, seq) for the log, (org_id, customer_id, created_at, seq) for events.


class LogRow(NamedTuple):
    start_time: int
    response_time: int
    org_id: int
    status: str | None
    event_name: str | None
    input_request: str
    id: str
    webhook_id: str
    parent_org_id: int
    message: str
    input_request_masked: str | None
    replay_of: str | None


class RecordRow(NamedTuple):
    id: str
    org_id: int
    customer_id: int
    event_name: str
    created_at: int
    source: str
    till_code: str | None
    display_name: str | None
    attributes: str  # JSON text
    psi_attributes: str  # JSON text
    unique_id: str


_LOG_COLUMNS = ", ".join(LogRow._fields)
_RECORD_COLUMNS = ", ".join(RecordRow._fields)


def logs_query(
    org_id: int,
    *,
    event_name: str | None,
    status: str | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    offset: int,
    before: tuple[int, int] | None = None,
    probe: bool = True,
) -> tuple[str, dict[str, Any]]:
    """GET /v2/events/logs: the org's page of ``log_page_query`` (rows end with seq)."""
    f = LogFilter([org_id], status=status, event_name=event_name, start_ms=start_ms, end_ms=end_ms)
    return log_page_query(f, before=before, limit=limit, offset=offset, probe=probe)


def logs_export_keyset(f: LogFilter) -> Keyset:
    """The log's export: oldest first by ``(start_time, seq)``; the rows are ``LogRow``
    then ``seq``."""
    where, params = _log_where(f, with_status=True)
    return Keyset((*LogRow._fields, "seq"), "event_logs", ("start_time", "seq"), where, params)


def _records_where(
    org_ids: Sequence[int],
    *,
    event_name: str | None,
    start_ms: int | None,
    end_ms: int | None,
    customer_id: int | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """The WHERE terms of the reads of stored events (``params`` their values)."""
    params: dict[str, Any]
    if len(org_ids) == 1:
        where, params = ["org_id = :org_0"], {"org_0": org_ids[0]}
    else:
        orgs, params = _in("org_id", "org", org_ids)
        where = [orgs]
    if customer_id is not None:
        where.append("customer_id = :customer_id")
        params["customer_id"] = customer_id
    if event_name is not None:
        where.append("event_name = :event_name")
        params["event_name"] = event_name
    if start_ms is not None:
        where.append("created_at >= :start_ms")
        params["start_ms"] = start_ms
    if end_ms is not None:
        where.append("created_at <= :end_ms")
        params["end_ms"] = end_ms
    return where, params


def records_export_keyset(
    org_id: int, *, event_name: str | None, start_ms: int | None, end_ms: int | None
) -> Keyset:
    """The org's stored events (``eventrail export events``): oldest first by
    ``(created_at, seq)``; the rows are ``RecordRow`` then ``seq``."""
    where, params = _records_where(
        [org_id], event_name=event_name, start_ms=start_ms, end_ms=end_ms
    )
    return Keyset(
        (*RecordRow._fields, "seq"), "event_records", ("created_at", "seq"), where, params
    )


def records_query(
    org_ids: Sequence[int],
    customer_id: int,
    *,
    event_name: str | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    before: tuple[int, int] | None = None,
) -> tuple[str, dict[str, Any]]:
    """A customer's events newest first; after the cursor ``before`` = (created_at, seq)
    of the last row shown. Rows end with seq."""
    where, params = _records_where(
        org_ids,
        customer_id=customer_id,
        event_name=event_name,
        start_ms=start_ms,
        end_ms=end_ms,
    )
    params["limit"] = limit
    if before is not None:
        where.append("(created_at < :c_time OR (created_at = :c_time AND seq < :c_seq))")
        params["c_time"], params["c_seq"] = before
    sql = (
        f"SELECT {_RECORD_COLUMNS}, seq FROM event_records WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, seq DESC LIMIT :limit"
    )
    return sql, params


def record_query(org_id: int, event_id: str) -> tuple[str, dict[str, Any]]:
    sql = f"SELECT {_RECORD_COLUMNS} FROM event_records WHERE org_id = :org_id AND id = :id"
    return sql, {"org_id": org_id, "id": event_id}


# -- the log reads (the API's and the console's): several orgs (a parent's console
# sees its children), and a cursor on (start_time, seq) besides an offset, so that
# entries arriving while someone pages neither shift nor repeat rows.


@dataclass(slots=True)  # not frozen: built for every request (frozen costs 4x)
class LogFilter:
    org_ids: Sequence[int]
    status: str | None = None  # one of statuses.ALL, or "UNAUTHORIZED" (no status)
    event_name: str | None = None
    webhook_id: str | None = None
    request_id: str | None = None
    ids: Sequence[str] | None = None  # only these entries (a customer's events)
    start_ms: int | None = None
    end_ms: int | None = None


def _log_shape(f: LogFilter, *, with_status: bool) -> tuple[Any, ...]:
    """What of the filter decides the text of its conditions (not their values)."""
    status = None
    if with_status and f.status is not None:
        status = "null" if f.status == "UNAUTHORIZED" else "value"
    return (
        len(f.org_ids),
        status,
        f.event_name is not None,
        f.webhook_id is not None,
        f.request_id is not None,
        None if f.ids is None else len(f.ids),
        f.start_ms is not None,
        f.end_ms is not None,
    )


@lru_cache(maxsize=256)
def _log_conditions(shape: tuple[Any, ...]) -> tuple[str, ...]:
    """The conditions of a filter's shape (``_log_shape``), built once per shape."""
    orgs, status, event_name, webhook_id, request_id, ids, start, end = shape
    where = [f"org_id IN ({', '.join(f':org_{i}' for i in range(orgs))})"]
    if status == "null":
        where.append("status IS NULL")
    elif status == "value":
        where.append("status = :status")
    if event_name:
        where.append("event_name = :event_name")
    if webhook_id:
        where.append("webhook_id = :webhook_id")
    if request_id:
        where.append("id = :request_id")
    if ids is not None:
        if ids:
            where.append(f"id IN ({', '.join(f':id_{i}' for i in range(ids))})")
        else:
            where.append("1 = 0")
    if start:
        where.append("start_time >= :start_ms")
    if end:
        where.append("start_time <= :end_ms")
    return tuple(where)


def _log_params(f: LogFilter, *, with_status: bool) -> dict[str, Any]:
    params: dict[str, Any] = {f"org_{i}": org_id for i, org_id in enumerate(f.org_ids)}
    if with_status and f.status is not None and f.status != "UNAUTHORIZED":
        params["status"] = f.status
    if f.event_name is not None:
        params["event_name"] = f.event_name
    if f.webhook_id is not None:
        params["webhook_id"] = f.webhook_id
    if f.request_id is not None:
        params["request_id"] = f.request_id
    if f.ids:
        params.update(zip([f"id_{i}" for i in range(len(f.ids))], f.ids, strict=True))
    if f.start_ms is not None:
        params["start_ms"] = f.start_ms
    if f.end_ms is not None:
        params["end_ms"] = f.end_ms
    return params


def _log_where(f: LogFilter, *, with_status: bool) -> tuple[list[str], dict[str, Any]]:
    return (
        list(_log_conditions(_log_shape(f, with_status=with_status))),
        _log_params(f, with_status=with_status),
    )


@lru_cache(maxsize=256)
def _log_page_sql(shape: tuple[Any, ...], after_cursor: bool) -> str:
    where = list(_log_conditions(shape))
    if after_cursor:
        where.append("(start_time < :c_time OR (start_time = :c_time AND seq < :c_seq))")
    return (
        f"SELECT {_LOG_COLUMNS}, seq FROM event_logs WHERE {' AND '.join(where)} "
        "ORDER BY start_time DESC, seq DESC LIMIT :limit OFFSET :offset"
    )


def log_page_query(
    f: LogFilter,
    *,
    before: tuple[int, int] | None,
    limit: int,
    offset: int = 0,
    probe: bool = True,
) -> tuple[str, dict[str, Any]]:
    """Entries newest first, after the cursor ``before`` = (start_time, seq) of the
    last row shown; with ``probe``, one row more than ``limit`` tells whether there is
    a next page. The SQL text is built once per shape of the filter (a read per
    request: the hot path of GET /v2/events/logs)."""
    params = _log_params(f, with_status=True)
    if before is not None:
        params["c_time"], params["c_seq"] = before
    params["limit"] = limit + 1 if probe else limit
    params["offset"] = offset
    return _log_page_sql(_log_shape(f, with_status=True), before is not None), params


# -- the outcome summary's SQL (event_log_counts, by its primary key's range) ----------
MAX_OUTCOMES = 1000


def _summary_where(
    org_id: int, lo: int, hi: int, event_name: str | None, webhook_id: str | None
) -> tuple[str, dict[str, Any]]:
    where = ["org_id = :org_id", "slot >= :lo", "slot <= :hi"]
    params: dict[str, Any] = {"org_id": org_id, "lo": lo, "hi": hi}
    if event_name is not None:
        where.append("event_name = :event_name")
        params["event_name"] = event_name
    if webhook_id is not None:
        where.append("webhook_id = :webhook_id")
        params["webhook_id"] = webhook_id
    return " AND ".join(where), params


def slot_counts_query(
    org_id: int, lo: int, hi: int, *, event_name: str | None, webhook_id: str | None
) -> tuple[str, dict[str, Any]]:
    """(slot, status, count) per quarter-hour and status in [lo, hi]."""
    where, params = _summary_where(org_id, lo, hi, event_name, webhook_id)
    sql = (
        f"SELECT slot, status, sum(count) FROM event_log_counts WHERE {where} GROUP BY slot, status"
    )
    return sql, params


def log_status_counts_query(f: LogFilter) -> tuple[str, dict[str, Any]]:
    """Entries per status under the filter's other conditions."""
    where, params = _log_where(f, with_status=False)
    return (
        f"SELECT status, count(*) FROM event_logs WHERE {' AND '.join(where)} GROUP BY status",
        params,
    )


def log_entry_query(org_ids: Sequence[int], log_id: str) -> tuple[str, dict[str, Any]]:
    return log_page_query(LogFilter(org_ids, request_id=log_id), before=None, limit=1)


def customer_record_ids_query(
    org_ids: Sequence[int], customer_id: int, limit: int
) -> tuple[str, dict[str, Any]]:
    """The ids of a customer's newest events (each is its log entry's id)."""
    sql, params = records_query(
        org_ids, customer_id, event_name=None, start_ms=None, end_ms=None, limit=limit
    )
    return sql.replace(f"SELECT {_RECORD_COLUMNS}, seq", "SELECT id", 1), params


def outcome_counts_query(
    org_id: int, lo: int, hi: int, *, event_name: str | None, webhook_id: str | None
) -> tuple[str, dict[str, Any]]:
    """(event name, status, message, count, last slot) over [lo, hi], the most recent first."""
    where, params = _summary_where(org_id, lo, hi, event_name, webhook_id)
    sql = (
        "SELECT event_name, status, max(message), sum(count), max(slot) "
        f"FROM event_log_counts WHERE {where} "
        "GROUP BY event_name, status, message_hash "
        "ORDER BY max(slot) DESC, sum(count) DESC, event_name, status LIMIT :limit"
    )
    return sql, {**params, "limit": MAX_OUTCOMES}


# -- the console: exact status counts without scanning the log, the overview ------------
# Whole quarter-hours are summed from the rollup (event_log_counts, its primary key's
# range); the partial quarter-hours at a range's edges are counted in event_logs
# (ix_event_logs_org_start, at most two quarter-hours of one org's entries).


def _in(column: str, prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    names = [f"{prefix}_{i}" for i in range(len(values))]
    params = dict(zip(names, values, strict=True))
    return f"{column} IN ({', '.join(':' + n for n in names)})", params


def rollup_status_counts_query(
    org_id: int,
    lo: int,
    hi: int | None,
    *,
    event_name: str | None,
    webhook_id: str | None,
) -> tuple[str, dict[str, Any]]:
    """(status, count) of the rollup's quarter-hours from ``lo`` to ``hi`` (None: all
    later ones); status '' for entries without one."""
    where = ["org_id = :org_id", "slot >= :lo"]
    params: dict[str, Any] = {"org_id": org_id, "lo": lo}
    if hi is not None:
        where.append("slot <= :hi")
        params["hi"] = hi
    if event_name is not None:
        where.append("event_name = :event_name")
        params["event_name"] = event_name
    if webhook_id is not None:
        where.append("webhook_id = :webhook_id")
        params["webhook_id"] = webhook_id
    sql = f"SELECT status, sum(count) FROM event_log_counts WHERE {' AND '.join(where)} "
    return sql + "GROUP BY status", params


def oldest_log_query(org_id: int) -> tuple[str, dict[str, Any]]:
    """When the org's oldest kept entry started (retention deletes the older ones;
    the rollup keeps counting them, so the rollup is read from here on)."""
    return "SELECT min(start_time) FROM event_logs WHERE org_id = :org_id", {"org_id": org_id}


def overview_slots_query(org_ids: Sequence[int], lo: int) -> tuple[str, dict[str, Any]]:
    """(slot, status, count) per quarter-hour and status from ``lo`` on."""
    orgs, params = _in("org_id", "org", org_ids)
    sql = (
        f"SELECT slot, status, sum(count) FROM event_log_counts WHERE {orgs} AND slot >= :lo "
        "GROUP BY slot, status"
    )
    return sql, {**params, "lo": lo}


def top_failures_query(
    org_ids: Sequence[int], lo: int, success: str, limit: int
) -> tuple[str, dict[str, Any]]:
    """(event name, status, message, count, last slot) of the failed entries from ``lo``
    on, the most frequent first."""
    orgs, params = _in("org_id", "org", org_ids)
    sql = (
        "SELECT event_name, status, max(message), sum(count), max(slot) FROM event_log_counts "
        f"WHERE {orgs} AND slot >= :lo AND status <> :success "
        "GROUP BY event_name, status, message_hash "
        "ORDER BY sum(count) DESC, max(slot) DESC, event_name, status LIMIT :limit"
    )
    return sql, {**params, "lo": lo, "success": success, "limit": limit}


def webhook_last_slot_query(org_id: int, webhook_id: str) -> tuple[str, dict[str, Any]]:
    sql = "SELECT max(slot) FROM event_log_counts WHERE org_id = :org_id AND webhook_id = :w"
    return sql, {"org_id": org_id, "w": webhook_id}


def webhook_last_entry_query(
    org_id: int, webhook_id: str, slot: int, slot_ms: int
) -> tuple[str, dict[str, Any]]:
    """The webhook's last entry's start within the quarter-hour the rollup names."""
    sql = (
        "SELECT max(start_time) FROM event_logs WHERE org_id = :org_id "
        "AND start_time >= :lo AND start_time < :hi AND webhook_id = :w"
    )
    return sql, {"org_id": org_id, "lo": slot, "hi": slot + slot_ms, "w": webhook_id}


def backlog_query(org_ids: Sequence[int], cap: int) -> tuple[str, dict[str, Any]]:
    """(how many, oldest arrival) of the orgs' requests waiting in the queue, counting
    at most ``cap`` of them."""
    orgs, params = _in("org_id", "org", org_ids)
    sql = (
        "SELECT count(*), min(received_at) FROM "
        f"(SELECT received_at FROM ingest_requests WHERE {orgs} ORDER BY id LIMIT :cap) q"
    )
    return sql, {**params, "cap": cap}


def replays_of_query(org_ids: Sequence[int], original_id: str) -> tuple[str, dict[str, Any]]:
    """(replay id, state, requested by, requested at, its entry's status, message) of an
    entry's replays, newest first (ix_event_replays_org_original)."""
    orgs, params = _in("r.org_id", "org", org_ids)
    sql = (
        "SELECT r.id, r.state, r.requested_by, r.requested_at, l.status, l.message "
        "FROM event_replays r LEFT JOIN event_logs l ON l.id = r.id "
        f"WHERE {orgs} AND r.original_id = :original ORDER BY r.requested_at DESC, r.id LIMIT 50"
    )
    return sql, {**params, "original": original_id}


_R = TypeVar("_R", bound=tuple[Any, ...])


def _with_seq(row_type: type[_R], rows: list[tuple[Any, ...]]) -> list[tuple[_R, int]]:
    """Rows that end with ``seq``, as (row, seq). ``tuple.__new__`` builds each row: the
    SQL selects the row type's fields in their order, and a named tuple's own
    ``__new__`` (a Python function of every field) costs four times as much a row."""
    new = tuple.__new__
    return [(new(row_type, row[:-1]), row[-1]) for row in rows]


class EventReads:
    """The reads of the log and of stored events, for the read APIs and the console:
    the SQL above, run on a :class:`~eventrail.kit.fastdb.ReadPool` (the primary's,
    or a replica's), answering rows as values."""

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool

    def logs(
        self,
        org_id: int,
        *,
        event_name: str | None,
        status: str | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        offset: int,
        before: tuple[int, int] | None = None,
        probe: bool = True,
    ) -> list[tuple[LogRow, int]]:
        """Up to ``limit + 1`` entries (``limit`` without ``probe``: a client paging by
        offset needs no next cursor), each with its ``seq`` (the cursor's second half)."""
        sql, params = logs_query(
            org_id,
            event_name=event_name,
            status=status,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
            offset=offset,
            before=before,
            probe=probe,
        )
        return _with_seq(LogRow, self.pool.rows(sql, params))

    def records(
        self,
        org_ids: Sequence[int],
        customer_id: int,
        *,
        event_name: str | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        before: tuple[int, int] | None = None,
    ) -> list[tuple[RecordRow, int]]:
        """A customer's events newest first, each with its ``seq``."""
        sql, params = records_query(
            org_ids,
            customer_id,
            event_name=event_name,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
            before=before,
        )
        return _with_seq(RecordRow, self.pool.rows(sql, params))

    def record(self, org_id: int, event_id: str) -> RecordRow | None:
        found = self.pool.one(*record_query(org_id, event_id))
        return RecordRow(*found) if found is not None else None

    def child_orgs(self, org_id: int) -> list[tuple[int, str]]:
        """(id, timezone) of the org's child orgs."""
        return [(int(i), str(tz)) for i, tz in self.pool.rows(*children_query(org_id))]

    def log_page(
        self, f: LogFilter, *, before: tuple[int, int] | None, limit: int
    ) -> list[tuple[LogRow, int]]:
        """Up to ``limit + 1`` entries (the one more tells there is a next page), each
        with its ``seq`` (the cursor's second half)."""
        return _with_seq(LogRow, self.pool.rows(*log_page_query(f, before=before, limit=limit)))

    def status_counts(self, f: LogFilter) -> dict[str | None, int]:
        """Entries per status (None: no status) under the filter's conditions but its
        status, exact and without scanning the log: whole quarter-hours from the rollup,
        the partial ones at the range's edges (the oldest kept entry's when there is no
        start) from the log. A filter by id or customer counts its few entries directly."""
        totals: dict[str | None, int] = {}

        def add(rows: list[tuple[Any, ...]]) -> None:
            for status_, n in rows:
                key = status_ or None
                totals[key] = totals.get(key, 0) + int(n)

        pool = self.pool
        if f.request_id is not None or f.ids is not None:
            add(pool.rows(*log_status_counts_query(f)))
            return totals
        for org_id in f.org_ids:
            start = f.start_ms
            if start is None:
                found = pool.one(*oldest_log_query(org_id))
                if found is None or found[0] is None:
                    continue
                start = int(found[0])
            end = f.end_ms
            one = replace(f, org_ids=[org_id])
            first_full = -(-start // SLOT_MS) * SLOT_MS  # the first slot starting at or after
            end_full = None if end is None else (end + 1) // SLOT_MS * SLOT_MS  # exclusive
            if end is not None and end_full is not None and end_full <= first_full:
                add(pool.rows(*log_status_counts_query(replace(one, start_ms=start))))
                continue
            hi = None if end_full is None else end_full - SLOT_MS
            add(
                pool.rows(
                    *rollup_status_counts_query(
                        org_id, first_full, hi, event_name=f.event_name, webhook_id=f.webhook_id
                    )
                )
            )
            if start < first_full:
                edge = replace(one, start_ms=start, end_ms=first_full - 1)
                add(pool.rows(*log_status_counts_query(edge)))
            if end is not None and end_full is not None and end_full <= end:
                edge = replace(one, start_ms=end_full, end_ms=end)
                add(pool.rows(*log_status_counts_query(edge)))
        return totals

    def logs_export(
        self, f: LogFilter, *, after: tuple[int, int] | None, batch: int
    ) -> Iterator[list[tuple[LogRow, int]]]:
        """The log's export, a keyset batch at a time after the key ``after``
        (``(start_time, seq)``): each entry with its ``seq``."""
        keyset = logs_export_keyset(f)
        for rows in keyset.batches(self.pool.rows, after=after, size=batch):
            yield _with_seq(LogRow, rows)

    def records_export(
        self,
        org_id: int,
        *,
        event_name: str | None,
        start_ms: int | None,
        end_ms: int | None,
        after: tuple[int, int] | None,
        batch: int,
    ) -> Iterator[list[tuple[RecordRow, int]]]:
        """The events' export, a keyset batch at a time after the key ``after``
        (``(created_at, seq)``): each event with its ``seq``."""
        keyset = records_export_keyset(
            org_id, event_name=event_name, start_ms=start_ms, end_ms=end_ms
        )
        for rows in keyset.batches(self.pool.rows, after=after, size=batch):
            yield _with_seq(RecordRow, rows)

    def log_entry(self, org_ids: Sequence[int], log_id: str) -> LogRow | None:
        rows = self.pool.rows(*log_entry_query(org_ids, log_id))
        return LogRow(*rows[0][:-1]) if rows else None

    def customer_record_ids(
        self, org_ids: Sequence[int], customer_id: int, limit: int
    ) -> list[str]:
        """The ids of a customer's newest events (each is its log entry's id)."""
        rows = self.pool.rows(*customer_record_ids_query(org_ids, customer_id, limit))
        return [str(row[0]) for row in rows]

    def slot_counts(
        self, org_id: int, lo: int, hi: int, *, event_name: str | None, webhook_id: str | None
    ) -> list[tuple[int, str, int]]:
        """(slot, status, count) per quarter-hour and status in [lo, hi]."""
        sql, params = slot_counts_query(
            org_id, lo, hi, event_name=event_name, webhook_id=webhook_id
        )
        return [(int(slot), str(status), int(n)) for slot, status, n in self.pool.rows(sql, params)]

    def outcome_counts(
        self, org_id: int, lo: int, hi: int, *, event_name: str | None, webhook_id: str | None
    ) -> list[tuple[str, str, str, int]]:
        """(event name, status, message, count) over [lo, hi], the most recent first."""
        sql, params = outcome_counts_query(
            org_id, lo, hi, event_name=event_name, webhook_id=webhook_id
        )
        return [
            (str(name), str(status), str(message), int(n))
            for name, status, message, n, _ in self.pool.rows(sql, params)
        ]

    # -- the console's overview and an entry's replays (processing/overview.py) --------
    def overview_slots(self, org_ids: Sequence[int], lo: int) -> list[tuple[int, str | None, int]]:
        """(slot, status, count) per quarter-hour and status from ``lo`` on."""
        return [
            (int(slot), status or None, int(n))
            for slot, status, n in self.pool.rows(*overview_slots_query(org_ids, lo))
        ]

    def top_failures(
        self, org_ids: Sequence[int], lo: int, success: str, limit: int
    ) -> list[tuple[str | None, str | None, str, int, int]]:
        """(event name, status, message, count, last slot), the most frequent first."""
        return [
            (name or None, status or None, message, int(n), int(last))
            for name, status, message, n, last in self.pool.rows(
                *top_failures_query(org_ids, lo, success, limit)
            )
        ]

    def backlog(self, org_ids: Sequence[int], cap: int) -> tuple[int, int | None]:
        """(how many, oldest arrival) of the orgs' queued requests, counting at most ``cap``."""
        found = self.pool.one(*backlog_query(org_ids, cap))
        if found is None:
            return 0, None
        return int(found[0]), (int(found[1]) if found[1] is not None else None)

    def webhook_last_entry(self, org_id: int, webhook_id: str) -> int | None:
        """When the webhook last had an entry (None: never): the rollup's newest
        quarter-hour of the webhook, then the log within it (the quarter-hour's start
        when retention deleted the entry since)."""
        found = self.pool.one(*webhook_last_slot_query(org_id, webhook_id))
        if found is None or found[0] is None:
            return None
        slot = int(found[0])
        exact = self.pool.one(*webhook_last_entry_query(org_id, webhook_id, slot, SLOT_MS))
        return int(exact[0]) if exact is not None and exact[0] is not None else slot

    def replays_of(
        self, org_ids: Sequence[int], original_id: str
    ) -> list[tuple[str, str, str, int, str | None, str | None]]:
        """(replay id, state, requested by, requested at, status, message), newest first."""
        return [
            (str(rid), str(state), str(who), int(at), status, message)
            for rid, state, who, at, status, message in self.pool.rows(
                *replays_of_query(org_ids, original_id)
            )
        ]
