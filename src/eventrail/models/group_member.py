from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base, org_foreign_key


class GroupMember(Base):
    __tablename__ = "group_members"
    # a customer's groups (GET /v2/events/search by a member's identifier)
    __table_args__ = (
        sa.Index("ix_group_members_org_customer", "org_id", "customer_id"),
        sa.PrimaryKeyConstraint("org_id", "group_id", "customer_id"),
        *org_foreign_key("group_members", "group_id", "user_groups", "fk_group_members_group"),
        *org_foreign_key("group_members", "customer_id", "customers", "fk_group_members_customer"),
    )

    group_id: Mapped[int] = mapped_column(BigIntId)
    customer_id: Mapped[int] = mapped_column(BigIntId)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
