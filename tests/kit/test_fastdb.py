"""kit/fastdb.py: the read repositories' connections, on both databases.

On PostgreSQL it prepares each statement once per connection and executes it
through libpq; these tests hold it to what ``cursor.execute`` gave: the same
values and types, the same parameter typing (a 64-bit id against an integer
column matches nothing rather than failing), errors as psycopg's exceptions,
and a reconnect after the server dropped the connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.kit.fastdb import ReadPool, numbered
from tests.conftest import TEST_SECRET
from tests.fixtures.factories import make_org

ROW_SQL = (
    "SELECT id, name, parent_org_id, timezone FROM orgs WHERE id = :id AND (:id = :id OR :x = 1)"
)


@pytest.fixture
def reader(db: Database) -> Iterator[ReadPool]:
    connection = ReadPool(db.settings)
    yield connection
    connection.close()


@pytest.fixture
def org_id(db: Database) -> int:
    return make_org(db, name="fastdb", timezone="Asia/Kolkata")


def test_numbered_names_each_parameter_once_in_order() -> None:
    sql, names = numbered("a = :a AND b = :b OR a = :a AND c::text = :c")
    assert sql == b"a = $1 AND b = $2 OR a = $1 AND c::text = $3"
    assert names == ("a", "b", "c")


def test_rows_answer_values_and_types(reader: ReadPool, org_id: int) -> None:
    rows = reader.rows(ROW_SQL, {"id": org_id, "x": 1})
    assert rows == [(org_id, "fastdb", None, "Asia/Kolkata")]
    assert isinstance(rows[0][0], int)
    assert reader.one(ROW_SQL, {"id": org_id, "x": 1}) == rows[0]
    # the same statement again, and with other values: still right
    assert reader.rows(ROW_SQL, {"id": org_id, "x": 2}) == rows
    assert reader.one(ROW_SQL, {"id": org_id + 10**6, "x": 1}) is None


def test_a_64_bit_value_against_a_narrower_column_matches_nothing(
    reader: ReadPool, org_id: int
) -> None:
    assert reader.rows(ROW_SQL, {"id": 2**63 - 1, "x": 1}) == []
    assert reader.rows(ROW_SQL, {"id": org_id, "x": 1}) != []


def test_json_comes_back_as_text(reader: ReadPool, db: Database) -> None:
    cast = "json(:doc)" if db.is_sqlite else "CAST(:doc AS jsonb)"
    [(document,)] = reader.rows(f"SELECT {cast}", {"doc": '{"a": [1, 2]}'})
    assert isinstance(document, str)
    assert document.replace(" ", "") == '{"a":[1,2]}'


def test_sql_errors_are_the_drivers_and_leave_the_connection_usable(
    reader: ReadPool, db: Database, org_id: int
) -> None:
    error = sqlite3.Error if db.is_sqlite else psycopg.Error
    with pytest.raises(error):
        reader.rows("SELECT no_such_column FROM orgs WHERE id = :id", {"id": org_id})
    assert reader.rows(ROW_SQL, {"id": org_id, "x": 1})[0][1] == "fastdb"


def test_postgres_reconnects_once_after_the_connection_is_dropped(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=postgres_url, data_dir=tmp_path, secret_key=TEST_SECRET)
    migrate(settings)  # as the session's settings fixture does; a no-op once done
    db = Database(settings)
    reader = ReadPool(settings)
    try:
        org_id = make_org(db, name="fastdb", timezone="Asia/Kolkata")
        _dropped_and_back(reader, db, org_id)
    finally:
        reader.close()
        db.dispose()


def _dropped_and_back(reader: ReadPool, db: Database, org_id: int) -> None:
    assert reader.rows(ROW_SQL, {"id": org_id, "x": 1})
    [(pid,)] = reader.rows("SELECT pg_backend_pid()", {})
    with db.engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    # the next read finds its connection dead, opens a new one and answers
    assert reader.rows(ROW_SQL, {"id": org_id, "x": 1})[0][0] == org_id
    [(new_pid,)] = reader.rows("SELECT pg_backend_pid()", {})
    assert new_pid != pid


async def test_a_read_off_the_loop_leaves_the_loop_free(postgres_url: str, tmp_path: Path) -> None:
    """A slow read in the pool's threads (here pg_sleep) does not hold up the reads
    the loop runs meanwhile on its own connection."""
    settings = Settings(database_url=postgres_url, data_dir=tmp_path, secret_key=TEST_SECRET)
    pool = ReadPool(settings, threads=2)
    try:
        slow = asyncio.ensure_future(pool.off_loop(pool.rows, "SELECT pg_sleep(1.5)", {}))
        await asyncio.sleep(0.2)  # the slow read is under way
        started = time.monotonic()
        for _ in range(20):
            assert pool.rows("SELECT 1", {}) == [(1,)]
        assert time.monotonic() - started < 1.0
        assert not slow.done()
        await slow
        # the two reads ran on two connections
        [(loop_pid,)] = pool.rows("SELECT pg_backend_pid()", {})
        [(pooled_pid,)] = await pool.off_loop(pool.rows, "SELECT pg_backend_pid()", {})
        assert loop_pid != pooled_pid
    finally:
        pool.close()


async def test_a_pooled_read_reconnects_once_after_the_connection_is_dropped(
    db: Database, org_id: int
) -> None:
    pool = ReadPool(db.settings, threads=1)
    try:
        assert await pool.off_loop(pool.rows, ROW_SQL, {"id": org_id, "x": 1})
        if db.is_sqlite:
            return
        [(pid,)] = await pool.off_loop(pool.rows, "SELECT pg_backend_pid()", {})
        with db.engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        found = await pool.off_loop(pool.rows, ROW_SQL, {"id": org_id, "x": 1})
        assert found[0][0] == org_id
    finally:
        pool.close()
