"""notifications: outbound webhooks (/v3/webHooks) and their outbox / delivery log

Revision ID: 20261204_0012
Revises: 20261204_0011
Create Date: 2026-12-04 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0012"
down_revision: str | None = "20261204_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INFLIGHT = "state = 'inflight'"


def upgrade() -> None:
    op.create_table(
        "notification_webhooks",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("webhook_type", sa.String(length=20), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("event_names", sa.Text(), nullable=False),
        sa.Column("identifiers", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("max_connections", sa.Integer(), nullable=False),
        sa.Column("sla_seconds", sa.Integer(), nullable=False),
        sa.Column("listen_to_child_events", sa.Boolean(), nullable=False),
        sa.Column("consumer_group_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_notification_webhooks")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("webhook_id", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_name", sa.String(length=40), nullable=False),
        sa.Column("ref_id", sa.String(length=60), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("source_org_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("attempt_token", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("retry_from", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("sla_seconds", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("time_taken_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["state", "next_attempt_at", "seq"],
    )
    op.create_index(
        "ix_notification_deliveries_key",
        "notification_deliveries",
        ["org_id", "webhook_id", "ref_id", "state", "seq"],
    )
    op.create_index(
        "ix_notification_deliveries_request", "notification_deliveries", ["org_id", "request_id"]
    )
    op.create_index(
        "ix_notification_deliveries_ref", "notification_deliveries", ["org_id", "ref_id", "seq"]
    )
    op.create_index(
        "ix_notification_deliveries_created",
        "notification_deliveries",
        ["org_id", "created_at", "seq"],
    )
    op.create_index(
        "uq_notification_deliveries_inflight",
        "notification_deliveries",
        ["org_id", "webhook_id", "ref_id"],
        unique=True,
        sqlite_where=sa.text(_INFLIGHT),
        postgresql_where=sa.text(_INFLIGHT),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_webhooks")
