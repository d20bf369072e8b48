"""``eventrail process``: processors in a process of their own, without HTTP.

They claim from the same queue as the processors inside servers (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), so any mix of servers
and processor processes on one database processes every request exactly once.
Nothing wakes them when a server commits: they poll (processor.py says how).
Like the processors in a server, they prune expired rows in the background
(retention/service.py).

SIGTERM or SIGINT: the threads finish and commit the batch they are in and the
process exits 0, within ``processor.STOP_SECONDS`` (10 s); a batch still running then
is abandoned (rolled back when the process ends, claimed again later).
"""

from __future__ import annotations

import logging
import threading

from eventrail.config import Settings
from eventrail.db import Database
from eventrail.ingest.waiters import ResultWaiters
from eventrail.notifications.delivery import Notifier, policy_from
from eventrail.processing.processor import STOP_SECONDS, Processor
from eventrail.retention.service import BackgroundPruner

log = logging.getLogger("eventrail.processing")


def run_processors(
    db: Database, settings: Settings, *, threads: int, stop: threading.Event
) -> bool:
    """Process until ``stop`` is set (the command sets it on SIGTERM or SIGINT: see
    ``kit.signals.on_stop_signal``); True when every batch in progress was committed
    before the return, False when one was abandoned."""
    processor = Processor(
        db, ResultWaiters(), batch_size=settings.processor_batch_size, threads=threads
    )
    pruner = BackgroundPruner(db, settings)
    notifier = Notifier(db, policy_from(settings))
    processor.start()
    pruner.start()
    notifier.start()
    log.info("eventrail processors started (%d thread(s))", threads)
    stop.wait()
    log.info("stopping: finishing the batches in progress (at most %.0f s)", STOP_SECONDS)
    pruner.stop()
    finished = processor.stop(STOP_SECONDS)
    notifier.stop()
    log.info("eventrail processors stopped")
    return finished
