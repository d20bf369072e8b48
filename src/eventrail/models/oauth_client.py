from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class OAuthClient(Base):
    """An API client: key in clear (it names the client), secret as a slow hash.

    ``admin`` lets it change the org's configuration. Tokens carry the
    ``token_version`` they were issued under: rotating the secret increments it,
    so older tokens stop working. A client with ``revoked_at`` set is refused.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(200))
    till_id: Mapped[int] = mapped_column(sa.ForeignKey("tills.id"))
    ttl_seconds: Mapped[int] = mapped_column(sa.Integer)
    psi_view: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    admin: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default="0")
    token_version: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    revoked_at: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
