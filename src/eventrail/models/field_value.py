from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base, org_foreign_key


class FieldValue(Base):
    """The value of one custom or extended field of one customer or card."""

    __tablename__ = "field_values"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint(
            "org_id",
            "entity_type",
            "entity_id",
            "definition_id",
            name="uq_field_values_org_entity_definition",
        ),
        *org_foreign_key(
            "field_values", "definition_id", "field_definitions", "fk_field_values_definition"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    entity_type: Mapped[str] = mapped_column(sa.String(20))
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    definition_id: Mapped[int] = mapped_column(BigIntId)
    value: Mapped[str] = mapped_column(sa.Text)
