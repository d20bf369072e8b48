from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class Store(Base):
    __tablename__ = "stores"
    __table_args__ = (sa.UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    code: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    external_id: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    external_id_1: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    external_id_2: Mapped[str | None] = mapped_column(sa.String(100), default=None)
