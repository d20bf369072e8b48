"""kit/sql's multi-row inserts: the counters' upsert adds, the insert that skips what
a unique key refuses returns only what it inserted, on both databases, and on
PostgreSQL the statement's text does not change with the number of rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.db import Database
from eventrail.kit.sql import insert_ignore_returning, upsert_add
from eventrail.models import EventLogCount, EventUniqueKey
from tests.fixtures.databases import rolled_back

ORG = 987_001  # no such org: the rows are never committed
KEYS = ["org_id", "slot", "webhook_id", "event_name", "status", "message_hash"]


@pytest.fixture
def session(db: Database) -> Iterator[tuple[Session, list[tuple[str, Any]]]]:
    """A writing session that is rolled back, and the SQL it ran (with parameters)."""
    with rolled_back(db) as recorded:
        yield recorded


def _count(slot: int, status: str, count: int) -> dict[str, Any]:
    return {
        "org_id": ORG,
        "slot": slot,
        "webhook_id": "w" * 32,
        "event_name": "Shop",
        "status": status,
        "message_hash": status[:32],
        "message": f"about {status}",
        "count": count,
    }


def test_upsert_add_inserts_then_adds(session: tuple[Session, list[tuple[str, Any]]]) -> None:
    s, recorded = session
    table = EventLogCount.__table__
    upsert_add(s, table, [_count(1, "A", 2), _count(1, "B", 3)], KEYS, "count")  # type: ignore[arg-type]
    upsert_add(
        s,
        table,  # type: ignore[arg-type]
        [_count(1, "A", 5), _count(2, "A", 1), _count(1, "C", 7)],
        KEYS,
        "count",
    )
    stmt = sa.select(EventLogCount.slot, EventLogCount.status, EventLogCount.count).where(
        EventLogCount.org_id == ORG
    )
    assert sorted(tuple(r) for r in s.execute(stmt)) == [
        (1, "A", 7),
        (1, "B", 3),
        (1, "C", 7),
        (2, "A", 1),
    ]
    if s.get_bind().dialect.name == "postgresql":
        seen = [sql for sql, _ in recorded]
        assert len(seen) >= 2 and seen[0] == seen[1], "one text for two rows and for three"


def test_insert_ignore_returning_returns_what_it_inserted(
    session: tuple[Session, list[tuple[str, Any]]],
) -> None:
    s, recorded = session
    table = EventUniqueKey.__table__

    def keys(*ids: str) -> list[dict[str, Any]]:
        return [{"org_id": ORG, "unique_id": i, "event_id": f"e-{i}"} for i in ids]

    first = insert_ignore_returning(s, table, keys("a", "b"), ("org_id", "unique_id"))  # type: ignore[arg-type]
    assert first == {(ORG, "a"), (ORG, "b")}
    # "b" exists, "c" is new, and "d" comes twice in one statement: inserted once
    second = insert_ignore_returning(s, table, keys("b", "c", "d", "d"), ("unique_id",))  # type: ignore[arg-type]
    assert second == {("c",), ("d",)}
    stored = s.execute(sa.select(EventUniqueKey.unique_id).where(EventUniqueKey.org_id == ORG))
    assert sorted(stored.scalars()) == ["a", "b", "c", "d"]
    assert insert_ignore_returning(s, table, [], ("unique_id",)) == set()  # type: ignore[arg-type]
    if s.get_bind().dialect.name == "postgresql":
        seen = [sql for sql, _ in recorded]
        assert "unnest" in seen[0] and seen[0].split(" ON ")[0] == seen[1].split(" ON ")[0]
