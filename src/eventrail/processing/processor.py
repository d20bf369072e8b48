"""Processors: threads beside the HTTP API that claim queued requests in batches,
run the pipeline, and write every outcome in one transaction per batch.

Exactly once: a batch's log entries, stored events and the deletion of its
queued rows commit together. A processor killed mid-batch commits nothing, and
the rows are claimed again after the restart. Several processors, in one
process or in many sharing one PostgreSQL, take disjoint batches
(``FOR UPDATE SKIP LOCKED``); on SQLite the write lock serialises them.

A request whose processing raises (a bug, a definition broken outside the API)
must not hold up the others: the batch runs in a savepoint, and when it fails for
a reason of its own (not the database's), it is rolled back to it and run again in
halves, so that the failing requests are found in a few runs and set aside alone,
logged as ``EVENT_PROCESSING_FAILED`` with the step and the kind of error, while
the others are processed in the same transaction. A batch that fails because of
the database (a lost connection, a lock, a deadlock) is retried; one that keeps
failing is taken one request at a time, and a single request that still fails is
set aside rather than retried forever: it is never lost, and never blocks the queue.

A processor finds work two ways: a server's group commit wakes the processors
of its own process, and every processor polls the queue when it has none, so
that it also sees what other processes queued (a server started with
``--no-processors`` wakes nobody). The poll starts at POLL_MIN_SECONDS after
the last batch that found work and doubles up to the idle interval (0.2 s):
right after traffic the latency stays low, and an idle processor costs one
empty claim five times a second.

Stopping (SIGTERM): the threads finish the batch they are in, commit it, and
stop. A batch still running after the stop's bound is abandoned: the process
ends, its transaction is rolled back by the database, and the requests are
claimed again by the next processor.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Any

from sqlalchemy.orm import Session

from eventrail.db import Database
from eventrail.ingest.queue import Queued
from eventrail.ingest.waiters import ResultWaiters
from eventrail.kit import metrics
from eventrail.kit.dates import now_ms
from eventrail.kit.dbhealth import is_unavailable
from eventrail.notifications.emit import emit, subscribers
from eventrail.notifications.names import EVENT_PROCESSED
from eventrail.processing import statuses as st
from eventrail.processing.pipeline import BatchPipeline, BatchResult, ConfigCache, set_aside_log
from eventrail.processing.repository import ProcessingRepository

log = logging.getLogger("eventrail.processing")

_ATTEMPTS = 3
_MAX_EVENT_NAME = 200
# PEP 249's names for errors of the database rather than of the statement: the
# connection, a lock, a deadlock. sqlite3, psycopg and SQLAlchemy all use them.
_DATABASE_ERRORS = frozenset({"OperationalError", "InterfaceError"})


def _of_the_database(exc: BaseException) -> bool:
    return any(cls.__name__ in _DATABASE_ERRORS for cls in type(exc).__mro__)


def _where(exc: BaseException) -> str:
    """The kind of error and the line that raised it: no message, which could quote a
    value of the request (personal data stays out of the server log)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


def _measure(size: int, result: BatchResult, seconds: float) -> None:
    """A committed batch in the metrics: its size, its time, its events by status."""
    metrics.BATCH_SIZE.observe(size)
    metrics.BATCH_SECONDS.observe(seconds)
    metrics.processed(status for status, _ in result.outcomes.values())


def _notify(repo: ProcessingRepository, logs: list[dict[str, Any]]) -> None:
    """behaviouralEventProcessed for each log entry, in the batch's transaction (PSI
    values of the body masked: a notification never carries them). An org no
    webhook listens to costs one look-up per batch, not a notification built per
    event."""
    session = repo.session
    heard = {
        org_id: bool(subscribers.get(session, org_id, EVENT_PROCESSED))
        for org_id in {row["org_id"] for row in logs}
    }
    for row in logs:
        if not heard[row["org_id"]]:
            continue
        emit(
            session,
            row["org_id"],
            EVENT_PROCESSED,
            row["id"],
            {
                "id": row["id"],
                "orgId": row["org_id"],
                "parentOrgId": row["parent_org_id"],
                "webhookId": row["webhook_id"],
                "startTime": row["start_time"],
                "responseTime": row["response_time"],
                "status": row["status"],
                "eventName": row["event_name"],
                "message": row["message"],
                "inputRequest": row["input_request_masked"] or row["input_request"],
            },
            request_id=row["id"],
        )


POLL_MIN_SECONDS = 0.01
STOP_SECONDS = 10.0  # how long stop() waits for the current batches


