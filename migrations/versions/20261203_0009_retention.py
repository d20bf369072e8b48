"""retention: per-org retention days; indexes and triggers that let expired rows go

Revision ID: 20261203_0009
Revises: 20261203_0008
Create Date: 2026-12-03 18:00:00

``orgs`` gets three nullable day counts: ``event_logs_days`` and
``event_data_days`` (NULL: the server's default, EVENTRAIL_RETENTION_*), and
``audit_days`` (NULL: the audit trail is kept for ever).

Pruning deletes the oldest rows of one org in small batches, so each table it
prunes needs an index that starts with (org_id, time): ``event_logs`` has one
already; ``event_records`` and ``audit_entries`` get one here, and
``audit_refs`` an index on ``entry_id`` (its rows go with their entry).

The audit trail stays append-only, except for rows the org's ``auditDays`` has
expired: the DELETE triggers refuse every other row (an org without
``auditDays`` can lose no entry, whoever asks), and UPDATE and TRUNCATE are
refused as before. Deleting entries (and their ``audit_kinds`` rows) takes
them off ``audit_counts`` in the same statement, so the audits API's totals
stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0009"
down_revision: str | None = "20261203_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY_MS = 86_400_000
_TRAIL = ("audit_entries", "audit_refs", "audit_kinds")
_REFUSED = "eventrail audit trail is append-only"


def upgrade() -> None:
    for column in ("event_logs_days", "event_data_days", "audit_days"):
        op.add_column("orgs", sa.Column(column, sa.Integer(), nullable=True))
    op.create_index(
        "ix_event_records_org_created", "event_records", ["org_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_audit_entries_org_created_on",
        "audit_entries",
        ["org_id", "created_on", "id"],
        unique=False,
    )
    op.create_index("ix_audit_refs_entry_id", "audit_refs", ["entry_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_downgrade()
    else:
        _sqlite_downgrade()
    op.drop_index("ix_audit_refs_entry_id", table_name="audit_refs")
    op.drop_index("ix_audit_entries_org_created_on", table_name="audit_entries")
    op.drop_index("ix_event_records_org_created", table_name="event_records")
    # Plain DROP COLUMN (SQLite 3.35+): a batch would copy and drop ``orgs``.
    for column in ("audit_days", "event_data_days", "event_logs_days"):
        op.drop_column("orgs", column)


# -- PostgreSQL ----------------------------------------------------------------------


def _postgresql_upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION eventrail_audit_prunable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            entry_org integer;
            written bigint;
        BEGIN
            IF TG_TABLE_NAME = 'audit_refs' THEN
                SELECT e.org_id, e.created_on INTO entry_org, written
                FROM audit_entries e WHERE e.id = OLD.entry_id;
            ELSE
                entry_org := OLD.org_id;
                written := OLD.created_on;
            END IF;
            IF written IS NOT NULL AND EXISTS (
                SELECT 1 FROM orgs o
                WHERE o.id = entry_org AND o.audit_days IS NOT NULL
                  AND written < (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                                - o.audit_days::bigint * {_DAY_MS}
            ) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '{_REFUSED}: % on % refused (only what the org''s auditDays '
                'has expired can be deleted)', TG_OP, TG_TABLE_NAME;
        END
        $$
        """
    )
    for table in _TRAIL:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION eventrail_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_prunable BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION eventrail_audit_prunable()"
        )
    # Counters: locked in key order first (as the insert triggers take them), then
    # lowered; a counter that reaches 0 goes.
    for table, function, transition, kind_column in (
        ("audit_entries", "eventrail_audit_uncount_entries", "old_entries", "''"),
        ("audit_kinds", "eventrail_audit_uncount_kinds", "old_kinds", "reference_type"),
    ):
        op.execute(
            f"""
            CREATE FUNCTION {function}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM 1 FROM audit_counts c
                JOIN (SELECT DISTINCT org_id, entity_type, entity_id, {kind_column} AS kind
                      FROM {transition}) d
                  ON c.org_id = d.org_id AND c.entity_type = d.entity_type
                 AND c.entity_id = d.entity_id AND c.reference_type = d.kind
                ORDER BY c.org_id, c.entity_type, c.entity_id, c.reference_type
                FOR UPDATE OF c;
                UPDATE audit_counts c SET entries = c.entries - d.n
                FROM (SELECT org_id, entity_type, entity_id, {kind_column} AS kind, count(*) AS n
                      FROM {transition} GROUP BY 1, 2, 3, 4) d
                WHERE c.org_id = d.org_id AND c.entity_type = d.entity_type
                  AND c.entity_id = d.entity_id AND c.reference_type = d.kind;
                DELETE FROM audit_counts c
                USING (SELECT DISTINCT org_id, entity_type, entity_id, {kind_column} AS kind
                       FROM {transition}) d
                WHERE c.org_id = d.org_id AND c.entity_type = d.entity_type
                  AND c.entity_id = d.entity_id AND c.reference_type = d.kind
                  AND c.entries <= 0;
                RETURN NULL;
            END
            $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_uncount AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def _postgresql_downgrade() -> None:
    for table in _TRAIL:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_prunable ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION eventrail_audit_append_only()"
        )
    op.execute("DROP TRIGGER IF EXISTS audit_entries_uncount ON audit_entries")
    op.execute("DROP TRIGGER IF EXISTS audit_kinds_uncount ON audit_kinds")
    op.execute("DROP FUNCTION IF EXISTS eventrail_audit_uncount_entries()")
    op.execute("DROP FUNCTION IF EXISTS eventrail_audit_uncount_kinds()")
    op.execute("DROP FUNCTION IF EXISTS eventrail_audit_prunable()")


# -- SQLite --------------------------------------------------------------------------

_NOW_MS = "(CAST(strftime('%s', 'now') AS INTEGER) * 1000)"


def _expired(org: str, written: str) -> str:
    return (
        f"SELECT 1 FROM orgs o WHERE o.id = {org} AND o.audit_days IS NOT NULL "
        f"AND {written} < {_NOW_MS} - o.audit_days * {_DAY_MS}"
    )


def _sqlite_upgrade() -> None:
    for table in _TRAIL:
        op.execute(f"DROP TRIGGER {table}_no_delete")
        if table == "audit_refs":
            expired = (
                "SELECT 1 FROM audit_entries e JOIN orgs o ON o.id = e.org_id "
                "WHERE e.id = old.entry_id AND o.audit_days IS NOT NULL "
                f"AND e.created_on < {_NOW_MS} - o.audit_days * {_DAY_MS}"
            )
        else:
            expired = _expired("old.org_id", "old.created_on")
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"WHEN NOT EXISTS ({expired}) "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: DELETE on {table} refused "
            "(only what the org''s auditDays has expired can be deleted)'); END"
        )
    for table, kind in (("audit_entries", "''"), ("audit_kinds", "old.reference_type")):
        key = (
            "org_id = old.org_id AND entity_type = old.entity_type "
            f"AND entity_id = old.entity_id AND reference_type = {kind}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_uncount AFTER DELETE ON {table} BEGIN "
            f"UPDATE audit_counts SET entries = entries - 1 WHERE {key}; "
            f"DELETE FROM audit_counts WHERE {key} AND entries <= 0; END"
        )


def _sqlite_downgrade() -> None:
    for table in _TRAIL:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: DELETE on {table} refused'); END"
        )
    for table in ("audit_entries", "audit_kinds"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_uncount")
