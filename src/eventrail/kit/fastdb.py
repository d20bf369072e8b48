"""Plain driver connections for the read repositories: no ORM, no session.

SQL is written with ``:name`` parameters (SQLite's own style). JSON columns
come back as text, so a stored document can be sent as it is
(``orjson.Fragment``) without being parsed and dumped again. A process holds a
:class:`ReadPool` per database it reads (the primary, and a replica when
``EVENTRAIL_READ_DATABASE_URL`` names one): a connection of its own for the
event loop's thread, where the indexed reads run (a thread hop would cost more
than most of them, measured: bench/README.md), and a few pooled connections for
the reads that can be slow, run in the pool's threads (``ReadPool.off_loop``)
so that they never hold up the loop's other requests.

On PostgreSQL the statements go to libpq directly: each statement is prepared
once per connection (``$1, $2, ...`` numbered once per SQL text) and executed
with ``PQexecPrepared``; psycopg's own adapters turn the parameters into wire
values and the result into Python values, exactly as ``cursor.execute`` does.
What is skipped is the cursor's generator machinery around them: 76 µs of CPU
per query against 42 µs this way (measured, bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.string import TextLoader

from eventrail.config import Settings
from eventrail.errors import BadRequest
from eventrail.kit import metrics
from eventrail.kit.dbhealth import DatabaseHealth
from eventrail.kit.logsafe import describe

log = logging.getLogger("eventrail")
T = TypeVar("T")
_NAMED = re.compile(r"(?<!:):(\w+)")


def pyformat(sql: str) -> str:
    """``:name`` -> ``%(name)s``: the same SQL for psycopg's own cursor (the bench
    times the server's queries with it)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


@lru_cache(maxsize=512)
def numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``... :a ... :b ... :a`` -> (``... $1 ... $2 ... $1``, ("a", "b"))."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED.sub(number, sql).encode(), tuple(names)


class _Postgres:
    """One psycopg connection, queried through its libpq handle."""

    def __init__(self, url: str) -> None:
        self.conn: Any = psycopg.connect(url, autocommit=True)
        # JSON as text: sent on as it is, or parsed with orjson where it must be read.
        self.conn.adapters.register_loader("json", TextLoader)
        self.conn.adapters.register_loader("jsonb", TextLoader)
        self.pgconn: pq.abc.PGconn = self.conn.pgconn
        self.encoding = self.conn.info.encoding
        self.prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self.tx = Transformer(self.conn)  # one thread at a time: ReadPool's rule

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        statement, names = numbered(sql)
        tx = self.tx
        values: Any = tx.dump_sequence([params[n] for n in names], [PyFormat.AUTO] * len(names))
        key = (statement, tuple(tx.types or ()))
        name = self.prepared.get(key)
        if name is None:
            name = f"eventrail_read_{len(self.prepared)}".encode()
            self._check(self.pgconn.prepare(name, statement, param_types=tx.types))
            self.prepared[key] = name
        result = self.pgconn.exec_prepared(name, values, param_formats=tx.formats)
        self._check(result)
        tx.set_pgresult(result)
        return tx.load_rows(0, result.ntuples, tuple)

    def _check(self, result: pq.abc.PGresult) -> None:
        if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            return
        if self.pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError(
                self.pgconn.get_error_message(self.encoding) or "the connection was lost"
            )
        raise errors.error_from_result(result, encoding=self.encoding)

    def close(self) -> None:
        self.conn.close()


class _Sqlite:
    """One sqlite3 connection, read-only."""

    def __init__(self, path: str, cache_kib: int = 131072) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for pragma in (
            "PRAGMA busy_timeout=30000",
            f"PRAGMA cache_size=-{int(cache_kib)}",
            "PRAGMA query_only=ON",
        ):
            self.conn.execute(pragma)

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


_Connection = _Postgres | _Sqlite


def reconnect_once(
    run: Callable[[], T],
    drop: Callable[[BaseException], None],
    *,
    may_retry: Callable[[], bool] = lambda: True,
    what: str = "database connection",
) -> T:
    """``run()``; if it fails, ``drop(exc)`` (the caller forgets the connection it
    used, or keeps it when the error was the statement's own); and when the
    connection was lost (``psycopg.OperationalError``: the server restarted, the
    connection dropped) and ``may_retry()`` (nothing of the work can have taken
    effect), ``run()`` once more, on a new connection. The one reconnect rule of
    eventrail's plain driver connections (the reads here, the ingest writer)."""
    try:
        return run()
    except BaseException as exc:
        drop(exc)
        if not isinstance(exc, psycopg.OperationalError) or not may_retry():
            raise
        # debug: while the database is down every request reconnects; the outage
        # itself is logged once, by kit/dbhealth.DatabaseHealth
        log.debug("%s reconnecting: %s", what, describe(exc))
    try:
        return run()
    except BaseException as exc:
        drop(exc)
        raise


