"""config_versions: a counter per org of the changes to what processing reads

The processors read an org's configuration (the org, its tills, webhooks, event
definitions and transformer mappings) for every batch: four queries and their
objects, most of a small batch's work. With this counter, kept by triggers in
the transaction of every change to those tables, they keep the configuration
between batches and read it again only for an org whose counter moved.

Revision ID: 20261205_0021
Revises: 20261205_0020
Create Date: 2026-12-05 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0021"
down_revision: str | None = "20261205_0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the column holding its org)
TABLES = (
    ("orgs", "id"),
    ("tills", "org_id"),
    ("webhooks", "org_id"),
    ("event_definitions", "org_id"),
    ("transformer_mappings", "org_id"),
)
_BUMP = (
    "INSERT INTO config_versions (org_id, version) VALUES ({org}, 1) "
    "ON CONFLICT (org_id) DO UPDATE SET version = config_versions.version + 1"
)


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_config_versions")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, column in TABLES:
            org = f"COALESCE(NEW.{column}, OLD.{column})"
            op.execute(
                f"""
                CREATE FUNCTION eventrail_config_changed_{table}() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    {_BUMP.format(org=org)};
                    RETURN NULL;
                END
                $$
                """
            )
            op.execute(
                f"CREATE TRIGGER {table}_config_changed "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION eventrail_config_changed_{table}()"
            )
        return
    for table, column in TABLES:
        for action, row in (("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")):
            op.execute(
                f"CREATE TRIGGER {table}_config_{action.lower()} AFTER {action} ON {table} "
                f"BEGIN {_BUMP.format(org=f'{row}.{column}')}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_config_changed ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS eventrail_config_changed_{table}()")
    else:
        for table, _ in TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_config_{action}")
    op.drop_table("config_versions")
