"""PostgreSQL: drop the (org_id, id) indexes that duplicate the primary key

Since the primary keys lead with org_id, ``ix_customers_org_id_id``,
``ix_merge_requests_org_id_id`` and ``ix_org_settings_changes_org_id_id`` repeat
``pk_customers``, ``pk_merge_requests`` and ``pk_org_settings_changes`` on
PostgreSQL: each insert paid an index entry for nothing. SQLite keeps them (its
primary key is the rowid alone).

Revision ID: 20261204_0019
Revises: 20261204_0017
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261204_0019"
down_revision: str | None = "20261204_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("customers", "merge_requests", "org_settings_changes")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.drop_index(f"ix_{table}_org_id_id", table_name=table)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.create_index(f"ix_{table}_org_id_id", table, ["org_id", "id"])
