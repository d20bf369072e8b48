"""GET /metrics while events flow through a real server: the counters move by what was
done, the scrape names no org, customer, event or till, a token guards it when set, and
several processes (server workers, `eventrail process`) add up in one scrape."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from pydantic import SecretStr

from eventrail.app import create_app
from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.kit import metrics
from tests.fixtures.envelopes import UNAUTHORIZED
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.processes import queued, wait_for
from tests.fixtures.server import processor_process, server_process
from tests.metrics.helpers import Samples, assert_aggregate, delta, parse, scrape, value
from tests.security.cluster import engine_for, make_webhook, settings_for

HOOK = "/webhooks/{webhook_id}"
BATCH = "/webhooks/{webhook_id}/batch"
REQUESTS = "eventrail_http_requests_total"


def _org(env: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """Migrate, make an org and its till: (org id, till code, its Basic auth)."""
    settings = settings_for(env)
    migrate(settings)
    db = Database(settings)
    try:
        org_id = make_org(db)
        _, code, password = make_till(db, org_id)
    finally:
        db.dispose()
    return org_id, code, basic(code, md5(password))


def _visit(mobile: str) -> dict[str, object]:
    """A Visit (tests.fixtures.durability.DEFINITION) by this customer."""
    return {"event_name": "Visit", "customer": mobile, "ref": uuid.uuid4().hex}


def _post(client: httpx.Client, webhook_id: str, body: dict[str, object]) -> None:
    r = client.post(f"/webhooks/{webhook_id}", json=body)
    assert r.status_code == 200, r.text


def _scrape_until(base: str, before: Samples, *, processed: int) -> tuple[Samples, str]:
    """A scrape once ``processed`` more events are counted (a batch is counted just
    after its commit, which empties the queue), or the last one after 30 s."""
    deadline = time.monotonic() + 30
    while True:
        after, text = scrape(base)
        done = sum(
            delta(before, after, "eventrail_events_processed_total", status=status)
            for status in ("EVENT_SUCCESS", "INVALID_EVENT_NAME")
        )
        if done >= processed or time.monotonic() > deadline:
            return after, text
        time.sleep(0.1)


def test_counters_move_as_events_flow(env: dict[str, str]) -> None:
    org_id, till_code, auth = _org(env)
    mobiles = [f"9177{n:08d}" for n in range(12)]
    engine = engine_for(env)
    try:
        with server_process(env) as server:
            webhook_id = make_webhook(server.base, auth, till_code, unique=False)
            before, _ = scrape(server.base)
            with httpx.Client(base_url=server.base, timeout=30) as client:
                for mobile in mobiles:
                    _post(client, webhook_id, _visit(mobile))
                for _ in range(3):  # no such event: logged as INVALID_EVENT_NAME
                    _post(client, webhook_id, {**_visit(mobiles[0]), "event_name": "Stranger"})
                events = [_visit(mobile) for mobile in mobiles[:4]]
                r = client.post(f"/webhooks/{webhook_id}/batch", json={"events": events})
                assert r.status_code == 200, r.text
                # Raw paths hold ids: the route label is the template, or "unmatched".
                missing = client.get(f"/v2/customers/{mobiles[1]}", headers=auth).status_code
                assert client.get(f"/no/such/{mobiles[2]}").status_code == 404
                # A budget of 2 a minute: the third read is refused and counted.
                r = client.put("/v2/orgs/settings", json={"rateLimitPerMinute": 2}, headers=auth)
                assert r.status_code == 200, r.text
                reads = [client.get("/v2/events/logs", headers=auth).status_code for _ in range(3)]
                assert reads == [200, 200, 429]
            wait_for(lambda: queued(engine) == 0, 60, "the processors")
            after, text = _scrape_until(server.base, before, processed=19)
    finally:
        engine.dispose()

    assert delta(before, after, "eventrail_events_acknowledged_total") == 12 + 3 + 4
    processed = "eventrail_events_processed_total"
    assert delta(before, after, processed, status="EVENT_SUCCESS") == 16
    assert delta(before, after, processed, status="INVALID_EVENT_NAME") == 3
    assert delta(before, after, "eventrail_processor_batch_size_sum") == 19
    assert delta(before, after, "eventrail_processor_batch_size_count") >= 1
    assert delta(before, after, "eventrail_processor_batch_duration_seconds_count") == delta(
        before, after, "eventrail_processor_batch_size_count"
    )
    assert delta(before, after, REQUESTS, method="POST", route=HOOK, status="200") == 15
    assert delta(before, after, REQUESTS, method="POST", route=BATCH, status="200") == 1
    seconds = "eventrail_http_request_duration_seconds_count"
    assert delta(before, after, seconds, method="POST", route=HOOK) == 15
    assert delta(before, after, REQUESTS, method="GET", route="/v2/events/logs", status="200") == 2
    assert delta(before, after, REQUESTS, method="GET", route="/v2/events/logs", status="429") == 1
    assert delta(before, after, "eventrail_rate_limit_refusals_total", budget="requests") == 1
    route = "/v2/customers/{id}"
    assert delta(before, after, REQUESTS, method="GET", route=route, status=str(missing)) == 1
    assert delta(before, after, REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert value(after, REQUESTS, method="GET", route="/metrics", status="200") >= 1
    assert value(after, "eventrail_ingestion_queue_depth") == 0
    assert value(after, "eventrail_ingestion_queue_oldest_age_seconds") == 0
    assert value(after, "eventrail_database_errors_total") == 0
    assert_aggregate(
        after, text, org_id, till_code, webhook_id, "Visit", "Stranger", "Basic", *mobiles
    )


def test_the_queue_gauges_show_what_waits(env: dict[str, str]) -> None:
    _, till_code, auth = _org(env)
    with server_process(env, args=("--no-processors",)) as server:
        webhook_id = make_webhook(server.base, auth, till_code, unique=False)
        with httpx.Client(base_url=server.base, timeout=30) as client:
            for n in range(5):
                _post(client, webhook_id, _visit(f"9166{n:08d}"))
        samples, _ = scrape(server.base)
    assert value(samples, "eventrail_ingestion_queue_depth") == 5
    assert 0 < value(samples, "eventrail_ingestion_queue_oldest_age_seconds") < 60
    assert value(samples, "eventrail_events_acknowledged_total") == 5


TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
async def guarded(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}), db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    app.state.reads.close()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789abcdef", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
)
async def test_a_wrong_token_is_401_with_the_envelope(
    guarded: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = await guarded.get("/metrics", headers=headers)
    assert r.status_code == 401
    assert r.json() == UNAUTHORIZED
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["x-cap-requestid"]


async def test_the_right_token_scrapes_as_often_as_asked(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/metrics")).status_code == 401
    for _ in range(30):  # no budget: Prometheus scrapes often
        r = await guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200, r.text
        assert "x-ratelimit-limit" not in r.headers
    samples = parse(r.text)
    assert value(samples, REQUESTS, method="GET", route="/metrics", status="401") >= 1
    assert value(samples, REQUESTS, method="GET", route="/metrics", status="200") >= 29


async def test_no_token_needed_when_none_is_set(http: httpx.AsyncClient) -> None:
    r = await http.get("/metrics", headers={"Authorization": "Bearer anything-at-all"})
    assert r.status_code == 200
    assert "eventrail_http_requests_total" in r.text


def test_workers_and_a_processor_process_add_up(env: dict[str, str], tmp_path: Path) -> None:
    """Two server workers that only accept, one `eventrail process` that processes, one
    directory: every scrape, whichever worker answers it, counts them all. Files of a
    process that no longer runs are removed when the server starts."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_99999999.db"
    stale.write_bytes(b"\0" * 64)
    env = {**env, "EVENTRAIL_METRICS_DIR": str(metrics_dir)}
    _, till_code, auth = _org(env)
    engine = engine_for(env)
    try:
        with (
            server_process(env, workers=2, args=("--no-processors",)) as server,
            processor_process(env),
        ):
            assert not stale.exists()
            webhook_id = make_webhook(server.base, auth, till_code, unique=False)
            with httpx.Client(base_url=server.base, timeout=30) as client:
                for n in range(20):
                    _post(client, webhook_id, _visit(f"9155{n:08d}"))
            wait_for(lambda: queued(engine) == 0, 60, "the processor process")
            pids = {int(f.stem.rsplit("_", 1)[1]) for f in metrics_dir.glob("counter_*.db")}
            assert len(pids) >= 4, pids  # the server, its two workers, the processor
            # each worker writes its request counts at most a second and a half late
            # (kit/metrics.RequestTally): past that, every scrape has them all
            time.sleep(metrics.FLUSH_SECONDS * 1.5 + 0.2)
            scrapes = []
            for _ in range(12):  # new connections: either worker may answer
                samples, _ = scrape(server.base)
                scrapes.append(samples)
    finally:
        engine.dispose()
    for samples in scrapes:
        # acknowledged by the workers, processed by the other process
        assert value(samples, "eventrail_events_acknowledged_total") == 20
        assert value(samples, "eventrail_events_processed_total", status="EVENT_SUCCESS") == 20
        assert value(samples, REQUESTS, method="POST", route=HOOK, status="200") == 20


