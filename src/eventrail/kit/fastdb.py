"""A plain driver connection for the fast lane's reads: no ORM, no pool checkout.

SQL is written with ``:name`` parameters (SQLite's own style) and rewritten
once for psycopg. JSON columns come back as text, so a stored document can be
sent as it is (``orjson.Fragment``) without being parsed and dumped again.
Queries run on the event loop's thread: they are indexed and short, and a
thread hop would cost more than most of them.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from eventrail.config import Settings

_NAMED = re.compile(r"(?<!:):(\w+)")


@lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class ReadConnection:
    """One read-only connection per server process, opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sqlite = settings.is_sqlite
        self._conn: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self.sqlite:
            path = self.settings.database_url.removeprefix("sqlite:///")
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            for pragma in (
                "PRAGMA busy_timeout=30000",
                "PRAGMA cache_size=-131072",
                "PRAGMA query_only=ON",
            ):
                conn.execute(pragma)
            return conn
        url = self.settings.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://")
        pg: Any = psycopg.connect(url, autocommit=True)
        # JSON as text: sent on as it is, or parsed with orjson where it must be read.
        pg.adapters.register_loader("json", TextLoader)
        pg.adapters.register_loader("jsonb", TextLoader)
        return pg

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._open()
                try:
                    if self.sqlite:
                        return self._conn.execute(sql, params).fetchall()  # type: ignore[no-any-return]
                    return self._conn.execute(pyformat(sql), params).fetchall()  # type: ignore[no-any-return]
                except psycopg.OperationalError:
                    # The server restarted or the connection dropped: reconnect once.
                    self.close()
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
