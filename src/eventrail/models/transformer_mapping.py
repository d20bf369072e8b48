from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base


class TransformerMapping(Base):
    """How one transformer of an org reads a foreign payload.

    ``name_path`` is the dotted path of the foreign event name, ``value_map``
    maps foreign names to the org's event names (empty: the same name), and
    ``field_mappings`` gives, per event name, ``[{"eventFieldName", "fieldName"}]``
    with ``fieldName`` a dotted path into the payload.
    """

    __tablename__ = "transformer_mappings"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "transformer_type"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    transformer_type: Mapped[str] = mapped_column(sa.String(100))
    name_path: Mapped[str] = mapped_column(sa.String(200), default="event_name")
    value_map: Mapped[dict[str, str]] = mapped_column(JsonType)
    field_mappings: Mapped[dict[str, list[dict[str, Any]]]] = mapped_column(JsonType)
    events_mapped: Mapped[list[str]] = mapped_column(JsonType)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
