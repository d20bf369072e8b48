"""Is this process ready to serve? Each check answers a fixed reason, never an
exception's text (which could name a host, a user or a value). And the metrics
computed when scraped: the ingestion queue's depth and age."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from prometheus_client.metrics_core import Metric

from eventrail.db import Database, schema_state
from eventrail.kit import metrics
from eventrail.kit.dates import now_ms
from eventrail.kit.dbhealth import is_unavailable
from eventrail.kit.ratelimit import RateLimiter
from eventrail.processing.processor import Processor
from eventrail.processing.repository import ProcessingRepository


def queue_age_seconds(oldest: int | None) -> float:
    """How long the oldest queued request has waited (0 when none waits)."""
    return 0.0 if oldest is None else max(0.0, (now_ms() - oldest) / 1000)


def queue_metrics(db: Database) -> list[Metric]:
    """The ingestion queue's depth and the age of its oldest entry, read now (the
    same for every process: the queue is the database's); none while the database
    cannot answer."""
    try:
        with db.transaction(write=False) as session:
            repo = ProcessingRepository(session)
            depth, oldest = repo.queue_depth(), repo.oldest_queued_at()
    except sa.exc.SQLAlchemyError as exc:
        if is_unavailable(exc):
            db.health.failed(exc)
        return []
    return [
        metrics.gauge(
            "eventrail_ingestion_queue_depth",
            "Requests acknowledged and not yet processed (all processes)",
            depth,
        ),
        metrics.gauge(
            "eventrail_ingestion_queue_oldest_age_seconds",
            "How long the oldest unprocessed request has waited (0 when none waits)",
            queue_age_seconds(oldest),
        ),
    ]


@dataclass
class Report:
    checks: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


class Readiness:
    def __init__(
        self,
        db: Database,
        processor: Processor,
        limiter: RateLimiter,
        *,
        max_queue_age_seconds: int,
    ) -> None:
        self.db = db
        self.processor = processor
        self.limiter = limiter
        self.max_queue_age_seconds = max_queue_age_seconds

    def report(self) -> Report:
        report = Report()
        try:
            with self.db.transaction(write=False) as session:
                # checked out with a ping on PostgreSQL (pool_pre_ping); the schema's
                # read below is the check on SQLite
                connection = session.connection()
                report.checks["database"] = "ok"
                if self._schema(report, connection):
                    self._queue(report, ProcessingRepository(session).oldest_queued_at())
        except sa.exc.SQLAlchemyError:
            report.checks["database"] = "unreachable"
            report.problems.append("the database is unreachable")
        self._processors(report)
        self._rate_limits(report)
        return report

    def _schema(self, report: Report, conn: sa.Connection) -> bool:
        """Whether the schema is one this process can serve: at its newest migration,
        or at a newer one (a newer eventrail has migrated it during an upgrade: the
        migrations only add, so this process keeps serving until it is replaced)."""
        state = schema_state(conn)
        if state == "behind":
            report.checks["schema"] = "not at the newest migration"
            report.problems.append("the schema is not at the newest migration: run migrate")
            return False
        if state == "ahead":
            report.checks["schema"] = "newer than this server"
            report.warnings.append(
                "the schema is newer than this server: restart it on the new version"
            )
            return True
        report.checks["schema"] = "ok"
        return True

    def _queue(self, report: Report, oldest: int | None) -> None:
        age = queue_age_seconds(oldest)
        report.checks["ingestionQueueAgeSeconds"] = f"{age:.1f}"
        if age > self.max_queue_age_seconds:
            report.problems.append(
                f"the oldest queued event waits for {age:.0f} s "
                f"(more than {self.max_queue_age_seconds} s)"
            )

    def _processors(self, report: Report) -> None:
        expected, alive = self.processor.thread_count, self.processor.alive_threads()
        if expected == 0:
            report.checks["processors"] = "none in this process"
            return
        report.checks["processors"] = f"{alive} of {expected} alive"
        if alive < expected:
            report.problems.append(f"{expected - alive} processor thread(s) stopped")

    def _rate_limits(self, report: Report) -> None:
        if not self.limiter.shared:
            report.checks["rateLimits"] = "in this process"
        elif self.limiter.degraded:
            report.checks["rateLimits"] = "Redis unreachable: counting in this process"
            report.warnings.append(
                "rate limits and the login lockout count in this process until Redis is back"
            )
        else:
            report.checks["rateLimits"] = "shared (Redis)"
