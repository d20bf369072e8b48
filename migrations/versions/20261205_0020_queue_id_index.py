"""PostgreSQL: an index on ingest_requests.id for the processors' claim and delete

Since the primary key became (org_id, id), the claim of the oldest queued requests
across orgs (``ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED``) and the deletion of
the claimed ones (``id = ANY(...)``) had no index to use on PostgreSQL: each read
and sorted the whole queue, dead rows included, so a backlog made every batch
slower (12 ms a claim with 44,000 queued). SQLite's id is the rowid: nothing to do.

Revision ID: 20261205_0020
Revises: 20261204_0019
Create Date: 2026-12-05 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261205_0020"
down_revision: str | None = "20261204_0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_ingest_requests_id", "ingest_requests", ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_ingest_requests_id", table_name="ingest_requests")
