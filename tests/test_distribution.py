"""Ready for a distributed PostgreSQL (docs/scaling.md): every table but the reference
tables is keyed by org, and every statement eventrail runs stays within named orgs.

Three readings: the models (SQLAlchemy metadata), the migrated PostgreSQL database's
own constraints, and the SQL of a run of representative API calls (captured from the
engine and from the fast lane's read connection), so that the tables can be
distributed by ``org_id`` (Citus) without a change to the code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp
from eventrail.config import Settings
from eventrail.db import Database, create_db_engine, migrate
from eventrail.models import Base
from eventrail.models.base import REFERENCE_TABLES
from tests.conftest import TEST_SECRET, TenantFactory, _require_postgres
from tests.fixtures.databases import postgres_database
from tests.fixtures.ingest import accepted, post_json, setup_org
from tests.fixtures.isolation import AUDITS, build_org_a, ok

ORG = "org_id"
DISTRIBUTED = sorted(set(Base.metadata.tables) - REFERENCE_TABLES)

# Statements that read across orgs by design, each with its reason (docs/scaling.md,
# "What reads across orgs"). Matched on the normalised statement.
CROSS_ORG = {
    # the processors serve every org from one queue: the claim, its delete, its depth
    # and its age (GET /ready, /metrics)
    "select id, request_id, org_id, webhook_id, received_at, body, verdict, detail, "
    "replay_of from ingest_requests order by id limit": "the queue claim",
    "delete from ingest_requests where id": "the queue claim's delete",
    "select received_at from ingest_requests order by id limit 1": "the queue's age",
    "select count(*) as count_1 from ingest_requests": "the queue's depth",
}


# -- the models ----------------------------------------------------------------------
def _leads(columns: list[str]) -> bool:
    return bool(columns) and columns[0] == ORG


def test_every_table_but_the_reference_tables_is_keyed_by_org() -> None:
    problems = []
    for name in DISTRIBUTED:
        table = Base.metadata.tables[name]
        if ORG not in table.c:
            problems.append(f"{name}: no org_id")
            continue
        if not _leads([c.name for c in table.primary_key.columns]):
            problems.append(f"{name}: primary key {[c.name for c in table.primary_key]}")
        for constraint in table.constraints:
            if isinstance(constraint, sa.UniqueConstraint) and not _leads(
                [c.name for c in constraint.columns]
            ):
                problems.append(f"{name}: unique {constraint.name}")
            if (
                isinstance(constraint, sa.ForeignKeyConstraint)
                and constraint.referred_table.name not in REFERENCE_TABLES
                and constraint.info.get("only_on") != "sqlite"
                and not _leads([c.name for c in constraint.columns])
            ):
                problems.append(f"{name}: foreign key {constraint.name} without org_id")
        for index in table.indexes:
            if index.unique and not _leads([c.name for c in index.columns]):
                problems.append(f"{name}: unique index {index.name}")
    assert problems == [], "\n".join(problems)


def test_the_reference_tables_are_the_documented_ones() -> None:
    """A new table is keyed by org unless docs/scaling.md says why not."""
    assert set(REFERENCE_TABLES) <= set(Base.metadata.tables)
    assert {n for n, t in Base.metadata.tables.items() if ORG not in t.c} == {"orgs"}
    for name in REFERENCE_TABLES:
        # a reference table never points at an org-keyed (distributed) one
        for key in Base.metadata.tables[name].foreign_keys:
            assert key.column.table.name in REFERENCE_TABLES, (name, key)


# -- the migrated PostgreSQL database ---------------------------------------------
@pytest.fixture(scope="module")
def migrated_postgres() -> Iterator[sa.Engine]:
    _require_postgres()
    with postgres_database("eventrail_distribution") as url:
        settings = Settings(database_url=url, secret_key=TEST_SECRET)
        migrate(settings)
        engine = create_db_engine(settings)
        try:
            yield engine
        finally:
            engine.dispose()


def test_the_migrated_postgresql_keys_lead_with_org(migrated_postgres: sa.Engine) -> None:
    inspector = sa.inspect(migrated_postgres)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    problems = []
    for name in sorted(tables - REFERENCE_TABLES):
        primary = inspector.get_pk_constraint(name)["constrained_columns"]
        if not _leads(primary):
            problems.append(f"{name}: primary key {primary}")
        for unique in inspector.get_unique_constraints(name):
            if not _leads(unique["column_names"]):
                problems.append(f"{name}: unique {unique['name']}")
        for index in inspector.get_indexes(name):
            if index["unique"] and not _leads(list(index["column_names"])):
                problems.append(f"{name}: unique index {index['name']}")
        for key in inspector.get_foreign_keys(name):
            if key["referred_table"] not in REFERENCE_TABLES and not (
                _leads(key["constrained_columns"]) and _leads(key["referred_columns"])
            ):
                problems.append(f"{name}: foreign key {key['name']}")
    assert problems == [], "\n".join(problems)


# -- the SQL of a run --------------------------------------------------------------
_TABLE_REF = re.compile(r"\b(from|join|update|into)\s+\"?(\w+)\"?", re.I)
_ORG_PREDICATE = re.compile(r"\borg_id\s*(=|in\b|=\s*any\b)", re.I)


def _normal(sql: str) -> str:
    return " ".join(sql.split()).lower()


def _problem(sql: str) -> str | None:
    """Why a statement would read or join across orgs; None when it stays within
    named orgs (an INSERT of rows carries their org)."""
    text = _normal(sql)
    if text.startswith(("insert", "savepoint", "release", "rollback", "begin", "commit")):
        if " select " not in text:
            return None
        text = text[text.index(" select ") + 1 :]
    if text.startswith(("set ", "show ", "pragma", "select 1", "select pg_", "select version")):
        return None
    tables = [t for _, t in _TABLE_REF.findall(text) if t in DISTRIBUTED]
    if not tables:
        return None
    if any(text.startswith(fragment) or fragment in text for fragment in CROSS_ORG):
        return None
    where = text.partition(" where ")[2]
    if not _ORG_PREDICATE.search(where) and not _ORG_PREDICATE.search(text.partition(" on ")[2]):
        return f"no org_id predicate on {tables}"
    # a join between two org-keyed tables joins on org_id (co-located on Citus)
    for join in re.finditer(
        r"\bjoin\s+\"?(\w+)\"?(?:\s+(?:as\s+)?\w+)?\s+on\s+(.*?)(?=\bjoin\b|\bwhere\b|$)", text
    ):
        if join.group(1) in DISTRIBUTED and ORG not in join.group(2):
            return f"join of {join.group(1)} without org_id"
    return None


def test_the_checker_finds_cross_org_statements() -> None:
    assert _problem("SELECT * FROM customers WHERE id = 5") is not None
    assert (
        _problem(
            "SELECT * FROM cards c JOIN customers u ON u.id = c.customer_id WHERE c.org_id = 1"
        )
        is not None
    )
    assert _problem("SELECT * FROM customers WHERE org_id = 1 AND id = 5") is None
    assert _problem("SELECT id FROM orgs WHERE parent_org_id = 3") is None
    assert _problem("INSERT INTO customers (org_id, source) VALUES (1, 'x')") is None


@pytest.fixture
def statements(
    app: EventrailApp, db: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Every statement run during the test: through SQLAlchemy and through the fast
    lane's read pool."""
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    reader = app.state.reads.primary  # no replica in the tests: every read pool

    def recording(rows: Callable[[str, dict[str, Any]], Any]) -> Callable[..., Any]:
        def record(sql: str, params: dict[str, Any]) -> Any:
            seen.append(sql)
            return rows(sql, params)

        return record

    monkeypatch.setattr(reader, "rows", recording(reader.rows))
    sa.event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_execute)


