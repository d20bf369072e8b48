"""Nothing acknowledged is lost, nothing is processed twice: real `eventrail serve`
processes, killed with SIGKILL mid-stream, and two servers sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import create_db_engine
from tests.conftest import _require_postgres
from tests.fixtures.databases import postgres_database
from tests.fixtures.factories import basic, md5
from tests.fixtures.server import Server, cli_env, run_cli, running_server, server_process

DEFINITION = {
    "eventName": "Visit",
    "actions": ["EIConsumer"],
    "fields": [
        {
            "name": "customer",
            "type": "customer",
            "attributes": {
                "identifierType": {"value": "mobile"},
                "addCustomerIfNotExists": {"value": "true"},
            },
        },
        {"name": "ref", "type": "string", "attributes": {"isUniqueKeyField": {"value": "true"}}},
    ],
}


def _provision(env: dict[str, str], base: str, *, unique: bool) -> tuple[dict[str, str], str]:
    _, org = run_cli(["org", "create", "--name", "Durable"], env)
    run_cli(
        [
            "till",
            "create",
            "--org",
            str(org["orgId"]),
            "--code",
            "d.till",
            "--password",
            "pw",
            "--admin",
        ],
        env,
    )
    auth = basic("d.till", md5("pw"))
    with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
        assert api.post("/v2/events", json=DEFINITION).status_code == 200
        r = api.post(
            "/v2/events/webhook",
            json={
                "transformerType": "defaultTransformer",
                "tillCode": "d.till",
                "uniquenessCheckEnabled": unique,
            },
        )
        assert r.status_code == 200, r.text
        return auth, r.json()["webHookId"]


def _engine(env: dict[str, str]) -> sa.Engine:
    return create_db_engine(
        Settings(database_url=env["EVENTRAIL_DATABASE_URL"], secret_key="s" * 40)
    )


def _wait_until_drained(engine: sa.Engine, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar_one() == 0:
                return
        time.sleep(0.2)
    raise AssertionError("the queue was not processed in time")


async def _post_until(
    bases: list[str],
    webhook_id: str,
    bodies: list[dict[str, Any]],
    *,
    kill_after: int | None = None,
    server: Server | None = None,
    concurrency: int = 16,
) -> dict[str, dict[str, Any]]:
    """Post every body (spread over the servers); the acknowledged requestIds -> body."""
    acked: dict[str, dict[str, Any]] = {}
    queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
    for item in enumerate(bodies):
        queue.put_nowait(item)
    killed = False

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal killed
        while not queue.empty():
            index, body = queue.get_nowait()
            base = bases[index % len(bases)]
            try:
                r = await client.post(f"{base}/webhooks/{webhook_id}", json=body)
            except httpx.TransportError:
                continue
            if r.status_code == 200:
                acked[r.json()["requestId"]] = body
            if kill_after is not None and not killed and len(acked) >= kill_after:
                killed = True
                assert server is not None
                server.kill()

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return acked


def _check_exactly_once(engine: sa.Engine, acked: dict[str, dict[str, Any]]) -> None:
    with engine.connect() as conn:
        logs = dict(conn.execute(sa.text("SELECT id, status FROM event_logs")).all())
        records = conn.execute(sa.text("SELECT id FROM event_records")).scalars().all()
        audits = conn.execute(
            sa.text("SELECT request_id, count(*) FROM audit_entries GROUP BY request_id")
        ).all()
        mobiles = (
            conn.execute(sa.text("SELECT value FROM customer_identifiers WHERE type = 'mobile'"))
            .scalars()
            .all()
        )
    missing = set(acked) - set(logs)
    assert not missing, f"{len(missing)} acknowledged events have no log entry"
    assert all(status == "EVENT_SUCCESS" for status in logs.values())
    # Every processed request stored exactly one event, under its own id.
    assert len(records) == len(set(records)) == len(logs)
    assert set(records) == set(logs)
    # A customer was registered once per distinct mobile, by exactly one request.
    assert len(mobiles) == len(set(mobiles))
    assert set(mobiles) >= {body["customer"] for body in acked.values()}
    assert all(count == 1 for _, count in audits)


def test_sigkill_while_acknowledging_loses_nothing(env: dict[str, str]) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    bodies = [
        {"event_name": "Visit", "customer": f"9170{n:08d}", "ref": uuid.uuid4().hex}
        for n in range(600)
    ]
    with server_process(env) as server:
        _, webhook_id = _provision(env, server.base, unique=False)
        acked = asyncio.run(
            _post_until([server.base], webhook_id, bodies, kill_after=150, server=server)
        )
    assert 150 <= len(acked) < len(bodies), "the kill should interrupt the stream"
    engine = _engine(env)
    try:
        with engine.connect() as conn:
            queued = conn.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar_one()
            logged = conn.execute(sa.text("SELECT count(*) FROM event_logs")).scalar_one()
        assert queued + logged >= len(acked), "acknowledged requests must be in the database"
        with running_server(env):
            _wait_until_drained(engine)
        _check_exactly_once(engine, acked)
    finally:
        engine.dispose()


def test_two_servers_share_one_postgresql_exactly_once(tmp_path: Path) -> None:
    _require_postgres()
    with postgres_database("eventrail_two") as url:
        env = cli_env(url, tmp_path)
        assert run_cli(["migrate"], env)[0] == 0
        refs = [uuid.uuid4().hex for _ in range(60)]
        # 600 posts over 60 unique keys: each key posted 10 times, to both servers.
        bodies = [
            {"event_name": "Visit", "customer": f"9180{n % 60:08d}", "ref": refs[n % 60]}
            for n in range(600)
        ]
        with running_server(env) as first, running_server(env) as second:
            _, webhook_id = _provision(env, first, unique=True)
            acked = asyncio.run(_post_until([first, second], webhook_id, bodies, concurrency=24))
            assert len(acked) == len(bodies)
            engine = _engine(env)
            try:
                _wait_until_drained(engine)
                with engine.connect() as conn:
                    rows = conn.execute(
                        sa.text("SELECT unique_id, is_duplicate FROM event_records")
                    ).all()
                _check_exactly_once(engine, acked)
            finally:
                engine.dispose()
        originals: dict[str, int] = {}
        for unique_id, duplicate in rows:
            originals[unique_id] = originals.get(unique_id, 0) + (0 if duplicate else 1)
        assert len(rows) == 600
        assert len(originals) == 60
        assert set(originals.values()) == {1}, "exactly one non-duplicate per unique key"
