"""merge requests: who last changed one, and whether it was approved in one step

Revision ID: 20261203_0008
Revises: 20261203_0005
Create Date: 2026-12-03 18:40:00

``GET /v2/requests/{id}`` answers Capillary's ``attribution`` (created and
modified by which till, and when) and ``oneStep``. Requests made before this
migration were last modified by their creator as far as anyone can tell, and
were not one-step unless they were approved at creation (their update time
equals their creation time).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0008"
down_revision: str | None = "20261203_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "merge_requests", sa.Column("modified_by_till_id", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "merge_requests",
        sa.Column("one_step", sa.Boolean(), server_default="0", nullable=False),
    )
    op.execute("UPDATE merge_requests SET modified_by_till_id = created_by_till_id")
    op.execute(
        "UPDATE merge_requests SET one_step = (status = 'APPROVED' AND updated_at = created_at)"
    )


def downgrade() -> None:
    with op.batch_alter_table("merge_requests") as batch:
        batch.drop_column("one_step")
        batch.drop_column("modified_by_till_id")
