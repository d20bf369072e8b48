"""audit trail: the per-org hash chain (seq, prev_hash, row_hash; audit_chain_heads)

Revision ID: 20261204_0013
Revises: 20261204_0012
Create Date: 2026-12-04 16:30:00

Entries written before this migration are not hashed: the trail is append-only
(its triggers refuse UPDATE) and rewriting it to add hashes would be the very
edit the chain is meant to expose. ``eventrail audit verify`` starts at an org's
first hashed entry and counts the older ones as written before the chain
(docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0013"
down_revision: str | None = "20261204_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_entries", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_entries", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_entries", sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.create_index("uq_audit_entries_org_seq", "audit_entries", ["org_id", "seq"], unique=True)
    op.create_index(
        "uq_audit_entries_org_prev_hash", "audit_entries", ["org_id", "prev_hash"], unique=True
    )
    op.create_table(
        "audit_chain_heads",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("pruned_seq", sa.BigInteger(), nullable=False),
        sa.Column("pruned_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_audit_chain_heads")),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
    op.drop_index("uq_audit_entries_org_prev_hash", table_name="audit_entries")
    op.drop_index("uq_audit_entries_org_seq", table_name="audit_entries")
    for column in ("row_hash", "prev_hash", "seq"):
        op.drop_column("audit_entries", column)
