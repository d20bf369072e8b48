"""The ingest writer (group commit) when the database misbehaves: a post that cannot
be stored is refused with 503 and nothing of it is kept; a dropped connection is
replaced without refusing anything; concurrent posts are all stored."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from eventrail.db import Database
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import (
    accepted,
    assert_error,
    envelope,
    post_json,
    queued_count,
    setup_org,
)


@contextmanager
def inserts_refused(db: Database) -> Iterator[None]:
    """A trigger that makes every insert into the queue fail, for the duration."""
    with db.transaction() as session:
        if db.is_sqlite:
            session.execute(
                sa.text(
                    "CREATE TRIGGER refuse_ingest BEFORE INSERT ON ingest_requests "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            session.execute(
                sa.text(
                    "CREATE OR REPLACE FUNCTION refuse_ingest() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                sa.text(
                    "CREATE TRIGGER refuse_ingest BEFORE INSERT ON ingest_requests "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_ingest()"
                )
            )
    try:
        yield
    finally:
        with db.transaction() as session:
            if db.is_sqlite:
                session.execute(sa.text("DROP TRIGGER refuse_ingest"))
            else:
                session.execute(sa.text("DROP TRIGGER refuse_ingest ON ingest_requests"))
                session.execute(sa.text("DROP FUNCTION refuse_ingest()"))


def queue_size(db: Database) -> int:
    with db.transaction(write=False) as session:
        return int(session.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar_one())


async def test_a_post_that_cannot_be_stored_is_503_and_nothing_is_kept(
    tenant: Tenant, db: Database, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    drain()
    before = queue_size(db)
    with inserts_refused(db):
        r = await post_json(org.http, org.url, org.payload())
        assert_error(r, 503, 503, "could not be stored", "retry")
        batch = await post_json(org.http, f"{org.url}/batch", {"events": [org.payload()] * 3})
        assert_error(batch, 503, 503)
    assert queue_size(db) == before
    # the writer goes on once the database takes rows again
    request_id = accepted(await post_json(org.http, org.url, org.payload()))
    assert queued_count(db, request_id) == 1


async def test_concurrent_posts_are_all_stored(tenant: Tenant, db: Database) -> None:
    org = await setup_org(tenant)
    answers = await asyncio.gather(
        *(post_json(org.http, org.url, org.payload(amount=i)) for i in range(60))
    )
    ids = [accepted(r) for r in answers]
    assert len(set(ids)) == 60
    assert all(queued_count(db, rid) == 1 for rid in ids)


async def test_a_database_away_for_a_moment_refuses_nothing(
    tenant: Tenant, db: Database, drain: Callable[[], int]
) -> None:
    """PostgreSQL: the server drops every connection (a restart); the ingest writer
    and the fast lane's reader reconnect. SQLite: another process holds the write
    lock for a moment; the writer waits for it rather than fail."""
    org = await setup_org(tenant)
    first = accepted(await post_json(org.http, org.url, org.payload()))
    envelope(await org.http.get("/v2/events/logs"))
    if db.is_sqlite:
        path = str(db.engine.url.database)
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        release = asyncio.get_running_loop().call_later(0.5, locker.execute, "COMMIT")
        try:
            started = time.monotonic()
            second = accepted(await post_json(org.http, org.url, org.payload()))
            assert time.monotonic() - started >= 0.4  # it waited for the lock
        finally:
            release.cancel()
            locker.close()
    else:
        with db.transaction() as session:
            dropped = session.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert dropped >= 2  # at least the ingest writer's and the fast lane reader's
        second = accepted(await post_json(org.http, org.url, org.payload()))
    assert queued_count(db, first) + queued_count(db, second) == 2
    envelope(await org.http.get("/v2/events/logs"))
    drain()
