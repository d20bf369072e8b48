"""The read APIs' queries use indexes that match them exactly: their cost grows with
the size of the answer, not with the org's log or the customer's history."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from eventrail.db import Database
from eventrail.models import EventLog, EventLogCount, EventRecord
from eventrail.models.event_log_count import SLOT_MS
from eventrail.processing.repository import (
    LogFilter,
    log_status_counts_query,
    logs_query,
    oldest_log_query,
    outcome_counts_query,
    overview_slots_query,
    record_query,
    records_query,
    rollup_status_counts_query,
    slot_counts_query,
    top_failures_query,
    webhook_last_slot_query,
)
from tests.fixtures.factories import make_org

T0 = 1_700_000_000_000
CUSTOMER = 4242


def _explain(db: Database, query: tuple[str, dict[str, Any]]) -> str:
    """The plan of exactly the SQL the read API runs."""
    sql, params = query
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.transaction(write=False) as session:
        rows = session.execute(sa.text(prefix + sql), params).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


@pytest.fixture(scope="module")
def crowded(db: Database) -> int:
    """An org with 6,000 log entries and a customer with 3,000 events (and others)."""
    org_id = make_org(db)
    names = ["Shop", "Visit", "Login"]
    statuses = ["EVENT_SUCCESS", "INVALID_EVENT_NAME", "EMF_PROCESSOR_FAILED"]
    logs, records = [], []
    for i in range(6000):
        rid = str(uuid.uuid4())
        logs.append(
            {
                "id": rid,
                "org_id": org_id,
                "parent_org_id": -1,
                "webhook_id": "0" * 32,
                "start_time": T0 + i * 1000,
                "seq": i,
                "response_time": 5,
                "status": statuses[i % 3],
                "event_name": names[i % 3],
                "input_request": "{}",
                "message": "m",
            }
        )
        records.append(
            {
                "id": rid,
                "org_id": org_id,
                "customer_id": CUSTOMER if i % 2 else CUSTOMER + 1 + i % 50,
                "event_name": names[i % 3],
                "created_at": T0 + i * 1000,
                "seq": i,
                "source": "INSTORE",
                "till_code": None,
                "display_name": None,
                "attributes": {},
                "psi_attributes": [],
                "unique_id": rid,
                "is_duplicate": False,
            }
        )
    with db.transaction() as session:
        session.execute(sa.insert(EventLog), logs)
        session.execute(sa.insert(EventRecord), records)
    with db.transaction() as session:
        session.execute(sa.text("ANALYZE"))
    return org_id


def _no_scan_or_sort(plan: str, table: str, sqlite: bool) -> None:
    if sqlite:
        assert f"SCAN {table}\n" not in plan + "\n", plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert f"Seq Scan on {table}" not in plan, plan
        assert "Sort" not in plan.replace("Sort Key", ""), plan


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_event_logs_org_start"),
        ({"event_name": "Shop"}, "ix_event_logs_org_name_start"),
        ({"status": "EMF_PROCESSOR_FAILED"}, "ix_event_logs_org_status_start"),
        (
            {"event_name": "Shop", "start_ms": T0, "end_ms": T0 + 10**6},
            "ix_event_logs_org_name_start",
        ),
    ],
)
def test_logs_query_plan(db: Database, crowded: int, filters: dict[str, Any], index: str) -> None:
    arguments: dict[str, Any] = {
        "event_name": None,
        "status": None,
        "start_ms": None,
        "end_ms": None,
        "limit": 10,
        "offset": 0,
    }
    arguments.update(filters)
    plan = _explain(db, logs_query(crowded, **arguments))
    assert index in plan, plan
    _no_scan_or_sort(plan, "event_logs", db.is_sqlite)


@pytest.mark.parametrize(
    "filters",
    [{}, {"start_ms": T0, "end_ms": T0 + 10**6}],
)
def test_event_data_query_plan(db: Database, crowded: int, filters: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"event_name": None, "start_ms": None, "end_ms": None, "limit": 100}
    arguments.update(filters)
    plan = _explain(db, records_query([crowded], CUSTOMER, **arguments))
    assert "ix_event_records_customer_time" in plan, plan
    _no_scan_or_sort(plan, "event_records", db.is_sqlite)


def test_one_event_by_id_uses_the_primary_key(db: Database, crowded: int) -> None:
    plan = _explain(db, record_query(crowded, "x"))
    expected = "sqlite_autoindex_event_records_1 (id=?)" if db.is_sqlite else "pk_event_records"
    assert expected in plan, plan


@pytest.fixture(scope="module")
def rolled_up(db: Database) -> int:
    """The outcome rollup of 10 orgs over 30 days (2,880 quarter-hours each, 3 outcomes a
    quarter-hour): 86,400 rows; the org asked about is one of them."""
    org_ids = [make_org(db) for _ in range(10)]
    start = T0 // SLOT_MS * SLOT_MS
    outcomes = [
        ("Shop", "EVENT_SUCCESS", "ok"),
        ("Shop", "EVENT_FIELD_VALIDATION_FAILED", "bad amount"),
        ("Visit", "INVALID_EVENT_NAME", "Invalid event name Visit"),
    ]
    rows = [
        {
            "org_id": org_id,
            "slot": start + i * SLOT_MS,
            "webhook_id": "0" * 32,
            "event_name": name,
            "status": status,
            "message_hash": uuid.uuid5(uuid.NAMESPACE_OID, message).hex,
            "message": message,
            "count": 100 + i % 7,
        }
        for org_id in org_ids
        for i in range(30 * 96)
        for name, status, message in outcomes
    ]
    with db.transaction() as session:
        for chunk in range(0, len(rows), 20_000):
            session.execute(sa.insert(EventLogCount), rows[chunk : chunk + 20_000])
    with db.transaction() as session:
        session.execute(sa.text("ANALYZE"))
    return org_ids[7]


@pytest.mark.parametrize("query", [slot_counts_query, outcome_counts_query])
@pytest.mark.parametrize("filters", [{}, {"event_name": "Shop"}, {"webhook_id": "0" * 32}])
def test_summary_reads_a_days_range_of_the_rollup_by_its_key(
    db: Database, rolled_up: int, query: Any, filters: dict[str, Any]
) -> None:
    """A day's summary reads that day's quarter-hours of the org (96 x outcomes rows),
    whatever the size of the log or of the rollup: no scan of either."""
    arguments: dict[str, Any] = {"event_name": None, "webhook_id": None, **filters}
    lo = T0 // SLOT_MS * SLOT_MS + 10 * 86_400_000
    plan = _explain(db, query(rolled_up, lo, lo + 86_400_000 - SLOT_MS, **arguments))
    index = "sqlite_autoindex_event_log_counts_1" if db.is_sqlite else "pk_event_log_counts"
    assert index in plan, plan
    if db.is_sqlite:
        assert "SCAN event_log_counts\n" not in plan + "\n", plan
    else:
        assert "Seq Scan on event_log_counts" not in plan, plan
    assert "event_logs" not in plan, plan


# -- the console: counts per status, overview -----------------------------------------
def test_console_counts_read_only_the_edges_of_the_log(db: Database, crowded: int) -> None:
    """The log's part of the console's counts per status: the oldest kept entry and a
    range's partial quarter-hours, by (org, start time); never a scan of the org's log."""
    plan = _explain(db, oldest_log_query(crowded))
    assert "ix_event_logs_org_start" in plan, plan
    _no_scan_or_sort(plan, "event_logs", db.is_sqlite)
    for extra in ({}, {"event_name": "Shop"}, {"webhook_id": "0" * 32}):
        edge = LogFilter([crowded], start_ms=T0 + 1000, end_ms=T0 + SLOT_MS - 1, **extra)
        plan = _explain(db, log_status_counts_query(edge))
        assert "ix_event_logs_org_" in plan, plan
        if db.is_sqlite:
            assert "SCAN event_logs\n" not in plan + "\n", plan
        else:
            assert "Seq Scan on event_logs" not in plan, plan


@pytest.mark.parametrize(
    "query",
    [
        lambda org, lo: rollup_status_counts_query(org, lo, None, event_name=None, webhook_id=None),
        lambda org, lo: rollup_status_counts_query(
            org, lo, lo + 86_400_000, event_name="Shop", webhook_id=None
        ),
        lambda org, lo: overview_slots_query([org], lo),
        lambda org, lo: top_failures_query([org], lo, "EVENT_SUCCESS", 10),
        lambda org, lo: webhook_last_slot_query(org, "0" * 32),
    ],
)
def test_console_overview_and_counts_read_the_rollup_by_its_key(
    db: Database, rolled_up: int, query: Any
) -> None:
    lo = T0 // SLOT_MS * SLOT_MS + 23 * 86_400_000
    plan = _explain(db, query(rolled_up, lo))
    index = "sqlite_autoindex_event_log_counts_1" if db.is_sqlite else "pk_event_log_counts"
    assert index in plan, plan
    if db.is_sqlite:
        assert "SCAN event_log_counts\n" not in plan + "\n", plan
    else:
        assert "Seq Scan on event_log_counts" not in plan, plan
    assert "event_logs " not in plan, plan
