from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base, org_foreign_key, sqlite_org_index


class Customer(Base):
    """A loyalty customer. Names are kept at customer level (shared by its profiles)."""

    __tablename__ = "customers"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sqlite_org_index("customers"),
        *org_foreign_key(
            "customers", "status_label_id", "status_labels", "fk_customers_status_label"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    first_name: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    last_name: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    status: Mapped[str] = mapped_column(sa.String(32), default="ACTIVE")
    status_label_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    loyalty_type: Mapped[str] = mapped_column(sa.String(20), default="loyalty")
    source: Mapped[str] = mapped_column(sa.String(40))
    account_id: Mapped[str] = mapped_column(sa.String(100), default="")
    merged_into_id: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
