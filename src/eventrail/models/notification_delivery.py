from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base

INFLIGHT = "state = 'inflight'"


class NotificationDelivery(Base):
    """One notification to one webhook: the outbox row, then its delivery log entry.

    Written in the transaction of the change that causes it (``state`` pending),
    claimed by a delivery worker (inflight, with a lease and a fencing token), and
    left delivered or failed. ``seq`` orders the rows of one (webhook, ``ref_id``);
    at most one of them is in flight (the partial unique index).
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.Index("ix_notification_deliveries_due", "state", "next_attempt_at", "seq"),
        sa.Index(
            "ix_notification_deliveries_key", "org_id", "webhook_id", "ref_id", "state", "seq"
        ),
        sa.Index("ix_notification_deliveries_request", "org_id", "request_id"),
        sa.Index("ix_notification_deliveries_ref", "org_id", "ref_id", "seq"),
        sa.Index("ix_notification_deliveries_created", "org_id", "created_at", "seq"),
        sa.Index(
            "uq_notification_deliveries_inflight",
            "org_id",
            "webhook_id",
            "ref_id",
            unique=True,
            sqlite_where=sa.text(INFLIGHT),
            postgresql_where=sa.text(INFLIGHT),
        ),
    )

    org_id: Mapped[int] = mapped_column(sa.Integer)
    id: Mapped[str] = mapped_column(sa.String(36))
    webhook_id: Mapped[str] = mapped_column(sa.String(24))
    event_id: Mapped[str] = mapped_column(sa.String(36))
    event_name: Mapped[str] = mapped_column(sa.String(40))
    ref_id: Mapped[str] = mapped_column(sa.String(60))
    request_id: Mapped[str] = mapped_column(sa.String(64))
    source_org_id: Mapped[int] = mapped_column(sa.Integer)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    payload: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(10))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(sa.BigInteger)
    lease_until: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    attempt_token: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    # When the give-up clock started: created_at, or the last redelivery request.
    retry_from: Mapped[int] = mapped_column(sa.BigInteger)
    started_at: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    ended_at: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    sla_seconds: Mapped[int] = mapped_column(sa.Integer)
    http_status: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    time_taken_ms: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(sa.String(200), default=None)
