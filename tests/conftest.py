"""Fixtures: the app on each real database, tenants (org + till + HTTP client)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from eventrail.app import EventrailApp, create_app
from eventrail.config import Settings
from eventrail.db import Database, migrate
from tests.fixtures.databases import REQUIRE_POSTGRES, postgres_available, postgres_database
from tests.fixtures.factories import Tenant, basic, make_org, make_till, md5
from tests.fixtures.server import cli_env

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
_POSTGRES_UP = postgres_available()

# CI (.ci/run) replays the same generated examples on every run, so that a red CI
# means a change broke something; a local `make test` draws new ones each time.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("EVENTRAIL_TEST_DERANDOMIZE") == "1":
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _require_postgres() -> None:
    if not _POSTGRES_UP:
        if REQUIRE_POSTGRES:
            pytest.fail(
                "PostgreSQL is required (EVENTRAIL_TEST_REQUIRE_POSTGRES=1) but unreachable"
            )
        pytest.skip("no PostgreSQL reachable")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    _require_postgres()
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a real `eventrail` command on a fresh database of each kind
    (a file in the test's directory, or a PostgreSQL database of its own)."""
    if request.param == "sqlite":
        yield cli_env(f"sqlite:///{tmp_path}/eventrail.db", tmp_path)
        return
    _require_postgres()
    with postgres_database("eventrail_cli") as url:
        yield cli_env(url, tmp_path)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def settings(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Settings:
    data_dir = tmp_path_factory.mktemp(f"data-{backend}")
    if backend == "sqlite":
        url = f"sqlite:///{data_dir / 'eventrail.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    # No processor threads: tests drain the queue when they choose (see `drain`);
    # the tests of the processors themselves start them.
    settings = Settings(
        database_url=url, data_dir=data_dir, secret_key=TEST_SECRET, processor_threads=0
    )
    migrate(settings)
    return settings


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database) -> Iterator[EventrailApp]:
    application = create_app(settings, db)
    application.state.background.start()
    yield application
    application.state.background.stop()
    application.state.reads.close()


@pytest.fixture
def drain(app: EventrailApp) -> Callable[[], int]:
    """Process everything queued so far; the number of requests processed."""

    def run() -> int:
        processed: int = app.state.background.processor.drain()
        return processed

    return run


@pytest.fixture
async def http(app: EventrailApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


TenantFactory = Callable[..., Awaitable[Tenant]]


@pytest.fixture
async def make_tenant(app: EventrailApp, db: Database) -> AsyncIterator[TenantFactory]:
    clients: list[httpx.AsyncClient] = []

    async def factory(**org_overrides: Any) -> Tenant:
        org_id = make_org(db, **org_overrides)
        till_id, code, password = make_till(db, org_id)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers=basic(code, md5(password)),
        )
        clients.append(client)
        return Tenant(org_id, till_id, code, password, client, db)

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    return await make_tenant()


@pytest.fixture
def tmp_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"
