from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class FieldValue(Base):
    """The value of one custom or extended field of one customer or card."""

    __tablename__ = "field_values"
    __table_args__ = (sa.UniqueConstraint("entity_type", "entity_id", "definition_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    entity_type: Mapped[str] = mapped_column(sa.String(20))
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("field_definitions.id"))
    value: Mapped[str] = mapped_column(sa.Text)
