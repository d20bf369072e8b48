from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base, sqlite_org_index


class SettingsChange(Base):
    """One change of an org's settings (timezone, PSI masking, rate limit): who made
    it (the till, and the OAuth client when a token was used), when, and the values
    before and after. Append-only: the migration makes the database refuse updates
    and deletes."""

    __tablename__ = "org_settings_changes"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sqlite_org_index("org_settings_changes"),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    request_id: Mapped[str] = mapped_column(sa.String(64))
    till_id: Mapped[int] = mapped_column(sa.BigInteger)
    till_code: Mapped[str] = mapped_column(sa.String(100))
    client_id: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    changed_at: Mapped[int] = mapped_column(sa.BigInteger)
    before: Mapped[dict[str, Any]] = mapped_column(JsonType)
    after: Mapped[dict[str, Any]] = mapped_column(JsonType)
