"""Dialect differences, kept in one place so the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
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


_Row = TypeVar("_Row")


def locked_by_key(session: Session, model: type[_Row], org_id: int, row_id: int) -> _Row | None:
    """The row of ``model`` with this ``org_id`` and ``id``, locked until the
    transaction ends (``FOR UPDATE`` on PostgreSQL; SQLite's writers are serialised
    by ``BEGIN IMMEDIATE`` already)."""
    columns: Any = model
    stmt = sa.select(model).where(columns.org_id == org_id, columns.id == row_id).with_for_update()
    return session.scalars(stmt).first()


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def begin_write(raw: Any) -> None:
    """Begin a writing transaction on a driver connection (``raw``: sqlite3's or
    psycopg's): ``BEGIN IMMEDIATE`` on SQLite, so that the write lock is taken now
    rather than at the first write (the sqlite3 module would begin a deferred
    transaction); nothing on PostgreSQL, where psycopg's connection begins by itself."""
    if isinstance(raw, sqlite3.Connection):
        raw.execute("BEGIN IMMEDIATE")


def for_update(session: Session) -> str:
    """The clause that locks the rows a SELECT reads until the transaction ends:
    ``FOR UPDATE`` on PostgreSQL; nothing on SQLite, whose writing transaction
    (``BEGIN IMMEDIATE``) holds the database's write lock already."""
    return " FOR UPDATE" if _postgresql(session) else ""


def skip_locked(session: Session, of: str | None = None) -> str:
    """The clause that lets several claimers take disjoint rows: ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL (``FOR UPDATE OF <of> SKIP LOCKED``: only the rows of
    the table named ``of`` in a join); nothing on SQLite, whose writing transaction
    (``BEGIN IMMEDIATE``) already excludes every other writer."""
    if not _postgresql(session):
        return ""
    return f" FOR UPDATE OF {of} SKIP LOCKED" if of is not None else " FOR UPDATE SKIP LOCKED"


def delete_first(
    session: Session, table: str, where: str, found: str, *, returning: Sequence[str] = ()
) -> str:
    """A ``DELETE`` of at most ``:limit`` rows of ``table``: those that ``found`` (a
    ``FROM <table> WHERE ...`` clause, usually walking an index in order) reads
    first. ``where`` is the statement's own condition (the org it deletes from).
    The rows are named by their physical address, so the delete does not walk the
    primary key's index a second time: ``ctid`` on PostgreSQL, ``rowid`` on SQLite.
    ``returning``: columns of the deleted rows the statement answers."""
    tail = f" RETURNING {', '.join(returning)}" if returning else ""
    if _postgresql(session):
        return (
            f"DELETE FROM {table} WHERE {where} AND "
            f"ctid = ANY(ARRAY(SELECT ctid {found} LIMIT :limit)){tail}"
        )
    return (
        f"DELETE FROM {table} WHERE {where} AND rowid IN (SELECT rowid {found} LIMIT :limit){tail}"
    )


def delete_text_pairs(
    session: Session,
    table: str,
    where: str,
    columns: tuple[str, str],
    name: str,
    pairs: Sequence[tuple[str, str]],
) -> tuple[str, dict[str, Any]]:
    """A ``DELETE`` of the rows of ``table`` matching ``where`` whose two text
    ``columns`` hold one of ``pairs`` (in that order), as one statement whatever the
    number of pairs: joined with ``unnest`` of two arrays on PostgreSQL, one JSON
    array read by ``json_each`` on SQLite. ``where`` names no table (the table is
    ``k`` on PostgreSQL, unnamed on SQLite); ``name`` prefixes the bound parameters."""
    first, second = columns
    if _postgresql(session):
        sql = (
            f"DELETE FROM {table} k "
            f"USING unnest(CAST(:{name}_0 AS text[]), CAST(:{name}_1 AS text[])) AS d(a, b) "
            f"WHERE {where} AND k.{second} = d.b AND k.{first} = d.a"
        )
        return sql, {f"{name}_0": [a for a, _ in pairs], f"{name}_1": [b for _, b in pairs]}
    sql = (
        f"DELETE FROM {table} WHERE {where} AND "
        f"({second}, {first}) IN (SELECT json_extract(value, '$[1]'), "
        f"json_extract(value, '$[0]') FROM json_each(:{name}))"
    )
    return sql, {name: orjson.dumps([list(pair) for pair in pairs]).decode()}


@contextmanager
def database_lock(engine: sa.Engine, key: int, *, wait: bool) -> Iterator[bool]:
    """True while this process holds the lock ``key`` of the database, on a
    connection of its own: a PostgreSQL session-level advisory lock, waited for
    (``wait``) or not (then False when another connection holds it). On SQLite
    always True: its writers are serialised by the write lock already."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = int(key)
    with engine.connect() as connection:
        if wait:
            connection.execute(sa.text(f"SELECT pg_advisory_lock({key})"))
            held = True
        else:
            found = connection.execute(sa.text(f"SELECT pg_try_advisory_lock({key})"))
            held = bool(found.scalar())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text(f"SELECT pg_advisory_unlock({key})"))
                connection.commit()


# -- SQL text for the reads of a kit/fastdb.ReadPool (``ReadPool.sqlite``) ---------------
def json_member_text(
    column: str, key: str, name: str, params: dict[str, Any], *, sqlite: bool
) -> str:
    """The member ``key`` of the JSON object in ``column`` as text (``true`` and
    ``false`` for booleans, NULL when absent), with ``key`` bound as ``:name``:
    ``->>`` on PostgreSQL; on SQLite ``json_extract`` of the member's path (bound
    instead of the key), booleans spelled as PostgreSQL does."""
    if sqlite:
        params[name] = '$."' + key + '"'
        return (
            f"(CASE json_type({column}, :{name}) WHEN 'true' THEN 'true' "
            f"WHEN 'false' THEN 'false' ELSE CAST(json_extract({column}, :{name}) AS TEXT) END)"
        )
    params[name] = key
    return f"({column} ->> CAST(:{name} AS TEXT))"


def json_array_holds(column: str, name: str, *, sqlite: bool) -> str:
    """True when the JSON array of strings in ``column`` holds the text bound as
    ``:name``."""
    if sqlite:
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = :{name})"
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) AS item(name) "
        f"WHERE item.name = CAST(:{name} AS TEXT))"
    )


def index_hint(index: str, *, sqlite: bool) -> str:
    """What follows a table's name to make the planner read it by ``index``:
    ``INDEXED BY`` on SQLite (which refuses the statement if the index cannot serve
    it); nothing on PostgreSQL, which has no hints."""
    return f" INDEXED BY {index}" if sqlite else ""


def in_list(
    session: Session, column: str, name: str, values: Sequence[Any]
) -> tuple[str, dict[str, Any]]:
    """``column`` is one of ``values``, as one bound parameter ``name``:
    ``= ANY(:name)`` on PostgreSQL, ``IN (SELECT value FROM json_each(:name))``
    on SQLite (the SQL text is the same whatever the number of values)."""
    if _postgresql(session):
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
    if not _postgresql(session):
        return
    keys = {
        int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        for name in names
    }
    for key in sorted(keys):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@cache
def _unnest_insert(table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect) -> str:
    """PostgreSQL: ``INSERT`` of rows given as one array per column, unnested. The
    text is the same whatever the number of rows, so neither SQLAlchemy nor psycopg
    converts it anew for each batch, and the server can keep its plan (a VALUES
    list of as many rows as the batch holds was a new statement every time)."""
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns
    )
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


def _by_column(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in columns}


def insert_ignore_returning(
    session: Session,
    table: sa.Table,
    rows: list[dict[str, Any]],
    returning: tuple[str, ...],
) -> set[tuple[Any, ...]]:
    """Insert rows (each with the same keys), skipping those a unique constraint
    refuses; the values of the ``returning`` columns of the rows actually inserted (one statement
    on both databases)."""
    if not rows:
        return set()
    if _postgresql(session):
        columns = tuple(rows[0])
        names = ", ".join(returning)
        insert = _unnest_insert(table, columns, session.get_bind().dialect)
        sql = f"{insert} ON CONFLICT DO NOTHING RETURNING {names}"
        found = session.execute(sa.text(sql), _by_column(rows, columns))
        return {tuple(row) for row in found}
    ignoring = sqlite_insert(table).values(rows).on_conflict_do_nothing()
    stmt = ignoring.returning(*(table.c[name] for name in returning))
    return {tuple(row) for row in session.execute(stmt)}


def upsert_add(
    session: Session,
    table: sa.Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    counter: str,
) -> None:
    """Insert rows (each with the same keys, no two with the same ``keys``); where
    one of the same ``keys`` exists, add the row's ``counter`` to its own instead
    (one statement on both databases)."""
    if not rows:
        return
    if _postgresql(session):
        columns = tuple(rows[0])
        insert = _unnest_insert(table, columns, session.get_bind().dialect)
        sql = (
            f"{insert} ON CONFLICT ({', '.join(keys)}) "
            f"DO UPDATE SET {counter} = {table.name}.{counter} + EXCLUDED.{counter}"
        )
        session.execute(sa.text(sql), _by_column(rows, columns))
        return
    stmt = sqlite_insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={counter: table.c[counter] + stmt.excluded[counter]}
    )
    session.execute(stmt)
