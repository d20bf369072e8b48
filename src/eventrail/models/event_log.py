from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class EventLog(Base):
    """What happened to one posted request (GET /v2/events/logs). One per request."""

    __tablename__ = "event_logs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.Index("ix_event_logs_org_start", "org_id", "start_time", "seq"),
        sa.Index("ix_event_logs_org_name_start", "org_id", "event_name", "start_time", "seq"),
        sa.Index("ix_event_logs_org_status_start", "org_id", "status", "start_time", "seq"),
    )

    id: Mapped[str] = mapped_column(sa.String(36))
    org_id: Mapped[int] = mapped_column(sa.Integer)
    parent_org_id: Mapped[int] = mapped_column(sa.Integer, default=-1)
    webhook_id: Mapped[str] = mapped_column(sa.String(32))
    start_time: Mapped[int] = mapped_column(sa.BigInteger)
    # Arrival order (the queue's id): orders entries that share a millisecond.
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    response_time: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    event_name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    input_request: Mapped[str] = mapped_column(sa.Text)
    # The same body with its PSI values as *****, shown to callers without PSI_VIEW
    # when the org masks; None when the body holds no PSI value.
    input_request_masked: Mapped[str | None] = mapped_column(sa.Text, default=None)
    message: Mapped[str] = mapped_column(sa.Text)
    # The log entry this one replays (POST /v2/events/logs/replay); None for a post.
    replay_of: Mapped[str | None] = mapped_column(sa.String(36), default=None)
