"""GET /v2/events/search's query uses an index for every filter combination a customer
(or a group's members), an event name (or a definition's eventId) or a stored event's
eventId anchors: its cost grows with what the anchor selects, never with the org's
events. The plans are those of exactly the SQL the search runs, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from eventrail.db import Database
from eventrail.models import EventRecord
from eventrail.processing.search_repository import SearchFilter, search_query
from tests.fixtures.factories import make_org

T0 = 1_700_000_000_000
CUSTOMER = 7373
NAMES = ["Shop", "Visit", "Login", "Cart", "View", "Pay"]


def _explain(db: Database, query: tuple[str, dict[str, Any]]) -> str:
    sql, params = query
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.transaction(write=False) as session:
        rows = session.execute(sa.text(prefix + sql), params).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


@pytest.fixture(scope="module")
def orgs(db: Database) -> list[int]:
    """Two orgs with 6,000 events each over 2,000 customers (3 events each) and 6
    names (a duplicate in 20); and a third, quiet org."""
    org_ids = [make_org(db), make_org(db), make_org(db)]
    records = []
    for org_id in org_ids[:2]:
        for i in range(6000):
            rid = str(uuid.uuid4())
            records.append(
                {
                    "id": rid,
                    "org_id": org_id,
                    "customer_id": CUSTOMER + i % 2000,
                    "event_name": NAMES[i % 6],
                    "created_at": T0 + i * 1000,
                    "seq": i,
                    "source": "INSTORE",
                    "till_code": None,
                    "display_name": None,
                    "attributes": {},
                    "psi_attributes": [],
                    "unique_id": rid,
                    "is_duplicate": i % 20 == 0,
                }
            )
    with db.transaction() as session:
        session.execute(sa.insert(EventRecord), records)
    with db.transaction() as session:
        session.execute(sa.text("ANALYZE"))
    return org_ids


def _no_scan(plan: str, sqlite: bool) -> None:
    if sqlite:
        assert "SCAN event_records\n" not in plan + "\n", plan
    else:
        assert "Seq Scan on event_records" not in plan, plan


WINDOW = {"start_ms": T0 + 1_000_000, "end_ms": T0 + 3_000_000}
GROUP = [CUSTOMER, CUSTOMER + 1, CUSTOMER + 7]

# (filter keys beyond the org, the index expected)
ANCHORED: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"customer_ids": [CUSTOMER]}, ("ix_event_records_customer_time",)),
    ({"customer_ids": [CUSTOMER], **WINDOW}, ("ix_event_records_customer_time",)),
    ({"customer_ids": [CUSTOMER], "is_duplicate": True}, ("ix_event_records_customer_time",)),
    (
        {"customer_ids": [CUSTOMER], "event_name": "Shop"},
        ("ix_event_records_customer_time", "ix_event_records_name_time"),
    ),
    (
        {"customer_ids": [CUSTOMER], "event_name": "Shop", "is_duplicate": False, **WINDOW},
        ("ix_event_records_customer_time", "ix_event_records_name_time"),
    ),
    ({"customer_ids": GROUP}, ("ix_event_records_customer_time",)),
    ({"customer_ids": GROUP, **WINDOW}, ("ix_event_records_customer_time",)),
    (
        {"customer_ids": GROUP, "event_name": "Visit", "is_duplicate": True},
        ("ix_event_records_customer_time", "ix_event_records_name_time"),
    ),
    ({"event_name": "Shop"}, ("ix_event_records_name_time",)),
    ({"event_name": "Shop", **WINDOW}, ("ix_event_records_name_time",)),
    ({"event_name": "Shop", "is_duplicate": True}, ("ix_event_records_name_time",)),
    ({"event_name": "Pay"}, ("ix_event_records_name_time",)),
    (
        {"customer_ids": [CUSTOMER], "attributes": [("ref", "x")], "masked": True},
        ("ix_event_records_customer_time",),
    ),
    (
        {"event_name": "Shop", "attributes": [("ref", "x y"), ("n", "1")], "exact": True},
        ("ix_event_records_name_time",),
    ),
]


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize(("filters", "indexes"), ANCHORED)
def test_anchored_searches_use_an_index(
    db: Database,
    orgs: list[int],
    filters: dict[str, Any],
    indexes: tuple[str, ...],
    ascending: bool,
) -> None:
    for org_ids in ([orgs[0]], orgs):  # one org; a parent's children (scope=child)
        query = search_query(
            SearchFilter(org_ids, **filters),
            ascending=ascending,
            limit=10,
            offset=20,
            sqlite=db.is_sqlite,
        )
        plan = _explain(db, query)
        if "start_ms" in filters and not db.is_sqlite:
            # with a time range the planner may walk the org's events of the range
            # instead: bounded by the range, no scan (SQLite is told the anchor's index)
            indexes = (*indexes, "ix_event_records_org_created")
        assert any(index in plan for index in indexes), plan
        _no_scan(plan, db.is_sqlite)


@pytest.mark.parametrize("filters", [{}, {"customer_ids": [CUSTOMER]}, {"event_name": "Pay"}])
def test_a_stored_events_id_uses_the_primary_key(
    db: Database, orgs: list[int], filters: dict[str, Any]
) -> None:
    query = search_query(
        SearchFilter([orgs[0]], record_id="x", **filters),
        ascending=False,
        limit=10,
        offset=0,
        sqlite=db.is_sqlite,
    )
    plan = _explain(db, query)
    expected = "sqlite_autoindex_event_records_1" if db.is_sqlite else "pk_event_records"
    assert expected in plan, plan
    _no_scan(plan, db.is_sqlite)


@pytest.mark.parametrize("filters", [{}, WINDOW, {"is_duplicate": True, **WINDOW}])
def test_unanchored_searches_walk_the_orgs_events_by_time(
    db: Database, orgs: list[int], filters: dict[str, Any]
) -> None:
    """No customer, group or event: the org's events in time order
    (ix_event_records_org_created), stopping at offset + limit matches."""
    query = search_query(
        SearchFilter([orgs[0]], **filters), ascending=False, limit=10, offset=0, sqlite=db.is_sqlite
    )
    plan = _explain(db, query)
    assert "ix_event_records_org_created" in plan, plan
    _no_scan(plan, db.is_sqlite)
