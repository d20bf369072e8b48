"""GET /health and GET /ready: no credentials, no budget, nothing about any org; /ready
answers 503 with the reason when the process cannot do its work."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp, create_app
from eventrail.config import Settings
from eventrail.db import Database
from eventrail.kit.dates import now_ms
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import setup_org

SECRET = "health-test-secret-key-0123456789abcdefghij"


async def test_health_needs_nothing_and_touches_no_database(
    app: EventrailApp, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_database(*_: Any, **__: Any) -> None:
        raise AssertionError("/health must not touch the database")

    monkeypatch.setattr(app.state.db, "transaction", no_database)
    for _ in range(3):
        r = await http.get("/health")
        assert r.status_code == 200
        assert r.json() == {"status": "up"}
        assert r.headers["x-cap-requestid"]
        assert "x-ratelimit-limit" not in r.headers


async def test_ready_reports_each_check(http: httpx.AsyncClient, settings: Settings) -> None:
    r = await http.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["schema"] == "ok"
    assert body["checks"]["processors"] == "none in this process"  # the tests' app
    assert body["checks"]["rateLimits"] == "in this process"
    assert float(body["checks"]["ingestionQueueAgeSeconds"]) >= 0


async def test_ready_is_not_rate_limited_nor_reads_credentials(
    tenant: Tenant, http: httpx.AsyncClient
) -> None:
    r = await tenant.http.put("/v2/orgs/settings", json={"rateLimitPerMinute": 1})
    assert r.status_code == 200
    for _ in range(5):
        assert (await tenant.http.get("/ready")).status_code == 200
        assert (
            await http.get("/ready", headers={"Authorization": "Basic bm86bm8="})
        ).status_code == 200
    assert (await tenant.http.get("/v2/orgs/settings")).status_code == 200
    assert (await tenant.http.get("/v2/orgs/settings")).status_code == 429


async def test_ready_says_503_when_the_queue_waits_too_long(
    tenant: Tenant,
    app: EventrailApp,
    http: httpx.AsyncClient,
    drain: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = await setup_org(tenant)
    assert (await org.http.post(org.url, json=org.payload())).status_code == 200
    with app.state.db.transaction() as session:  # it arrived two minutes ago
        session.execute(
            sa.text("UPDATE ingest_requests SET received_at = :t"), {"t": now_ms() - 120_000}
        )
    monkeypatch.setattr(app.state.readiness, "max_queue_age_seconds", 60)
    r = await http.get("/ready")
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["status"] == "not ready"
    assert body["errors"][0]["code"] == 503
    assert "the oldest queued event waits for 1" in body["errors"][0]["message"]
    for other in (org.webhook_id, org.event_name, org.mobile, tenant.till_code):
        assert other not in r.text
    drain()
    assert (await http.get("/ready")).status_code == 200


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def served(tmp_path: Any, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app on ``database_url`` (which need not work)."""
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, secret_key=SECRET, processor_threads=0
    )
    database = Database(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(settings, database))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        database.dispose()


async def test_ready_says_503_without_a_database_and_leaks_no_text(tmp_path: Any) -> None:
    port = _closed_port()
    url = f"postgresql://eventrail:hunter2@127.0.0.1:{port}/nowhere"
    async with served(tmp_path, url) as http:
        r = await http.get("/ready")
        assert r.status_code == 503, r.text
        assert r.json()["checks"]["database"] == "unreachable"
        for leak in (str(port), "hunter2", "eventrail", "nowhere", "Traceback", "psycopg"):
            assert leak not in r.text
        assert (await http.get("/health")).status_code == 200


async def test_ready_says_503_when_the_schema_is_behind(tmp_path: Any) -> None:
    async with served(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}") as http:
        r = await http.get("/ready")
    assert r.status_code == 503, r.text
    assert "run migrate" in r.json()["errors"][0]["message"]


async def test_ready_says_when_rate_limits_count_locally(
    app: EventrailApp, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis unreachable: still ready (each process counts for itself), and it says so."""
    from eventrail.kit.ratelimit import RateLimiter

    limiter = RateLimiter(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        limiter.check(5, "probe")
        monkeypatch.setattr(app.state.readiness, "limiter", limiter)
        r = await http.get("/ready")
        assert r.status_code == 200, r.text
        assert r.json()["checks"]["rateLimits"] == "Redis unreachable: counting in this process"
        assert "until Redis is back" in r.json()["warnings"][0]
    finally:
        limiter.close()


async def test_a_schema_newer_than_the_server_keeps_it_ready_with_a_warning(
    tmp_path: Any,
) -> None:
    """During an upgrade a newer eventrail migrates first: the old servers keep
    serving (the migrations only add) and say so; an old command refuses to start."""
    from eventrail.db import known_revisions, migrate
    from tests.fixtures.server import cli_env, run_cli

    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key=SECRET)
    migrate(settings)
    newer = "29991231_9999"
    assert newer not in known_revisions()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": newer})
    engine.dispose()
    async with served(tmp_path, url) as http:
        r = await http.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["schema"] == "newer than this server"
    assert any("newer than this server" in w for w in r.json()["warnings"])

    code, answer = run_cli(["org", "create", "--name", "Late"], cli_env(url, tmp_path))
    assert code == 1
    assert "schema is newer than this eventrail: install the newer version" in str(answer)
