"""Connected orgs (SPEC §7, reference §8): a parent reads its children's events with
``scope=child``; ``orgResolver`` routes an event posted to a parent's webhook into a child;
siblings, parents and children never see each other's data otherwise."""

from __future__ import annotations

import datetime as dt
import random
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant

EVENT_DATA = "/v2/events/event_data"
LOGS = "/v2/events/logs"
AUDITS = "/api_gateway/v2/audits"
RESOLVER_PREFIX = "Invalid value for field orgResolver:"
FIELD_FAILED = "EVENT_FIELD_VALIDATION_FAILED"


# -- small helpers ---------------------------------------------------------------------
def mobile() -> str:
    return "91" + "".join(random.choices(string.digits[1:], k=10))


def external_id() -> str:
    return f"EXT{uuid.uuid4().hex[:12].upper()}"


def event_name(prefix: str = "Visit") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers.get("x-cap-requestid")
    body: dict[str, Any] = r.json()
    return body


def data(r: httpx.Response) -> list[dict[str, Any]]:
    body = ok(r)
    assert body["warnings"] == [] and body["errors"] == [], body
    items: list[dict[str, Any]] = body["data"]
    return items


def assert_400(r: httpx.Response, *fragments: str) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["warnings"] == []
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["status"] is False
    assert error["code"] == 400
    for fragment in fragments:
        assert fragment in error["message"], error
    message: str = error["message"]
    return message


async def define(t: Tenant, name: str, *, add_customer: bool = False) -> None:
    customer_attrs: dict[str, Any] = {"identifierType": {"value": "mobile"}}
    if add_customer:
        customer_attrs["addCustomerIfNotExists"] = {"value": "true"}
    body = {
        "eventName": name,
        "actions": ["EIConsumer"],
        "fields": [
            {"name": "customer", "type": "customer", "attributes": customer_attrs},
            {"name": "age", "type": "double", "attributes": {"isPsiData": {"value": "true"}}},
            {"name": "city", "type": "string"},
        ],
    }
    r = await t.http.post("/v2/events", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == [], r.text


async def make_webhook(t: Tenant) -> str:
    r = await t.http.post(
        "/v2/events/webhook",
        json={"transformerType": "defaultTransformer", "tillCode": t.till_code},
    )
    hook: str = ok(r)["webHookId"]
    return hook


async def add_customer(t: Tenant, mobile_value: str, first_name: str = "Asha") -> int:
    r = await t.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "firstName": first_name,
                    "lastName": "Rao",
                    "identifiers": [
                        {"type": "mobile", "value": mobile_value},
                        {"type": "externalId", "value": external_id()},
                    ],
                }
            ]
        },
    )
    created: int = ok(r)["createdId"]
    return created


async def post_event(http: httpx.AsyncClient, hook: str, payload: dict[str, Any]) -> str:
    r = await http.post(f"/webhooks/{hook}", json=payload)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"]["code"] == 1100, body
    request_id: str = body["requestId"]
    return request_id


async def logs(t: Tenant, **params: Any) -> list[dict[str, Any]]:
    return data(await t.http.get(LOGS, params={"limit": 1000, **params}))


async def log_entry(t: Tenant, request_id: str) -> dict[str, Any]:
    found = [e for e in await logs(t) if e["id"] == request_id]
    assert len(found) == 1, (request_id, found)
    return found[0]


async def events(t: Tenant, customer_id: int, **params: Any) -> list[dict[str, Any]]:
    return data(await t.http.get(f"{EVENT_DATA}/{customer_id}", params=params))


def assert_in_zone(date_text: str, tz_name: str) -> None:
    """``date`` is an ISO time with the offset the zone has at that instant, close to now."""
    moment = dt.datetime.fromisoformat(date_text.replace("Z", "+00:00"))
    assert moment.utcoffset() is not None, date_text
    assert moment.utcoffset() == moment.astimezone(ZoneInfo(tz_name)).utcoffset(), (
        date_text,
        tz_name,
    )
    assert abs(moment.timestamp() - time.time()) < 600, date_text


@dataclass
class Child:
    """A child org with a definition, webhook, customer and events."""

    tenant: Tenant
    name: str
    hook: str
    mobile: str
    customer_id: int
    event_ids: list[str] = field(default_factory=list)


