"""Delivery to a real receiver: every committed change arrives at least once, in order
per entity, signed; none for a rolled-back write; retries past 500s, timeouts, closed
connections and a receiver that is down; give-up and redelivery; the delivery log;
connected orgs."""

from __future__ import annotations

import dataclasses
import email.utils
import ipaddress
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp, create_app
from eventrail.config import Settings
from eventrail.db import Database
from eventrail.notifications.delivery import DeliveryPolicy, Notifier, retry_after_ms
from eventrail.notifications.emit import emit
from eventrail.notifications.urls import IpAddress
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.ingest import assert_error
from tests.fixtures.notifications import (
    ALL_NAMES,
    Answer,
    Behaviour,
    Received,
    receiving,
    tls_contexts,
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


# -- DNS: one resolution per connection, the connection to a checked address --------------
# An address that counts as public but that no one answers for (3ffe::/16, the returned
# 6bone block, is routed nowhere): a connection to it fails without reaching anybody.
UNROUTED_PUBLIC = "3ffe::1"


class Rebinding:
    """A DNS server that answers ``first`` to the first question about ``host`` and
    ``later`` to every other one; any other name is not resolved."""

    def __init__(self, host: str, first: list[str], later: list[str]) -> None:
        self.host = host
        self.first = [ipaddress.ip_address(a) for a in first]
        self.later = [ipaddress.ip_address(a) for a in later]
        self.asked = 0

    def __call__(self, host: str, port: int) -> list[IpAddress]:
        if host != self.host:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        self.asked += 1
        return self.first if self.asked == 1 else self.later


def _send_due(notifier: Notifier) -> None:
    try:
        for item in notifier.claim(100):
            notifier.record(item, notifier.send(item))
    finally:
        notifier.stop()


def _mine(org: Org, items: list[Received]) -> list[Received]:
    """The requests about ``org`` (a due delivery of an earlier test may come too)."""
    return [i for i in items if i.json["orgId"] == org.org_id]


async def _forget(org: Org, hook: dict[str, Any]) -> None:
    """Delete the webhook: its pending deliveries end, so that no later test's worker
    asks a real DNS server about a test's name."""
    r = await org.http.delete(f"/v3/webHooks/{hook['webHookId']}")
    assert r.status_code == 200, r.text


async def _last_entry(org: Org) -> dict[str, Any]:
    r = await org.http.get("/v3/webHooks/eventLog")
    [entry] = r.json()["data"]
    return dict(entry)


async def test_the_connection_goes_to_the_address_the_name_resolved_to(
    orgs: Any, db: Database
) -> None:
    org = await orgs()
    host = f"rebind-{org.org_id}.test"
    with receiving() as right, receiving(host="127.0.0.2", port=right.port) as wrong:
        dns = Rebinding(host, ["127.0.0.1"], ["127.0.0.2"])
        await _hook(org, f"http://{host}:{right.port}/hook", ["customerAdded"])
        await _customer(org, "919800000801")
        _send_due(Notifier(db, FAST, resolver=dns))
        assert wrong.received == []
        [got] = _mine(org, right.answered)
    assert dns.asked == 1  # resolved once; the connection went to that answer
    assert got.headers["host"] == f"{host}:{right.port}"  # the URL's host, not the address
    assert (await _last_entry(org))["status"] == "delivered"


async def test_a_name_rebound_to_loopback_after_the_check_does_not_reach_it(
    orgs: Any, db: Database
) -> None:
    org = await orgs()
    host = f"rebind-{org.org_id}.test"
    with receiving() as receiver:
        # Public to the first question, loopback to any later one.
        dns = Rebinding(host, [UNROUTED_PUBLIC], ["127.0.0.1"])
        hook = await _hook(org, f"http://{host}:{receiver.port}/hook", ["customerAdded"])
        await _customer(org, "919800000802")
        _send_due(Notifier(db, dataclasses.replace(FAST, allow_private=False), resolver=dns))
        assert receiver.received == []
    assert dns.asked == 1
    entry = await _last_entry(org)
    assert entry["status"] == "pending"
    # Not blocked: the one answer was public, and the connection went to it (and failed).
    assert entry["lastError"].startswith("connection") or entry["lastError"] == "timeout", entry
    await _forget(org, hook)


async def test_every_address_of_the_answer_is_checked(orgs: Any, db: Database) -> None:
    org = await orgs()
    host = f"rebind-{org.org_id}.test"
    with receiving() as receiver:
        dns = Rebinding(host, [UNROUTED_PUBLIC, "127.0.0.1"], [UNROUTED_PUBLIC, "127.0.0.1"])
        hook = await _hook(org, f"http://{host}:{receiver.port}/hook", ["customerAdded"])
        await _customer(org, "919800000803")
        _send_due(Notifier(db, dataclasses.replace(FAST, allow_private=False), resolver=dns))
        assert receiver.received == []
    entry = await _last_entry(org)
    assert entry["status"] == "pending" and entry["lastError"].startswith("blocked"), entry
    await _forget(org, hook)


async def test_allow_private_reaches_loopback_through_the_system_resolver(
    orgs: Any, db: Database
) -> None:
    org = await orgs()
    # localhost is ::1 and 127.0.0.1 (in the system's order); the receiver listens on
    # 127.0.0.1 only: each address of the answer is tried in turn.
    with receiving() as receiver:
        await _hook(org, f"http://localhost:{receiver.port}/hook", ["customerAdded"])
        await _customer(org, "919800000804")
        _send_due(Notifier(db, FAST))
        assert len(_mine(org, receiver.answered)) == 1
    assert (await _last_entry(org))["status"] == "delivered"


async def test_tls_uses_the_host_name_for_sni_and_the_certificate(
    orgs: Any, db: Database, tmp_path: Path
) -> None:
    org = await orgs()
    host = f"tls-{org.org_id}.test"
    server_tls, client_tls = tls_contexts(tmp_path, host)
    with receiving(tls=server_tls) as receiver:
        dns = Rebinding(host, ["127.0.0.1"], ["127.0.0.1"])
        await _hook(org, f"https://{host}:{receiver.port}/hook", ["customerAdded"])
        await _customer(org, "919800000805")
        _send_due(Notifier(db, FAST, resolver=dns, verify=client_tls))
        assert receiver.server_names == [host]
        [got] = _mine(org, receiver.answered)
        assert got.headers["host"] == f"{host}:{receiver.port}"
    assert (await _last_entry(org))["status"] == "delivered"


async def test_tls_refuses_a_certificate_for_another_name(
    orgs: Any, db: Database, tmp_path: Path
) -> None:
    org = await orgs()
    host = f"tls-{org.org_id}.test"
    server_tls, client_tls = tls_contexts(tmp_path, "someone-else.test")
    with receiving(tls=server_tls) as receiver:
        dns = Rebinding(host, ["127.0.0.1"], ["127.0.0.1"])
        hook = await _hook(org, f"https://{host}:{receiver.port}/hook", ["customerAdded"])
        await _customer(org, "919800000806")
        _send_due(Notifier(db, FAST, resolver=dns, verify=client_tls))
        assert receiver.received == []
    entry = await _last_entry(org)
    assert entry["status"] == "pending" and entry["lastError"].startswith("connection"), entry
    await _forget(org, hook)


async def test_a_stored_header_that_eventrail_sets_is_not_sent(orgs: Any, db: Database) -> None:
    """Headers kept from before a name was reserved never replace eventrail's own."""
    org = await orgs()
    with receiving() as receiver:
        hook = await _hook(org, receiver.url, ["customerAdded"])
        stored = {
            "Content-Type": "text/plain",
            "Webhook-Signature": "v1,forged",
            "webhook-version": "9",
            "Transfer-Encoding": "chunked",
            "X-Kept": "yes",
        }
        with db.transaction() as session:
            session.execute(
                sa.text("UPDATE notification_webhooks SET headers = :h WHERE org_id = :o"),
                {"h": json.dumps(stored), "o": org.org_id},
            )
        await _customer(org, "919800000901")
        _send_due(Notifier(db, FAST))
        [got] = _mine(org, receiver.answered)
    names = [name.lower() for name, _ in got.lines]
    assert names.count("content-type") == 1 and got.headers["content-type"] == "application/json"
    assert names.count("webhook-signature") == 1 and verify(hook["secret"], got.headers, got.body)
    assert "webhook-version" not in names and "transfer-encoding" not in names
    assert got.headers["x-kept"] == "yes"


# -- Retry-After ------------------------------------------------------------------------
PATIENT = dataclasses.replace(FAST, retry_max_seconds=5.0)  # room for a Retry-After


def _first_then_ok(answer: Answer) -> tuple[Behaviour, list[float]]:
    """``answer`` to a delivery's first request, 200 afterwards; the wall-clock times of
    the requests."""
    times: list[float] = []

    def behave(item: Received) -> str | Answer:
        times.append(time.time())
        return answer if len(times) == 1 else "ok"

    return behave, times


async def _deliver_with(org: Org, db: Database, policy: DeliveryPolicy, answer: Answer) -> float:
    """Seconds between the first request (answered ``answer``) and the retry."""
    behave, times = _first_then_ok(answer)
    running = Notifier(db, policy)
    running.start()
    try:
        with receiving(behave) as receiver:
            await _hook(org, receiver.url, ["customerAdded"])
            await _customer(org, "919800001001")
            wait_for(lambda: _all_delivered(db, org.org_id, 1))
    finally:
        running.stop()
    assert len(times) == 2, times
    return times[1] - times[0]


async def test_retry_after_seconds_is_waited_for(orgs: Any, db: Database) -> None:
    org = await orgs()
    gap = await _deliver_with(org, db, PATIENT, Answer(503, {"Retry-After": "1"}))
    assert gap >= 1.0  # the backoff alone would be 0.025-0.05 s


async def test_retry_after_as_an_http_date_is_waited_for(orgs: Any, db: Database) -> None:
    org = await orgs()
    not_before = int(time.time()) + 3  # an HTTP date has whole seconds
    date = email.utils.formatdate(not_before, usegmt=True)
    behave, times = _first_then_ok(Answer(429, {"Retry-After": date}))
    running = Notifier(db, PATIENT)
    running.start()
    try:
        with receiving(behave) as receiver:
            await _hook(org, receiver.url, ["customerAdded"])
            await _customer(org, "919800001002")
            wait_for(lambda: _all_delivered(db, org.org_id, 1))
    finally:
        running.stop()
    assert len(times) == 2 and times[1] >= not_before, (times, not_before)


async def test_retry_after_is_capped_by_the_longest_delay(orgs: Any, db: Database) -> None:
    org = await orgs()
    policy = dataclasses.replace(FAST, retry_max_seconds=0.5)
    gap = await _deliver_with(org, db, policy, Answer(429, {"Retry-After": "3600"}))
    assert gap < 3.0


async def test_retry_after_of_another_status_or_unreadable_is_ignored(
    orgs: Any, db: Database
) -> None:
    org = await orgs()
    gap = await _deliver_with(org, db, PATIENT, Answer(500, {"Retry-After": "3"}))
    assert gap < 2.0  # a 500's Retry-After is not the receiver's schedule: the backoff
    other = await orgs()
    gap = await _deliver_with(other, db, PATIENT, Answer(503, {"Retry-After": "soon"}))
    assert gap < 2.0


async def test_the_log_shows_the_retry_after(orgs: Any, db: Database) -> None:
    org = await orgs()
    with receiving(lambda _: Answer(429, {"Retry-After": "120"})) as receiver:
        hook = await _hook(org, receiver.url, ["customerAdded"])
        await _customer(org, "919800001005")
        _send_due(Notifier(db, PATIENT))
    entry = await _last_entry(org)
    assert entry["status"] == "pending" and entry["lastError"] == "HTTP 429 (Retry-After: 120 s)"
    with db.transaction(write=False) as session:
        due, started = session.execute(
            sa.text(
                "SELECT next_attempt_at, started_at FROM notification_deliveries WHERE org_id = :o"
            ),
            {"o": org.org_id},
        ).one()
    # Capped at the 5 s longest delay, not the 25-50 ms backoff.
    assert int(due) - int(started) >= 5000
    await _forget(org, hook)


# -- 410 Gone ----------------------------------------------------------------------------
async def test_a_410_deactivates_the_webhook_until_it_is_made_active_again(
    orgs: Any, db: Database
) -> None:
    org = await orgs()
    gone = True
    with receiving(lambda _: Answer(410) if gone else "ok") as receiver:
        # One connection: the second notification waits while the first is answered.
        hook = await _hook(org, receiver.url, ["customerAdded"], maxAllowedConnections=1)
        hook_id = hook["webHookId"]
        await _customer(org, "919800001101")
        await _customer(org, "919800001102")
        running = Notifier(db, FAST)
        running.start()
        try:
            wait_for(lambda: "failed" in _states(db, org.org_id).values())
            time.sleep(0.3)  # time enough for another attempt, were one allowed
            states = _states(db, org.org_id)
            assert sorted(states.values()) == ["failed", "pending"], states
            assert len(_mine(org, receiver.received)) == 1
            [first] = [i for i, s in states.items() if s == "failed"]
            [second] = [i for i, s in states.items() if s == "pending"]

            r = await org.http.get(f"/v3/webHooks/{hook_id}")
            shown = r.json()["data"]
            assert shown["active"] is False
            assert "410" in shown["disabledReason"] and shown["disabledAt"], shown
            r = await org.http.get(f"/v3/webhooks/eventLog/{first}")
            entry = r.json()["data"]
            assert entry["status"] == "failed" and entry["attempts"] == 1
            assert entry["lastError"].startswith("HTTP 410") and "deactivated" in entry["lastError"]
            assert entry["consumerResponse"]["webhookHttpStatus"] == 410.0
            # An inactive webhook gets no new notifications.
            await _customer(org, "919800001103")
            assert len(_states(db, org.org_id)) == 2

            # Made active again: the waiting one goes; the failed one on request.
            gone = False
            r = await org.http.put(
                f"/v3/webHooks/{hook_id}",
                json=webhook_body(receiver.url, ["customerAdded"], maxAllowedConnections=1),
            )
            assert r.status_code == 200, r.text
            again = r.json()["data"]
            assert again["active"] is True
            assert again["disabledReason"] is None and again["disabledAt"] is None
            wait_for(lambda: _states(db, org.org_id)[second] == "delivered")
            r = await org.http.post(f"/v3/webHooks/eventLog/{first}/redeliver")
            assert r.status_code == 200, r.text
            wait_for(lambda: _all_delivered(db, org.org_id, 2))
        finally:
            running.stop()
    assert [g.headers["webhook-id"] for g in _mine(org, receiver.answered)] == [second, first]


async def test_a_410_of_one_org_leaves_another_orgs_webhook_alone(orgs: Any, db: Database) -> None:
    a = await orgs()
    b = await orgs()
    with receiving(lambda _: Answer(410)) as gone, receiving() as fine:
        a_hook = await _hook(a, gone.url, ["customerAdded"])
        b_hook = await _hook(b, fine.url, ["customerAdded"])
        await _customer(a, "919800001201")
        await _customer(b, "919800001201")
        _send_due(Notifier(db, FAST))
    assert set(_states(db, a.org_id).values()) == {"failed"}
    assert set(_states(db, b.org_id).values()) == {"delivered"}
    r = await b.http.get(f"/v3/webHooks/{b_hook['webHookId']}")
    assert r.json()["data"]["active"] is True and r.json()["data"]["disabledReason"] is None
    # B sees nothing of A's webhook, deactivated or not.
    assert_error(await b.http.get(f"/v3/webHooks/{a_hook['webHookId']}"), 404)
    assert [w["webHookId"] for w in (await b.http.get("/v3/webHooks")).json()["data"]] == [
        b_hook["webHookId"]
    ]


def test_retry_after_values() -> None:
    now = 1_800_000_000.0
    assert retry_after_ms("120", now) == 120_000
    assert retry_after_ms(" 0 ", now) == 0
    assert retry_after_ms(email.utils.formatdate(now + 30, usegmt=True), now) == 30_000
    assert retry_after_ms(email.utils.formatdate(now - 30, usegmt=True), now) == 0
    assert retry_after_ms("9" * 100, now) == 10**12  # capped later, by the policy
    assert retry_after_ms("9" * 5000, now) is None  # past what int() reads
    for unreadable in (None, "", "soon", "-5", "1.5", "٣", "Fri, 99 Foo 2026 25:61:00 GMT"):
        assert retry_after_ms(unreadable, now) is None, unreadable
    policy = dataclasses.replace(FAST, retry_base_seconds=0.05, retry_max_seconds=5.0)
    assert policy.retry_delay_ms(1, 2_000) == 2_000
    assert policy.retry_delay_ms(1, 3_600_000) == 5_000
    assert 25 <= policy.retry_delay_ms(1, 0) <= 50
    assert 25 <= policy.retry_delay_ms(1) <= 50
