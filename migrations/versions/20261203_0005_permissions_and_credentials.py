"""auth: the admin permission, disabled tills, revoked and rotated clients; settings history

Revision ID: 20261203_0005
Revises: 20261123_0004
Create Date: 2026-12-03 14:30:00

Existing tills and clients are not admins after this migration: grant the
permission with ``eventrail till admin`` (or create an admin client), so that
nobody keeps a power they were never deliberately given.
``org_settings_changes`` is append-only, as the audit trail is (the same
PostgreSQL function refuses updates, deletes and truncation).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0005"
down_revision: str | None = "20261123_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HISTORY = "org_settings_changes"


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch): on SQLite a batch would copy and drop ``tills``,
    # which the foreign keys of existing clients and webhooks refuse. The defaults
    # are constants for the same reason ('0' is false for PostgreSQL's boolean too).
    op.add_column("tills", sa.Column("admin", sa.Boolean(), server_default="0", nullable=False))
    op.add_column("tills", sa.Column("disabled_at", sa.BigInteger(), nullable=True))
    op.add_column(
        "oauth_clients", sa.Column("admin", sa.Boolean(), server_default="0", nullable=False)
    )
    op.add_column(
        "oauth_clients",
        sa.Column("token_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("oauth_clients", sa.Column("revoked_at", sa.BigInteger(), nullable=True))
    op.create_table(
        _HISTORY,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("till_id", sa.BigInteger(), nullable=False),
        sa.Column("till_code", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_org_settings_changes_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_settings_changes")),
    )
    with op.batch_alter_table(_HISTORY, schema=None) as batch_op:
        batch_op.create_index("ix_org_settings_changes_org_id_id", ["org_id", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {_HISTORY}_append_only BEFORE UPDATE OR DELETE ON {_HISTORY} "
            "FOR EACH ROW EXECUTE FUNCTION eventrail_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {_HISTORY}_no_truncate BEFORE TRUNCATE ON {_HISTORY} "
            "FOR EACH STATEMENT EXECUTE FUNCTION eventrail_audit_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_HISTORY}_no_{action.lower()} BEFORE {action} ON {_HISTORY} "
                f"BEGIN SELECT RAISE(ABORT, 'eventrail audit trail is append-only: "
                f"{action} on {_HISTORY} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_append_only ON {_HISTORY}")
        op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_no_truncate ON {_HISTORY}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_no_{action}")
    with op.batch_alter_table(_HISTORY, schema=None) as batch_op:
        batch_op.drop_index("ix_org_settings_changes_org_id_id")
    op.drop_table(_HISTORY)
    for column in ("revoked_at", "token_version", "admin"):
        op.drop_column("oauth_clients", column)
    for column in ("disabled_at", "admin"):
        op.drop_column("tills", column)
