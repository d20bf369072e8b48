from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base


class CommChannel(Base):
    """A communication channel of a customer: one value per channel type."""

    __tablename__ = "comm_channels"
    __table_args__ = (sa.UniqueConstraint("customer_id", "type"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    type: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str] = mapped_column(sa.Text)
    primary: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    subscribed: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    source: Mapped[str] = mapped_column(sa.String(40))
