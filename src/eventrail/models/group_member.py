from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class GroupMember(Base):
    __tablename__ = "group_members"
    # a customer's groups (GET /v2/events/search by a member's identifier)
    __table_args__ = (sa.Index("ix_group_members_org_customer", "org_id", "customer_id"),)

    group_id: Mapped[int] = mapped_column(sa.ForeignKey("user_groups.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
