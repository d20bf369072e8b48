"""event records: the index of GET /v2/events/search by event name (or definition id)

Revision ID: 20261204_0011
Revises: 20261203_0010
Create Date: 2026-12-04 16:30:00

A search anchored by an event name walks the org's events of that name in time
order, as a customer's events walk ``ix_event_records_customer_time``; a search
by a group member's identifier finds the customer's groups by
``ix_group_members_org_customer``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261204_0011"
down_revision: str | None = "20261203_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_event_records_name_time",
        "event_records",
        ["org_id", "event_name", "created_at", "seq"],
    )
    # a customer's groups (a search by a group member's identifier)
    op.create_index("ix_group_members_org_customer", "group_members", ["org_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_group_members_org_customer", table_name="group_members")
    op.drop_index("ix_event_records_name_time", table_name="event_records")
