"""notification webhooks: why and when eventrail deactivated one (a receiver's 410 Gone)

Revision ID: 20261204_0017
Revises: 20261204_0015
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0017"
down_revision: str | None = "20261204_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notification_webhooks", sa.Column("disabled_reason", sa.String(200), nullable=True)
    )
    op.add_column("notification_webhooks", sa.Column("disabled_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("notification_webhooks", "disabled_at")
    op.drop_column("notification_webhooks", "disabled_reason")
