"""Dialect differences, kept in one place so the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64-bit ids.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Plain JSON on both: PostgreSQL's JSONB would reorder keys, and the wire format
# keeps Capillary's key order (previousValue before currentValue). Nothing
# queries inside these documents.
JsonType = sa.JSON()


def bulk_insert(
    raw: Any, table: str, columns: Sequence[str], values: Iterable[tuple[Any, ...]]
) -> None:
    """Insert rows on a driver connection (``raw``: sqlite3's or psycopg's), in its
    open transaction, without the ORM's per-row work: ``COPY`` on PostgreSQL, one
    ``executemany`` on SQLite. The one bulk insert of eventrail (the ingest
    writer's queue rows, the processors' log entries and stored events)."""
    names = ", ".join(columns)
    if isinstance(raw, sqlite3.Connection):
        marks = ", ".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for value in values:
            copy.write_row(value)


def skip_locked(session: Session) -> str:
    """The clause that lets several claimers take disjoint rows: ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL; nothing on SQLite, whose writing transaction (``BEGIN
    IMMEDIATE``) already excludes every other writer."""
    return " FOR UPDATE SKIP LOCKED" if session.get_bind().dialect.name == "postgresql" else ""


def in_list(
    session: Session, column: str, name: str, values: Sequence[Any]
) -> tuple[str, dict[str, Any]]:
    """``column`` is one of ``values``, as one bound parameter ``name``:
    ``= ANY(:name)`` on PostgreSQL, ``IN (SELECT value FROM json_each(:name))``
    on SQLite (the SQL text is the same whatever the number of values)."""
    if session.get_bind().dialect.name == "postgresql":
        return f"{column} = ANY(:{name})", {name: list(values)}
    return (
        f"{column} IN (SELECT value FROM json_each(:{name}))",
        {name: orjson.dumps(list(values)).decode()},
    )


def insert_unique(session: Session, obj: object) -> bool:
    """Insert ``obj`` inside a savepoint; False when a constraint refuses it.

    The surrounding transaction stays usable, so the caller can answer with the
    domain's error (e.g. Capillary's 8006) instead of a database error.
    """
    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError:
        return False
    return True


def lock_names(session: Session, names: Iterable[str]) -> None:
    """Hold a lock on each name until the transaction ends, taking them in one
    global order so that two transactions locking overlapping names queue
    instead of deadlocking.

    PostgreSQL: transaction-level advisory locks on a 64-bit hash of each name
    (a collision only makes two unrelated writers queue). SQLite: nothing to
    do, its writers are serialised by ``BEGIN IMMEDIATE`` already.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = {
        int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        for name in names
    }
    for key in sorted(keys):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def insert_ignore_returning(
    session: Session,
    table: sa.Table,
    rows: list[dict[str, Any]],
    returning: tuple[sa.ColumnElement[Any], ...],
) -> set[tuple[Any, ...]]:
    """Insert rows, skipping those a unique constraint refuses; the ``returning``
    values of the rows actually inserted (one statement on both databases)."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    stmt = insert.values(rows).on_conflict_do_nothing().returning(*returning)
    return {tuple(row) for row in session.execute(stmt)}


def upsert_add(
    session: Session,
    table: sa.Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    counter: str,
) -> None:
    """Insert rows; where one of the same ``keys`` exists, add the row's ``counter`` to
    its own instead (one statement on both databases)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    stmt = insert.values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={counter: table.c[counter] + stmt.excluded[counter]}
    )
    session.execute(stmt)
