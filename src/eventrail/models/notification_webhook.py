from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class NotificationWebhook(Base):
    """An outbound notification webhook (``/v3/webHooks``): where an org's changes are sent.

    ``headers``, ``event_names`` and ``identifiers`` are JSON text; ``created_by`` and
    ``updated_by`` the attribution (the till) as JSON text. ``secret`` signs every
    request (shown once, at creation). A deleted webhook stays (its delivery log
    refers to it) with ``deleted`` set, and is no longer listed nor sent to.
    """

    __tablename__ = "notification_webhooks"
    __table_args__ = (sa.PrimaryKeyConstraint("org_id", "id"),)

    org_id: Mapped[int] = mapped_column(sa.Integer)
    id: Mapped[str] = mapped_column(sa.String(24))
    name: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(2000))
    method: Mapped[str] = mapped_column(sa.String(10))
    webhook_type: Mapped[str] = mapped_column(sa.String(20))
    headers: Mapped[str] = mapped_column(sa.Text)
    event_names: Mapped[str] = mapped_column(sa.Text)
    identifiers: Mapped[str] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(sa.Boolean)
    max_connections: Mapped[int] = mapped_column(sa.Integer)
    sla_seconds: Mapped[int] = mapped_column(sa.Integer)
    listen_to_child_events: Mapped[bool] = mapped_column(sa.Boolean)
    consumer_group_id: Mapped[str] = mapped_column(sa.String(36))
    secret: Mapped[str] = mapped_column(sa.String(100))
    deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
    created_by: Mapped[str] = mapped_column(sa.Text)
    updated_by: Mapped[str] = mapped_column(sa.Text)
    # Set when eventrail itself deactivated the webhook (its receiver answered 410
    # Gone): why, and when (epoch ms); cleared when it is made active again.
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    disabled_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
