from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class FieldDefinition(Base):
    """A custom or extended field of customers or cards, defined by the org."""

    __tablename__ = "field_definitions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "entity_type", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    entity_type: Mapped[str] = mapped_column(sa.String(20))  # CUSTOMER | CARD
    kind: Mapped[str] = mapped_column(sa.String(20))  # custom | extended
    name: Mapped[str] = mapped_column(sa.String(100))
    data_type: Mapped[str] = mapped_column(sa.String(20))
    audit_trail: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    psi: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
