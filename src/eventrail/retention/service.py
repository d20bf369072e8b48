"""Retention: which rows each org's retention has expired, and deleting them.

Four kinds of rows, each with a number of days per org (``PUT /v2/orgs/settings``
``retention``), else the server's default:

- ``eventLogs``: the processing log (``GET /v2/events/logs``), including the entries
  of refused, invalid and set-aside requests, which keep the body as it was posted
  (what is left of ingestion once a request is processed), by ``start_time``;
- ``eventData``: stored events (``GET /v2/events/event_data``) by ``created_at``,
  with the unique keys that point at them;
- ``audit``: only for an org that sets ``auditDays`` (none by default: the audit trail
  is a legal record), entries by ``created_on`` with their refs and ``audit_kinds``
  rows; the database keeps ``audit_counts`` exact and refuses to delete any entry
  that the org's ``auditDays`` has not expired;
- ``notifications``: finished notification deliveries (delivered, or failed and not
  redelivered since), by ``created_at`` and ``ended_at``, kept as long as the
  processing log (``eventLogsDays``): both are logs of what was done with an org's
  data, and a delivery's body holds the change's values unmasked. Pending and
  in-flight deliveries are never pruned.

Requests still queued (``ingest_requests``) are never pruned: they are work to do.

Deleting is done in batches of at most ``EVENTRAIL_RETENTION_BATCH_ROWS`` rows, each
its own short transaction, oldest first. On PostgreSQL one pruner at a time works
on a database (an advisory lock held by a connection for the length of a round).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from eventrail.config import Settings
from eventrail.db import Database
from eventrail.kit.dates import now_ms
from eventrail.kit.dbhealth import is_unavailable
from eventrail.models import Org
from eventrail.retention import repository as r
from eventrail.retention.repository import (
    AUDIT,
    EVENT_DATA,
    EVENT_LOGS,
    KINDS,
    NOTIFICATIONS,
    PruneRepository,
)

log = logging.getLogger("eventrail.retention")

DAY_MS = 86_400_000
# The database checks an audit entry's age with its own clock: entries are taken a
# minute after they expire, so that a clock a little ahead of it refuses none.
_AUDIT_MARGIN_MS = 60_000
# Between two batches: other writers (ingestion, on SQLite) get the write lock.
_PAUSE_SECONDS = 0.01

__all__ = ["AUDIT", "EVENT_DATA", "EVENT_LOGS", "KINDS", "NOTIFICATIONS"]


@dataclass(frozen=True, slots=True)
class RetentionDays:
    event_logs_days: int
    event_data_days: int
    audit_days: int | None


def retention_of(org: Org, settings: Settings) -> RetentionDays:
    """The org's retention: its own days, else the server's defaults."""
    return _days(org.event_logs_days, org.event_data_days, org.audit_days, settings)


def _days(
    logs: int | None, data: int | None, audit: int | None, settings: Settings
) -> RetentionDays:
    return RetentionDays(
        logs if logs is not None else settings.retention_event_logs_days,
        data if data is not None else settings.retention_event_data_days,
        audit,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """The rows of one kind of one org older than ``cutoff`` (epoch ms)."""

    org_id: int
    kind: str
    cutoff: int


def targets(session: Session, settings: Settings, now: int | None = None) -> list[Target]:
    """What every org's retention has expired by ``now``, org by org."""
    now = now_ms() if now is None else now
    found = []
    for org_id, logs, data, audit in PruneRepository(session).orgs():
        days = _days(logs, data, audit, settings)
        found.append(Target(org_id, EVENT_LOGS, now - days.event_logs_days * DAY_MS))
        # The delivery log is kept as long as the processing log (module docstring).
        found.append(Target(org_id, NOTIFICATIONS, now - days.event_logs_days * DAY_MS))
        found.append(Target(org_id, EVENT_DATA, now - days.event_data_days * DAY_MS))
        if days.audit_days is not None:
            cutoff = now - days.audit_days * DAY_MS - _AUDIT_MARGIN_MS
            found.append(Target(org_id, AUDIT, cutoff))
    return found


def count_expired(db: Database, found: list[Target]) -> dict[Target, int]:
    """How many rows each target holds (one read transaction)."""
    with db.transaction(write=False) as session:
        repo = PruneRepository(session)
        return {t: repo.expired(t.kind, t.org_id, t.cutoff) for t in found}


def prune(
    db: Database,
    target: Target,
    batch_rows: int,
    *,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete the target's rows, a batch per transaction; the number deleted."""
    deleted = 0
    while stop is None or not stop.is_set():
        with db.transaction(write=True) as session:
            n = PruneRepository(session).delete_batch(
                target.kind, target.org_id, target.cutoff, batch_rows
            )
        deleted += n
        if progress is not None and n:
            progress(n)
        if n < batch_rows:
            break
        time.sleep(_PAUSE_SECONDS)
    return deleted


@contextmanager
def pruner_lock(db: Database, *, wait: bool) -> Iterator[bool]:
    """True while this process is the database's one pruner (always on SQLite, where
    the write lock serialises batches); False when another holds it and not ``wait``."""
    with r.pruner_lock(db.engine, wait=wait) as held:
        yield held


class BackgroundPruner:
    """A thread beside the processors: every ``interval`` seconds, one round over
    every org's expired rows (skipped while another process's pruner works)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.interval = settings.retention_interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="eventrail-pruner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_round()
            except Exception as exc:
                if is_unavailable(exc):
                    self.db.health.failed(exc)
                else:
                    log.exception("pruning failed; the next round tries again")

    def run_round(self) -> int:
        """One pass over every org; the number of rows deleted (0 when another
        pruner holds the lock)."""
        with pruner_lock(self.db, wait=False) as held:
            if not held:
                return 0
            with self.db.transaction(write=False) as session:
                found = targets(session, self.settings)
            deleted = 0
            for target in found:
                if self._stop.is_set():
                    break
                deleted += prune(
                    self.db, target, self.settings.retention_batch_rows, stop=self._stop
                )
        self.rounds += 1
        if deleted:
            log.info("pruned %d expired row(s)", deleted)
        return deleted
