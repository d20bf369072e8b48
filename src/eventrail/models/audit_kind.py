from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class AuditKind(Base):
    """One referenceType of an audit entry, with the entry's two sort times.

    Written by the database (a trigger on ``audit_refs``), never by the
    application. Its two indexes hold an entity's entries of one referenceType
    in either sort order, so a ``referenceType`` page is read from one index in
    order, however long the entity's history.
    """

    __tablename__ = "audit_kinds"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "entry_id", "reference_type"),
        sa.Index(
            "ix_audit_kinds_entity_auto_update_time",
            "org_id",
            "entity_type",
            "entity_id",
            "reference_type",
            "auto_update_time",
            "entry_id",
        ),
        sa.Index(
            "ix_audit_kinds_entity_created_on",
            "org_id",
            "entity_type",
            "entity_id",
            "reference_type",
            "created_on",
            "entry_id",
        ),
    )

    entry_id: Mapped[int] = mapped_column(sa.BigInteger)
    reference_type: Mapped[str] = mapped_column(sa.String(40))
    org_id: Mapped[int] = mapped_column(sa.Integer)
    entity_type: Mapped[str] = mapped_column(sa.String(20))
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    auto_update_time: Mapped[int] = mapped_column(sa.BigInteger)
    created_on: Mapped[int] = mapped_column(sa.BigInteger)
