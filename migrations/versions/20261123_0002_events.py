"""events: definitions, webhooks, transformer mappings, ingest queue, logs, records

Revision ID: 20261123_0002
Revises: 20261123_0001
Create Date: 2026-11-23 04:47:19.159603
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0002"
down_revision: str | None = "20261123_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_logs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("parent_org_id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("response_time", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("event_name", sa.String(length=200), nullable=True),
        sa.Column("input_request", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_logs")),
    )
    with op.batch_alter_table("event_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_logs_org_name_start",
            ["org_id", "event_name", "start_time", "seq"],
            unique=False,
        )
        batch_op.create_index(
            "ix_event_logs_org_start", ["org_id", "start_time", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_event_logs_org_status_start",
            ["org_id", "status", "start_time", "seq"],
            unique=False,
        )

    op.create_table(
        "event_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("till_code", sa.String(length=100), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("psi_attributes", sa.JSON(), nullable=False),
        sa.Column("unique_id", sa.String(length=64), nullable=False),
        sa.Column("is_duplicate", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_records")),
    )
    with op.batch_alter_table("event_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_records_customer_time",
            ["org_id", "customer_id", "created_at", "seq"],
            unique=False,
        )

    op.create_table(
        "event_unique_keys",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("unique_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "unique_id", name=op.f("pk_event_unique_keys")),
    )
    op.create_table(
        "ingest_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("verdict", sa.SmallInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_requests")),
        sa.UniqueConstraint("request_id", name=op.f("uq_ingest_requests_request_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "event_definitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_type", sa.String(length=20), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_event_definitions_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_definitions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_definitions_event_id")),
        sa.UniqueConstraint(
            "org_id", "event_name", name=op.f("uq_event_definitions_org_id_event_name")
        ),
    )
    op.create_table(
        "transformer_mappings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("transformer_type", sa.String(length=100), nullable=False),
        sa.Column("name_path", sa.String(length=200), nullable=False),
        sa.Column("value_map", sa.JSON(), nullable=False),
        sa.Column("field_mappings", sa.JSON(), nullable=False),
        sa.Column("events_mapped", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_transformer_mappings_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transformer_mappings")),
        sa.UniqueConstraint(
            "org_id",
            "transformer_type",
            name=op.f("uq_transformer_mappings_org_id_transformer_type"),
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("transformer_type", sa.String(length=100), nullable=False),
        sa.Column("transformer_key", sa.String(length=100), nullable=False),
        sa.Column("till_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("auth_enabled", sa.Boolean(), nullable=False),
        sa.Column("auth_mechanism", sa.String(length=10), nullable=True),
        sa.Column("uniqueness_check_enabled", sa.Boolean(), nullable=False),
        sa.Column("listen_to_child_events", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_webhooks_org_id_orgs")),
        sa.ForeignKeyConstraint(["till_id"], ["tills.id"], name=op.f("fk_webhooks_till_id_tills")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index("ix_webhooks_org_id", ["org_id"], unique=False)
        batch_op.create_index(
            "uq_webhooks_enabled_transformer",
            ["org_id", "transformer_key"],
            unique=True,
            sqlite_where=sa.text("enabled"),
            postgresql_where=sa.text("enabled"),
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_webhooks_enabled_transformer",
            sqlite_where=sa.text("enabled"),
            postgresql_where=sa.text("enabled"),
        )
        batch_op.drop_index("ix_webhooks_org_id")

    op.drop_table("webhooks")
    op.drop_table("transformer_mappings")
    op.drop_table("event_definitions")
    op.drop_table("ingest_requests")
    op.drop_table("event_unique_keys")
    with op.batch_alter_table("event_records", schema=None) as batch_op:
        batch_op.drop_index("ix_event_records_customer_time")

    op.drop_table("event_records")
    with op.batch_alter_table("event_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_event_logs_org_status_start")
        batch_op.drop_index("ix_event_logs_org_start")
        batch_op.drop_index("ix_event_logs_org_name_start")

    op.drop_table("event_logs")
