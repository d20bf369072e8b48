"""keys lead with org_id: every org's table can be distributed by org (Citus)

Revision ID: 20261204_0014
Revises: 20261204_0013
Create Date: 2026-12-04 16:30:00

PostgreSQL: each org-keyed table's primary key becomes (org_id, ...), its unique
constraints lead with org_id, and its foreign keys to another org-keyed table
carry org_id: (org_id, customer_id) -> customers (org_id, id). Constraints only:
no row is rewritten, and every existing row satisfies the new keys (each old key
was at least as strict, and a row's parent is in its own org).

SQLite: the ids stay rowids (only an INTEGER PRIMARY KEY alone autoincrements),
so primary and foreign keys stay as they are; the unique constraints that did
not lead with org_id are rebuilt (batch mode copies those five tables, none of
which another table refers to). The reference tables (orgs, stores, tills,
oauth_clients, webhooks) are not changed on either database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0014"
down_revision: str | None = "20261204_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (primary key before, primary key after); PostgreSQL only.
_PRIMARY = {
    "audit_entries": (["id"], ["org_id", "id"]),
    "audit_refs": (["id"], ["org_id", "id"]),
    "audit_kinds": (["entry_id", "reference_type"], ["org_id", "entry_id", "reference_type"]),
    "card_series": (["id"], ["org_id", "id"]),
    "cards": (["id"], ["org_id", "id"]),
    "comm_channels": (["id"], ["org_id", "id"]),
    "customers": (["id"], ["org_id", "id"]),
    "customer_identifiers": (["id"], ["org_id", "id"]),
    "event_definitions": (["id"], ["org_id", "id"]),
    "event_logs": (["id"], ["org_id", "id"]),
    "event_records": (["id"], ["org_id", "id"]),
    "event_replays": (["id"], ["org_id", "id"]),
    "field_definitions": (["id"], ["org_id", "id"]),
    "field_values": (["id"], ["org_id", "id"]),
    "group_members": (["group_id", "customer_id"], ["org_id", "group_id", "customer_id"]),
    "ingest_requests": (["id"], ["org_id", "id"]),
    "merge_requests": (["id"], ["org_id", "id"]),
    "org_settings_changes": (["id"], ["org_id", "id"]),
    "status_labels": (["id"], ["org_id", "id"]),
    "subscriptions": (["id"], ["org_id", "id"]),
    "transformer_mappings": (["id"], ["org_id", "id"]),
    "user_groups": (["id"], ["org_id", "id"]),
}

# (table, column, target, name on PostgreSQL): column -> target.id becomes
# (org_id, column) -> target (org_id, id) on PostgreSQL.
_FOREIGN = [
    ("cards", "series_id", "card_series", "fk_cards_series"),
    ("cards", "customer_id", "customers", "fk_cards_customer"),
    ("cards", "status_label_id", "status_labels", "fk_cards_status_label"),
    ("comm_channels", "customer_id", "customers", "fk_comm_channels_customer"),
    ("customers", "status_label_id", "status_labels", "fk_customers_status_label"),
    ("customer_identifiers", "customer_id", "customers", "fk_customer_identifiers_customer"),
    ("field_values", "definition_id", "field_definitions", "fk_field_values_definition"),
    ("group_members", "group_id", "user_groups", "fk_group_members_group"),
    ("group_members", "customer_id", "customers", "fk_group_members_customer"),
    ("merge_requests", "victim_id", "customers", "fk_merge_requests_victim"),
    ("merge_requests", "survivor_id", "customers", "fk_merge_requests_survivor"),
    ("subscriptions", "customer_id", "customers", "fk_subscriptions_customer"),
]

# (table, columns before, name after, columns after), on both databases.
_UNIQUE = [
    (
        "comm_channels",
        ["customer_id", "type"],
        "uq_comm_channels_org_customer_type",
        ["org_id", "customer_id", "type"],
    ),
    (
        "field_values",
        ["entity_type", "entity_id", "definition_id"],
        "uq_field_values_org_entity_definition",
        ["org_id", "entity_type", "entity_id", "definition_id"],
    ),
    (
        "subscriptions",
        ["customer_id", "channel", "priority", "source", "account_id", "ou_id"],
        "uq_subscriptions_org_customer_channel",
        ["org_id", "customer_id", "channel", "priority", "source", "account_id", "ou_id"],
    ),
    (
        "event_definitions",
        ["event_id"],
        "uq_event_definitions_org_id_event_id",
        ["org_id", "event_id"],
    ),
    (
        "ingest_requests",
        ["request_id"],
        "uq_ingest_requests_org_id_request_id",
        ["org_id", "request_id"],
    ),
]

_LIVE = "state IN ('pending', 'succeeded')"

# audit_refs' trigger fills audit_kinds: its ON CONFLICT names audit_kinds' key, and
# its join to audit_entries stays within one org (a co-located join on Citus).
_KINDS_OF_REFS = """
    CREATE OR REPLACE FUNCTION eventrail_audit_kinds_of_refs() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO audit_kinds (entry_id, reference_type, org_id, entity_type, entity_id,
                                 auto_update_time, created_on)
        SELECT DISTINCT r.entry_id, r.reference_type, e.org_id, e.entity_type,
               e.entity_id, e.auto_update_time, e.created_on
        FROM new_refs r JOIN audit_entries e ON e.org_id = r.org_id AND e.id = r.entry_id
        ON CONFLICT ({key}) DO NOTHING;
        RETURN NULL;
    END
    $$
