from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base


class Card(Base):
    """A loyalty card of a series; issued to at most one customer."""

    __tablename__ = "cards"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "card_number"),
        sa.Index("ix_cards_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("card_series.id"))
    card_number: Mapped[str] = mapped_column(sa.String(100))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), default=None)
    status: Mapped[str] = mapped_column(sa.String(32))
    status_label_id: Mapped[int] = mapped_column(sa.ForeignKey("status_labels.id"))
    status_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    mapped_entity: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
