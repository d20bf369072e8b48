from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base, org_foreign_key


class Subscription(Base):
    """OPTIN/OPTOUT of a customer for one (channel, priority, source, account, org unit)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint(
            "org_id",
            "customer_id",
            "channel",
            "priority",
            "source",
            "account_id",
            "ou_id",
            name="uq_subscriptions_org_customer_channel",
        ),
        *org_foreign_key("subscriptions", "customer_id", "customers", "fk_subscriptions_customer"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    customer_id: Mapped[int] = mapped_column(BigIntId)
    channel: Mapped[str] = mapped_column(sa.String(20))
    priority: Mapped[str] = mapped_column(sa.String(10))
    source: Mapped[str] = mapped_column(sa.String(40))
    account_id: Mapped[str] = mapped_column(sa.String(100), default="")
    ou_id: Mapped[int] = mapped_column(sa.BigInteger, default=-1)
    status: Mapped[str] = mapped_column(sa.String(10))
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
