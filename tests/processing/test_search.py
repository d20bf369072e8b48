"""GET /v2/events/search: Capillary's sample parameters, every filter, the refusals
(400, code 1850, naming the parameter), masking, connected orgs and isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant, unique
from tests.fixtures.ingest import (
    accepted,
    assert_error,
    customer_events,
    new_mobile,
    ok,
    post_json,
)

SEARCH = "/v2/events/search"
SETTINGS = "/v2/orgs/settings"
PSI = {"isPsiData": {"value": "true"}}


def definition(name: str) -> dict[str, Any]:
    return {
        "eventName": name,
        "actions": ["EIConsumer"],
        "fields": [
            {
                "name": "customer",
                "type": "customer",
                "attributes": {"identifierType": {"value": "mobile"}},
            },
            {"name": "amount", "type": "double", "attributes": PSI},
            {
                "name": "ref",
                "type": "string",
                "attributes": {"isUniqueKeyField": {"value": "true"}},
            },
        ],
    }


@dataclass
class World:
    """An org with two events (Shop, Visit), a uniqueness webhook, two customers (the
    first with a mobile and an email, in a group) and their events."""

    tenant: Tenant
    shop: str
    visit: str
    shop_id: str  # the definition's eventId
    hook: str
    mobiles: list[str]
    emails: list[str]
    customers: list[int]
    group_id: int = 0
    group_external: str = ""
    events: list[tuple[str, str, int]] = field(default_factory=list)  # (requestId, name, cust)
    duplicates: set[str] = field(default_factory=set)

    def ids(self, name: str | None = None, customer: int | None = None) -> list[str]:
        """requestIds, newest first."""
        return [
            rid
            for rid, n, c in reversed(self.events)
            if (name is None or n == name) and (customer is None or c == customer)
        ]


async def add_customer(t: Tenant, mobile: str, email: str) -> int:
    identifiers = [{"type": "mobile", "value": mobile}, {"type": "email", "value": email}]
    body = ok(
        await t.http.post(
            "/v2/customers", json={"profiles": [{"firstName": "S", "identifiers": identifiers}]}
        )
    )
    customer_id: int = body["createdId"]
    return customer_id


async def world(t: Tenant, drain: Callable[[], int]) -> World:
    shop, visit = unique("Shop").replace("-", "_"), unique("Visit").replace("-", "_")
    shop_id = ok(await t.http.post("/v2/events", json=definition(shop)))["eventId"]
    ok(await t.http.post("/v2/events", json=definition(visit)))
    hook = ok(
        await t.http.post(
            "/v2/events/webhook",
            json={
                "transformerType": "defaultTransformer",
                "tillCode": t.till_code,
                "uniquenessCheckEnabled": True,
            },
        )
    )["webHookId"]
    mobiles = [new_mobile(), new_mobile()]
    emails = [f"{unique('a')}@example.com", f"{unique('b')}@example.com"]
    customers = [await add_customer(t, m, e) for m, e in zip(mobiles, emails, strict=True)]
    w = World(t, shop, visit, shop_id, hook, mobiles, emails, customers)
    plan = [(shop, 0, "r1"), (visit, 0, "r2"), (shop, 1, "r3"), (shop, 0, "r1"), (visit, 1, "r4")]
    for name, who, ref in plan:
        payload = {
            "event_name": name,
            "customer": mobiles[who],
            "amount": 20,
            "ref": ref,
            "hotel_name": f"Palace {ref.upper()} Grand",
        }
        rid = accepted(await post_json(t.http, f"/webhooks/{hook}", payload))
        w.events.append((rid, name, customers[who]))
        drain()  # one at a time: each a later processing time than the one before
        await asyncio.sleep(0.002)
    w.duplicates = {w.events[3][0]}
    w.group_external = unique("grp")
    r = await t.http.post(
        f"{SETTINGS}/groups",
        json={"externalId": w.group_external, "name": "G", "members": [customers[0]]},
    )
    w.group_id = ok(r)["groupId"]
    return w


async def search(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(SEARCH, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["clickEventDataList", "warnings", "errors"], body
    assert body["warnings"] == [] and body["errors"] == []
    items: list[dict[str, Any]] = body["clickEventDataList"]
    return items


async def ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["eventId"] for item in await search(client, **params)]


def refused(r: httpx.Response, name: str) -> None:
    assert_error(r, 400, 1850, name)


# -- the happy path, with the fragment's sample values --------------------------------
async def test_search_with_capillarys_sample_parameters(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    w = await world(tenant, drain)
    items = await search(
        tenant.http,
        eventName=w.shop,
        userIdentifierType="mobile",
        userIdentifierValue=w.mobiles[0],
        userIdentifierSource="INSTORE",
        fromDate="2024-03-19T15:31:28",
        limit="10",
        offset="0",
        sortOrder="desc",
        includeSideEffects="false",
    )
    assert [i["eventId"] for i in items] == w.ids(w.shop, w.customers[0])
    # each item is the customer events record, plus requestId (= eventId)
    records = {r["eventId"]: r for r in await customer_events(tenant.http, w.customers[0])}
    for item in items:
        assert item["requestId"] == item["eventId"]
        assert {k: v for k, v in item.items() if k != "requestId"} == records[item["eventId"]]
        assert list(item)[-1] == "requestId"
        assert "sideEffects" not in item and "clickEventSideEffects" not in item
    # no parameter at all: the org's newest 10, newest first
    assert await ids(tenant.http) == w.ids()


async def test_include_side_effects_and_sort_order(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    w = await world(tenant, drain)
    items = await search(tenant.http, includeSideEffects="true")
    assert items and all(i["sideEffects"] == [] and i["clickEventSideEffects"] == [] for i in items)
    assert await ids(tenant.http, sortOrder="ASC") == list(reversed(w.ids()))
    for word in ("asc", " Asc "):
        assert await ids(tenant.http, sortOrder=word) == list(reversed(w.ids()))
    for word in ("DESC", "desc"):
        assert await ids(tenant.http, sortOrder=word) == w.ids()


async def test_limit_and_offset(tenant: Tenant, drain: Callable[[], int]) -> None:
    w = await world(tenant, drain)
    everything = w.ids()
    assert len(everything) == 5
    for offset, limit in ((0, 2), (2, 2), (4, 2), (5, 2), (1, 10)):
        got = await ids(tenant.http, offset=offset, limit=limit)
        assert got == everything[offset : offset + limit], (offset, limit)
    asc = list(reversed(everything))
    assert await ids(tenant.http, sortOrder="ASC", offset=1, limit=2) == asc[1:3]


async def test_event_id_and_event_name(tenant: Tenant, drain: Callable[[], int]) -> None:
    w = await world(tenant, drain)
    # a definition's eventId: its events
    assert await ids(tenant.http, eventId=w.shop_id) == w.ids(w.shop)
    assert await ids(tenant.http, eventId=w.shop_id, eventName=w.shop) == w.ids(w.shop)
    assert await ids(tenant.http, eventId=w.shop_id, eventName=w.visit) == []
    # a stored event's eventId (the requestId)
    first = w.events[1][0]
    assert await ids(tenant.http, eventId=first) == [first]
    assert await ids(tenant.http, eventId=first, eventName=w.shop) == []
    assert await ids(tenant.http, eventId="nothing-like-it") == []
    # the event name, exactly
    assert await ids(tenant.http, eventName=w.visit) == w.ids(w.visit)
    assert await ids(tenant.http, eventName=w.visit.lower()) == []


async def test_user_identifiers(tenant: Tenant, drain: Callable[[], int]) -> None:
    w = await world(tenant, drain)
    for who in (0, 1):
        expected = w.ids(customer=w.customers[who])
        for kind, value in (
            ("mobile", w.mobiles[who]),
            ("email", w.emails[who]),
            ("userId", str(w.customers[who])),
            ("MOBILE", w.mobiles[who]),
        ):
            got = await ids(tenant.http, userIdentifierType=kind, userIdentifierValue=value)
            assert got == expected, (kind, who)
    # the source and account the identifier was registered in
    base = {"userIdentifierType": "mobile", "userIdentifierValue": w.mobiles[0]}
    assert await ids(tenant.http, **base, userIdentifierSource="instore") == w.ids(
        customer=w.customers[0]
    )
    assert await ids(tenant.http, **base, userIdentifierSource="WEB_ENGAGE") == []
    assert await ids(tenant.http, **base, userIdentifierAccountId="acc-1") == []
    unknown = {"userIdentifierType": "mobile", "userIdentifierValue": new_mobile()}
    assert await ids(tenant.http, **unknown) == []
    assert await ids(tenant.http, userIdentifierType="userId", userIdentifierValue="1") == []


async def test_user_group_identifiers(tenant: Tenant, drain: Callable[[], int]) -> None:
    w = await world(tenant, drain)
    members = w.ids(customer=w.customers[0])
    for kind, value in (
        ("groupId", str(w.group_id)),
        ("groupExternalId", w.group_external),
        ("mobile", w.mobiles[0]),
        ("email", w.emails[0]),
        ("userId", str(w.customers[0])),
    ):
        got = await ids(tenant.http, userGroupIdentifierType=kind, userGroupIdentifierValue=value)
        assert got == members, kind
    # the second customer is in no group
    for kind, value in (("mobile", w.mobiles[1]), ("userId", str(w.customers[1]))):
        got = await ids(tenant.http, userGroupIdentifierType=kind, userGroupIdentifierValue=value)
        assert got == [], kind
    assert (
        await ids(
            tenant.http, userGroupIdentifierType="groupExternalId", userGroupIdentifierValue="x"
        )
        == []
    )
    # with a customer too: both must hold
    both = {"userGroupIdentifierType": "groupId", "userGroupIdentifierValue": str(w.group_id)}
    assert (
        await ids(
            tenant.http,
            **both,
            userIdentifierType="userId",
            userIdentifierValue=str(w.customers[1]),
        )
        == []
    )
    assert (
        await ids(
            tenant.http, **both, userIdentifierType="mobile", userIdentifierValue=w.mobiles[0]
        )
        == members
    )
    source = {"userGroupIdentifierType": "mobile", "userGroupIdentifierValue": w.mobiles[0]}
    assert await ids(tenant.http, **source, userGroupIdentifierSource="WEB_ENGAGE") == []
    assert await ids(tenant.http, **source, userGroupIdentifierAccountId="a") == []


async def test_dates_and_duplicates(tenant: Tenant, drain: Callable[[], int]) -> None:
    w = await world(tenant, drain)
    everything = w.ids()
    items = await search(tenant.http, sortOrder="ASC")
    # on the processing time, the items' date (whole seconds in the org's timezone)
    assert await ids(tenant.http, fromDate="2024-01-01", tillDate="2999-12-31") == everything
    assert await ids(tenant.http, fromDate="2999-01-01") == []
    assert await ids(tenant.http, tillDate="2024-01-01T00:00:00") == []
    first_date = items[0]["date"].replace("Z", "")
    assert set(await ids(tenant.http, fromDate=first_date)) == set(everything)
    # duplicates
    assert await ids(tenant.http, isDuplicate="true") == sorted(w.duplicates)
    assert await ids(tenant.http, isDuplicate="false") == [
        i for i in everything if i not in w.duplicates
    ]
    dup = next(i for i in items if i["eventId"] in w.duplicates)
    assert dup["additonalAttributes"]["isDuplicate"] is True
    shop = await ids(
        tenant.http,
        eventName=w.shop,
        isDuplicate="true",
        userIdentifierType="userId",
        userIdentifierValue=str(w.customers[0]),
    )
    assert shop == sorted(w.duplicates)


# -- filters on the events' attributes (any other key) --------------------------------
async def test_attribute_filters(tenant: Tenant, drain: Callable[[], int]) -> None:
    w = await world(tenant, drain)
    by_ref = {ref: [w.ids()[::-1][i] for i in idx] for ref, idx in (("r1", (0, 3)), ("r3", (2,)))}
    newest = {ref: list(reversed(found)) for ref, found in by_ref.items()}
    exact = {"allowExactMatch": "true"}
    assert await ids(tenant.http, ref="r1", **exact) == newest["r1"]
    assert await ids(tenant.http, ref="R1", **exact) == []
    assert await ids(tenant.http, hotel_name="Palace R3 Grand", **exact) == newest["r3"]
    assert await ids(tenant.http, hotel_name="palace r3 grand", **exact) == []
    # by default: each word within the value, ignoring case
    assert await ids(tenant.http, ref="R1") == newest["r1"]
    assert await ids(tenant.http, hotel_name="grand r3") == newest["r3"]
    assert await ids(tenant.http, hotel_name="PALACE") == w.ids()
    assert await ids(tenant.http, hotel_name="palace r9") == []
    # the LIKE wildcards are plain characters
    for wild in ("%", "_1", "r_", "\\"):
        assert await ids(tenant.http, ref=wild) == [], wild
    # several filters, and with the other parameters
    assert await ids(tenant.http, ref="r1", hotel_name="palace", isDuplicate="false") == [
        newest["r1"][-1]
    ]
    assert (
        await ids(
            tenant.http,
            ref="r3",
            eventName=w.shop,
            userIdentifierType="userId",
            userIdentifierValue=str(w.customers[1]),
        )
        == newest["r3"]
    )
    assert await ids(tenant.http, no_such_attribute="x") == []
    # a number stored as text, as the customer events read shows it
    assert await ids(tenant.http, amount="20.0", **exact) == w.ids()


async def test_attribute_filters_do_not_reveal_masked_values(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    w = await world(tenant, drain)
    ok(await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": True}))
    items = await search(tenant.http, limit="1")
    assert items[0]["additonalAttributes"]["amount"] == "*****"
    for params in ({"amount": "20.0", "allowExactMatch": "true"}, {"amount": "20"}):
        assert await ids(tenant.http, **params) == [], params
    assert await ids(tenant.http, ref="r1") != []  # not PSI: still filtered on
    ok(await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": False}))
    assert await ids(tenant.http, amount="20") == w.ids()


# -- refusals: 400, code 1850, naming the parameter -------------------------------------
BAD: list[tuple[dict[str, str], str]] = [
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": ""}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"offset": "100001"}, "offset"),
    ({"offset": "1.5"}, "offset"),
    ({"sortOrder": "up"}, "sortOrder"),
    ({"sortOrder": ""}, "sortOrder"),
    ({"includeSideEffects": "yes please"}, "includeSideEffects"),
    ({"includeSideEffects": ""}, "includeSideEffects"),
    ({"isDuplicate": "maybe"}, "isDuplicate"),
    ({"fromDate": "yesterday"}, "fromDate"),
    ({"tillDate": "2024-13-01"}, "tillDate"),
    ({"fromDate": "2024-03-20", "tillDate": "2024-03-19"}, "fromDate"),
    ({"eventId": ""}, "eventId"),
    ({"eventId": "x" * 65}, "eventId"),
    ({"eventName": ""}, "eventName"),
    ({"eventName": "n" * 101}, "eventName"),
    ({"userIdentifierType": "cardnumber", "userIdentifierValue": "1"}, "userIdentifierType"),
    ({"userIdentifierType": "mobile"}, "userIdentifierValue"),
    ({"userIdentifierType": "mobile", "userIdentifierValue": " "}, "userIdentifierValue"),
    ({"userIdentifierValue": "919000000000"}, "userIdentifierType"),
    ({"userIdentifierSource": "INSTORE"}, "userIdentifierSource"),
    ({"userIdentifierAccountId": "1"}, "userIdentifierAccountId"),
    ({"userIdentifierType": "userId", "userIdentifierValue": "abc"}, "userIdentifierValue"),
    ({"userIdentifierType": "userId", "userIdentifierValue": "0"}, "userIdentifierValue"),
    ({"userIdentifierType": "userId", "userIdentifierValue": "9" * 30}, "userIdentifierValue"),
    ({"userIdentifierType": "mobile", "userIdentifierValue": "9" * 256}, "userIdentifierValue"),
    (
        {"userIdentifierType": "mobile", "userIdentifierValue": "1", "userIdentifierSource": "X"},
        "userIdentifierSource",
    ),
    ({"userGroupIdentifierType": "family"}, "userGroupIdentifierType"),
    ({"userGroupIdentifierType": "groupId"}, "userGroupIdentifierValue"),
    (
        {"userGroupIdentifierType": "groupId", "userGroupIdentifierValue": "g-1"},
        "userGroupIdentifierValue",
    ),
    ({"userGroupIdentifierValue": "g-1"}, "userGroupIdentifierType"),
    ({"userGroupIdentifierSource": "INSTORE"}, "userGroupIdentifierSource"),
    ({"userGroupIdentifierAccountId": "1"}, "userGroupIdentifierAccountId"),
    (
        {
            "userGroupIdentifierType": "email",
            "userGroupIdentifierValue": "a@b.c",
            "userGroupIdentifierSource": "NOPE",
        },
        "userGroupIdentifierSource",
    ),
    ({"scope": "parent"}, "scope"),
    ({"allowExactMatch": "maybe"}, "allowExactMatch"),
    ({"hotel_name": " "}, "hotel_name"),
    ({"hotel_name": "x" * 256}, "hotel_name"),
    ({'hotel"name': "x"}, 'hotel"name'),
    ({"h" * 101: "x"}, "h" * 60),
    ({**{f"a{i}": "x" for i in range(10)}, "eleventh": "x"}, "eleventh"),
]


async def test_bad_values_are_1850_naming_the_parameter(tenant: Tenant) -> None:
    for params, name in BAD:
        r = await tenant.http.get(SEARCH, params=params)
        refused(r, name)


async def test_without_credentials_is_401(tenant: Tenant, http: httpx.AsyncClient) -> None:
    r = await http.get(SEARCH)
    assert_error(r, 401, 401)


# -- masking, as the customer events read --------------------------------------------
async def test_psi_values_are_masked_as_in_the_customer_events(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    w = await world(tenant, drain)
    ok(await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": True}))
    items = await search(
        tenant.http, userIdentifierType="userId", userIdentifierValue=str(w.customers[0])
    )
    records = await customer_events(tenant.http, w.customers[0])
    assert [{k: v for k, v in i.items() if k != "requestId"} for i in items] == records[:10]
    assert all(i["additonalAttributes"]["amount"] == "*****" for i in items)
    assert all(i["psiAttributes"] == ["amount"] for i in items)
    ok(await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": False}))
    items = await search(
        tenant.http, userIdentifierType="userId", userIdentifierValue=str(w.customers[0])
    )
    assert all(i["additonalAttributes"]["amount"] == "20.0" for i in items)


# -- isolation and connected orgs ---------------------------------------------------------
async def test_another_org_finds_nothing_of_this_one(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    owner = await make_tenant()
    w = await world(owner, drain)
    stranger = await make_tenant()
    own = await world(stranger, drain)
    attempts: list[dict[str, str]] = [
        {"eventId": w.shop_id},
        {"eventId": w.events[0][0]},
        {"eventName": w.shop},
        {"userIdentifierType": "userId", "userIdentifierValue": str(w.customers[0])},
        {"userIdentifierType": "mobile", "userIdentifierValue": w.mobiles[0]},
        {"userIdentifierType": "email", "userIdentifierValue": w.emails[0]},
        {"userGroupIdentifierType": "groupId", "userGroupIdentifierValue": str(w.group_id)},
        {
            "userGroupIdentifierType": "groupExternalId",
            "userGroupIdentifierValue": w.group_external,
        },
        {"userGroupIdentifierType": "userId", "userGroupIdentifierValue": str(w.customers[0])},
        {"scope": "child"},
    ]
    theirs = {rid for rid, _, _ in w.events}
    for params in attempts:
        found = await ids(stranger.http, **params, limit="1000")
        assert not theirs & set(found), params
    # the stranger's own search answers only its own events
    assert set(await ids(stranger.http, limit="1000")) == {rid for rid, _, _ in own.events}


async def test_scope_child_searches_a_parents_children(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    parent = await make_tenant()
    child = await make_tenant(parent_org_id=parent.org_id, timezone="Asia/Kolkata")
    w = await world(child, drain)
    # the parent's own search does not reach the child; scope=child does
    assert await ids(parent.http) == []
    assert await ids(parent.http, scope="child") == w.ids()
    items = await search(
        parent.http, scope="child", userIdentifierType="mobile", userIdentifierValue=w.mobiles[0]
    )
    assert [i["eventId"] for i in items] == w.ids(customer=w.customers[0])
    assert all(i["orgId"] == child.org_id and i["date"].endswith("+05:30") for i in items)
    assert await ids(parent.http, scope="child", eventId=w.shop_id) == w.ids(w.shop)
    # the child's own credentials: scope=child is refused, naming scope
    refused(await child.http.get(SEARCH, params={"scope": "child"}), "scope")
    assert await ids(child.http) == w.ids()
