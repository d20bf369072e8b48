"""Processors: batches in one transaction, and a request that keeps failing is set
aside (logged, kept) instead of blocking the queue or being lost."""

from __future__ import annotations

import time
from typing import Any

import httpx
import sqlalchemy as sa

from eventrail.app import EventrailApp
from eventrail.db import Database
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant

SHOP = {
    "eventName": "Shop",
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
        {"name": "amount", "type": "double"},
    ],
}


async def _webhook(tenant: Tenant) -> str:
    assert (await tenant.http.post("/v2/events", json=SHOP)).status_code == 200
    r = await tenant.http.post(
        "/v2/events/webhook",
        json={"transformerType": "defaultTransformer", "tillCode": tenant.till_code},
    )
    assert r.status_code == 200, r.text
    webhook_id: str = r.json()["webHookId"]
    return webhook_id


async def _post(tenant: Tenant, webhook_id: str, n: int, prefix: str) -> list[str]:
    ids = []
    for i in range(n):
        body = {"event_name": "Shop", "customer": f"{prefix}{i:06d}", "amount": i}
        r = await tenant.http.post(f"/webhooks/{webhook_id}", json=body)
        assert r.status_code == 200, r.text
        ids.append(r.json()["requestId"])
    return ids


def _statuses(db: Database, ids: list[str]) -> dict[str, str | None]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            sa.text("SELECT id, status FROM event_logs WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        ).all()
    return dict(rows)


async def test_one_batch_processes_many_events_in_one_transaction(
    tenant: Tenant, app: EventrailApp, db: Database, drain: Any
) -> None:
    drain()  # leave nothing of other tests in the queue
    webhook_id = await _webhook(tenant)
    ids = await _post(tenant, webhook_id, 120, "91700")
    processor = app.state.background.processor
    assert processor.run_once(limit=500) == 120
    statuses = _statuses(db, ids)
    assert len(statuses) == 120
    assert set(statuses.values()) == {"EVENT_SUCCESS"}
    assert processor.run_once(limit=500) == 0


async def test_a_definition_is_marked_verified_once_not_by_every_batch(
    tenant: Tenant, app: EventrailApp, db: Database, drain: Any
) -> None:
    drain()
    webhook_id = await _webhook(tenant)
    processor = app.state.background.processor
    updates: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if sql.lstrip().upper().startswith("UPDATE EVENT_DEFINITIONS"):
            updates.append(sql)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        await _post(tenant, webhook_id, 3, "91740")
        assert processor.run_once(limit=500) == 3
        assert len(updates) == 1  # the first success verifies the definition
        await _post(tenant, webhook_id, 3, "91750")
        assert processor.run_once(limit=500) == 3
        assert len(updates) == 1  # already verified: nothing to update
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    r = await tenant.http.get("/v2/events", params={"eventName": "Shop"})
    assert r.json()["data"][0]["clickEventsMeta"]["testStatus"] == "VERIFIED", r.text


async def test_a_failing_request_is_set_aside_and_the_others_pass(
    make_tenant: TenantFactory, app: EventrailApp, db: Database, drain: Any, http: httpx.AsyncClient
) -> None:
    drain()
    healthy, broken = await make_tenant(), await make_tenant()
    healthy_hook = await _webhook(healthy)
    broken_hook = await _webhook(broken)
    # A definition that no code path could have written (no customer field): every
    # batch holding an event of it fails, as a bug would make it fail.
    with db.transaction() as session:
        session.execute(
            sa.text("UPDATE event_definitions SET fields = :f WHERE org_id = :o"),
            {"f": '[{"name": "amount", "type": "DOUBLE", "attributes": {}}]', "o": broken.org_id},
        )
    good = await _post(healthy, healthy_hook, 5, "91710")
    bad = await _post(broken, broken_hook, 2, "91720")
    good += await _post(healthy, healthy_hook, 5, "91730")
    processor = app.state.background.processor
    processor.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_statuses(db, good + bad)) < len(good + bad):
            time.sleep(0.2)
    finally:
        processor.stop()
    statuses = _statuses(db, good + bad)
    assert {statuses[i] for i in good} == {"EVENT_SUCCESS"}
    assert {statuses[i] for i in bad} == {"EVENT_PROCESSING_FAILED"}
    r = await broken.http.get("/v2/events/logs", params={"status": "EVENT_PROCESSING_FAILED"})
    entries = r.json()["data"]
    assert {e["id"] for e in entries} == set(bad)
    assert all('"event_name":"Shop"' in e["inputRequest"] for e in entries)
    assert all("post it again" in e["message"] for e in entries)
    with db.transaction(write=False) as session:
        assert session.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar_one() == 0
