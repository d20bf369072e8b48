"""SIGKILL of a real `eventrail serve` while it takes events AND customer writes.

Events are posted to a webhook while other clients register customers and change
existing ones (first name, email, mobile). The server is killed with SIGKILL in
the middle of it, then a new server is started on the same database. Afterwards:

- every acknowledged event is processed exactly once;
- every acknowledged customer write is in the customer's state, with its audit
  entry under the requestId it was answered with;
- the write that was in flight when the server died (one per client at most)
  either committed entirely (change and audit entry) or not at all: the audit
  trail of each customer is exactly its committed writes, in order, each entry's
  previous value chaining to the one before, and the final state is the last
  committed value of each field;
- globally, no audit entry names a customer that does not exist, and no customer
  exists without the audit entry of its creation.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from tests.fixtures.durability import check_exactly_once, wait_until_drained
from tests.fixtures.server import Server, running_server, server_process
from tests.security.cluster import engine_for, make_webhook, migrate_and_make_till

AUDITS = "/api_gateway/v2/audits"
CHAINS = 16  # existing customers, each changed by one client, one write after another
ADDERS = 4  # clients registering new customers, one after another
EVENT_CLIENTS = 8
STEPS = 60  # writes planned per chain: far more than get done before the kill
KINDS = ("name", "email", "mobile")


@dataclass
class Write:
    kind: str  # add, name, email or mobile
    value: str  # the new value; unique in the whole test
    acked: bool = False
    unknown: bool = False  # the connection died before the answer
    request_id: str | None = None
    created_id: int | None = None
    email: str | None = None  # adds only


@dataclass
class Chain:
    customer_id: int
    initial: dict[str, str]
    writes: list[Write] = field(default_factory=list)


@dataclass
class Load:
    """Shared by the clients of one run: what was acknowledged, and when to stop."""

    killed: bool = False
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # any non-200 answer


def _mobile(n: int, k: int) -> str:
    return f"93{n:04d}{k:06d}"


def _email(n: int, k: int) -> str:
    return f"c{n}x{k}.{uuid.uuid4().hex[:6]}@example.com"


async def _send(
    load: Load, client: httpx.AsyncClient, write: Write, method: str, url: str, body: Any
) -> bool:
    """Send one write and note its outcome; False when the client must stop."""
    try:
        r = await client.request(method, url, json=body)
    except httpx.TransportError:
        write.unknown = True
        return False
    if r.status_code != 200:
        load.refused.append(f"{write.kind} {write.value}: {r.status_code} {r.text}")
        return False
    write.acked = True
    write.request_id = r.headers["x-cap-requestid"]
    if write.kind == "add":
        write.created_id = r.json()["createdId"]
    return True


async def _run_chain(load: Load, client: httpx.AsyncClient, base: str, chain: Chain) -> None:
    n = chain.customer_id
    for k in range(1, STEPS + 1):
        if load.killed:
            return
        kind = KINDS[k % len(KINDS)]
        if kind == "name":
            write = Write(kind, f"N{n}x{k}")
            args: tuple[str, str, Any] = (
                "PUT",
                f"{base}/v2/customers/{n}",
                {"profiles": [{"firstName": write.value}]},
            )
        else:
            write = Write(kind, _email(n, k) if kind == "email" else _mobile(n, k))
            args = (
                "POST",
                f"{base}/v2/customers/{n}/changeIdentifier",
                {"add": [{"type": kind, "value": write.value}]},
            )
        chain.writes.append(write)
        if not await _send(load, client, write, *args):
            return


async def _run_adder(
    load: Load, client: httpx.AsyncClient, base: str, n: int, adds: list[Write]
) -> None:
    for k in range(STEPS):
        if load.killed:
            return
        write = Write("add", _mobile(9000 + n, k), email=_email(9000 + n, k))
        adds.append(write)
        body = {
            "profiles": [
                {
                    "firstName": f"A{n}x{k}",
                    "identifiers": [
                        {"type": "mobile", "value": write.value},
                        {"type": "email", "value": write.email},
                    ],
                }
            ]
        }
        if not await _send(load, client, write, "POST", f"{base}/v2/customers", body):
            return


async def _post_events(
    load: Load, client: httpx.AsyncClient, base: str, webhook_id: str, bodies: list[Any]
) -> None:
    while bodies and not load.killed:
        body = bodies.pop()
        try:
            r = await client.post(f"{base}/webhooks/{webhook_id}", json=body)
        except httpx.TransportError:
            return
        if r.status_code != 200:
            load.refused.append(f"event: {r.status_code} {r.text}")
            return
        load.events[r.json()["requestId"]] = body


def _acked_writes(chains: list[Chain], adds: list[Write]) -> int:
    return sum(w.acked for c in chains for w in c.writes) + sum(w.acked for w in adds)


async def _load_and_kill(
    server: Server,
    auth: dict[str, str],
    webhook_id: str,
    chains: list[Chain],
    adds: list[Write],
    adders_from: int,
) -> Load:
    load = Load()
    bodies = [
        {"event_name": "Visit", "customer": f"9170{n:08d}", "ref": uuid.uuid4().hex}
        for n in range(3000)
    ]
    base = server.base

    async def killer() -> None:
        # Kill only once both kinds of traffic are well under way.
        deadline = time.monotonic() + 40
        while len(load.events) < 100 or _acked_writes(chains, adds) < 80:
            if time.monotonic() > deadline:
                raise AssertionError("the load did not get going")
            await asyncio.sleep(0.01)
        server.kill()
        load.killed = True

    clients = CHAINS + ADDERS + EVENT_CLIENTS
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=20, limits=limits, headers=auth) as client:
        await asyncio.gather(
            killer(),
            *(_run_chain(load, client, base, chain) for chain in chains),
            *(
                _run_adder(load, client, base, n, adds)
                for n in range(adders_from, adders_from + ADDERS)
            ),
            *(_post_events(load, client, base, webhook_id, bodies) for _ in range(EVENT_CLIENTS)),
        )
    return load


def _create_chain_customers(base: str, auth: dict[str, str], offset: int) -> list[Chain]:
    chains = []
    with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
        for n in range(offset, offset + CHAINS):
            initial = {"name": f"First{n}", "email": _email(n, 0), "mobile": _mobile(n, 0)}
            r = api.post(
                "/v2/customers",
                json={
                    "profiles": [
                        {
                            "firstName": initial["name"],
                            "identifiers": [
                                {"type": "mobile", "value": initial["mobile"]},
                                {"type": "email", "value": initial["email"]},
                            ],
                        }
                    ]
                },
            )
            assert r.status_code == 200, r.text
            chains.append(Chain(r.json()["createdId"], initial))
    return chains


# The audit event (eventType, updatedField) each kind of write records.
_FIELD = {
    "name": ("Standard Fields", "FirstName"),
    "email": ("Identifiers", "email"),
    "mobile": ("Identifiers", "mobile"),
}


def _entry_change(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, previous, current) of an entry holding one change."""
    assert len(entry["events"]) == 1, entry
    event = entry["events"][0]
    kinds = [k for k, f in _FIELD.items() if f == (event["eventType"], event["updatedField"])]
    assert len(kinds) == 1, event
    values = event["additionalFields"]
    return kinds[0], values["previousValue"], values["currentValue"]


