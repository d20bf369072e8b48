from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base, org_foreign_key


class Card(Base):
    """A loyalty card of a series; issued to at most one customer."""

    __tablename__ = "cards"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "card_number"),
        *org_foreign_key("cards", "series_id", "card_series", "fk_cards_series"),
        *org_foreign_key("cards", "customer_id", "customers", "fk_cards_customer"),
        *org_foreign_key("cards", "status_label_id", "status_labels", "fk_cards_status_label"),
        sa.Index("ix_cards_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    series_id: Mapped[int] = mapped_column(BigIntId)
    card_number: Mapped[str] = mapped_column(sa.String(100))
    customer_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    status: Mapped[str] = mapped_column(sa.String(32))
    status_label_id: Mapped[int] = mapped_column(BigIntId)
    status_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    mapped_entity: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
