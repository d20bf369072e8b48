"""The processors' claim of a batch and its deletion read an index, so a backlog
does not make each batch slower: their cost grows with the batch, not the queue."""

from __future__ import annotations

import sqlalchemy as sa

from eventrail.db import Database
from eventrail.models import IngestRequest
from eventrail.processing.repository import ProcessingRepository
from tests.fixtures.databases import rolled_back

QUEUED = 3000


def _plans(db: Database) -> dict[str, str]:
    """The plans of the claim of 25 requests and of their deletion, with a queue of
    QUEUED requests of two orgs in the transaction (never committed: the app's own
    processors, which share the database, never see them)."""
    plans: dict[str, str] = {}
    with rolled_back(db) as (session, seen):
        session.execute(
            sa.insert(IngestRequest),
            [
                {
                    "request_id": f"plan-{n}",
                    "org_id": 900_001 + n % 2,
                    "webhook_id": "0" * 32,
                    "received_at": n,
                    "body": "{}",
                }
                for n in range(QUEUED)
            ],
        )
        connection = session.connection()
        if not db.is_sqlite:
            connection.exec_driver_sql("ANALYZE ingest_requests")
        repo = ProcessingRepository(session)
        first = len(seen)
        claimed = repo.claim(25)
        repo.delete_claimed([q.id for q in claimed])
        assert len(claimed) == 25
        prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        for name, (sql, params) in zip(("claim", "delete"), seen[first:], strict=True):
            rows = connection.exec_driver_sql(prefix + sql, params).all()
            plans[name] = "\n".join(" ".join(str(c) for c in row) for row in rows)
    return plans


def test_the_claim_and_the_delete_of_a_batch_read_an_index(db: Database) -> None:
    plans = _plans(db)
    if db.is_sqlite:  # the id is the rowid: read in its order, found by it
        assert "TEMP B-TREE" not in plans["claim"], plans["claim"]
        assert "USING INTEGER PRIMARY KEY" in plans["delete"], plans["delete"]
    else:
        for name, plan in plans.items():
            assert "Seq Scan" not in plan, f"{name}:\n{plan}"
            assert "ix_ingest_requests_id" in plan, f"{name}:\n{plan}"
        assert "Sort" not in plans["claim"], plans["claim"]
