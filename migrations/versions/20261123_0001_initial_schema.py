"""Initial schema: orgs, tills, clients, customers, cards, labels, fields, groups, audit.

The audit tables are append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL), so not even a bug or a hand-written query can rewrite history.

Revision ID: 20261123_0001
Revises:
Create Date: 2026-11-23 04:06:41.957350
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "till",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column(
            "store",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column(
            "user_context",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column(
            "victim_details",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column(
            "survivor_details",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("updated_by_mode", sa.String(length=40), nullable=False),
        sa.Column("auto_update_time", sa.BigInteger(), nullable=False),
        sa.Column("created_on", sa.BigInteger(), nullable=False),
        sa.Column(
            "events",
            sa.JSON(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entries_entity_auto_update_time",
            ["org_id", "entity_type", "entity_id", "auto_update_time", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_audit_entries_entity_created_on",
            ["org_id", "entity_type", "entity_id", "created_on", "id"],
            unique=False,
        )

    op.create_table(
        "audit_refs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("reference_type", sa.String(length=40), nullable=False),
        sa.Column("updated_field", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_refs")),
    )
    with op.batch_alter_table("audit_refs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_refs_entity_reference",
            ["org_id", "entity_type", "entity_id", "reference_type", "updated_field", "entry_id"],
            unique=False,
        )

    op.create_table(
        "orgs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("parent_org_id", sa.Integer(), nullable=True),
        sa.Column("psi_masking_enabled", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_org_id"], ["orgs.id"], name=op.f("fk_orgs_parent_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
    )
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orgs_parent_org_id"), ["parent_org_id"], unique=False)

    op.create_table(
        "card_series",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_card_series_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_series")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_card_series_org_id_code")),
    )
    op.create_table(
        "field_definitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column("audit_trail", sa.Boolean(), nullable=False),
        sa.Column("psi", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_field_definitions_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_definitions")),
        sa.UniqueConstraint(
            "org_id",
            "entity_type",
            "kind",
            "name",
            name=op.f("uq_field_definitions_org_id_entity_type_kind_name"),
        ),
    )
    op.create_table(
        "status_labels",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_status_labels_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_labels")),
        sa.UniqueConstraint(
            "org_id", "entity_type", "label", name=op.f("uq_status_labels_org_id_entity_type_label")
        ),
    )
    op.create_table(
        "stores",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("external_id_1", sa.String(length=100), nullable=True),
        sa.Column("external_id_2", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_stores_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_stores_org_id_code")),
    )
    op.create_table(
        "user_groups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_user_groups_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_groups")),
        sa.UniqueConstraint(
            "org_id", "external_id", name=op.f("uq_user_groups_org_id_external_id")
        ),
    )
    op.create_table(
        "customers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "status_label_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("loyalty_type", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("merged_into_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_customers_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["status_label_id"],
            ["status_labels.id"],
            name=op.f("fk_customers_status_label_id_status_labels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_org_id_id", ["org_id", "id"], unique=False)

    op.create_table(
        "field_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "definition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["field_definitions.id"],
            name=op.f("fk_field_values_definition_id_field_definitions"),
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_field_values_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_values")),
        sa.UniqueConstraint(
            "entity_type",
            "entity_id",
            "definition_id",
            name=op.f("uq_field_values_entity_type_entity_id_definition_id"),
        ),
    )
    op.create_table(
        "tills",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_tills_org_id_orgs")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_tills_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tills")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_tills_org_id_code")),
    )
    with op.batch_alter_table("tills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tills_code"), ["code"], unique=False)

    op.create_table(
        "cards",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "series_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("card_number", sa.String(length=100), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "status_label_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "mapped_entity",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cards_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_cards_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["series_id"], ["card_series.id"], name=op.f("fk_cards_series_id_card_series")
        ),
        sa.ForeignKeyConstraint(
            ["status_label_id"],
            ["status_labels.id"],
            name=op.f("fk_cards_status_label_id_status_labels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("org_id", "card_number", name=op.f("uq_cards_org_id_card_number")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index("ix_cards_customer_id", ["customer_id"], unique=False)

    op.create_table(
        "comm_channels",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column(
            "meta",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_comm_channels_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_comm_channels_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comm_channels")),
        sa.UniqueConstraint("customer_id", "type", name=op.f("uq_comm_channels_customer_id_type")),
    )
    op.create_table(
        "customer_identifiers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_identifiers_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_customer_identifiers_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_identifiers")),
        sa.UniqueConstraint(
            "org_id",
            "source",
            "account_id",
            "type",
            "value",
            name=op.f("uq_customer_identifiers_org_id_source_account_id_type_value"),
        ),
    )
    with op.batch_alter_table("customer_identifiers", schema=None) as batch_op:
        batch_op.create_index("ix_customer_identifiers_customer_id", ["customer_id"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_group_members_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["user_groups.id"], name=op.f("fk_group_members_group_id_user_groups")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_group_members_org_id_orgs")),
        sa.PrimaryKeyConstraint("group_id", "customer_id", name=op.f("pk_group_members")),
    )
    op.create_table(
        "merge_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "victim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("created_by_till_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_merge_requests_org_id_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"], ["customers.id"], name=op.f("fk_merge_requests_survivor_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["customers.id"], name=op.f("fk_merge_requests_victim_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_requests")),
    )
    with op.batch_alter_table("merge_requests", schema=None) as batch_op:
        batch_op.create_index("ix_merge_requests_org_id_id", ["org_id", "id"], unique=False)

    op.create_table(
        "oauth_clients",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("till_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("psi_view", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_oauth_clients_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["till_id"], ["tills.id"], name=op.f("fk_oauth_clients_till_id_tills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("key", name=op.f("uq_oauth_clients_key")),
    )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_clients_org_id"), ["org_id"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("ou_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_subscriptions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_subscriptions_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "customer_id",
            "channel",
            "priority",
            "source",
            "account_id",
            "ou_id",
            name=op.f("uq_subscriptions_customer_id_channel_priority_source_account_id_ou_id"),
        ),
    )
    _create_append_only_triggers()


_AUDIT_TABLES = ("audit_entries", "audit_refs")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION eventrail_audit_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'eventrail audit trail is append-only: % on % refused',
                    TG_OP, TG_TABLE_NAME;
            END
            $$
            """
        )
        for table in _AUDIT_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION eventrail_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION eventrail_audit_append_only()"
            )
    else:
        for table in _AUDIT_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'eventrail audit trail is append-only: "
                    f"{action} on {table} refused'); END"
                )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _AUDIT_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS eventrail_audit_append_only()")
    else:
        for table in _AUDIT_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("subscriptions")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_clients_org_id"))

    op.drop_table("oauth_clients")
    with op.batch_alter_table("merge_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_merge_requests_org_id_id")

    op.drop_table("merge_requests")
    op.drop_table("group_members")
    with op.batch_alter_table("customer_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_identifiers_customer_id")

    op.drop_table("customer_identifiers")
    op.drop_table("comm_channels")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index("ix_cards_customer_id")

    op.drop_table("cards")
    with op.batch_alter_table("tills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tills_code"))

    op.drop_table("tills")
    op.drop_table("field_values")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_org_id_id")

    op.drop_table("customers")
    op.drop_table("user_groups")
    op.drop_table("stores")
    op.drop_table("status_labels")
    op.drop_table("field_definitions")
    op.drop_table("card_series")
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orgs_parent_org_id"))

    op.drop_table("orgs")
    with op.batch_alter_table("audit_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_refs_entity_reference")

    op.drop_table("audit_refs")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_entity_created_on")
        batch_op.drop_index("ix_audit_entries_entity_auto_update_time")

    op.drop_table("audit_entries")
