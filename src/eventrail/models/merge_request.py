from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base, org_foreign_key, sqlite_org_index


class MergeRequest(Base):
    """A CHANGE_IDENTIFIER/MERGE request: victim merged into survivor once approved."""

    __tablename__ = "merge_requests"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sqlite_org_index("merge_requests"),
        *org_foreign_key("merge_requests", "victim_id", "customers", "fk_merge_requests_victim"),
        *org_foreign_key(
            "merge_requests", "survivor_id", "customers", "fk_merge_requests_survivor"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    victim_id: Mapped[int] = mapped_column(BigIntId)
    survivor_id: Mapped[int] = mapped_column(BigIntId)
    status: Mapped[str] = mapped_column(sa.String(20))
    comments: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_by_till_id: Mapped[int] = mapped_column(sa.BigInteger)
    # The till that last approved, rejected or created it.
    modified_by_till_id: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    # Approved at creation (clientAutoApprove=true).
    one_step: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default="0")
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
