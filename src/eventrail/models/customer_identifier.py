from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base, org_foreign_key


class CustomerIdentifier(Base):
    """One identifier of a customer in one source (and account, for multi-account sources).

    The unique constraint is what makes an identifier unique per (org, source,
    account, type): two concurrent writers cannot both win.
    """

    __tablename__ = "customer_identifiers"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "source", "account_id", "type", "value"),
        *org_foreign_key(
            "customer_identifiers", "customer_id", "customers", "fk_customer_identifiers_customer"
        ),
        sa.Index("ix_customer_identifiers_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    customer_id: Mapped[int] = mapped_column(BigIntId)
    source: Mapped[str] = mapped_column(sa.String(40))
    account_id: Mapped[str] = mapped_column(sa.String(100), default="")
    type: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
