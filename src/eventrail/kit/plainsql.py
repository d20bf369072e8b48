"""Plain SQL on a plain driver connection, or on a SQLAlchemy session: one small
interface, so that a few short commands (``eventrail org create``, ``till create``,
``client create``) run the same statements as the services without loading
SQLAlchemy's ORM and the models (a third to half a second of start-up).

Statements are written with ``:name`` parameters, as ``sqlalchemy.text`` takes
them; :class:`DriverStatements` turns them into the driver's style. The tables
are the models' (``eventrail/models``): what runs here names their columns, and
tests/kit/test_plainsql.py checks the rows it writes against the ORM's.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from eventrail.config import Settings

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
_SQLITE_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=30000")


class Statements(Protocol):
    """Runs one statement in the current transaction; the rows it returns (none for
    a statement without rows)."""

    dialect: str

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


class DriverStatements:
    """Statements on a DB-API connection (sqlite3, or psycopg for PostgreSQL)."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if self.dialect == "postgresql":
            sql = _NAMED.sub(r"%(\1)s", sql)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, dict(params or {}))
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()


class SessionStatements:
    """The same statements in a SQLAlchemy session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        import sqlalchemy as sa

        self.session.flush()  # what the session holds goes first, in statement order
        result = self.session.connection().execute(sa.text(sql), dict(params or {}))
        return [tuple(row) for row in result] if result.returns_rows else []


class NoDatabase(Exception):
    """The database is missing or not at this version's schema (one line for the CLI)."""


def _known_revisions() -> set[str]:
    """The migrations this eventrail ships, from their files' names
    (``<date>_<number>_<slug>.py``), as ``db.known_revisions`` reads them."""
    here = Path(__file__).resolve().parent.parent
    versions = here / "_migrations" / "versions"
    if not versions.is_dir():  # a checkout rather than an installed wheel
        versions = here.parents[1] / "migrations" / "versions"
    return {"_".join(path.name.split("_")[:2]) for path in versions.glob("*_*_*.py")}


def newest_revision() -> str:
    """The newest migration this eventrail ships, without loading Alembic or
    SQLAlchemy; tests/kit/test_plainsql.py checks that it is ``db.SCHEMA_HEAD``."""
    return max(_known_revisions())


def _check_schema(statements: DriverStatements, driver_error: type[Exception]) -> None:
    try:
        versions = {row[0] for row in statements.rows("SELECT version_num FROM alembic_version")}
    except driver_error:  # no such table: never migrated
        versions = set()
    if versions == {newest_revision()}:
        return
    if len(versions) == 1 and not versions <= _known_revisions():
        raise NoDatabase(
            "the database schema is newer than this eventrail: install the newer version"
        )
    raise NoDatabase("the database schema is not up to date: run `eventrail migrate`")


def safe_url(url: str) -> str:
    """The database URL without its password, for a message."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


@contextmanager
def transaction(settings: Settings) -> Iterator[DriverStatements]:
    """One writing transaction on the configured database, once it exists and its
    schema is at this version's newest migration; committed when the block ends
    normally, rolled back otherwise."""
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is None:
            raise NoDatabase("an in-memory database holds no orgs: use a database file")
        if not Path(path).exists():
            raise NoDatabase(f"there is no database at {path}: run `eventrail migrate`")
        connection: Any = sqlite3.connect(path, timeout=30, isolation_level=None)
        statements = DriverStatements(connection, "sqlite")
        for pragma in _SQLITE_PRAGMAS:
            statements.rows(pragma)
        begin, commit, rollback = "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"
        driver_error: type[Exception] = sqlite3.Error
    else:
        import psycopg

        url = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        connection = psycopg.connect(url, autocommit=True)
        statements = DriverStatements(connection, "postgresql")
        begin, commit, rollback = "BEGIN", "COMMIT", "ROLLBACK"
        driver_error = psycopg.Error
    try:
        _check_schema(statements, driver_error)
        statements.rows(begin)
        try:
            yield statements
        except BaseException:
            statements.rows(rollback)
            raise
        statements.rows(commit)
    finally:
        connection.close()
