"""Engines and sessions. The request (or the background job) owns the transaction.

``Database.transaction()`` opens a session, yields it, commits when the block
ends normally and rolls back otherwise; services and repositories never
commit. On SQLite, writing transactions start with ``BEGIN IMMEDIATE`` so that
concurrent writers queue on the busy timeout instead of failing mid-transaction
when a read lock cannot be upgraded; reading transactions stay deferred so that
readers never wait for writers (WAL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from eventrail.config import Settings
from eventrail.kit import metrics
from eventrail.kit.dbhealth import DatabaseHealth

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: an acknowledged write survives a power cut, not only a killed process.
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-131072",
    "PRAGMA temp_store=MEMORY",
)


def create_db_engine(settings: Settings, **overrides: Any) -> Engine:
    url = settings.sqlalchemy_url
    # hide_parameters: SQLAlchemy's errors quote the statement's bound values
    # (mobiles, emails, names), and errors end up in the server's log.
    overrides.setdefault("hide_parameters", True)
    if settings.is_sqlite:
        private_sqlite_file(settings)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=settings.db_pool_size,
            max_overflow=2 * settings.db_pool_size,
            **overrides,
        )
        _configure_sqlite(engine)
    else:
        engine = sa.create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=2 * settings.db_pool_size,
            pool_pre_ping=True,
            **overrides,
        )
    _count_reconnects(engine)
    return engine


def _count_reconnects(engine: Engine) -> None:
    """A pooled connection found broken (by the pre-ping or by a failed statement) is
    invalidated: dropped, and opened anew when next checked out."""

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        metrics.DATABASE_RECONNECTS.inc()


def private_sqlite_file(settings: Settings) -> None:
    """Create the SQLite database file readable by its owner only (0600), or take
    group and other permissions away from an existing one that is ours: it holds
    customers' data and password hashes. SQLite creates the ``-wal`` and ``-shm``
    files with the main file's permissions."""
    path = settings.sqlite_path
    if path is None:
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # a missing directory or no permission: SQLite reports it in its own words
    try:
        info = os.fstat(fd)
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.fchmod(fd, info.st_mode & 0o700)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        try:
            info = side.stat()
            if info.st_uid == os.geteuid() and info.st_mode & 0o077:
                side.chmod(info.st_mode & 0o700)
        except FileNotFoundError:
            pass


def backup_sqlite(source: str, target: Path, *, overwrite: bool) -> int:
    """Copy the SQLite database ``source`` to ``target`` (mode 600) with SQLite's
    backup API while servers keep writing; the copy's size in bytes.

    The copy is made in one step, so within one read transaction: a consistent
    snapshot (WAL lets the writers go on meanwhile), holding every transaction
    committed before it began. It is written next to ``target`` and linked into
    place once complete and synced, so ``target`` is never a half-written file;
    without ``overwrite`` an existing ``target`` raises ``FileExistsError``.
    """
    import sqlite3
    from urllib.parse import quote

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        # mode=rw: a missing source is an error, not a new empty database
        src = sqlite3.connect(f"file:{quote(source)}?mode=rw", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # pages=-1: every page in one step
            finally:
                dst.close()
        finally:
            src.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # FileExistsError rather than overwrite, even in a race
        size = target.stat().st_size
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return size
    finally:
        tmp.unlink(missing_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module, which would
        # otherwise emit its own deferred BEGIN before the first write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine and the two session factories (reading and writing)."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine if engine is not None else create_db_engine(settings)
        self.is_sqlite = settings.is_sqlite
        self.health = DatabaseHealth()
        write_bind = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(write_bind, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        session = self.session(write=write)
        try:
            yield session
        except BaseException:
            self.finish(session, commit=False)
            raise
        self.finish(session, commit=True)

    def session(self, *, write: bool = True) -> Session:
        """A new session; it touches the database only when first used, so it can be
        made on the event loop and used in a worker thread (``deps._session``)."""
        return (self._writer if write else self._reader)()

    def finish(self, session: Session, *, commit: bool) -> None:
        """Commit (or roll back) and close a session from :meth:`session`: a failed
        commit is rolled back and raised."""
        try:
            if commit:
                session.commit()
                self.health.succeeded()
            else:
                session.rollback()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _migrations_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(settings: Settings) -> AlembicConfig:
    """Alembic's configuration for these settings, wherever eventrail is installed."""
    # Alembic is imported only when needed: it costs a third of a second at start-up.
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    cfg.attributes["database_url"] = settings.database_url
    return cfg


def migrate(settings: Settings) -> list[str]:
    """Bring the schema to the latest migration; the revisions applied, oldest first."""
    from alembic import command as alembic_command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(settings)
    engine = create_db_engine(settings)
    try:
        with engine.connect() as conn:
            before = (
                list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
                if sa.inspect(conn).has_table("alembic_version")
                else []
            )
    finally:
        engine.dispose()
    alembic_command.upgrade(cfg, "head")
    script = ScriptDirectory.from_config(cfg)
    lower = before[0] if len(before) == 1 else "base"
    applied = script.iterate_revisions("heads", lower)
    return [revision.revision for revision in reversed(list(applied))]


# The newest migration. `eventrail` checks the database against it without
# loading Alembic (a third of a second on every command); tests/test_migrations.py
# fails if a new migration is added and this is not updated.
SCHEMA_HEAD = "20261205_0021"


def known_revisions() -> frozenset[str]:
    """The revisions this version of eventrail ships (from the migration file names,
    ``<date>_<number>_<slug>.py``, without loading Alembic)."""
    versions = _migrations_dir() / "versions"
    return frozenset("_".join(path.name.split("_")[:2]) for path in versions.glob("*_*_*.py"))


SchemaState = Literal["current", "behind", "ahead"]


def schema_state(conn: sa.Connection) -> SchemaState:
    """``current`` at this version's newest migration; ``ahead`` at a migration this
    version does not know (a newer eventrail migrated it); ``behind`` otherwise
    (not migrated, or migrated by an older version)."""
    try:
        versions = set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    except sa.exc.DBAPIError:
        return "behind"
    if versions == {SCHEMA_HEAD}:
        return "current"
    if len(versions) == 1 and not versions <= known_revisions():
        return "ahead"
    return "behind"
