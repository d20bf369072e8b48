"""Nothing acknowledged is lost, nothing is processed twice: real `eventrail serve`
processes, killed with SIGKILL mid-stream, and two servers sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import _require_postgres
from tests.fixtures.databases import postgres_database
from tests.fixtures.durability import (
    check_exactly_once,
    engine_of,
    post_until,
    provision,
    wait_until_drained,
)
from tests.fixtures.server import cli_env, run_cli, running_server, server_process


def test_sigkill_while_acknowledging_loses_nothing(env: dict[str, str]) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    bodies = [
        {"event_name": "Visit", "customer": f"9170{n:08d}", "ref": uuid.uuid4().hex}
        for n in range(600)
    ]
    with server_process(env) as server:
        _, webhook_id = provision(env, server.base, unique=False)
        acked = asyncio.run(
            post_until([server.base], webhook_id, bodies, kill_after=150, server=server)
        )
    assert 150 <= len(acked) < len(bodies), "the kill should interrupt the stream"
    engine = engine_of(env)
    try:
        with engine.connect() as conn:
            queued = conn.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar_one()
            logged = conn.execute(sa.text("SELECT count(*) FROM event_logs")).scalar_one()
        assert queued + logged >= len(acked), "acknowledged requests must be in the database"
        with running_server(env):
            wait_until_drained(engine)
        check_exactly_once(engine, acked)
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
            _, webhook_id = provision(env, first, unique=True)
            acked = asyncio.run(post_until([first, second], webhook_id, bodies, concurrency=24))
            assert len(acked) == len(bodies)
            engine = engine_of(env)
            try:
                wait_until_drained(engine)
                with engine.connect() as conn:
                    rows = conn.execute(
                        sa.text("SELECT unique_id, is_duplicate FROM event_records")
                    ).all()
                check_exactly_once(engine, acked)
            finally:
                engine.dispose()
        originals: dict[str, int] = {}
        for unique_id, duplicate in rows:
            originals[unique_id] = originals.get(unique_id, 0) + (0 if duplicate else 1)
        assert len(rows) == 600
        assert len(originals) == 60
        assert set(originals.values()) == {1}, "exactly one non-duplicate per unique key"
