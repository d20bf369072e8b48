"""Migrations: empty -> head on both databases, models match, audit is append-only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DBAPIError

from eventrail.config import Settings
from eventrail.db import (
    SCHEMA_HEAD,
    Database,
    alembic_config,
    create_db_engine,
    migrate,
    schema_state,
)
from eventrail.models import Base
from tests.conftest import _require_postgres
from tests.fixtures.databases import postgres_database


def _current(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return schema_state(conn) == "current"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_settings(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path}/m.db", secret_key="s" * 40)
        return
    _require_postgres()
    with postgres_database("eventrail_migrations") as url:
        yield Settings(database_url=url, secret_key="s" * 40)


def test_upgrade_from_empty_then_check(fresh_settings: Settings) -> None:
    engine = create_db_engine(fresh_settings)
    try:
        assert not _current(engine)
        migrate(fresh_settings)
        assert _current(engine)
        tables = set(sa.inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        # models and migrations agree (raises if autogenerate would emit anything)
        command.check(alembic_config(fresh_settings))
        # and the history is reversible
        command.downgrade(alembic_config(fresh_settings), "base")
        assert not set(Base.metadata.tables) & set(sa.inspect(engine).get_table_names())
        migrate(fresh_settings)
        assert _current(engine)
    finally:
        engine.dispose()


def test_schema_head_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(Settings(secret_key="s" * 40)))
    assert script.get_heads() == [SCHEMA_HEAD], "update eventrail.db.SCHEMA_HEAD"


def test_migrate_twice_is_harmless(fresh_settings: Settings) -> None:
    migrate(fresh_settings)
    migrate(fresh_settings)
    engine = create_db_engine(fresh_settings)
    try:
        assert _current(engine)
    finally:
        engine.dispose()


_ENTRY = sa.text(
    "INSERT INTO audit_entries (org_id, entity_type, entity_id, request_id, updated_by, "
    "updated_by_mode, auto_update_time, created_on, events) "
    "VALUES (1, 'CUSTOMER', 1, 'r', 1, 'API', 1, 1, '[]')"
)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET request_id = 'forged'",
        "DELETE FROM audit_entries",
        "UPDATE audit_refs SET updated_field = 'x'",
        "DELETE FROM audit_refs",
        "UPDATE audit_kinds SET reference_type = 'x'",
        "DELETE FROM audit_kinds",
    ],
)
def test_audit_tables_refuse_update_and_delete(fresh_settings: Settings, statement: str) -> None:
    migrate(fresh_settings)
    db = Database(fresh_settings)
    try:
        with db.transaction() as session:
            session.execute(_ENTRY)
            entry_id = session.execute(sa.text("SELECT max(id) FROM audit_entries")).scalar_one()
            session.execute(
                sa.text(
                    "INSERT INTO audit_refs (entry_id, org_id, entity_type, entity_id, "
                    "reference_type, updated_field) VALUES (:e, 1, 'CUSTOMER', 1, 'Identifier', "
                    "'mobile')"
                ),
                {"e": entry_id},
            )
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(sa.text(statement))
        with db.transaction(write=False) as session:
            assert session.execute(sa.text("SELECT count(*) FROM audit_entries")).scalar_one() == 1
            assert session.execute(sa.text("SELECT request_id FROM audit_entries")).scalar() == "r"
    finally:
        db.dispose()


def test_truncate_refused_on_postgresql() -> None:
    _require_postgres()
    with postgres_database("eventrail_truncate") as url:
        settings = Settings(database_url=url, secret_key="s" * 40)
        migrate(settings)
        db = Database(settings)
        try:
            with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
                session.execute(sa.text("TRUNCATE audit_entries"))
            with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
                session.execute(sa.text("TRUNCATE audit_kinds"))
        finally:
            db.dispose()


def test_audit_counts_migration_counts_the_entries_already_there(
    fresh_settings: Settings,
) -> None:
    """Upgrading a database that holds a trail counts it, and then counts on."""
    config = alembic_config(fresh_settings)
    command.upgrade(config, "20261123_0003")
    engine = create_db_engine(fresh_settings)

    def entry(conn: sa.Connection, entity: int, at: int, refs: list[str]) -> None:
        conn.execute(
            sa.text(
                "INSERT INTO audit_entries (org_id, entity_type, entity_id, request_id, "
                "updated_by, updated_by_mode, auto_update_time, created_on, events) "
                "VALUES (7, 'CUSTOMER', :e, 'r', 1, 'API', :at, :at + 5, '[]')"
            ),
            {"e": entity, "at": at},
        )
        entry_id = conn.execute(sa.text("SELECT max(id) FROM audit_entries")).scalar_one()
        for i, ref in enumerate(refs):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_refs (entry_id, org_id, entity_type, entity_id, "
                    "reference_type, updated_field) VALUES (:id, 7, 'CUSTOMER', :e, :t, :f)"
                ),
                {"id": entry_id, "e": entity, "t": ref, "f": f"field{i}"},
            )

    def counts(conn: sa.Connection) -> dict[tuple[int, str], int]:
        rows = conn.execute(
            sa.text("SELECT entity_id, reference_type, entries FROM audit_counts WHERE org_id = 7")
        )
        return {(int(e), str(t)): int(n) for e, t, n in rows}

    try:
        with engine.begin() as conn:
            entry(conn, 1, 100, ["Identifier", "Identifier", "StandardField"])
            entry(conn, 1, 200, ["Identifier"])
            entry(conn, 2, 300, [])
        command.upgrade(config, "head")
        with engine.begin() as conn:
            assert counts(conn) == {
                (1, ""): 2,
                (1, "Identifier"): 2,
                (1, "StandardField"): 1,
                (2, ""): 1,
            }
            kinds = conn.execute(
                sa.text(
                    "SELECT entity_id, reference_type, auto_update_time, created_on "
                    "FROM audit_kinds WHERE org_id = 7 ORDER BY auto_update_time, reference_type"
                )
            ).all()
            assert [tuple(k) for k in kinds] == [
                (1, "Identifier", 100, 105),
                (1, "StandardField", 100, 105),
                (1, "Identifier", 200, 205),
            ]
            # and the triggers count what comes after
            entry(conn, 2, 400, ["CustomerStatus", "CustomerStatus"])
            entry(conn, 1, 500, ["StandardField"])
        with engine.begin() as conn:
            assert counts(conn) == {
                (1, ""): 3,
                (1, "Identifier"): 2,
                (1, "StandardField"): 2,
                (2, ""): 2,
                (2, "CustomerStatus"): 1,
            }
    finally:
        engine.dispose()


def test_existing_tills_and_clients_are_not_admins_after_the_upgrade(
    fresh_settings: Settings,
) -> None:
    """Rows made before the admin permission existed: ordinary, enabled, not revoked."""
    command.upgrade(alembic_config(fresh_settings), "20261123_0004")
    engine = create_db_engine(fresh_settings)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO orgs (id, name, timezone, psi_masking_enabled, "
                    "rate_limit_per_minute, created_at) "
                    "VALUES (1, 'o', 'UTC', true, 1000, 1)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO tills (id, org_id, code, name, password_hash, "
                    "created_at) VALUES (1, 1, 't', 't', 'h', 1)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO oauth_clients (org_id, key, secret_hash, till_id, "
                    "ttl_seconds, psi_view, created_at) "
                    "VALUES (1, 'k', 'h', 1, 60, false, 1)"
                )
            )
        migrate(fresh_settings)
        with engine.connect() as conn:
            till = conn.execute(sa.text("SELECT admin, disabled_at FROM tills")).one()
            client = conn.execute(
                sa.text("SELECT admin, token_version, revoked_at FROM oauth_clients")
            ).one()
        assert not till.admin and till.disabled_at is None
        assert not client.admin and client.token_version == 0 and client.revoked_at is None
        command.check(alembic_config(fresh_settings))
    finally:
        engine.dispose()


def test_replay_migration_counts_the_log_already_there(fresh_settings: Settings) -> None:
    """Upgrading a database that holds a log fills the outcome rollup from it."""
    config = alembic_config(fresh_settings)
    command.upgrade(config, "20261203_0005")
    engine = create_db_engine(fresh_settings)
    insert = sa.text(
        "INSERT INTO event_logs (id, org_id, parent_org_id, webhook_id, start_time, seq, "
        "response_time, status, event_name, input_request, message) "
        "VALUES (:id, 7, -1, 'w', :at, :seq, 1, :status, :name, '{}', :message)"
    )
    quarter = 15 * 60 * 1000
    entries = [
        (quarter * 4 + 1, "EVENT_SUCCESS", "Shop", "ok"),
        (quarter * 4 + 2, "EVENT_SUCCESS", "Shop", "ok"),
        (quarter * 5 - 1, None, None, "Unauthorized"),
        (quarter * 5, "EVENT_SUCCESS", "Shop", "ok"),
    ]
    try:
        with engine.begin() as conn:
            for seq, (at, status, name, message) in enumerate(entries):
                conn.execute(
                    insert,
                    {
                        "id": f"e{seq}",
                        "at": at,
                        "seq": seq,
                        "status": status,
                        "name": name,
                        "message": message,
                    },
                )
        command.upgrade(config, "head")
        with engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT slot, event_name, status, message, count FROM event_log_counts "
                    "WHERE org_id = 7 ORDER BY slot, status"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (quarter * 4, "", "", "Unauthorized", 1),
            (quarter * 4, "Shop", "EVENT_SUCCESS", "ok", 2),
            (quarter * 5, "Shop", "EVENT_SUCCESS", "ok", 1),
        ]
    finally:
        engine.dispose()


def test_keys_by_org_migration_on_a_populated_database(fresh_settings: Settings) -> None:
    """20261204_0014 swaps keys under existing rows, both ways, losing nothing."""
    config = alembic_config(fresh_settings)
    command.upgrade(config, "20261203_0010")
    engine = create_db_engine(fresh_settings)
    counted = (
        "orgs",
        "status_labels",
        "customers",
        "card_series",
        "cards",
        "comm_channels",
        "subscriptions",
        "ingest_requests",
        "event_replays",
    )

    def insert(conn: sa.Connection, table: str, **values: object) -> int:
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(f":{c}" for c in values)
        conn.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)
        return int(conn.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar_one())

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in counted
            }

    try:
        with engine.begin() as conn:
            for n in range(2):
                org = insert(
                    conn,
                    "orgs",
                    name=f"o{n}",
                    timezone="UTC",
                    psi_masking_enabled=False,
                    rate_limit_per_minute=1000,
                    created_at=1,
                )
                label = insert(
                    conn,
                    "status_labels",
                    org_id=org,
                    entity_type="CARD",
                    status="ACTIVE",
                    label="Active",
                    is_default=True,
                    created_at=1,
                )
                customer = insert(
                    conn,
                    "customers",
                    org_id=org,
                    status="ACTIVE",
                    loyalty_type="loyalty",
                    source="INSTORE",
                    account_id="",
                    created_at=1,
                    updated_at=1,
                )
                series = insert(conn, "card_series", org_id=org, name="s", code="S", created_at=1)
                insert(
                    conn,
                    "cards",
                    org_id=org,
                    series_id=series,
                    card_number="C1",
                    customer_id=customer,
                    status="ACTIVE",
                    status_label_id=label,
                    created_at=1,
                    updated_at=1,
                )
                insert(
                    conn,
                    "comm_channels",
                    org_id=org,
                    customer_id=customer,
                    type="email",
                    value="a@example.com",
                    primary=True,
                    verified=False,
                    subscribed=True,
                    source="INSTORE",
                )
                insert(
                    conn,
                    "subscriptions",
                    org_id=org,
                    customer_id=customer,
                    channel="EMAIL",
                    priority="TRANS",
                    source="INSTORE",
                    account_id="",
                    ou_id=-1,
                    status="OPTIN",
                    updated_at=1,
                )
                queued = insert(
                    conn,
                    "ingest_requests",
                    request_id=f"r{n}",
                    org_id=org,
                    webhook_id="w",
                    received_at=1,
                    body="{}",
                    verdict=0,
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO event_replays (id, org_id, original_id, state, "
                        "requested_by, requested_at, call_id) "
                        "VALUES (:id, :org, :original, 'pending', 'till:1', 1, 'c')"
                    ),
                    {"id": f"replay-{n}", "org": org, "original": f"log-{n}"},
                )
            conn.execute(sa.text("DELETE FROM ingest_requests"))
        before = counts()
        command.upgrade(config, "head")
        assert counts() == before
        inspector = sa.inspect(engine)
        uniques = {
            u["name"]: u["column_names"] for u in inspector.get_unique_constraints("comm_channels")
        }
        assert uniques["uq_comm_channels_org_customer_type"] == ["org_id", "customer_id", "type"]
        if engine.dialect.name == "postgresql":
            assert inspector.get_pk_constraint("customers")["constrained_columns"] == [
                "org_id",
                "id",
            ]
            keys = {k["name"]: k for k in inspector.get_foreign_keys("cards")}
            assert keys["fk_cards_customer"]["constrained_columns"] == ["org_id", "customer_id"]
            assert keys["fk_cards_customer"]["referred_columns"] == ["org_id", "id"]
        with engine.begin() as conn:
            # the same replay of the same entry in another org is another org's business
            conn.execute(
                sa.text(
                    "INSERT INTO event_replays (id, org_id, original_id, state, requested_by, "
                    "requested_at, call_id) VALUES ('replay-x', 999, 'log-0', 'pending', "
                    "'till:1', 1, 'c')"
                )
            )
            # ids keep growing after the queue emptied (SQLite: AUTOINCREMENT kept)
            again = insert(
                conn,
                "ingest_requests",
                request_id="r-again",
                org_id=1,
                webhook_id="w",
                received_at=2,
                body="{}",
                verdict=0,
            )
            assert again > queued
            conn.execute(sa.text("DELETE FROM ingest_requests WHERE request_id = 'r-again'"))
            conn.execute(sa.text("DELETE FROM event_replays WHERE id = 'replay-x'"))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    'INSERT INTO comm_channels (org_id, customer_id, type, value, "primary", '
                    "verified, subscribed, source) SELECT org_id, customer_id, type, value, "
                    '"primary", verified, subscribed, source FROM comm_channels LIMIT 1'
                )
            )
        command.downgrade(config, "20261203_0010")
        assert counts() == before
        command.upgrade(config, "head")
        assert counts() == before
    finally:
        engine.dispose()
