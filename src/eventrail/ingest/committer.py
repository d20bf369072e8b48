"""Group commit: concurrent acknowledgements share one transaction and one fsync.

Handlers hand their rows to :meth:`GroupCommitter.submit` and await it; one
writer thread takes everything queued since its last commit, inserts it in one
transaction, commits, and only then wakes the handlers, which then answer 200.
While it commits, the next group gathers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from eventrail.db import Database
from eventrail.ingest.exceptions import EventNotStored
from eventrail.kit.dbhealth import is_unavailable
from eventrail.kit.fastdb import reconnect_once
from eventrail.kit.sql import begin_write, bulk_insert

log = logging.getLogger("eventrail.ingest")

_MAX_GROUP_ROWS = 5000
STOP_SECONDS = 5.0
COLUMNS = ("request_id", "org_id", "webhook_id", "received_at", "body", "verdict", "detail")


_Waiter = tuple[list[dict[str, Any]], asyncio.Future[None], asyncio.AbstractEventLoop]


class GroupCommitter:
    def __init__(self, db: Database, on_commit: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.on_commit = on_commit
        self._queue: deque[_Waiter] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._connection: Any = None  # the writer thread's own pooled DBAPI connection

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="eventrail-ingest-writer", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Write what is queued, then end the writer (waiting at most ``timeout`` s)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    async def submit(self, rows: list[dict[str, Any]]) -> None:
        """Returns once the rows are committed; raises EventNotStored (503:
        nothing was acknowledged) otherwise."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._stopping or self._thread is None:
                raise EventNotStored()
            self._queue.append((rows, future, loop))
            self._cond.notify()
        await future

    def _take(self) -> list[_Waiter] | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if not self._queue:
                return None
            group: list[_Waiter] = []
            size = 0
            while self._queue and size < _MAX_GROUP_ROWS:
                waiter = self._queue.popleft()
                group.append(waiter)
                size += len(waiter[0])
            return group

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """One transaction for the group, on the driver directly: COPY on PostgreSQL,
        one executemany on SQLite (the ORM's per-row work cost more than the
        commit, measured).

        The connection is held between groups. If it turns out to be dead (the
        server restarted) before the commit was sent, the group is written once
        more on a new connection: nothing of it can have been committed.
        """
        row_values = itemgetter(*COLUMNS)  # a tuple of the columns, in C
        values = [row_values(row) for row in rows]
        state = {"fresh": False, "committing": False}

        def write() -> None:
            state["fresh"] = self._connection is None
            state["committing"] = False
            if self._connection is None:
                self._connection = self.db.engine.raw_connection()
            raw = self._connection.driver_connection
            begin_write(raw)
            bulk_insert(raw, "ingest_requests", COLUMNS, values)
            state["committing"] = True
            raw.commit()

        def drop(_: BaseException) -> None:
            # Whatever state the connection is in, it is not used again.
            connection, self._connection = self._connection, None
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.invalidate()

        reconnect_once(
            write,
            drop,
            may_retry=lambda: not state["fresh"] and not state["committing"],
            what="ingest writer",
        )

    def _run(self) -> None:
        try:
            while True:
                group = self._take()
                if group is None:
                    return
                rows = [row for waiter in group for row in waiter[0]]
                failed = False
                try:
                    self._write(rows)
                    self.db.health.succeeded()
                except Exception as exc:  # answered as 503 to every waiter of the group
                    if is_unavailable(exc):
                        self.db.health.failed(exc)
                    else:
                        log.exception("ingest group of %d rows not committed", len(rows))
                    failed = True
                for _, future, loop in group:
                    error = EventNotStored() if failed else None
                    # RuntimeError: the handler's loop is gone (its client left).
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(_finish, future, error)
                if not failed:
                    self.on_commit()
        finally:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None


def _finish(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
