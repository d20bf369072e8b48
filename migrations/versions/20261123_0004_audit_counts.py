"""audit: counts per entity and referenceType, and the referenceType index in sort order

Revision ID: 20261123_0004
Revises: 20261123_0003
Create Date: 2026-11-23 10:05:00

Both tables are derived from ``audit_entries`` and ``audit_refs`` and kept by
triggers in the transaction that inserts into those, whoever inserts (the
application, a bulk load, a test). They exist so that the audits API's cost
grows with the page it answers, not with the entity's history: the total is
one row of ``audit_counts``, and a ``referenceType`` page is read in order from
an index of ``audit_kinds``. Existing entries are counted here, before the
triggers start counting new ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0004"
down_revision: str | None = "20261123_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND_COLUMNS = (
    "entry_id, reference_type, org_id, entity_type, entity_id, auto_update_time, created_on"
)
_COUNT_KEY = "org_id, entity_type, entity_id, reference_type"


def upgrade() -> None:
    op.create_table(
        "audit_counts",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("reference_type", sa.String(length=40), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "entity_type", "entity_id", "reference_type", name=op.f("pk_audit_counts")
        ),
    )
    op.create_table(
        "audit_kinds",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("reference_type", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("auto_update_time", sa.BigInteger(), nullable=False),
        sa.Column("created_on", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "reference_type", name=op.f("pk_audit_kinds")),
    )
    with op.batch_alter_table("audit_kinds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_kinds_entity_auto_update_time",
            [
                "org_id",
                "entity_type",
                "entity_id",
                "reference_type",
                "auto_update_time",
                "entry_id",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_audit_kinds_entity_created_on",
            ["org_id", "entity_type", "entity_id", "reference_type", "created_on", "entry_id"],
            unique=False,
        )

    # what is there already
    op.execute(
        f"INSERT INTO audit_kinds ({_KIND_COLUMNS}) "
        "SELECT DISTINCT r.entry_id, r.reference_type, e.org_id, e.entity_type, e.entity_id, "
        "e.auto_update_time, e.created_on "
        "FROM audit_refs r JOIN audit_entries e ON e.id = r.entry_id"
    )
    op.execute(
        f"INSERT INTO audit_counts ({_COUNT_KEY}, entries) "
        "SELECT org_id, entity_type, entity_id, '', count(*) FROM audit_entries "
        "GROUP BY org_id, entity_type, entity_id"
    )
    op.execute(
        f"INSERT INTO audit_counts ({_COUNT_KEY}, entries) "
        "SELECT org_id, entity_type, entity_id, reference_type, count(*) FROM audit_kinds "
        "GROUP BY org_id, entity_type, entity_id, reference_type"
    )

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    # Statement-level, over the statement's new rows: one insert of many entries
    # (or a COPY) costs one grouped upsert, and the counters are locked in key
    # order, so two transactions never wait on each other's counters in a cycle.
    op.execute(
        f"""
        CREATE FUNCTION eventrail_audit_count_entries() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit_counts ({_COUNT_KEY}, entries)
            SELECT org_id, entity_type, entity_id, '', count(*) FROM new_entries
            GROUP BY org_id, entity_type, entity_id
            ORDER BY org_id, entity_type, entity_id
            ON CONFLICT ({_COUNT_KEY})
            DO UPDATE SET entries = audit_counts.entries + excluded.entries;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_entries_count AFTER INSERT ON audit_entries "
        "REFERENCING NEW TABLE AS new_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION eventrail_audit_count_entries()"
    )
    op.execute(
        f"""
        CREATE FUNCTION eventrail_audit_kinds_of_refs() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit_kinds ({_KIND_COLUMNS})
            SELECT DISTINCT r.entry_id, r.reference_type, e.org_id, e.entity_type,
                   e.entity_id, e.auto_update_time, e.created_on
            FROM new_refs r JOIN audit_entries e ON e.id = r.entry_id
            ON CONFLICT (entry_id, reference_type) DO NOTHING;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_refs_kinds AFTER INSERT ON audit_refs "
        "REFERENCING NEW TABLE AS new_refs "
        "FOR EACH STATEMENT EXECUTE FUNCTION eventrail_audit_kinds_of_refs()"
    )
    op.execute(
        f"""
        CREATE FUNCTION eventrail_audit_count_kinds() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit_counts ({_COUNT_KEY}, entries)
            SELECT org_id, entity_type, entity_id, reference_type, count(*) FROM new_kinds
            GROUP BY org_id, entity_type, entity_id, reference_type
            ORDER BY org_id, entity_type, entity_id, reference_type
            ON CONFLICT ({_COUNT_KEY})
            DO UPDATE SET entries = audit_counts.entries + excluded.entries;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_kinds_count AFTER INSERT ON audit_kinds "
        "REFERENCING NEW TABLE AS new_kinds "
        "FOR EACH STATEMENT EXECUTE FUNCTION eventrail_audit_count_kinds()"
    )
    # audit_kinds is part of the trail's index: append-only like the rest of it
    op.execute(
        "CREATE TRIGGER audit_kinds_append_only BEFORE UPDATE OR DELETE ON audit_kinds "
        "FOR EACH ROW EXECUTE FUNCTION eventrail_audit_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_kinds_no_truncate BEFORE TRUNCATE ON audit_kinds "
        "FOR EACH STATEMENT EXECUTE FUNCTION eventrail_audit_append_only()"
    )