async def child_with_events(
    make_tenant: TenantFactory,
    http: httpx.AsyncClient,
    parent: Tenant,
    timezone: str,
    count: int,
    mobile_value: str | None = None,
) -> Child:
    tenant = await make_tenant(parent_org_id=parent.org_id, timezone=timezone)
    name = event_name()
    await define(tenant, name)
    hook = await make_webhook(tenant)
    mob = mobile_value or mobile()
    customer_id = await add_customer(tenant, mob)
    child = Child(tenant, name, hook, mob, customer_id)
    for i in range(count):
        child.event_ids.append(
            await post_event(
                http, hook, {"event_name": name, "customer": mob, "age": 20 + i, "city": "Pune"}
            )
        )
    return child


# -- scope=child ---------------------------------------------------------------------------
async def test_scope_child_returns_the_customers_events_in_the_child_orgs(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent = await make_tenant(timezone="Pacific/Auckland")
    shared_mobile = mobile()
    kolkata = await child_with_events(
        make_tenant, http, parent, "Asia/Kolkata", 2, mobile_value=shared_mobile
    )
    sao_paulo = await child_with_events(
        make_tenant, http, parent, "America/Sao_Paulo", 1, mobile_value=shared_mobile
    )
    drain()
    assert kolkata.customer_id != sao_paulo.customer_id

    for child, suffix, tz in (
        (kolkata, "+05:30", "Asia/Kolkata"),
        (sao_paulo, "-03:00", "America/Sao_Paulo"),
    ):
        records = await events(parent, child.customer_id, scope="child")
        # newest first: the reverse of the posting order
        assert [r["eventId"] for r in records] == child.event_ids[::-1]
        for record in records:
            assert record["orgId"] == child.tenant.org_id
            assert record["userId"] == child.customer_id
            assert record["eventName"] == child.name
            assert record["additonalAttributes"]["orgId"] == child.tenant.org_id
            assert record["additonalAttributes"]["customerId"] == str(child.customer_id)
            assert record["date"].endswith(suffix), record["date"]
            assert_in_zone(record["date"], tz)
        # the parent's view is the child's own view, record for record
        assert records == await events(child.tenant, child.customer_id)
        # filters apply to the children's records too
        assert await events(parent, child.customer_id, scope="child", event_name="nope") == []
        limited = await events(parent, child.customer_id, scope="child", limit=1)
        assert [r["eventId"] for r in limited] == [child.event_ids[-1]]
        # the scope value is not case-sensitive
        upper = await events(parent, child.customer_id, scope="CHILD")
        assert [r["eventId"] for r in upper] == child.event_ids[::-1]

    # without scope the parent sees none of its children's events
    for child in (kolkata, sao_paulo):
        assert await events(parent, child.customer_id) == []
        for request_id in child.event_ids:
            assert data(await parent.http.get(EVENT_DATA, params={"id": request_id})) == []
    parent_log_ids = {e["id"] for e in await logs(parent)}
    assert not parent_log_ids & {*kolkata.event_ids, *sao_paulo.event_ids}


async def test_scope_child_does_not_include_the_parents_own_events(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent = await make_tenant()
    await make_tenant(parent_org_id=parent.org_id)  # parent has a child, without events
    name = event_name()
    await define(parent, name)
    hook = await make_webhook(parent)
    mob = mobile()
    customer_id = await add_customer(parent, mob)
    request_id = await post_event(http, hook, {"event_name": name, "customer": mob, "age": 1})
    drain()
    assert [r["eventId"] for r in await events(parent, customer_id)] == [request_id]
    assert await events(parent, customer_id, scope="child") == []


async def test_scope_child_from_a_parent_without_children_is_empty(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    name = event_name()
    await define(tenant, name)
    hook = await make_webhook(tenant)
    mob = mobile()
    customer_id = await add_customer(tenant, mob)
    request_id = await post_event(http, hook, {"event_name": name, "customer": mob})
    drain()
    # control: the org's own customer has the event
    assert [r["eventId"] for r in await events(tenant, customer_id)] == [request_id]
    r = await tenant.http.get(f"{EVENT_DATA}/{customer_id}", params={"scope": "child"})
    assert data(r) == []
    r = await tenant.http.get(f"{EVENT_DATA}/{customer_id + 1000}", params={"scope": "child"})
    assert data(r) == []


async def test_scope_child_with_a_childs_credentials_is_400(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent = await make_tenant()
    child = await child_with_events(make_tenant, http, parent, "UTC", 1)
    sibling = await child_with_events(make_tenant, http, parent, "UTC", 1)
    drain()
    for customer_id in (child.customer_id, sibling.customer_id):
        r = await child.tenant.http.get(f"{EVENT_DATA}/{customer_id}", params={"scope": "child"})
        message = assert_400(r, "scope")
        assert sibling.name not in r.text
        assert child.name not in message
    # control: without scope the child sees its own events
    assert [r["eventId"] for r in await events(child.tenant, child.customer_id)] == (
        child.event_ids
    )


async def test_any_other_scope_is_400_naming_scope(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent = await make_tenant()
    child = await child_with_events(make_tenant, http, parent, "UTC", 1)
    drain()
    for scope in ("foo", "parent", "children", "all", "self", "", " ", "child,foo"):
        r = await parent.http.get(f"{EVENT_DATA}/{child.customer_id}", params={"scope": scope})
        assert_400(r, "scope")
        assert child.event_ids[0] not in r.text
        r = await child.tenant.http.get(
            f"{EVENT_DATA}/{child.customer_id}", params={"scope": scope}
        )
        assert_400(r, "scope")


async def test_scope_child_without_credentials_is_401(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent = await make_tenant()
    child = await child_with_events(make_tenant, http, parent, "UTC", 1)
    drain()
    r = await http.get(f"{EVENT_DATA}/{child.customer_id}", params={"scope": "child"})
    assert r.status_code == 401, r.text
    assert child.event_ids[0] not in r.text


# -- isolation between siblings, and between parent and child ---------------------------------
async def _reads_show_nothing(viewer: Tenant, owner: Child, owner_audit_ids: list[int]) -> None:
    secrets = [owner.name, owner.mobile, *owner.event_ids, owner.hook]
    cid = owner.customer_id

    def clean(r: httpx.Response) -> None:
        for secret in secrets:
            assert secret not in r.text, (secret, str(r.request.url), r.text)

    for params in ({}, {"limit": 10000, "from_date": "0"}, {"event_name": owner.name}):
        r = await viewer.http.get(f"{EVENT_DATA}/{cid}", params=params)
        assert data(r) == [], params
        clean(r)
    for request_id in owner.event_ids:
        r = await viewer.http.get(EVENT_DATA, params={"id": request_id})
        assert data(r) == []
    for params in (
        {},
        {"event_name": owner.name},
        {"status": "EVENT_SUCCESS"},
        {"from_date": "0", "to_date": "2999-12-31"},
    ):
        r = await viewer.http.get(LOGS, params={"limit": 1000, **params})
        entries = data(r)
        assert all(e["orgId"] == viewer.org_id for e in entries), entries
        clean(r)
    r = await viewer.http.get(f"/v2/customers/{cid}")
    assert r.status_code == 404, r.text
    clean(r)
    r = await viewer.http.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": owner.mobile},
    )
    assert r.status_code == 404, r.text
    for entity_id in owner_audit_ids:
        r = await viewer.http.get(
            AUDITS, params={"entityType": "CUSTOMER", "entityId": entity_id, "limit": 100}
        )
        body = ok(r)
        assert body["data"] == []
        assert body["pagination"]["totalElements"] == 0
        clean(r)
    hooks = data(await viewer.http.get("/v2/events/webhooks"))
    assert owner.hook not in [h["webHookId"] for h in hooks]
    definitions = data(await viewer.http.get("/v2/events", params={"eventName": owner.name}))
    assert definitions == []


async def test_siblings_parent_and_children_never_see_each_others_data(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent_tenant = await make_tenant()
    shared_mobile = mobile()
    one = await child_with_events(
        make_tenant, http, parent_tenant, "Asia/Kolkata", 2, mobile_value=shared_mobile
    )
    two = await child_with_events(make_tenant, http, parent_tenant, "UTC", 1, mobile_value=mobile())
    # the parent has its own data too
    parent_name = event_name()
    await define(parent_tenant, parent_name)
    parent_hook = await make_webhook(parent_tenant)
    parent_mobile = mobile()
    parent_cid = await add_customer(parent_tenant, parent_mobile)
    parent = Child(parent_tenant, parent_name, parent_hook, parent_mobile, parent_cid)
    parent.event_ids.append(
        await post_event(http, parent_hook, {"event_name": parent_name, "customer": parent_mobile})
    )
    drain()

    # controls: each org sees its own customer, events and audits
    for org in (one, two, parent):
        assert ok(await org.tenant.http.get(f"/v2/customers/{org.customer_id}"))
        own = await events(org.tenant, org.customer_id)
        assert sorted(r["eventId"] for r in own) == sorted(org.event_ids)
        body = ok(
            await org.tenant.http.get(
                AUDITS, params={"entityType": "CUSTOMER", "entityId": org.customer_id}
            )
        )
        assert body["pagination"]["totalElements"] >= 1

    for viewer, owner in ((two, one), (one, two), (one, parent), (two, parent)):
        await _reads_show_nothing(viewer.tenant, owner, [owner.customer_id])
    # the parent reads its children only through scope=child: nothing else of theirs
    for owner in (one, two):
        await _reads_show_nothing(parent.tenant, owner, [owner.customer_id])
    # and scope=child from a child never reaches a sibling or the parent
    for viewer, owner in ((two, one), (one, two), (one, parent)):
        r = await viewer.tenant.http.get(
            f"{EVENT_DATA}/{owner.customer_id}", params={"scope": "child"}
        )
        assert_400(r, "scope")
        for request_id in owner.event_ids:
            assert request_id not in r.text


# -- orgResolver routing -------------------------------------------------------------------
@dataclass
class Family:
    parent: Tenant
    parent_hook: str
    child: Tenant
    child_hook: str
    sibling: Tenant
    stranger: Tenant
    name: str
    mobile: str
    child_customer: int
    parent_customer: int


async def family(make_tenant: TenantFactory) -> Family:
    """A parent and two children, and an unrelated org. The parent and the child both have
    the definition and a customer with the same mobile, so an event that wrongly stays in
    the parent would succeed there."""
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id, timezone="Asia/Kolkata")
    sibling = await make_tenant(parent_org_id=parent.org_id)
    stranger = await make_tenant()
    name = event_name()
    mob = mobile()
    for org in (parent, child, sibling, stranger):
        await define(org, name)
    parent_hook = await make_webhook(parent)
    child_hook = await make_webhook(child)
    child_customer = await add_customer(child, mob)
    parent_customer = await add_customer(parent, mob)
    await add_customer(sibling, mob)
    await add_customer(stranger, mob)
    return Family(
        parent,
        parent_hook,
        child,
        child_hook,
        sibling,
        stranger,
        name,
        mob,
        child_customer,
        parent_customer,
    )


def resolver(child_org_id: Any, till_code: Any) -> dict[str, Any]:
    return {"type": "PARENT_CHILD_ORG", "childOrgId": child_org_id, "tillCode": till_code}


async def test_org_resolver_routes_a_parent_webhook_event_to_the_child(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    f = await family(make_tenant)
    payload = {
        "event_name": f.name,
        "customer": f.mobile,
        "age": 33,
        "city": "Pune",
        "orgResolver": resolver(f.child.org_id, f.child.till_code),
    }
    request_id = await post_event(http, f.parent_hook, payload)
    drain()

    entry = await log_entry(f.child, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    assert entry["message"] == "Event processed successfully"
    assert entry["orgId"] == f.child.org_id
    assert entry["parentOrgId"] == f.parent.org_id
    assert entry["webhookId"] == ""  # the parent's webhook id is the parent's secret
    assert entry["eventName"] == f.name
    assert isinstance(entry["inputRequest"], str)
    assert f.child.till_code in entry["inputRequest"]

    [record] = await events(f.child, f.child_customer)
    assert record["eventId"] == request_id
    assert record["orgId"] == f.child.org_id
    assert record["userId"] == f.child_customer
    assert record["eventName"] == f.name
    assert record["date"].endswith("+05:30"), record["date"]
    attributes = record["additonalAttributes"]
    assert attributes["orgId"] == f.child.org_id
    assert attributes["customerId"] == str(f.child_customer)
    assert attributes["age"] == "33.0"
    assert attributes["city"] == "Pune"
    assert "orgResolver" not in attributes
    one = data(await f.child.http.get(EVENT_DATA, params={"id": request_id}))
    assert [r["eventId"] for r in one] == [request_id]
    # the parent reads it through scope=child only
    via_parent = await events(f.parent, f.child_customer, scope="child")
    assert [r["eventId"] for r in via_parent] == [request_id]

    # nothing of it in the parent (whose customer has the same mobile), nor elsewhere
    assert request_id not in {e["id"] for e in await logs(f.parent)}
    assert await events(f.parent, f.parent_customer) == []
    for other in (f.sibling, f.stranger):
        assert request_id not in {e["id"] for e in await logs(other)}

    # the log entry of the child filters like any other
    filtered = await logs(f.child, event_name=f.name, status="EVENT_SUCCESS")
    assert [e["id"] for e in filtered] == [request_id]


async def test_a_child_never_learns_its_parents_webhook_id(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    """The parent's webhook takes posts without credentials: its id is all a sender needs.
    Events routed to a child (successes, refusals, registrations) are logged in the child
    without it, in every read of the child that shows log entries or events; the parent's
    own entries keep it."""
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id)
    name = event_name()
    await define(child, name, add_customer=True)
    await define(parent, name)
    parent_hook = await make_webhook(parent)
    known = mobile()
    customer_id = await add_customer(child, known)
    route = resolver(child.org_id, child.till_code)
    routed = [
        await post_event(
            http,
            parent_hook,
            {"event_name": name, "customer": known, "age": 40, "orgResolver": route},
        ),
        await post_event(
            http,
            parent_hook,
            {"event_name": name, "customer": known, "age": "old", "orgResolver": route},
        ),
        await post_event(
            http, parent_hook, {"event_name": name, "customer": mobile(), "orgResolver": route}
        ),
        await post_event(
            http, parent_hook, {"event_name": "Nope", "customer": known, "orgResolver": route}
        ),
    ]
    own = await post_event(http, parent_hook, {"event_name": name, "customer": known})
    drain()

    entries = {e["id"]: e for e in await logs(child)}
    assert set(routed) <= set(entries)
    for request_id in routed:
        assert entries[request_id]["parentOrgId"] == parent.org_id
        assert entries[request_id]["webhookId"] == ""
    assert (await log_entry(parent, own))["webhookId"] == parent_hook

    # An entry written before this rule, with the parent's id in its row, hides it too.
    with child.db.transaction() as session:
        session.execute(
            sa.text("UPDATE event_logs SET webhook_id = :hook WHERE id = :id"),
            {"hook": parent_hook, "id": routed[0]},
        )
    assert (await log_entry(child, routed[0]))["webhookId"] == ""

    reads = [
        (LOGS, {"limit": 1000}),
        (LOGS, {"limit": 1000, "event_name": name}),
        (LOGS, {"limit": 1000, "status": "EVENT_SUCCESS"}),
        (LOGS, {"limit": 1000, "status": "EVENT_FIELD_VALIDATION_FAILED"}),
        (LOGS, {"limit": 1000, "status": "INVALID_EVENT_NAME"}),
        (f"{EVENT_DATA}/{customer_id}", {}),
        *((EVENT_DATA, {"id": request_id}) for request_id in routed),
        (AUDITS, {"entityType": "CUSTOMER", "entityId": customer_id, "limit": 100}),
        ("/v2/events/webhooks", {}),
        ("/v2/events", {}),
    ]
    for path, params in reads:
        r = await child.http.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
        assert parent_hook not in r.text, (path, params)


async def test_routed_event_is_attributed_to_the_childs_till(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    """The resolver names the child's till: the stored event belongs to it, never to the
    parent webhook's till (a till of another org)."""
    f = await family(make_tenant)
    payload = {
        "event_name": f.name,
        "customer": f.mobile,
        "orgResolver": resolver(f.child.org_id, f.child.till_code),
    }
    request_id = await post_event(http, f.parent_hook, payload)
    drain()
    assert (await log_entry(f.child, request_id))["status"] == "EVENT_SUCCESS"
    [record] = await events(f.child, f.child_customer)
    assert record["tillCode"] == f.child.till_code, record
    assert record["additonalAttributes"]["source_till_id"] == f.child.till_id, record
    assert f.parent.till_code not in str(record)


async def test_routed_event_can_register_the_customer_in_the_child(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    """addCustomerIfNotExists in the child's definition: the routed event registers the
    customer in the child org, audited with the child's till."""
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id)
    name = event_name()
    await define(child, name, add_customer=True)
    parent_hook = await make_webhook(parent)
    new_mobile = mobile()
    request_id = await post_event(
        http,
        parent_hook,
        {
            "event_name": name,
            "customer": new_mobile,
            "orgResolver": resolver(child.org_id, child.till_code),
        },
    )
    drain()
    entry = await log_entry(child, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    assert entry["parentOrgId"] == parent.org_id
    r = await child.http.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": new_mobile},
    )
    customer_id = ok(r)["entity"]
    assert [e["eventId"] for e in await events(child, customer_id)] == [request_id]
    audits = ok(
        await child.http.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": customer_id})
    )["data"]
    assert [a["requestId"] for a in audits] == [request_id]
    assert audits[0]["orgId"] == child.org_id
    assert audits[0]["till"]["code"] == child.till_code
    # the parent has no such customer
    r = await parent.http.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": new_mobile},
    )
    assert r.status_code == 404, r.text


async def test_routed_event_is_processed_with_the_childs_definitions(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id)
    parent_only = event_name("ParentOnly")
    await define(parent, parent_only)
    parent_hook = await make_webhook(parent)
    mob = mobile()
    await add_customer(parent, mob)
    child_customer = await add_customer(child, mob)
    request_id = await post_event(
        http,
        parent_hook,
        {
            "event_name": parent_only,
            "customer": mob,
            "orgResolver": resolver(child.org_id, child.till_code),
        },
    )
    # the child's definition decides the fields' validation too
    child_name = event_name()
    await define(child, child_name)
    bad_age = await post_event(
        http,
        parent_hook,
        {
            "event_name": child_name,
            "customer": mob,
            "age": "old",
            "orgResolver": resolver(child.org_id, child.till_code),
        },
    )
    drain()
    entry = await log_entry(child, request_id)
    assert entry["status"] == "INVALID_EVENT_NAME", entry
    assert entry["message"] == f"Invalid event name {parent_only}"
    assert entry["parentOrgId"] == parent.org_id
    assert entry["orgId"] == child.org_id
    entry = await log_entry(child, bad_age)
    assert entry["status"] == FIELD_FAILED, entry
    assert entry["message"].startswith("Invalid value for field age:"), entry
    assert entry["parentOrgId"] == parent.org_id
    parent_ids = {e["id"] for e in await logs(parent)}
    assert request_id not in parent_ids
    assert bad_age not in parent_ids
    assert await events(child, child_customer) == []


async def test_org_resolver_accepts_a_numeric_string_child_id(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    f = await family(make_tenant)
    request_id = await post_event(
        http,
        f.parent_hook,
        {
            "event_name": f.name,
            "customer": f.mobile,
            "orgResolver": {
                "type": "PARENT_CHILD_ORG",
                "childOrgId": str(f.child.org_id),
                "tillCode": f.child.till_code,
            },
        },
    )
    drain()
    entry = await log_entry(f.child, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    assert entry["parentOrgId"] == f.parent.org_id


async def test_invalid_org_resolvers_are_refused_in_the_parent(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    f = await family(make_tenant)
    child_id, child_till = f.child.org_id, f.child.till_code
    resolvers: list[Any] = [
        resolver(f.parent.org_id, f.parent.till_code),  # the parent itself
        resolver(f.stranger.org_id, f.stranger.till_code),  # not a child
        resolver(2_000_000_000, child_till),  # no such org
        resolver(child_id, f.sibling.till_code),  # a sibling's till
        resolver(child_id, f.parent.till_code),  # the parent's till
        resolver(child_id, "no-such-till"),  # unknown till
        resolver(child_id, ""),
        resolver(child_id, None),
        resolver(child_id, 12),
        resolver(0, child_till),
        resolver(-child_id, child_till),
        resolver(True, child_till),
        resolver(float(child_id) + 0.5, child_till),
        resolver("abc", child_till),
        resolver(None, child_till),
        resolver([child_id], child_till),
        {"type": "PARENT_CHILD_ORG", "childOrgId": child_id},  # missing tillCode
        {"type": "PARENT_CHILD_ORG", "tillCode": child_till},  # missing childOrgId
        {"childOrgId": child_id, "tillCode": child_till},  # missing type
        {"type": "OTHER", "childOrgId": child_id, "tillCode": child_till},
        {"type": 5, "childOrgId": child_id, "tillCode": child_till},
        {},
        "PARENT_CHILD_ORG",
        [resolver(child_id, child_till)],
        child_id,
        True,
    ]
    request_ids = []
    for value in resolvers:
        payload = {"event_name": f.name, "customer": f.mobile, "orgResolver": value}
        request_ids.append(await post_event(http, f.parent_hook, payload))
    drain()

    parent_logs = {e["id"]: e for e in await logs(f.parent)}
    for value, request_id in zip(resolvers, request_ids, strict=True):
        entry = parent_logs.get(request_id)
        assert entry is not None, (value, "not logged in the parent")
        assert entry["status"] == FIELD_FAILED, (value, entry)
        assert entry["message"].startswith(RESOLVER_PREFIX), (value, entry)
        assert len(entry["message"]) > len(RESOLVER_PREFIX) + 1, entry
        assert entry["orgId"] == f.parent.org_id
        assert entry["parentOrgId"] == -1
        assert entry["webhookId"] == f.parent_hook
    # nothing was stored anywhere, nor logged in another org
    assert await events(f.parent, f.parent_customer) == []
    assert await events(f.child, f.child_customer) == []
    for other in (f.child, f.sibling, f.stranger):
        assert not {e["id"] for e in await logs(other)} & set(request_ids)


async def test_a_refused_org_resolver_is_logged_with_its_event_name(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    """The payload names its event (defaultTransformer): the refusal is an entry of that
    event, found by the logs' event_name filter like any other field-validation failure."""
    f = await family(make_tenant)
    request_id = await post_event(
        http,
        f.parent_hook,
        {
            "event_name": f.name,
            "customer": f.mobile,
            "orgResolver": resolver(f.stranger.org_id, "x"),
        },
    )
    drain()
    entry = await log_entry(f.parent, request_id)
    assert entry["status"] == FIELD_FAILED, entry
    assert entry.get("eventName") == f.name, entry
    filtered = await logs(f.parent, event_name=f.name)
    assert [e["id"] for e in filtered] == [request_id]


async def test_a_child_cannot_route_to_another_org(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    f = await family(make_tenant)
    targets = [
        (f.sibling.org_id, f.sibling.till_code),  # a sibling
        (f.parent.org_id, f.parent.till_code),  # its parent
        (f.child.org_id, f.child.till_code),  # itself (it is no child of itself)
        (f.stranger.org_id, f.stranger.till_code),
    ]
    request_ids = [
        await post_event(
            http,
            f.child_hook,
            {"event_name": f.name, "customer": f.mobile, "orgResolver": resolver(org, till)},
        )
        for org, till in targets
    ]
    drain()
    child_logs = {e["id"]: e for e in await logs(f.child)}
    for target, request_id in zip(targets, request_ids, strict=True):
        entry = child_logs.get(request_id)
        assert entry is not None, target
        assert entry["status"] == FIELD_FAILED, (target, entry)
        assert entry["message"].startswith(RESOLVER_PREFIX), (target, entry)
        assert entry["orgId"] == f.child.org_id
        assert entry["parentOrgId"] == -1
        assert entry["webhookId"] == f.child_hook
    assert await events(f.child, f.child_customer) == []
    for other in (f.parent, f.sibling, f.stranger):
        assert not {e["id"] for e in await logs(other)} & set(request_ids)
    assert await events(f.parent, f.parent_customer) == []


async def test_a_payload_without_org_resolver_stays_in_the_parent(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    f = await family(make_tenant)
    request_id = await post_event(http, f.parent_hook, {"event_name": f.name, "customer": f.mobile})
    drain()
    entry = await log_entry(f.parent, request_id)
    assert entry["status"] == "EVENT_SUCCESS"
    assert entry["parentOrgId"] == -1
    assert entry["orgId"] == f.parent.org_id
    assert [r["eventId"] for r in await events(f.parent, f.parent_customer)] == [request_id]
    assert request_id not in {e["id"] for e in await logs(f.child)}
    assert await events(f.child, f.child_customer) == []


# -- provisioning ------------------------------------------------------------------------
async def test_a_child_org_shows_its_parent_in_settings(make_tenant: TenantFactory) -> None:
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id, timezone="Asia/Kolkata")
    child_settings = ok(await child.http.get("/v2/orgs/settings"))
    assert child_settings["orgId"] == child.org_id
    assert child_settings["parentOrgId"] == parent.org_id
    assert child_settings["timezone"] == "Asia/Kolkata"
    parent_settings = ok(await parent.http.get("/v2/orgs/settings"))
    assert parent_settings["orgId"] == parent.org_id
    assert parent_settings["parentOrgId"] == -1
    # changing the child's settings keeps its parent
    changed = ok(await child.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True}))
    assert changed["parentOrgId"] == parent.org_id
    assert changed["psiMaskingEnabled"] is True
