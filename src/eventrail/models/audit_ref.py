from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class AuditRef(Base):
    """One (referenceType, updatedField) of an audit entry: the index behind the filters."""

    __tablename__ = "audit_refs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.Index(
            "ix_audit_refs_entity_reference",
            "org_id",
            "entity_type",
            "entity_id",
            "reference_type",
            "updated_field",
            "entry_id",
        ),
        # retention: an entry's refs go with it
        sa.Index("ix_audit_refs_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(sa.BigInteger)
    org_id: Mapped[int] = mapped_column(sa.Integer)
    entity_type: Mapped[str] = mapped_column(sa.String(20))
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    reference_type: Mapped[str] = mapped_column(sa.String(40))
    updated_field: Mapped[str] = mapped_column(sa.String(100))