def _sqlite_triggers() -> None:
    # SQLite has row triggers only; it has one writer, so no lock order to keep.
    upsert = f"ON CONFLICT ({_COUNT_KEY}) DO UPDATE SET entries = entries + 1"
    op.execute(
        "CREATE TRIGGER audit_entries_count AFTER INSERT ON audit_entries BEGIN "
        f"INSERT INTO audit_counts ({_COUNT_KEY}, entries) "
        f"VALUES (new.org_id, new.entity_type, new.entity_id, '', 1) {upsert}; END"
    )
    op.execute(
        "CREATE TRIGGER audit_refs_kinds AFTER INSERT ON audit_refs BEGIN "
        f"INSERT INTO audit_kinds ({_KIND_COLUMNS}) "
        "SELECT new.entry_id, new.reference_type, e.org_id, e.entity_type, e.entity_id, "
        "e.auto_update_time, e.created_on FROM audit_entries e WHERE e.id = new.entry_id "
        "ON CONFLICT (entry_id, reference_type) DO NOTHING; END"
    )
    op.execute(
        "CREATE TRIGGER audit_kinds_count AFTER INSERT ON audit_kinds BEGIN "
        f"INSERT INTO audit_counts ({_COUNT_KEY}, entries) "
        f"VALUES (new.org_id, new.entity_type, new.entity_id, new.reference_type, 1) {upsert}; "
        "END"
    )
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_kinds_no_{action.lower()} BEFORE {action} ON audit_kinds "
            f"BEGIN SELECT RAISE(ABORT, 'eventrail audit trail is append-only: "
            f"{action} on audit_kinds refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_count ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_refs_kinds ON audit_refs")
        op.execute("DROP FUNCTION IF EXISTS eventrail_audit_count_entries()")
        op.execute("DROP FUNCTION IF EXISTS eventrail_audit_kinds_of_refs()")
        op.execute("DROP FUNCTION IF EXISTS eventrail_audit_count_kinds() CASCADE")
    else:
        for trigger in (
            "audit_entries_count",
            "audit_refs_kinds",
            "audit_kinds_count",
            "audit_kinds_no_update",
            "audit_kinds_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    with op.batch_alter_table("audit_kinds", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_kinds_entity_created_on")
        batch_op.drop_index("ix_audit_kinds_entity_auto_update_time")
    op.drop_table("audit_kinds")
    op.drop_table("audit_counts")
