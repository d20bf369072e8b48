"""Delivery to a real receiver: every committed change arrives at least once, in order
per entity, signed; none for a rolled-back write; retries past 500s, timeouts, closed
connections and a receiver that is down; give-up and redelivery; the delivery log;
connected orgs."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp, create_app
from eventrail.config import Settings
from eventrail.db import Database
from eventrail.notifications.delivery import DeliveryPolicy, Notifier
from eventrail.notifications.emit import emit
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.ingest import assert_error
from tests.fixtures.notifications import (
    ALL_NAMES,
    receiving,
    verify,
    wait_for,
    webhook_body,
)

FAST = DeliveryPolicy(
    timeout_seconds=0.5,
    retry_base_seconds=0.05,
    retry_max_seconds=0.2,
    give_up_seconds=30,
    allow_private=True,
    senders=4,
    idle_seconds=0.05,
)


@pytest.fixture(scope="module")
def private_app(settings: Settings, db: Database) -> Iterator[EventrailApp]:
    """The app of an operator who set EVENTRAIL_NOTIFY_ALLOW_PRIVATE (loopback receivers)."""
    application = create_app(settings.model_copy(update={"notify_allow_private": True}), db)
    yield application
    application.state.reads.close()


class Org:
    def __init__(self, org_id: int, http: httpx.AsyncClient) -> None:
        self.org_id = org_id
        self.http = http


@pytest.fixture
async def orgs(private_app: EventrailApp, db: Database) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def make(parent: int | None = None) -> Org:
        org_id = make_org(db, parent_org_id=parent)
        _, code, password = make_till(db, org_id)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=private_app, raise_app_exceptions=False),
            base_url="http://testserver",
            headers=basic(code, md5(password)),
        )
        clients.append(client)
        return Org(org_id, client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def notifier(db: Database) -> Iterator[Notifier]:
    running = Notifier(db, FAST)
    running.start()
    yield running
    running.stop()


async def _hook(org: Org, url: str, names: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    r = await org.http.post("/v3/webHooks", json=webhook_body(url, names or ALL_NAMES, **extra))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


async def _customer(org: Org, mobile: str) -> int:
    r = await org.http.post(
        "/v2/customers", json={"profiles": [{"identifiers": [{"type": "mobile", "value": mobile}]}]}
    )
    assert r.status_code == 200, r.text
    customer_id: int = r.json()["createdId"]
    return customer_id


def _emit_then_fail(db: Database, org_id: int, customer_id: int) -> None:
    with db.transaction() as session:
        emit(session, org_id, "customerUpdated", customer_id, {"never": True})
        raise RuntimeError("roll back")


def _states(db: Database, org_id: int) -> dict[str, str]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            sa.text("SELECT id, state FROM notification_deliveries WHERE org_id = :o"),
            {"o": org_id},
        )
        return {str(i): str(s) for i, s in rows}


def _all_delivered(db: Database, org_id: int, count: int) -> bool:
    states = _states(db, org_id)
    return len(states) == count and set(states.values()) == {"delivered"}


async def test_committed_changes_arrive_signed_and_in_order(
    orgs: Any, db: Database, notifier: Notifier
) -> None:
    org = await orgs()
    with receiving() as receiver:
        hook = await _hook(org, receiver.url)
        first = await _customer(org, "919800000101")
        second = await _customer(org, "919800000102")
        names = ["A", "B", "C", "D", "E"]
        for name in names:
            for customer_id in (first, second):
                r = await org.http.put(
                    f"/v2/customers/{customer_id}", json={"profiles": [{"firstName": name}]}
                )
                assert r.status_code == 200, r.text
        r = await org.http.put(
            "/v2/customers/lookup/status",
            params={"identifierName": "id", "identifierValue": str(first)},
            json={"label": "Inactive"},
        )
        # A rolled-back write: its outbox row goes with it.
        with pytest.raises(RuntimeError):
            _emit_then_fail(db, org.org_id, first)

        expected = 2 + 2 * len(names) + (1 if r.status_code == 200 else 0)
        wait_for(lambda: _all_delivered(db, org.org_id, expected))
        got = list(receiver.answered)
    assert {g.headers["webhook-id"] for g in got} == set(_states(db, org.org_id))
    for item in got:
        assert verify(hook["secret"], item.headers, item.body), item.headers
        assert item.headers["authorization"] == "Basic abc"
        assert item.method == "POST" and item.path == "/hook"
        assert "never" not in item.json["data"]
    for customer_id in (first, second):
        mine = [g.json for g in got if g.json["refId"] == f"{org.org_id}_{customer_id}"]
        assert mine[0]["eventName"] == "customerAdded"
        updates = [m for m in mine if m["eventName"] == "customerUpdated"]
        seen = [
            c["additionalFields"]["currentValue"]
            for u in updates
            for c in u["data"]["changes"]
            if c["updatedField"] == "FirstName"
        ]
        assert seen == names  # in order per entity
        assert all(m["orgId"] == org.org_id for m in mine)


async def test_retries_through_failures_then_the_log_shows_it(
    orgs: Any, db: Database, notifier: Notifier
) -> None:
    org = await orgs()
    tries: dict[str, int] = {}
    modes = ["fail", "hang", "close"]

    def flaky(item: Any) -> str:
        key = item.headers["webhook-id"]
        tries[key] = tries.get(key, 0) + 1
        n = tries[key]
        return modes[n - 1] if n <= len(modes) else "ok"

    with receiving(flaky) as receiver:
        receiver.hang_seconds = 1.0  # past the 0.5 s timeout
        await _hook(org, receiver.url, ["customerAdded"])
        r = await org.http.post(
            "/v2/customers",
            json={"profiles": [{"identifiers": [{"type": "mobile", "value": "919800000201"}]}]},
        )
        request_id = r.headers["x-cap-requestid"]
        customer_id = r.json()["createdId"]
        wait_for(lambda: _all_delivered(db, org.org_id, 1))
    [delivery_id] = _states(db, org.org_id)
    assert tries[delivery_id] == 4

    r = await org.http.get(f"/v3/webHooks/eventLog/requestId/{request_id}")
    [entry] = r.json()["data"]
    assert entry["eventName"] == "customerAdded"
    assert entry["refId"] == f"{org.org_id}_{customer_id}"
    assert entry["requestId"] == request_id
    assert entry["consumerResponse"]["webhookHttpStatus"] == 200.0
    assert entry["consumerResponse"]["time_taken"] >= 0
    assert entry["eventStartTimestamp"] and entry["eventEndTimestamp"]
    assert entry["status"] == "delivered" and entry["attempts"] == 4
    r = await org.http.get(f"/v3/webHooks/eventLog/refId/{org.org_id}_{customer_id}")
    assert [e["eventLogId"] for e in r.json()["data"]] == [delivery_id]
    r = await org.http.get(f"/v3/webhooks/eventLog/{delivery_id}")
    assert r.json()["data"]["eventId"] == entry["eventId"]
    r = await org.http.get("/v3/webHooks/eventLog", params={"status": "delivered"})
    assert [e["eventLogId"] for e in r.json()["data"]] == [delivery_id]
    r = await org.http.get("/v3/webHooks/eventLog", params={"status": "failed"})
    assert r.json()["data"] == []


async def test_a_receiver_that_is_down_fails_then_is_redelivered(orgs: Any, db: Database) -> None:
    org = await orgs()
    with receiving() as receiver:
        port = receiver.port
    # Nobody listens on that port now.
    await _hook(org, f"http://127.0.0.1:{port}/hook", ["customerAdded"])
    await _customer(org, "919800000301")
    quick = Notifier(db, dataclasses.replace(FAST, give_up_seconds=0.5))
    quick.start()
    try:
        wait_for(lambda: set(_states(db, org.org_id).values()) == {"failed"})
        [delivery_id] = _states(db, org.org_id)
        r = await org.http.get("/v3/webHooks/eventLog", params={"status": "failed"})
        [entry] = r.json()["data"]
        assert entry["lastError"].startswith("connection")
        with receiving(port=port) as receiver:
            r = await org.http.post(f"/v3/webHooks/eventLog/{delivery_id}/redeliver")
            assert r.status_code == 200, r.text
            wait_for(lambda: _all_delivered(db, org.org_id, 1))
            assert receiver.delivered_ids() == {delivery_id}
    finally:
        quick.stop()


async def test_only_orgs_with_a_listening_webhook_pay_for_rows(orgs: Any, db: Database) -> None:
    org = await orgs()
    await _customer(org, "919800000401")
    assert _states(db, org.org_id) == {}
    made = await _hook(org, "http://127.0.0.1:9/hook", ["cardAdded"])
    await _customer(org, "919800000402")
    assert _states(db, org.org_id) == {}  # customerAdded: nobody listens
    r = await org.http.put(
        f"/v3/webHooks/{made['webHookId']}",
        json=webhook_body("http://127.0.0.1:9/hook", ["customerAdded"], active=False),
    )
    assert r.status_code == 200
    await _customer(org, "919800000403")
    assert _states(db, org.org_id) == {}  # inactive


async def test_a_parent_sees_children_only_with_listen_to_child_events(
    orgs: Any, db: Database
) -> None:
    parent = await orgs()
    child = await orgs(parent=parent.org_id)
    deaf = await _hook(parent, "http://127.0.0.1:9/a", ["customerAdded"])
    await _customer(child, "919800000501")
    assert _states(db, parent.org_id) == {}
    listening = await _hook(
        parent, "http://127.0.0.1:9/b", ["customerAdded"], listenToChildEvents=True
    )
    await _customer(child, "919800000502")
    with db.transaction(write=False) as session:
        rows = session.execute(
            sa.text(
                "SELECT webhook_id, source_org_id FROM notification_deliveries WHERE org_id = :o"
            ),
            {"o": parent.org_id},
        ).all()
    assert [(str(w), int(s)) for w, s in rows] == [(listening["webHookId"], child.org_id)]
    assert deaf["webHookId"] != listening["webHookId"]
    # The child cannot read its parent's log.
    [delivery_id] = _states(db, parent.org_id)
    assert_error(await child.http.get(f"/v3/webhooks/eventLog/{delivery_id}"), 404)


async def test_another_org_cannot_read_or_redeliver_the_log(orgs: Any, db: Database) -> None:
    a = await orgs()
    b = await orgs()
    await _hook(a, "http://127.0.0.1:9/hook", ["customerAdded"])
    r = await a.http.post(
        "/v2/customers",
        json={"profiles": [{"identifiers": [{"type": "mobile", "value": "919800000601"}]}]},
    )
    request_id = r.headers["x-cap-requestid"]
    customer_id = r.json()["createdId"]
    [delivery_id] = _states(db, a.org_id)
    assert_error(await b.http.get(f"/v3/webhooks/eventLog/{delivery_id}"), 404)
    assert_error(await b.http.post(f"/v3/webHooks/eventLog/{delivery_id}/redeliver"), 404)
    r = await b.http.get(f"/v3/webHooks/eventLog/requestId/{request_id}")
    assert r.json()["data"] == []
    r = await b.http.get(f"/v3/webHooks/eventLog/refId/{a.org_id}_{customer_id}")
    assert r.json()["data"] == []
    assert (await b.http.get("/v3/webHooks/eventLog")).json()["data"] == []
    r = await a.http.get(f"/v3/webhooks/eventLog/{delivery_id}")
    assert r.status_code == 200


async def test_a_name_that_resolves_to_a_private_address_is_blocked_at_delivery(
    orgs: Any, db: Database
) -> None:
    org = await orgs()
    with receiving() as receiver:
        # Registered where private addresses were allowed, sent where they are not.
        await _hook(org, f"http://localhost:{receiver.port}/hook", ["customerAdded"])
        await _customer(org, "919800000701")
        strict = Notifier(db, dataclasses.replace(FAST, allow_private=False))
        try:
            for item in strict.claim(100):
                strict.record(item, strict.send(item))
        finally:
            strict.stop()
        assert receiver.received == []
    r = await org.http.get("/v3/webHooks/eventLog")
    [entry] = r.json()["data"]
    assert entry["status"] == "pending"
    assert entry["lastError"].startswith("blocked")
