"""A plain driver connection for the fast lane's reads: no ORM, no pool checkout.

SQL is written with ``:name`` parameters (SQLite's own style). JSON columns
come back as text, so a stored document can be sent as it is
(``orjson.Fragment``) without being parsed and dumped again. Queries run on
the event loop's thread: they are indexed and short, and a thread hop would
cost more than most of them (measured, bench/README.md).

On PostgreSQL the statements go to libpq directly: each statement is prepared
once per connection (``$1, $2, ...`` numbered once per SQL text) and executed
with ``PQexecPrepared``; psycopg's own adapters turn the parameters into wire
values and the result into Python values, exactly as ``cursor.execute`` does.
What is skipped is the cursor's generator machinery around them: 76 µs of CPU
per query against 42 µs this way (measured, bench/README.md).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.string import TextLoader

from eventrail.config import Settings
from eventrail.kit import metrics
from eventrail.kit.dbhealth import DatabaseHealth

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
        self.tx = Transformer(self.conn)  # one at a time: ReadConnection holds a lock

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


class ReadConnection:
    """One read-only connection per server process, opened on first use."""

    def __init__(
        self,
        settings: Settings,
        health: DatabaseHealth | None = None,
        *,
        sqlite_cache_kib: int = 131072,
    ) -> None:
        """``sqlite_cache_kib``: SQLite's page cache; an export's connection, which reads
        each page once, keeps it small so that its memory does not grow with the export."""
        self.settings = settings
        self.sqlite_cache_kib = sqlite_cache_kib
        self.health = health or DatabaseHealth()
        self.sqlite = settings.is_sqlite
        self._conn: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self.sqlite:
            path = self.settings.sqlite_path or ":memory:"
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            for pragma in (
                "PRAGMA busy_timeout=30000",
                f"PRAGMA cache_size=-{int(self.sqlite_cache_kib)}",
                "PRAGMA query_only=ON",
            ):
                conn.execute(pragma)
            return conn
        url = self.settings.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://")
        return _Postgres(url)

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._open()
                try:
                    if self.sqlite:
                        found = self._conn.execute(sql, params).fetchall()
                    else:
                        found = self._conn.rows(sql, params)
                    self.health.succeeded()
                    return found  # type: ignore[no-any-return]
                except psycopg.OperationalError:
                    # The server restarted or the connection dropped: reconnect once.
                    self.close()
                    metrics.DATABASE_RECONNECTS.inc()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
