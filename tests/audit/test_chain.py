"""The audit trail's hash chain: every entry linked to the one before it in its org,
verified by `eventrail audit verify`; an UPDATE, a DELETE or an INSERT made directly
in the database is named; concurrent writers from two servers keep one chain."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.audit import chain
from eventrail.audit.repository import AuditReads
from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.kit.fastdb import ReadPool
from tests.conftest import TEST_SECRET
from tests.fixtures.databases import postgres_database
from tests.fixtures.factories import Tenant, basic, make_org, make_till, md5
from tests.fixtures.server import cli_env, run_cli, run_human, server_process

HEAD = "/api_gateway/v2/audits/chainHead"


def customer_body() -> dict[str, Any]:
    return {
        "profiles": [
            {
                "firstName": "Ravi",
                "identifiers": [
                    {"type": "mobile", "value": f"91{uuid.uuid4().int % 10**10:010d}"},
                    {"type": "email", "value": f"{uuid.uuid4().hex[:8]}@x.com"},
                ],
            }
        ]
    }


async def write_entries(http: httpx.AsyncClient, n: int) -> None:
    for _ in range(n):
        r = await http.post("/v2/customers", json=customer_body())
        assert r.status_code == 200, r.text
        r = await http.put(
            f"/v2/customers/{r.json()['createdId']}", json={"firstName": uuid.uuid4().hex[:6]}
        )
        assert r.status_code == 200, r.text


def verify(settings: Settings, org_id: int) -> chain.OrgReport:
    pool = ReadPool(settings)
    try:
        return chain.verify_org(AuditReads(pool), org_id, batch=3)  # small batches: pages crossed
    finally:
        pool.close()


def links(db: Database, org_id: int) -> list[tuple[int, int, str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, seq, prev_hash, row_hash FROM audit_entries "
                "WHERE org_id = :o AND seq IS NOT NULL ORDER BY seq"
            ),
            {"o": org_id},
        )
        return [(int(a), int(b), str(c), str(d)) for a, b, c, d in rows]


def tamper(db: Database, sql: str, params: dict[str, Any]) -> None:
    """What someone with the database's password does: the append-only triggers
    switched off for the statement (PostgreSQL: replica mode; SQLite: dropped and
    created again in the same transaction)."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            triggers = conn.execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'audit_entries'"
                )
            ).all()
            for name, _ in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
            conn.execute(sa.text(sql), params)
            for _, ddl in triggers:
                conn.exec_driver_sql(ddl)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(sa.text(sql), params)


def cli(settings: Settings, tmp_path: Path, *args: str) -> tuple[int, Any]:
    return run_cli(["audit", "verify", *args], cli_env(settings.database_url, tmp_path))


async def test_untouched_chain_verifies(
    tenant: Tenant, make_tenant: Any, settings: Settings, db: Database, tmp_path: Path
) -> None:
    other = await make_tenant()
    await write_entries(tenant.http, 4)
    await write_entries(other.http, 1)
    chained = links(db, tenant.org_id)
    assert [seq for _, seq, _, _ in chained] == list(range(1, len(chained) + 1))
    assert len(chained) >= 4
    assert chained[0][2] == chain.GENESIS
    for (_, _, _, before), (_, _, prev, _) in itertools.pairwise(chained):
        assert prev == before
    report = verify(settings, tenant.org_id)
    assert report.ok, report.problems
    assert report.checked == report.valid == len(chained)
    # the head, as the API gives it, is the last entry's hash; each org its own
    r = await tenant.http.get(HEAD)
    assert r.status_code == 200, r.text
    assert r.json()["seq"] == len(chained) and r.json()["hash"] == chained[-1][3]
    assert r.json()["orgId"] == tenant.org_id
    theirs = (await other.http.get(HEAD)).json()
    assert theirs["orgId"] == other.org_id and theirs["hash"] != r.json()["hash"]
    code, out = cli(settings, tmp_path, "--org", str(tenant.org_id))
    assert code == 0, out
    assert out["ok"] is True and out["checked"] == len(chained)
    # --from starts later (its first prev_hash on trust)
    code, out = cli(settings, tmp_path, "--org", str(tenant.org_id), "--from", "2000-01-01")
    assert code == 0, out
    code, _, err = run_human(
        ["audit", "verify", "--org", str(tenant.org_id)],
        cli_env(settings.database_url, tmp_path),
    )
    assert code == 0 and "rows" in err  # the progress bar


