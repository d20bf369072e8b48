"""psi: masked copy of logged inputs

Revision ID: 20261123_0003
Revises: 20261123_0002
Create Date: 2026-11-23 05:24:44.293408
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0003"
down_revision: str | None = "20261123_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_request_masked", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_logs", schema=None) as batch_op:
        batch_op.drop_column("input_request_masked")
