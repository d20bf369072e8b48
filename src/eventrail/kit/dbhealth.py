"""A database outage: told apart from a bug, answered 503, logged once.

While the database cannot be reached (stopped, restarting, refusing
connections, out of disk, a lock or the SQLite busy timeout), every request
that needs it is answered 503 with ``Retry-After`` and the error envelope, and
the queue's writer and the processors wait. The server log gets one line when
a process first meets the outage and one when the database answers again,
whatever the number of requests in between; no traceback. Recovery needs no
restart: every connection that failed is dropped and opened anew on next use.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time

import sqlalchemy as sa

from eventrail.kit import metrics
from eventrail.kit.logsafe import describe

log = logging.getLogger("eventrail.database")


# Connection-level failures and the database's own refusals to serve now.
# psycopg's OperationalError covers a lost connection, a server shutting down or
# starting up (57P01, 57P03), a full disk (53100) and lock/serialisation
# failures; sqlite3's covers "database is locked" and I/O errors.
# psycopg is imported when first needed: the command line on SQLite never loads it.
@functools.cache
def unavailable_errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (
        sa.exc.OperationalError,
        sa.exc.InterfaceError,
        sa.exc.DisconnectionError,
        sa.exc.TimeoutError,  # no pooled connection came free in time
        psycopg.OperationalError,
        psycopg.InterfaceError,
        sqlite3.OperationalError,
    )


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) says the database cannot serve now."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, unavailable_errors()):
            return True
        current = current.__cause__
        seen += 1
    return False


class DatabaseHealth:
    """Whether this process last found its database up; logs only the changes."""

    def __init__(self) -> None:
        self._down_since: float | None = None
        self._refused = 0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        """A request or a background job could not use the database."""
        metrics.DATABASE_ERRORS.inc()
        with self._lock:
            self._refused += 1
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
            self._refused = 1
        log.error("database unavailable (%s): answering 503 until it is back", describe(exc))

    def succeeded(self) -> None:
        """A transaction committed: the database is back if it was down."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds = time.monotonic() - self._down_since
            failures, self._down_since = self._refused, None
        log.warning(
            "database available again after %.1f s (%d failed uses meanwhile)", seconds, failures
        )