class ReadPool:
    """The plain read connections of one server process, to one database (the
    primary, or a replica: ``EVENTRAIL_READ_DATABASE_URL``).

    A read runs on the thread that asks for it:

    - on an event loop's thread, on that thread's own connection, with no lock and
      no thread hop: the indexed reads of the lane, whose cost is bounded by their
      page, are cheaper done there than handed to a thread (bench/README.md);
    - on any other thread (``off_loop``'s threads, FastAPI's threads for the
      console's pages), on a connection taken from a pool of ``threads``
      connections, waiting for one when all are in use.

    ``off_loop`` runs a function in the pool's own ``threads`` threads: a read that
    can be slow (a count over whatever a filter matches) waits there, and the loop
    serves the other requests meanwhile.
    """

    def __init__(
        self,
        settings: Settings,
        health: DatabaseHealth | None = None,
        *,
        url: str | None = None,
        threads: int = 4,
        sqlite_cache_kib: int = 131072,
    ) -> None:
        """``sqlite_cache_kib``: SQLite's page cache; an export's pool, which reads
        each page once, keeps it small so that its memory does not grow with the export."""
        self.settings = settings
        self.sqlite_cache_kib = sqlite_cache_kib
        self.health = health or DatabaseHealth()
        self.url = url
        self.threads = threads
        self._local = threading.local()
        self._idle: list[_Connection] = []
        self._slots = threading.BoundedSemaphore(threads)
        self._lock = threading.Lock()
        self._opened: list[_Connection] = []
        self._executor: ThreadPoolExecutor | None = None

    @property
    def sqlite(self) -> bool:
        """The pool reads a SQLite database (else PostgreSQL): the SQL text that
        differs between them is written by kit/sql.py's helpers for this flag."""
        return self.url is None and self.settings.is_sqlite

    def _open(self) -> _Connection:
        if self.url is not None:
            conn: _Connection = _Postgres(
                self.url.replace("postgresql+psycopg://", "postgresql://")
            )
        elif self.settings.is_sqlite:
            conn = _Sqlite(self.settings.sqlite_path or ":memory:", self.sqlite_cache_kib)
        else:
            conn = _Postgres(
                self.settings.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://")
            )
        with self._lock:
            self._opened.append(conn)
        return conn

    def _forget(self, conn: _Connection) -> None:
        with self._lock:
            if conn in self._opened:
                self._opened.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._pooled(sql, params)
        # On the loop's own connection (every read of the lane)
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return self._on_new_loop_connection(sql, params, None)
        try:
            found = conn.rows(sql, params)
        except psycopg.OperationalError as exc:
            return self._on_new_loop_connection(sql, params, exc)
        self.health.succeeded()
        return found

    def one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def _on_new_loop_connection(
        self, sql: str, params: dict[str, Any], lost: BaseException | None
    ) -> list[tuple[Any, ...]]:
        """The read on a new connection of the loop's thread: its first, or the one
        after ``lost`` (then the read is tried once more only, reconnect_once's rule)."""
        local = self._local

        def run() -> list[tuple[Any, ...]]:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = self._open()
            return conn.rows(sql, params)

        def drop(exc: BaseException) -> None:
            if isinstance(exc, psycopg.OperationalError) and getattr(local, "conn", None):
                self._forget(local.conn)
                local.conn = None
                metrics.DATABASE_RECONNECTS.inc()

        if lost is None:
            found = reconnect_once(run, drop, what="read connection")
        else:
            drop(lost)
            log.debug("read connection reconnecting: %s", describe(lost))
            found = reconnect_once(run, drop, may_retry=lambda: False)
        self.health.succeeded()
        return found

    def _pooled(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._slots:
            held: list[_Connection] = []

            def run() -> list[tuple[Any, ...]]:
                if not held:
                    with self._lock:
                        conn = self._idle.pop() if self._idle else None
                    held.append(conn if conn is not None else self._open())
                return held[0].rows(sql, params)

            def drop(exc: BaseException) -> None:
                if isinstance(exc, psycopg.OperationalError) and held:
                    self._forget(held.pop())
                    metrics.DATABASE_RECONNECTS.inc()

            try:
                found = reconnect_once(run, drop, what="read connection")
            finally:
                if held:
                    with self._lock:
                        self._idle.append(held[0])
        self.health.succeeded()
        return found

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in one of the pool's threads, its reads on pooled connections."""
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.threads, thread_name_prefix="eventrail-read"
                    )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        with self._lock:
            opened, self._opened = self._opened, []
            self._idle = []
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()


READ_FROM = "x-eventrail-read-from"
R = TypeVar("R")


class ReadRoute:
    """Where a read goes: the replica's pool when ``EVENTRAIL_READ_DATABASE_URL``
    names one, else the primary's; a request with ``X-Eventrail-Read-From: primary``
    reads from the primary (a client reading its own write at once)."""

    def __init__(self, primary: ReadPool, replica: ReadPool | None = None) -> None:
        self.primary = primary
        self.replica = replica

    def using(self, make: Callable[[ReadPool], R]) -> Callable[[str | None], R]:
        """``make`` (a reader repository) built on each pool, and the function that
        picks one by the value of the request's ``X-Eventrail-Read-From`` header."""
        primary = make(self.primary)
        replica = make(self.replica) if self.replica is not None else primary

        def pick(read_from: str | None) -> R:
            if read_from is None:
                return replica
            return primary if _wants_primary(read_from) else replica

        return pick

    def pool(self, read_from: str | None) -> ReadPool:
        return self.using(lambda pool: pool)(read_from)

    def dedicated(self, read_from: str | None, *, sqlite_cache_kib: int) -> ReadPool:
        """A pool of one connection of its own, to the database ``read_from`` picks: a
        long read (an export) that the caller closes when it ends."""
        chosen = self.pool(read_from)
        return ReadPool(
            chosen.settings,
            chosen.health,
            url=chosen.url,
            threads=1,
            sqlite_cache_kib=sqlite_cache_kib,
        )

    def close(self) -> None:
        self.primary.close()
        if self.replica is not None:
            self.replica.close()


def _wants_primary(value: str) -> bool:
    word = value.strip().lower()
    if word not in ("primary", "replica"):
        raise BadRequest("Invalid value for header 'X-Eventrail-Read-From': primary or replica")
    return word == "primary"
