from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base, org_foreign_key


class CommChannel(Base):
    """A communication channel of a customer: one value per channel type."""

    __tablename__ = "comm_channels"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint(
            "org_id", "customer_id", "type", name="uq_comm_channels_org_customer_type"
        ),
        *org_foreign_key("comm_channels", "customer_id", "customers", "fk_comm_channels_customer"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    customer_id: Mapped[int] = mapped_column(BigIntId)
    type: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str] = mapped_column(sa.Text)
    primary: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    subscribed: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    source: Mapped[str] = mapped_column(sa.String(40))
