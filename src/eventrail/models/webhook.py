from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class Webhook(Base):
    """An ingestion endpoint: ``<public URL>/webhooks/<id>``, a transformer and a till."""

    __tablename__ = "webhooks"
    __table_args__ = (
        sa.Index("ix_webhooks_org_id", "org_id"),
        # One enabled webhook per transformer and org (as in Capillary), held by the
        # database so that two concurrent creates cannot both win.
        sa.Index(
            "uq_webhooks_enabled_transformer",
            "org_id",
            "transformer_key",
            unique=True,
            sqlite_where=sa.text("enabled"),
            postgresql_where=sa.text("enabled"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    transformer_type: Mapped[str] = mapped_column(sa.String(100))
    transformer_key: Mapped[str] = mapped_column(sa.String(100))  # lower-case, for the index
    till_id: Mapped[int] = mapped_column(sa.ForeignKey("tills.id"))
    auth_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    auth_mechanism: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    uniqueness_check_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    listen_to_child_events: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
