from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class CustomerIdentifier(Base):
    """One identifier of a customer in one source (and account, for multi-account sources).

    The unique constraint is what makes an identifier unique per (org, source,
    account, type): two concurrent writers cannot both win.
    """

    __tablename__ = "customer_identifiers"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "source", "account_id", "type", "value"),
        sa.Index("ix_customer_identifiers_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    source: Mapped[str] = mapped_column(sa.String(40))
    account_id: Mapped[str] = mapped_column(sa.String(100), default="")
    type: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