async def test_chain_head_wants_credentials_and_a_good_query(
    tenant: Tenant, http: httpx.AsyncClient
) -> None:
    r = await http.get(HEAD)
    assert r.status_code == 401
    fresh = (await tenant.http.get(HEAD)).json()
    assert fresh["seq"] == 0 and fresh["hash"] == chain.GENESIS


@pytest.mark.parametrize("kind", ["update", "delete", "insert", "delete_last"])
async def test_tampering_is_named(
    kind: str, tenant: Tenant, settings: Settings, db: Database, tmp_path: Path
) -> None:
    await write_entries(tenant.http, 5)
    chained = links(db, tenant.org_id)
    victim_id, victim_seq = chained[2][0], chained[2][1]
    if kind == "update":
        tamper(
            db,
            "UPDATE audit_entries SET source = 'FORGED' WHERE id = :id",
            {"id": victim_id},
        )
        expected = ("edited", victim_id, victim_seq)
    elif kind == "delete":
        tamper(db, "DELETE FROM audit_entries WHERE id = :id", {"id": victim_id})
        expected = ("deleted", chained[3][0], victim_seq + 1)
    elif kind == "delete_last":
        tamper(db, "DELETE FROM audit_entries WHERE id = :id", {"id": chained[-1][0]})
        expected = ("deleted", None, chained[-1][1])
    else:
        with db.engine.begin() as conn:  # INSERT is allowed by the triggers
            inserted = conn.execute(
                sa.text(
                    "INSERT INTO audit_entries (org_id, entity_type, entity_id, request_id, "
                    "updated_by, updated_by_mode, auto_update_time, created_on, events) "
                    "VALUES (:o, 'CUSTOMER', 1, 'forged', 1, 'API', 1, 1, '[]') RETURNING id"
                ),
                {"o": tenant.org_id},
            ).scalar_one()
        expected = ("inserted", int(inserted), None)
    report = verify(settings, tenant.org_id)
    assert not report.ok
    first = report.problems[0]
    assert (first.kind, first.entry_id, first.seq) == expected, report.problems
    code, out = cli(settings, tmp_path, "--org", str(tenant.org_id))
    assert code == 1, out
    bad = out["orgs"][0]["firstBad"]
    assert (bad["kind"], bad["entryId"], bad["seq"]) == expected
    code, stdout, _ = run_human(
        ["audit", "verify", "--org", str(tenant.org_id)],
        cli_env(settings.database_url, tmp_path),
    )
    assert code == 1 and "FIRST BAD" in stdout and "INVALID" in stdout


async def test_concurrent_writes_from_two_servers_keep_one_chain(tmp_path: Path) -> None:
    """PostgreSQL: two `eventrail serve` processes write the same org's entries at
    once; the chain head's row lock makes one chain of them."""
    from tests.conftest import _require_postgres

    _require_postgres()
    with postgres_database("eventrail_chain") as url:
        settings = Settings(database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET)
        migrate(settings)
        db = Database(settings)
        try:
            org_id = make_org(db)
            _, code, password = make_till(db, org_id)
        finally:
            db.dispose()
        env = cli_env(url, tmp_path, EVENTRAIL_SECRET_KEY=TEST_SECRET)
        headers = basic(code, md5(password))
        with server_process(env) as one, server_process(env) as two:

            async def load(base: str) -> None:
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
                    await asyncio.gather(*(write_entries(c, 3) for _ in range(4)))

            await asyncio.gather(load(one.base), load(two.base))
        db = Database(settings)
        try:
            chained = links(db, org_id)
        finally:
            db.dispose()
        assert [seq for _, seq, _, _ in chained] == list(range(1, 25))
        report = verify(settings, org_id)
        assert report.ok and report.checked == 24, report.problems
        code, out = run_cli(["audit", "verify"], env)
        assert code == 0 and out["ok"], out
