from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class OAuthClient(Base):
    """An API client: key in clear (it names the client), secret as a slow hash."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(200))
    till_id: Mapped[int] = mapped_column(sa.ForeignKey("tills.id"))
    ttl_seconds: Mapped[int] = mapped_column(sa.Integer)
    psi_view: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
