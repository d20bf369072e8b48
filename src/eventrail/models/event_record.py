from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import JsonType
from eventrail.models.base import Base


class EventRecord(Base):
    """A processed event of a customer (GET /v2/events/event_data), duplicates included."""

    __tablename__ = "event_records"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.Index("ix_event_records_customer_time", "org_id", "customer_id", "created_at", "seq"),
        # retention: an org's oldest events, a batch at a time
        sa.Index("ix_event_records_org_created", "org_id", "created_at"),
        # GET /v2/events/search by event name (or definition id)
        sa.Index("ix_event_records_name_time", "org_id", "event_name", "created_at", "seq"),
    )

    id: Mapped[str] = mapped_column(sa.String(36))
    org_id: Mapped[int] = mapped_column(sa.Integer)
    customer_id: Mapped[int] = mapped_column(sa.BigInteger)
    event_name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    # Arrival order (the queue's id): orders events processed in the same batch.
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(40))
    till_code: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    display_name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType)
    psi_attributes: Mapped[list[str]] = mapped_column(JsonType)
    unique_id: Mapped[str] = mapped_column(sa.String(64))
    is_duplicate: Mapped[bool] = mapped_column(sa.Boolean, default=False)
