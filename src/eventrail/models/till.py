from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class Till(Base):
    """A till: the Basic-auth principal. Only a slow hash of md5(password) is stored.

    ``admin`` lets it change the org's configuration; a till with ``disabled_at``
    set is refused like an unknown one.
    """

    __tablename__ = "tills"
    __table_args__ = (sa.UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    code: Mapped[str] = mapped_column(sa.String(100), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stores.id"), default=None)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    admin: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default="0")
    disabled_at: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
