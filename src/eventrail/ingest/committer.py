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
from typing import Any

import sqlalchemy as sa

from eventrail.db import Database
from eventrail.models import IngestRequest

log = logging.getLogger("eventrail.ingest")

_MAX_GROUP_ROWS = 5000


class IngestUnavailable(RuntimeError):
    """The queue could not be written: nothing was acknowledged."""


_Waiter = tuple[list[dict[str, Any]], asyncio.Future[None], asyncio.AbstractEventLoop]


class GroupCommitter:
    def __init__(self, db: Database, on_commit: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.on_commit = on_commit
        self._queue: deque[_Waiter] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._insert = sa.insert(IngestRequest)

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="eventrail-ingest-writer", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    async def submit(self, rows: list[dict[str, Any]]) -> None:
        """Returns once the rows are committed; raises IngestUnavailable otherwise."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._stopping or self._thread is None:
                raise IngestUnavailable("the ingest writer is not running")
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

    def _run(self) -> None:
        writer = self.db.engine.execution_options(sqlite_begin="IMMEDIATE")
        while True:
            group = self._take()
            if group is None:
                return
            rows = [row for waiter in group for row in waiter[0]]
            error: BaseException | None = None
            try:
                with writer.begin() as conn:
                    conn.execute(self._insert, rows)
            except Exception as exc:  # answered as 503 to every waiter of the group
                log.exception("ingest group of %d rows not committed", len(rows))
                error = IngestUnavailable(str(exc))
            for _, future, loop in group:
                # RuntimeError: the handler's loop is gone (its client left).
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_finish, future, error)
            if error is None:
                self.on_commit()


def _finish(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