async def test_representative_api_calls_stay_within_named_orgs(
    make_tenant: TenantFactory,
    drain: Callable[[], int],
    statements: list[str],
) -> None:
    a = await build_org_a(await make_tenant())
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id)
    for tenant in (a.tenant, child):
        await ok(await tenant.http.get("/v2/orgs/settings"))
    # the customer and card APIs, reads and writes
    for cid in a.customers:
        await ok(await a.http.get(f"/v2/customers/{cid}"))
        await ok(await a.http.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": cid}))
    for number in a.cards:
        await ok(await a.http.get("/v2/card", params={"number": number}))
    await ok(
        await a.http.put(
            f"/v2/customers/{a.customers[0]}", json={"profiles": [{"firstName": "Ada"}]}
        )
    )
    await ok(await a.http.get(f"/v2/requests/{a.request_id}"))
    # events: post, process, read back, summarise, replay
    org = await setup_org(child)
    request_id = accepted(await post_json(org.http, org.url, org.payload()))
    bad = accepted(await post_json(org.http, org.url, {"event_name": "Nope", "customer": "x"}))
    await ok(await org.http.post(org.url, json=org.payload(), params={"dryRun": "true"}))
    assert drain() >= 2
    await ok(await org.http.get("/v2/events/logs", params={"limit": 10}))
    await ok(await org.http.get("/v2/events/event_data", params={"id": request_id}))
    await ok(await org.http.get(f"/v2/events/event_data/{org.customer_id}"))
    await ok(
        await parent.http.get(f"/v2/events/event_data/{org.customer_id}", params={"scope": "child"})
    )
    now = int(time.time() * 1000)
    window = {"from_date": str(now - 86_400_000), "to_date": str(now + 86_400_000)}
    await ok(await org.http.get("/v2/events/logs/summary", params=window))
    await ok(await org.http.post("/v2/events/logs/replay", json={"ids": [bad]}))
    drain()
    problems = sorted(
        {f"{_problem(sql)}: {_normal(sql)[:300]}" for sql in statements if _problem(sql)}
    )
    assert len(statements) > 100
    read_by_the_lane = [s for s in statements if "from event_logs" in _normal(s)]
    assert read_by_the_lane, "the fast lane's reads were captured"
    assert problems == [], "\n".join(problems)
