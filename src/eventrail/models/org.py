from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class Org(Base):
    """A tenant. ``parent_org_id`` links a child org to its parent (connected orgs)."""

    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    parent_org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orgs.id"), index=True, default=None
    )
    psi_masking_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    rate_limit_per_minute: Mapped[int] = mapped_column(sa.Integer, default=1000)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    # Retention in days (docs/retention.md); NULL: the server's default
    # (EVENTRAIL_RETENTION_*), and for the audit trail: kept for ever.
    event_logs_days: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    event_data_days: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    audit_days: Mapped[int | None] = mapped_column(sa.Integer, default=None)