class Processor:
    def __init__(
        self,
        db: Database,
        waiters: ResultWaiters,
        *,
        batch_size: int = 500,
        threads: int = 1,
        idle_seconds: float = 0.2,
    ) -> None:
        self.db = db
        self.waiters = waiters
        self.batch_size = batch_size
        self.thread_count = threads
        self.idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._isolate = 0
        self._attempts: dict[int, int] = {}
        self._lock = threading.Lock()
        self.config = ConfigCache()  # the orgs' configuration, shared by the threads

    # -- lifecycle ----------------------------------------------------------------
    def start(self, threads: int | None = None) -> None:
        """Start the processor threads (``threads``, else as configured, at least one)."""
        if self._threads:
            return
        self._stopping.clear()
        for n in range(threads or self.thread_count or 1):
            thread = threading.Thread(
                target=self._loop, name=f"eventrail-processor-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Let every thread finish its batch; False when one was still running after
        ``timeout`` seconds (its transaction is left to roll back)."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        running = sum(thread.is_alive() for thread in self._threads)
        if running:
            log.warning("%d processor thread(s) still in a batch after %.0f s", running, timeout)
        self._threads = []
        return running == 0

    def alive_threads(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        failures = 0
        poll = self.idle_seconds
        while not self._stopping.is_set():
            single = self._take_isolated()
            try:
                done = self.run_single() if single else self.run_once()
                failures = 0
            except Exception as exc:
                if is_unavailable(exc):
                    # The database, not the batch: wait for it without blaming the requests.
                    self.db.health.failed(exc)
                    if single:
                        with self._lock:
                            self._isolate += 1
                    self._stopping.wait(1.0)
                    continue
                failures += 1
                log.exception("processing failed (%s)", "one request" if single else "a batch")
                if not single and failures >= _ATTEMPTS:
                    # The batch keeps failing: take its requests one at a time to find
                    # the one that fails, and let the others through.
                    failures = 0
                    with self._lock:
                        self._isolate = max(self._isolate, self.batch_size)
                elif single:
                    with self._lock:
                        self._isolate += 1
                self._stopping.wait(min(0.1 * 2**failures, 2.0))
                continue
            if done == 0:
                with self._lock:
                    self._isolate = 0
                self._wake.wait(poll)
                self._wake.clear()
                poll = min(poll * 2, self.idle_seconds)
            else:
                poll = min(POLL_MIN_SECONDS, self.idle_seconds)

    def _take_isolated(self) -> bool:
        with self._lock:
            if self._isolate > 0:
                self._isolate -= 1
                return True
        return False

    # -- batches ------------------------------------------------------------------
    def _write(self, repo: ProcessingRepository, result: BatchResult, ids: list[int]) -> None:
        for row in result.logs:
            if row["event_name"] is not None:
                row["event_name"] = row["event_name"][:_MAX_EVENT_NAME]
        repo.insert_records(result.records)
        repo.mark_verified(result.verified)
        repo.delete_claimed(ids)
        repo.insert_logs(result.logs)
        _notify(repo, result.logs)

    def run_once(self, limit: int | None = None) -> int:
        """Claim, process and commit one batch; the number of requests it held."""
        started = time.perf_counter()
        with self.db.transaction(write=True) as session:
            repo = ProcessingRepository(session)
            requests = repo.claim(limit or self.batch_size)
            if not requests:
                return 0
            result = self._process(session, repo, requests)
        _measure(len(requests), result, time.perf_counter() - started)
        self.waiters.resolve(result.outcomes)
        return len(requests)

    def _process(
        self, session: Session, repo: ProcessingRepository, requests: list[Queued]
    ) -> BatchResult:
        """Process and write ``requests`` in a savepoint. If that raises for a reason
        of the requests' own, roll back to it and process each half alone: a request
        that fails by itself is set aside, the others are processed as usual."""
        pipeline = BatchPipeline(session, now_ms(), self.config)
        try:
            with session.begin_nested():
                result = pipeline.run(requests)
                pipeline.step = "writing the results"
                self._write(repo, result, [r.id for r in requests])
        except Exception as exc:
            if _of_the_database(exc):
                raise
            if len(requests) == 1:
                request = requests[0]
                log.error(
                    "request %s set aside: the %s step failed (%s)",
                    request.request_id,
                    pipeline.step,
                    _where(exc),
                )
                return self._set_aside(repo, request, f"{pipeline.step} step: {type(exc).__name__}")
        else:
            return result
        half = len(requests) // 2
        first = self._process(session, repo, requests[:half])
        return first.extend(self._process(session, repo, requests[half:]))

    def run_single(self) -> int:
        """Process the oldest request alone. If it fails _ATTEMPTS times, log it as
        EVENT_PROCESSING_FAILED (keeping its body) rather than retry it forever."""
        started = time.perf_counter()
        with self.db.transaction(write=True) as session:
            repo = ProcessingRepository(session)
            claimed = repo.claim(1)
            if not claimed:
                return 0
            request = claimed[0]
            try:
                with session.begin_nested():
                    result = BatchPipeline(session, now_ms(), self.config).run([request])
                    self._write(repo, result, [request.id])
            except Exception as exc:
                if is_unavailable(exc):
                    raise
                attempts = self._attempts.get(request.id, 0) + 1
                self._attempts[request.id] = attempts
                if attempts < _ATTEMPTS:
                    raise
                log.exception(
                    "request %s set aside after %d attempts", request.request_id, attempts
                )
                result = self._set_aside(repo, request)
            self._attempts.pop(request.id, None)
        _measure(1, result, time.perf_counter() - started)
        self.waiters.resolve(result.outcomes)
        return 1

    @staticmethod
    def _set_aside(
        repo: ProcessingRepository, request: Queued, reason: str | None = None
    ) -> BatchResult:
        log_row = set_aside_log(request, now_ms(), reason)
        repo.delete_claimed([request.id])
        repo.insert_logs([log_row])
        _notify(repo, [log_row])
        return BatchResult(
            [log_row],
            [],
            set(),
            {request.request_id: (st.EVENT_PROCESSING_FAILED, log_row["message"])},
        )

    def drain(self, timeout: float = 30.0) -> int:
        """Process until the queue is empty (tests, and the demo); the number processed."""
        total = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.run_once()
            if done == 0:
                return total
            total += done
        raise TimeoutError("the queue did not drain in time")
