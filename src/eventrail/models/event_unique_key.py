from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class EventUniqueKey(Base):
    """The first event of each unique key: the primary key makes the uniqueness
    check hold across processes and servers, not only in one process's memory."""

    __tablename__ = "event_unique_keys"

    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    unique_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36))
