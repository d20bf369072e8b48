"""Every pruning statement reads an index that starts with (org_id, time) or the
entry's id: a batch costs the rows it deletes, not the size of the table."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eventrail.db import Database
from eventrail.retention.repository import (
    AUDIT,
    EVENT_DATA,
    EVENT_LOGS,
    NOTIFICATIONS,
    batch_sql,
    count_sql,
)
from tests.fixtures.factories import make_org
from tests.retention.seed import DAY_MS, now_ms, seed, seed_deliveries, set_retention


@pytest.fixture(scope="module")
def crowded(db: Database) -> int:
    """Two orgs with 3,000 log entries, events, audit entries and notification
    deliveries each."""
    orgs = [make_org(db), make_org(db)]
    ages = [i % 400 for i in range(3000)]
    for org in orgs:
        set_retention(db, org, audit_days=100)
        seed(db, org, log_ages=ages, record_ages=ages, audit_ages=ages[:1500])
        seed_deliveries(db, org, [(age, "delivered", age) for age in ages])
    with db.transaction() as session:
        session.execute(sa.text("ANALYZE"))
    return orgs[0]


def _plan(db: Database, sql: str, params: dict[str, object]) -> str:
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.transaction(write=False) as session:
        rows = session.execute(sa.text(prefix + sql), params).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


_INDEX = {
    EVENT_LOGS: ("event_logs", "ix_event_logs_org_start"),
    EVENT_DATA: ("event_records", "ix_event_records_org_created"),
    AUDIT: ("audit_entries", "ix_audit_entries_org_created_on"),
    NOTIFICATIONS: ("notification_deliveries", "ix_notification_deliveries_created"),
}


@pytest.mark.parametrize("kind", [EVENT_LOGS, EVENT_DATA, AUDIT, NOTIFICATIONS])
@pytest.mark.parametrize("count", [False, True], ids=["batch", "count"])
def test_prune_statements_use_the_org_time_index(
    db: Database, crowded: int, kind: str, count: bool
) -> None:
    table, index = _INDEX[kind]
    with db.transaction(write=False) as session:
        sql = count_sql(kind) if count else batch_sql(session, kind)
    params = {"org_id": crowded, "cutoff": now_ms() - 300 * DAY_MS, "limit": 500}
    plan = _plan(db, sql, params)
    if count and kind == AUDIT and not db.is_sqlite:
        # The dry run's count: PostgreSQL may read the org's entries by the audit
        # chain's (org_id, seq) index instead when it expects most of them to
        # match; either reads that one org's entries, never the table's.
        assert index in plan or "uq_audit_entries_org_seq" in plan, plan
    else:
        assert index in plan, plan
    if db.is_sqlite:
        assert f"SCAN {table}\n" not in plan + "\n", plan
    else:
        assert f"Seq Scan on {table}" not in plan, plan
    # the statement runs (the plan is of the SQL the pruner sends)
    if count:
        with db.transaction(write=False) as session:
            assert session.execute(sa.text(sql), params).scalar_one() > 0


def test_an_entrys_refs_and_kinds_are_found_by_its_id(db: Database, crowded: int) -> None:
    ids = "SELECT value FROM json_each('[1, 2]')" if db.is_sqlite else "1, 2"
    for table, index in (
        ("audit_refs", "ix_audit_refs_entry_id"),
        ("audit_kinds", "pk_audit_kinds"),
    ):
        sql = f"DELETE FROM {table} WHERE org_id = :org_id AND entry_id IN ({ids})"
        if not db.is_sqlite:
            sql = (
                f"DELETE FROM {table} WHERE org_id = :org_id AND "
                "entry_id = ANY(ARRAY[1, 2]::bigint[])"
            )
        plan = _plan(db, sql, {"org_id": crowded})
        if db.is_sqlite:
            assert index in plan or "PRIMARY KEY" in plan or "INDEX" in plan, plan
            assert f"SCAN {table}\n" not in plan + "\n", plan
        else:
            assert f"Seq Scan on {table}" not in plan, plan
