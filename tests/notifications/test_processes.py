"""Delivery by real `eventrail process` processes: a kill -9 mid-delivery loses no
notification, and two processes on one PostgreSQL never send one delivery at once
nor more than maxAllowedConnections requests of one webhook (on SQLite, where
the write lock serialises the claims, the same holds)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.app import create_app
from eventrail.config import Settings
from eventrail.db import Database, migrate
from tests.fixtures.databases import postgres_available, postgres_database
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.notifications import receiving, wait_for, webhook_body
from tests.fixtures.server import cli_env, processor_process

FAST_ENV = {
    "EVENTRAIL_NOTIFY_ALLOW_PRIVATE": "true",
    "EVENTRAIL_NOTIFY_TIMEOUT_SECONDS": "1",
    "EVENTRAIL_NOTIFY_RETRY_BASE_SECONDS": "0.05",
    "EVENTRAIL_NOTIFY_RETRY_MAX_SECONDS": "0.2",
    "EVENTRAIL_NOTIFY_SENDERS": "8",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/notify.db"
        return
    if not postgres_available():
        pytest.skip("no PostgreSQL reachable")
    with postgres_database("eventrail_notify") as url:
        yield url


class Site:
    """A database shared with real processes, an org on it and a client of the app."""

    def __init__(self, db: Database, org_id: int, http: httpx.AsyncClient, env: dict[str, str]):
        self.db = db
        self.org_id = org_id
        self.http = http
        self.env = env

    def states(self) -> dict[str, str]:
        with self.db.transaction(write=False) as session:
            rows = session.execute(sa.text("SELECT id, state FROM notification_deliveries"))
            return {str(i): str(s) for i, s in rows}

    async def changes(self, count: int, receiver_url: str, connections: int) -> None:
        r = await self.http.post(
            "/v3/webHooks",
            json=webhook_body(receiver_url, ["customerAdded"], maxAllowedConnections=connections),
        )
        assert r.status_code == 200, r.text
        for n in range(count):
            r = await self.http.post(
                "/v2/customers",
                json={"profiles": [{"identifiers": [{"type": "mobile", "value": f"9198{n:08d}"}]}]},
            )
            assert r.status_code == 200, r.text


@pytest.fixture
async def site(database_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="x" * 40,
        processor_threads=0,
        notify_allow_private=True,
    )
    migrate(settings)
    db = Database(settings)
    app = create_app(settings, db)
    org_id = make_org(db)
    _, code, password = make_till(db, org_id)
    env = cli_env(database_url, tmp_path, EVENTRAIL_SECRET_KEY="x" * 40, **FAST_ENV)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers=basic(code, md5(password)),
    ) as client:
        yield Site(db, org_id, client, env)
    app.state.reads.close()
    db.dispose()


async def test_kill_9_mid_delivery_loses_nothing(site: Site) -> None:
    slow: set[str] = set()

    def behaviour(item: Any) -> str:
        # The first requests hang (past the 1 s timeout): the process is killed meanwhile.
        if len(slow) < 3 and item.headers["webhook-id"] not in slow:
            slow.add(item.headers["webhook-id"])
            return "hang"
        return "ok"

    with receiving(behaviour) as receiver:
        receiver.hang_seconds = 2.0
        await site.changes(12, receiver.url, connections=4)
        with processor_process(site.env, name="first") as first:
            wait_for(lambda: len(receiver.received) >= 1, 30)
            first.kill()
        assert any(state == "inflight" for state in site.states().values())
        with processor_process(site.env, name="second"):
            wait_for(lambda: set(site.states().values()) == {"delivered"}, 60)
        states = site.states()
        assert len(states) == 12
        assert set(states) <= receiver.delivered_ids()


async def test_two_processes_never_send_one_delivery_at_once(site: Site) -> None:
    def behaviour(item: Any) -> str:
        return "hang"

    with receiving(behaviour) as receiver:
        receiver.hang_seconds = 0.1
        await site.changes(40, receiver.url, connections=3)
        with processor_process(site.env, name="a"), processor_process(site.env, name="b"):
            wait_for(lambda: set(site.states().values()) == {"delivered"}, 60)
        assert receiver.overlaps == []
        assert len(receiver.received) == 40  # no lease ran out: each sent once
        assert receiver.peak <= 3