def _check_chain(api: httpx.Client, chain: Chain) -> None:
    n = chain.customer_id
    page = api.get(
        AUDITS,
        params={"entityType": "CUSTOMER", "entityId": n, "limit": 100, "sortOrder": "ASC"},
    )
    assert page.status_code == 200, page.text
    entries = page.json()["data"]
    assert page.json()["pagination"]["totalElements"] == len(entries)
    # The first entry is the registration, made before the load.
    changes = entries[1:]
    audited = [(kind, current) for kind, _, current in map(_entry_change, changes)]

    acked = [w for w in chain.writes if w.acked]
    unknown = [w for w in chain.writes if w.unknown]
    assert len(unknown) <= 1, "a client stops at its first failed write"
    assert all(w.acked or w.unknown for w in chain.writes)
    committed = acked + [w for w in unknown if (w.kind, w.value) in audited]
    assert audited == [(w.kind, w.value) for w in committed], (
        f"customer {n}: audit trail is not exactly the committed writes"
    )
    for entry, write in zip(changes, committed, strict=True):
        if write.acked:
            assert entry["requestId"] == write.request_id

    # Each change starts from the value the one before it left.
    last = dict(chain.initial)
    for kind, previous, current in map(_entry_change, changes):
        assert previous == last[kind], f"customer {n}: {kind} changed from a lost value"
        last[kind] = current

    # The state is what the committed writes left, whether or not the in-flight
    # write made it: if its change is there, so is its audit entry, and vice versa.
    view = api.get(f"/v2/customers/{n}")
    assert view.status_code == 200, view.text
    profile = view.json()["profiles"][0]
    idents = {i["type"]: i["value"] for i in profile["identifiers"]}
    assert profile["firstName"] == last["name"]
    assert idents == {"mobile": last["mobile"], "email": last["email"]}
    for write in unknown:
        if write.kind in ("email", "mobile"):
            r = api.get(
                "/v2/customers/lookup",
                params={"identifierName": write.kind, "identifierValue": write.value},
            )
            assert r.status_code == (200 if write in committed else 404), r.text


