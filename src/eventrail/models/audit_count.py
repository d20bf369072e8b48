from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class AuditCount(Base):
    """How many audit entries an entity has: all of them (``reference_type`` ``''``)
    and those holding each referenceType.

    Kept by the database (triggers on ``audit_entries`` and ``audit_kinds``) in
    the transaction that writes the entries, so the audits API's
    ``totalElements`` is one row read, not a count of the entity's history.
    """

    __tablename__ = "audit_counts"

    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    entity_type: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    reference_type: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    entries: Mapped[int] = mapped_column(sa.BigInteger)