async def test_database_reconnects_are_counted(postgres_url: str, tmp_path: Path) -> None:
    """Every connection of the server cut by the database (as a restart or a proxy's
    idle timeout does): the next requests still succeed, each on a new connection, and
    the reconnections are counted, not as errors."""
    settings = Settings(
        database_url=postgres_url, data_dir=tmp_path, secret_key="r" * 40, processor_threads=0
    )
    migrate(settings)
    db = Database(settings)
    app = create_app(settings, db)
    org_id = make_org(db)
    _, code, password = make_till(db, org_id)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=basic(code, md5(password))
        ) as client:
            # both kinds of connection open: the lane's reader and the pool's
            assert (await client.get("/v2/events/logs")).status_code == 200
            assert (await client.get("/v2/orgs/settings")).status_code == 200
            before = parse((await client.get("/metrics")).text)
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            assert (await client.get("/v2/events/logs")).status_code == 200
            assert (await client.get("/v2/orgs/settings")).status_code == 200
            after = parse((await client.get("/metrics")).text)
    finally:
        app.state.reads.close()
        db.dispose()
    assert delta(before, after, "eventrail_database_reconnects_total") >= 2
    assert delta(before, after, "eventrail_database_errors_total") == 0


async def test_the_request_tally_writes_what_observe_would() -> None:
    """Requests tallied in memory reach the metrics, unasked, within a second and a
    half of the last one (a quiet spell after a burst), with the same sum and bucket
    counts as one Histogram.observe() per request."""
    route = f"/tally/{uuid.uuid4().hex}"
    registry = CollectorRegistry()
    reference = Histogram("reference_seconds", "", buckets=metrics._BOUNDS, registry=registry)
    durations = [0.0005, 0.001, 0.0049, 0.02, 0.3, 7.0, 45.0, 0.001]
    tally = metrics.RequestTally()
    for seconds in durations:
        tally.add("GET", route, 200, seconds, time.perf_counter())
        reference.observe(seconds)
    tally.add("GET", route, 404, 0.002, time.perf_counter())
    reference.observe(0.002)
    await asyncio.sleep(metrics.FLUSH_SECONDS * 1.5 + 0.3)  # no request, no scrape
    samples = parse(generate_latest(metrics.REGISTRY).decode())
    assert value(samples, REQUESTS, method="GET", route=route, status="200") == len(durations)
    assert value(samples, REQUESTS, method="GET", route=route, status="404") == 1
    compared = 0
    for (name, labels), number in parse(generate_latest(registry).decode()).items():
        if name.startswith("reference_seconds_"):
            ours = name.replace("reference_seconds", "eventrail_http_request_duration_seconds")
            got = value(samples, ours, **dict(labels), method="GET", route=route)
            assert got == pytest.approx(number), (name, labels)
            compared += 1
    assert compared == len(metrics._BOUNDS) + 2  # every bucket, the sum and the count
