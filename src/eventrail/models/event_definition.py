from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base


class EventDefinition(Base):
    """A behavioural event of an org: its name, actions and typed fields.

    ``fields`` holds Capillary's stored shape: ``[{"name", "type" (upper-case),
    "attributes": {attr: {"value", "valueType"}}}]``.
    """

    __tablename__ = "event_definitions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "event_name"),
        sa.UniqueConstraint("org_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(32))
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    event_name: Mapped[str] = mapped_column(sa.String(100))
    label: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    description: Mapped[str | None] = mapped_column(sa.Text, default=None)
    event_type: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    actions: Mapped[list[str]] = mapped_column(JsonType)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Enabled from the standard events library (events/standard.py), not defined by the org.
    standard: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