"""
_TABLE_KWARGS = {"ingest_requests": {"sqlite_autoincrement": True}}


def _old_unique_name(columns: list[str], table: str) -> str:
    """The name the initial schema gave it: the naming convention's, shortened with a
    hash where PostgreSQL's 63 characters would not hold it (as SQLAlchemy did then)."""
    name = f"uq_{table}_{'_'.join(columns)}"
    if len(name) > 63 and op.get_bind().dialect.name == "postgresql":
        name = (
            f"{name[: 63 - 8]}_{hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[-4:]}"
        )
    return name


def _unique_named(table: str, columns: list[str]) -> str:
    for unique in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if unique["column_names"] == columns and unique["name"]:
            return str(unique["name"])
    raise RuntimeError(f"{table}: no unique constraint on {columns}")


def _foreign_named(table: str, columns: list[str], target: str) -> str:
    for key in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if key["constrained_columns"] == columns and key["referred_table"] == target:
            return str(key["name"])
    raise RuntimeError(f"{table}: no foreign key {columns} -> {target}")


def _replay_index(columns: list[str]) -> None:
    op.drop_index("uq_event_replays_live_original", table_name="event_replays")
    op.create_index(
        "uq_event_replays_live_original",
        "event_replays",
        columns,
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )


def _sqlite_sequence(table: str) -> int | None:
    """An AUTOINCREMENT table's last id: a rebuild would restart it from the rows
    copied (none, when the queue is empty), and the queue's ids must only grow."""
    if table not in _TABLE_KWARGS:
        return None
    sql = sa.text("SELECT seq FROM sqlite_sequence WHERE name = :name")
    value = op.get_bind().execute(sql, {"name": table}).scalar()
    return int(value) if value is not None else None


def _restore_sqlite_sequence(table: str, sequence: int | None) -> None:
    if sequence is None:
        return
    bind = op.get_bind()
    params = {"name": table, "seq": sequence}
    updated = bind.execute(
        sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = :name"), params
    )
    if not updated.rowcount:
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"), params
        )


def _swap_uniques(*, forward: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, before, name, after in _UNIQUE:
        drop = _unique_named(table, after if not forward else before)
        create_name = name if forward else _old_unique_name(before, table)
        columns = after if forward else before
        if sqlite:
            sequence = _sqlite_sequence(table)
            with op.batch_alter_table(
                table, recreate="always", table_kwargs=_TABLE_KWARGS.get(table, {})
            ) as batch:
                batch.drop_constraint(drop, type_="unique")
                batch.create_unique_constraint(create_name, columns)
            _restore_sqlite_sequence(table, sequence)
        else:
            op.drop_constraint(drop, table, type_="unique")
            op.create_unique_constraint(create_name, table, columns)


def _swap_primary_keys(*, forward: bool) -> None:
    for table, (before, after) in _PRIMARY.items():
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, after if forward else before)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, target, _name in _FOREIGN:
            op.drop_constraint(_foreign_named(table, [column], target), table, type_="foreignkey")
        _swap_primary_keys(forward=True)
        _swap_uniques(forward=True)
        for table, column, target, name in _FOREIGN:
            op.create_foreign_key(name, table, target, ["org_id", column], ["org_id", "id"])
        op.execute(_KINDS_OF_REFS.format(key="org_id, entry_id, reference_type"))
    else:
        _swap_uniques(forward=True)
    _replay_index(["org_id", "original_id"])


def downgrade() -> None:
    _replay_index(["original_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table, _column, _target, name in _FOREIGN:
            op.drop_constraint(name, table, type_="foreignkey")
        op.execute(_KINDS_OF_REFS.format(key="entry_id, reference_type"))
        _swap_uniques(forward=False)
        _swap_primary_keys(forward=False)
        for table, column, target, _name in _FOREIGN:
            op.create_foreign_key(f"fk_{table}_{column}_{target}", table, target, [column], ["id"])
    else:
        _swap_uniques(forward=False)