def _check_adds(api: httpx.Client, adds: list[Write]) -> None:
    assert all(w.acked or w.unknown for w in adds)
    for write in adds:
        found = api.get(
            "/v2/customers/lookup",
            params={"identifierName": "mobile", "identifierValue": write.value},
        )
        by_email = api.get(
            "/v2/customers/lookup",
            params={"identifierName": "email", "identifierValue": write.email},
        )
        if write.acked:
            assert found.status_code == 200, found.text
            assert found.json()["entity"] == write.created_id
        else:
            assert found.status_code in (200, 404), found.text
        # Both identifiers of one registration committed together, or neither.
        assert by_email.status_code == found.status_code
        if found.status_code == 404:
            continue
        customer_id = found.json()["entity"]
        assert by_email.json()["entity"] == customer_id
        page = api.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": customer_id})
        entries = page.json()["data"]
        assert len(entries) == 1, entries
        if write.acked:
            assert entries[0]["requestId"] == write.request_id
        currents = {e["additionalFields"]["currentValue"] for e in entries[0]["events"]}
        assert {write.value, write.email} <= currents


def _check_audit_matches_customers(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        orphans = conn.execute(
            sa.text(
                "SELECT count(*) FROM audit_entries a WHERE a.entity_type = 'CUSTOMER' "
                "AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = a.entity_id)"
            )
        ).scalar_one()
        unaudited = conn.execute(
            sa.text(
                "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM "
                "audit_entries a WHERE a.entity_type = 'CUSTOMER' AND a.entity_id = c.id)"
            )
        ).scalar_one()
        customers = conn.execute(sa.text("SELECT count(*) FROM customers")).scalar_one()
    assert customers > CHAINS
    assert orphans == 0, "audit entries of customers that were never committed"
    assert unaudited == 0, "customers committed without the audit entry of their creation"


def test_sigkill_under_event_and_customer_load_keeps_changes_and_audits_together(
    env: dict[str, str],
) -> None:
    auth, till_code = migrate_and_make_till(env)
    chains: list[Chain] = []
    adds: list[Write] = []
    events: dict[str, dict[str, Any]] = {}
    planned = CHAINS * STEPS + ADDERS * STEPS
    webhook_id = ""
    # The kill must cut a customer write off mid-flight. It nearly always does at the
    # first try; when every write happened to be answered already at that instant,
    # the load runs again (new customers, new values) on a fresh server, up to three
    # times, and every attempt's writes are checked below.
    for attempt in range(3):
        with server_process(env) as server:
            if not webhook_id:
                webhook_id = make_webhook(server.base, auth, till_code, unique=False)
            ours = _create_chain_customers(server.base, auth, offset=attempt * CHAINS)
            added: list[Write] = []
            load = asyncio.run(
                _load_and_kill(server, auth, webhook_id, ours, added, attempt * ADDERS)
            )
        chains += ours
        adds += added
        events.update(load.events)
        assert load.refused == [], "no write may be refused under load"
        done = _acked_writes(ours, added)
        assert 80 <= done < planned, "the kill should interrupt the customer writes"
        in_flight = sum(w.unknown for c in ours for w in c.writes) + sum(w.unknown for w in added)
        if in_flight >= 1:
            break
    else:
        raise AssertionError("no customer write was cut off by the kill in three attempts")

    engine = engine_for(env)
    try:
        with running_server(env) as base:
            wait_until_drained(engine)
            with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
                for chain in chains:
                    _check_chain(api, chain)
                _check_adds(api, adds)
        check_exactly_once(engine, events)
        _check_audit_matches_customers(engine)
    finally:
        engine.dispose()
