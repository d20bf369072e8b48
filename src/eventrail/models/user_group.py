from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class UserGroup(Base):
    """A group of customers, named by the org's external id (GROUPID event fields)."""

    __tablename__ = "user_groups"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    external_id: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
