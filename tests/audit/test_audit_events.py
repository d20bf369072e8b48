"""Audit entries produced by each write, compared field by field with seeds/003.

For each of the 11 reference types the write that causes it is made through the
HTTP API and read back with GET /api_gateway/v2/audits: entry keys (in the
seed's order) and types, the event items, the display strings, "NA" for absent
values, label ids as strings, the associated entities, the request id linkage
(reference §7.2's worked example) and the user context headers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fixtures.factories import Tenant, basic, make_till, md5, unique

AUDITS = "/api_gateway/v2/audits"
ENTRY_KEYS = [
    "updatedByUser",
    "updatedBy",
    "orgId",
    "entityType",
    "entityId",
    "createdOn",
    "requestId",
    "till",
    "store",
    "userContextDetails",
    "victimUserDetails",
    "survivorUserDetails",
    "source",
    "updatedByMode",
    "autoUpdateTime",
    "events",
]
EVENT_KEYS = ["eventType", "updatedField", "additionalFields", "associateEntities"]
TILL_KEYS = ["code", "name", "id"]
STORE_KEYS = ["code", "name", "externalId", "externalId1", "externalId2"]
USER_CONTEXT_KEYS = ["entityType", "entityId", "entitySource", "entitySourceId"]
PERSON_KEYS = ["firstName", "lastName", "email", "mobile", "externalId"]
EVENT_TYPES = {
    "Identifier": "Identifiers",
    "StandardField": "Standard Fields",
    "ExtendedField": "Extended Fields",
    "CustomField": "Custom Fields",
    "CustomerStatus": "Customer Status",
    "CardStatus": "Card Status",
    "SubscriptionStatus": "Subscription Status",
    "CustomerMerge": "Customer Merge",
    "CardCustomField": "Card Custom Field",
    "CommChannel": "Communication Channels",
    "CardExtendedField": "Card Extended Field",
}
NO_ENTITY = [{"entityType": None, "entityId": None}]
MOBILE = "919988776655"
MEMBER_CARE = {
    "USER-CONTEXT-ENTITY-TYPE": "INTOUCH_ADMIN_USER",
    "USER-CONTEXT-ENTITY-ID": "75015489",
    "USER-CONTEXT-ENTITY-SOURCE": "MEMBER_CARE",
    "USER-CONTEXT-ENTITY-SOURCE-ID": "Achyuthanandan S",
}


# -- comparing -------------------------------------------------------------------------
def ordered(value: Any) -> Any:
    """The value with every dict turned into its list of items: compares key order too."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def assert_same(actual: Any, expected: Any) -> None:
    """Equal values with the same key order at every level (as the seed shows them)."""
    assert actual == expected
    assert ordered(actual) == ordered(expected)


def ev(
    reference_type: str,
    field: str,
    additional: dict[str, Any],
    associate: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": EVENT_TYPES[reference_type],
        "updatedField": field,
        "additionalFields": additional,
        "associateEntities": associate,
    }


def change(
    reference_type: str,
    field: str,
    previous: str,
    current: str,
    associate: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return ev(
        reference_type, field, {"previousValue": previous, "currentValue": current}, associate
    )


def customer_entity(customer_id: int) -> list[dict[str, Any]]:
    return [{"entityType": "CUSTOMER", "entityId": customer_id}]


def sort_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: json.dumps(e, sort_keys=True))


def check_entry(
    entry: dict[str, Any],
    t: Tenant,
    *,
    entity_type: str,
    entity_id: int,
    request_id: str | None = None,
    source: str | None = None,
    mode: str = "API",
    till_id: int | None = None,
) -> None:
    """Every field of an entry, with the types of seeds/003."""
    assert list(entry) == ENTRY_KEYS
    assert entry["updatedByUser"] is None
    assert entry["updatedBy"] == (till_id if till_id is not None else t.till_id)
    assert type(entry["updatedBy"]) is int
    assert entry["orgId"] == t.org_id
    assert entry["entityType"] == entity_type
    assert entry["entityId"] == entity_id
    assert type(entry["createdOn"]) is int
    assert type(entry["autoUpdateTime"]) is int
    # epoch milliseconds, not seconds; the row is written at or after the change
    assert entry["autoUpdateTime"] > 1_600_000_000_000
    assert entry["createdOn"] >= entry["autoUpdateTime"]
    assert isinstance(entry["requestId"], str)
    assert entry["requestId"]
    if request_id is not None:
        assert entry["requestId"] == request_id
    assert list(entry["till"]) == TILL_KEYS
    if till_id is None:
        assert entry["till"] == {"code": t.till_code, "name": t.till_code, "id": t.till_id}
    assert list(entry["store"]) == STORE_KEYS
    assert isinstance(entry["store"]["code"], str)
    assert entry["userContextDetails"] is None
    if entry["victimUserDetails"] is not None or entry["survivorUserDetails"] is not None:
        assert list(entry["victimUserDetails"]) == PERSON_KEYS
        assert list(entry["survivorUserDetails"]) == PERSON_KEYS
    assert entry["source"] == source
    assert entry["updatedByMode"] == mode
    assert isinstance(entry["events"], list)
    assert entry["events"]
    for event in entry["events"]:
        assert list(event) == EVENT_KEYS
        assert event["eventType"] in EVENT_TYPES.values()
        assert isinstance(event["updatedField"], str)
        assert isinstance(event["additionalFields"], dict)
        for value in event["additionalFields"].values():
            assert isinstance(value, str), event
        associate = event["associateEntities"]
        assert associate is None or isinstance(associate, list)
        for item in associate or []:
            assert list(item) == ["entityType", "entityId"]


# -- calling -----------------------------------------------------------------------------
async def write(
    t: Tenant, method: str, url: str, body: Any, **kwargs: Any
) -> tuple[dict[str, Any], str]:
    """A successful write; returns its body and its X-Cap-Requestid."""
    r = await t.http.request(method, url, json=body, **kwargs)
    assert r.status_code == 200, r.text
    request_id = r.headers.get("X-Cap-Requestid")
    assert request_id
    return r.json(), request_id


async def audits(
    t: Tenant, entity_type: str, entity_id: int, **params: Any
) -> list[dict[str, Any]]:
    """The entity's entries, oldest first."""
    query = {
        "entityType": entity_type,
        "entityId": entity_id,
        "limit": 100,
        "sortOrder": "ASC",
        **params,
    }
    r = await t.http.get(AUDITS, params=query)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["data", "pagination"]
    assert body["pagination"]["numberOfElements"] == len(body["data"])
    entries: list[dict[str, Any]] = body["data"]
    return entries


async def by_reference(
    t: Tenant, entity_type: str, entity_id: int, reference_type: str
) -> list[dict[str, Any]]:
    """Entries with an event of that referenceType: only those events are returned."""
    entries = await audits(t, entity_type, entity_id, referenceType=reference_type)
    for entry in entries:
        assert entry["events"]
        assert {e["eventType"] for e in entry["events"]} == {EVENT_TYPES[reference_type]}
    return entries


async def add_customer(
    t: Tenant,
    *,
    mobile: str = MOBILE,
    first: str | None = "Tom",
    last: str | None = "V",
    identifiers: list[dict[str, Any]] | None = None,
    source: str | None = None,
    **profile: Any,
) -> tuple[int, str]:
    body: dict[str, Any] = {
        "identifiers": [{"type": "mobile", "value": mobile}, *(identifiers or [])],
        **profile,
    }
    if first is not None:
        body["firstName"] = first
    if last is not None:
        body["lastName"] = last
    if source is not None:
        body["source"] = source
    created, request_id = await write(t, "POST", "/v2/customers", {"profiles": [body]})
    return int(created["createdId"]), request_id


async def define_field(
    t: Tenant, entity_type: str, kind: str, name: str, *, audit: bool = True, **extra: Any
) -> httpx.Response:
    return await t.http.post(
        "/v2/orgs/settings/fields",
        json={
            "entityType": entity_type,
            "kind": kind,
            "name": name,
            "dataType": extra.get("dataType", "string"),
            "auditTrail": audit,
            "psi": False,
        },
    )


async def field(t: Tenant, entity_type: str, kind: str, name: str, **kw: Any) -> None:
    r = await define_field(t, entity_type, kind, name, **kw)
    assert r.status_code == 200, r.text


async def label_ids(t: Tenant, entity: str) -> dict[str, int]:
    path = "cardStatusLabels" if entity == "CARD" else "customerStatusLabels"
    r = await t.http.get(f"/v2/orgs/settings/{path}")
    assert r.status_code == 200, r.text
    return {item["label"]: int(item["labelId"]) for item in r.json()["data"]}


async def add_label(t: Tenant, entity: str, status: str, label: str) -> int:
    path = "cardStatusLabels" if entity == "CARD" else "customerStatusLabels"
    r = await t.http.post(f"/v2/orgs/settings/{path}", json={"status": status, "label": label})
    assert r.status_code == 200, r.text
    return int(r.json()["labelId"])


async def add_series(t: Tenant, code: str = "GOLD") -> int:
    r = await t.http.post("/v2/orgs/settings/cardSeries", json={"name": code, "code": code})
    assert r.status_code == 200, r.text
    return int(r.json()["seriesId"])


async def card_id(t: Tenant, number: str) -> int:
    r = await t.http.get("/v2/card", params={"number": number})
    assert r.status_code == 200, r.text
    return int(r.json()["cardId"])


async def add_card(t: Tenant, number: str, series_id: int, **extra: Any) -> tuple[int, str]:
    body, request_id = await write(
        t, "POST", "/v2/card", {"cardNumber": number, "seriesId": series_id, **extra}
    )
    return int(body["entity"]), request_id


async def issue(t: Tenant, customer_id: int, number: str, series_id: int) -> str:
    _, request_id = await write(
        t,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {"add": [{"type": "cardnumber", "value": number, "seriesId": series_id}]},
    )
    return request_id


# -- creation of a customer ----------------------------------------------------------------
async def test_customer_creation_entry(tenant: Tenant) -> None:
    await field(tenant, "CUSTOMER", "custom", "city")
    await field(tenant, "CUSTOMER", "extended", "vehicle_type")
    labels = await label_ids(tenant, "CUSTOMER")
    created, request_id = await write(
        tenant,
        "POST",
        "/v2/customers",
        {
            "profiles": [
                {
                    "firstName": "Tom",
                    "lastName": "V",
                    "identifiers": [
                        {"type": "mobile", "value": MOBILE},
                        {"type": "email", "value": "tom@example.com"},
                        {"type": "externalId", "value": "EXT-1"},
                    ],
                    "commChannels": [{"type": "ios", "value": "token-A"}],
                    "fields": {"city": "Pune"},
                }
            ],
            "extendedFields": {"vehicle_type": "Car"},
        },
    )
    customer_id = created["createdId"]
    [entry] = await audits(tenant, "CUSTOMER", customer_id)
    check_entry(
        entry,
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=request_id,
        source="INSTORE",
    )
    expected = [
        change("StandardField", "FirstName", "NA", "Tom"),
        change("StandardField", "LastName", "NA", "V"),
        ev(
            "CustomerStatus",
            "CustomerStatus",
            {
                "previousLabelId": "NA",
                "previousValue": "NA",
                "currentValue": "ACTIVE",
                "currentLabelId": str(labels["ACTIVE"]),
            },
        ),
        change("Identifier", "mobile", "NA", MOBILE),
        change("Identifier", "email", "NA", "tom@example.com"),
        change("Identifier", "externalId", "NA", "EXT-1"),
        change("CommChannel", "ios", "NA", "token-A"),
        change("CustomField", "city", "NA", "Pune"),
        change("ExtendedField", "vehicle_type", "NA", "Car"),
    ]
    assert_same(sort_events(entry["events"]), sort_events(expected))


# -- Identifier ------------------------------------------------------------------------
async def test_identifier_events(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)

    # A replacement (remove + add of one type) is one event old -> new, as in seeds/003.
    _, replaced = await write(
        tenant,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {
            "remove": [{"type": "mobile", "value": MOBILE}],
            "add": [{"type": "mobile", "value": "919986000581"}],
        },
    )
    _, added = await write(
        tenant,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {"add": [{"type": "email", "value": "tom@example.com"}]},
    )
    _, removed = await write(
        tenant,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {"remove": [{"type": "email", "value": "tom@example.com"}]},
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 4
    expected = [
        (replaced, [change("Identifier", "mobile", MOBILE, "919986000581")]),
        (added, [change("Identifier", "email", "NA", "tom@example.com")]),
        (removed, [change("Identifier", "email", "tom@example.com", "NA")]),
    ]
    for entry, (request_id, events) in zip(entries[1:], expected, strict=True):
        check_entry(
            entry,
            tenant,
            entity_type="CUSTOMER",
            entity_id=customer_id,
            request_id=request_id,
            source="INSTORE",
        )
        assert_same(entry["events"], events)

    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "Identifier")
    assert [e["requestId"] for e in filtered][1:] == [replaced, added, removed]
    mobile_only = await audits(
        tenant, "CUSTOMER", customer_id, referenceType="Identifier", referenceValue="mobile"
    )
    assert len(mobile_only) == 2
    assert_same(mobile_only[1]["events"], expected[0][1])


async def test_adding_a_single_valued_identifier_replaces_it(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)
    _, request_id = await write(
        tenant,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {"add": [{"type": "mobile", "value": "919986000581"}]},
    )
    entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
    assert entry["requestId"] == request_id
    assert_same(entry["events"], [change("Identifier", "mobile", MOBILE, "919986000581")])


# -- StandardField ---------------------------------------------------------------------
async def test_standard_field_events(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant, first="Tom", last="V")
    _, request_id = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"profiles": [{"lastName": "Vatsal"}]},
        params={"source": "INSTORE"},
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 2
    check_entry(
        entries[1],
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=request_id,
        source="INSTORE",
    )
    assert_same(entries[1]["events"], [change("StandardField", "LastName", "V", "Vatsal")])

    _, both = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"profiles": [{"firstName": "Thomas", "lastName": "Vatsal"}]},
    )
    entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
    assert entry["requestId"] == both
    assert_same(entry["events"], [change("StandardField", "FirstName", "Tom", "Thomas")])

    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "StandardField")
    assert [e["requestId"] for e in filtered][1:] == [request_id, both]


async def test_unchanged_names_record_nothing(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant, first="Tom", last="V")
    await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"profiles": [{"firstName": "Tom", "lastName": "V"}]},
    )
    assert len(await audits(tenant, "CUSTOMER", customer_id)) == 1


# -- ExtendedField and CustomField (customer) ---------------------------------------------
async def test_extended_field_events(tenant: Tenant) -> None:
    await field(tenant, "CUSTOMER", "extended", "vehicle_type")
    customer_id, _ = await add_customer(tenant)
    _, first = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"extendedFields": {"vehicle_type": "Car"}},
    )
    _, second = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"extendedFields": {"vehicle_type": "Bike"}},
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 3
    for entry, request_id, events in (
        (entries[1], first, [change("ExtendedField", "vehicle_type", "NA", "Car")]),
        (entries[2], second, [change("ExtendedField", "vehicle_type", "Car", "Bike")]),
    ):
        check_entry(
            entry,
            tenant,
            entity_type="CUSTOMER",
            entity_id=customer_id,
            request_id=request_id,
            source="INSTORE",
        )
        assert_same(entry["events"], events)
    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "ExtendedField")
    assert [e["requestId"] for e in filtered] == [first, second]


async def test_custom_field_events(tenant: Tenant) -> None:
    await field(tenant, "CUSTOMER", "custom", "city")
    await field(tenant, "CUSTOMER", "custom", "age", dataType="integer")
    customer_id, _ = await add_customer(tenant)
    _, first = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"profiles": [{"fields": {"city": "Pune", "age": 30}}]},
    )
    _, second = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"profiles": [{"fields": {"city": "Mumbai", "age": "30"}}]},
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 3
    check_entry(
        entries[1],
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=first,
        source="INSTORE",
    )
    assert_same(
        sort_events(entries[1]["events"]),
        sort_events(
            [change("CustomField", "city", "NA", "Pune"), change("CustomField", "age", "NA", "30")]
        ),
    )
    # age stays 30 (given as a string this time): only city changed.
    assert entries[2]["requestId"] == second
    assert_same(entries[2]["events"], [change("CustomField", "city", "Pune", "Mumbai")])
    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "CustomField")
    assert [e["requestId"] for e in filtered] == [first, second]


# -- CustomerStatus --------------------------------------------------------------------
async def test_customer_status_events(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)
    labels = await label_ids(tenant, "CUSTOMER")
    gold = await add_label(tenant, "CUSTOMER", "ACTIVE", "Gold")
    lookup = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": MOBILE}

    _, relabel = await write(
        tenant,
        "PUT",
        "/v2/customers/lookup/status",
        {"reason": "upgrade", "label": "Gold"},
        params=lookup,
    )
    _, suspend = await write(
        tenant,
        "PUT",
        "/v2/customers/lookup/status",
        {"reason": "fraud check", "label": "SUSPENDED"},
        params=lookup,
    )
    # The label it already has: nothing changes, nothing is recorded.
    await write(
        tenant,
        "PUT",
        "/v2/customers/lookup/status",
        {"reason": "again", "label": "SUSPENDED"},
        params=lookup,
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 3
    for entry, request_id in ((entries[1], relabel), (entries[2], suspend)):
        check_entry(
            entry,
            tenant,
            entity_type="CUSTOMER",
            entity_id=customer_id,
            request_id=request_id,
            source=entry["source"],
        )
        assert entry["source"] in (None, "INSTORE")
    # A label-only change keeps the value (ACTIVE -> ACTIVE), label ids as strings.
    assert_same(
        entries[1]["events"],
        [
            ev(
                "CustomerStatus",
                "CustomerStatus",
                {
                    "previousLabelId": str(labels["ACTIVE"]),
                    "previousValue": "ACTIVE",
                    "currentValue": "ACTIVE",
                    "currentLabelId": str(gold),
                },
            )
        ],
    )
    assert_same(
        entries[2]["events"],
        [
            ev(
                "CustomerStatus",
                "CustomerStatus",
                {
                    "previousLabelId": str(gold),
                    "previousValue": "ACTIVE",
                    "currentValue": "SUSPENDED",
                    "currentLabelId": str(labels["SUSPENDED"]),
                },
            )
        ],
    )
    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "CustomerStatus")
    assert [e["requestId"] for e in filtered][1:] == [relabel, suspend]


# -- SubscriptionStatus ------------------------------------------------------------------
def subscription(
    channel: str,
    channel_id: str,
    priority: str,
    previous: str,
    current: str,
    *,
    org_source_id: str = "-1",
    ou_id: str = "-1",
    org_source: str = "INSTORE",
) -> dict[str, Any]:
    return ev(
        "SubscriptionStatus",
        "SubscriptionStatus",
        {
            "org_source_id": org_source_id,
            "communication_channel_type": channel,
            "ou_id": ou_id,
            "communication_channel_id": channel_id,
            "priority": priority,
            "org_source": org_source,
            "previousValue": previous,
            "currentValue": current,
        },
    )


async def subscribe(t: Tenant, customer_id: int, *items: dict[str, Any]) -> str:
    _, request_id = await write(
        t,
        "POST",
        f"/v2/customers/{customer_id}/subscriptions",
        {
            "communicationId": -1,
            "campaignId": -1,
            "reason": "test",
            "scope": {"scope": "USER", "subScope": "NONE"},
            "subscriptions": list(items),
        },
    )
    return request_id


async def test_subscription_status_events(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)
    optin = await subscribe(
        tenant, customer_id, {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"}
    )
    both = await subscribe(
        tenant,
        customer_id,
        {"channel": "ANDROID", "priority": "BULK", "type": "OPTIN"},
        {"channel": "ANDROID", "priority": "TRANS", "type": "OPTIN"},
    )
    optout = await subscribe(
        tenant, customer_id, {"channel": "EMAIL", "priority": "TRANS", "type": "OPTOUT"}
    )
    # Unchanged: nothing recorded.
    await subscribe(
        tenant, customer_id, {"channel": "EMAIL", "priority": "TRANS", "type": "OPTOUT"}
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 4
    expected = [
        (optin, [subscription("EMAIL", "2", "TRANS", "NA", "OPTIN")]),
        (
            both,
            [
                subscription("ANDROID", "5", "BULK", "NA", "OPTIN"),
                subscription("ANDROID", "5", "TRANS", "NA", "OPTIN"),
            ],
        ),
        (optout, [subscription("EMAIL", "2", "TRANS", "OPTIN", "OPTOUT")]),
    ]
    for entry, (request_id, events) in zip(entries[1:], expected, strict=True):
        # Subscription entries have source null (seeds/003); updatedBy is the till.
        check_entry(
            entry,
            tenant,
            entity_type="CUSTOMER",
            entity_id=customer_id,
            request_id=request_id,
            source=None,
        )
        assert_same(entry["events"], events)
    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "SubscriptionStatus")
    assert [e["requestId"] for e in filtered] == [optin, both, optout]


async def test_subscription_with_account_org_unit_and_source(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)
    request_id = await subscribe(
        tenant,
        customer_id,
        {
            "channel": "EMAIL",
            "priority": "TRANS",
            "type": "OPTIN",
            "accountId": "399",
            "orgUnitId": 12,
            "sourceName": "WEB_ENGAGE",
        },
    )
    entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
    assert entry["requestId"] == request_id
    assert_same(
        entry["events"],
        [
            subscription(
                "EMAIL",
                "2",
                "TRANS",
                "NA",
                "OPTIN",
                org_source_id="399",
                ou_id="12",
                org_source="WEB_ENGAGE",
            )
        ],
    )


# -- CommChannel -------------------------------------------------------------------------
async def test_comm_channel_events(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(
        tenant, source="MAPP_SDK", commChannels=[{"type": "ios", "value": "token-A"}]
    )
    creation = (await audits(tenant, "CUSTOMER", customer_id))[0]
    assert creation["source"] == "MAPP_SDK"
    assert change("CommChannel", "ios", "NA", "token-A") in creation["events"]

    _, request_id = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {
            "profiles": [
                {"source": "MAPP_SDK", "commChannels": [{"type": "ios", "value": "token-B"}]}
            ]
        },
        params={"source": "MAPP_SDK"},
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 2
    check_entry(
        entries[1],
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=request_id,
        source="MAPP_SDK",
    )
    assert_same(entries[1]["events"], [change("CommChannel", "ios", "token-A", "token-B")])
    filtered = await by_reference(tenant, "CUSTOMER", customer_id, "CommChannel")
    assert [e["requestId"] for e in filtered][1:] == [request_id]
    assert_same(filtered[0]["events"], [change("CommChannel", "ios", "NA", "token-A")])
    by_source = await audits(tenant, "CUSTOMER", customer_id, source="MAPP_SDK")
    assert len(by_source) == 2


# -- CardStatus ------------------------------------------------------------------------
async def test_card_status_creation_and_change_events(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    labels = await label_ids(tenant, "CARD")
    card, created = await add_card(tenant, "GOLD0001", series_id)
    customer_id, _ = await add_customer(tenant)
    issued = await issue(tenant, customer_id, "GOLD0001", series_id)
    _, suspended = await write(
        tenant, "PUT", "/v2/card", {"cardNumber": "GOLD0001", "statusLabel": "SUSPENDED"}
    )
    entries = await audits(tenant, "CARD", card)
    assert len(entries) == 3
    for entry, request_id in zip(entries, (created, issued, suspended), strict=True):
        # Card entries have source null (seeds/003).
        check_entry(entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    assert_same(
        entries[0]["events"],
        [
            ev(
                "CardStatus",
                "CardStatus",
                {"labelId": str(labels["NOT_ISSUED"]), "value": "NOT_ISSUED"},
                NO_ENTITY,
            )
        ],
    )
    assert_same(
        entries[1]["events"],
        [
            ev(
                "CardStatus",
                "CardStatus",
                {
                    "previousLabelId": str(labels["NOT_ISSUED"]),
                    "previousValue": "NOT_ISSUED",
                    "currentValue": "ACTIVE",
                    "currentLabelId": str(labels["ACTIVE"]),
                },
                customer_entity(customer_id),
            )
        ],
    )
    assert_same(
        entries[2]["events"],
        [
            ev(
                "CardStatus",
                "CardStatus",
                {
                    "previousLabelId": str(labels["ACTIVE"]),
                    "previousValue": "ACTIVE",
                    "currentValue": "SUSPENDED",
                    "currentLabelId": str(labels["SUSPENDED"]),
                },
                customer_entity(customer_id),
            )
        ],
    )
    filtered = await by_reference(tenant, "CARD", card, "CardStatus")
    assert [e["requestId"] for e in filtered] == [created, issued, suspended]


async def test_card_created_with_a_label_records_that_label(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    gold = await add_label(tenant, "CARD", "ACTIVE", "Gold member")
    card, request_id = await add_card(tenant, "GOLD0002", series_id, statusLabel="Gold member")
    [entry] = await audits(tenant, "CARD", card)
    check_entry(entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    assert_same(
        entry["events"],
        [ev("CardStatus", "CardStatus", {"labelId": str(gold), "value": "ACTIVE"}, NO_ENTITY)],
    )


async def test_card_issue_worked_example(tenant: Tenant) -> None:
    """reference §7.2: issuing a new card with changeIdentifier records the customer's
    Identifiers/cardnumber event and the card's creation and NOT_ISSUED -> ACTIVE events,
    all under the one requestId that the response carries as X-Cap-Requestid."""
    series_id = await add_series(tenant, "BUK")
    labels = await label_ids(tenant, "CARD")
    customer_id, _ = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        json={"add": [{"type": "cardnumber", "value": "BUK0000044849PR", "seriesId": series_id}]},
    )
    assert r.status_code == 200, r.text
    request_id = r.headers["X-Cap-Requestid"]
    card = await card_id(tenant, "BUK0000044849PR")

    customer_entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(customer_entries) == 2
    customer_entry = customer_entries[1]
    check_entry(
        customer_entry,
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=request_id,
        source="INSTORE",
    )
    assert_same(
        customer_entry["events"],
        [change("Identifier", "cardnumber", "NA", "BUK0000044849PR")],
    )

    card_entries = await audits(tenant, "CARD", card)
    assert len(card_entries) == 1
    card_entry = card_entries[0]
    check_entry(card_entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    assert_same(
        card_entry["events"],
        [
            ev(
                "CardStatus",
                "CardStatus",
                {"labelId": str(labels["NOT_ISSUED"]), "value": "NOT_ISSUED"},
                NO_ENTITY,
            ),
            ev(
                "CardStatus",
                "CardStatus",
                {
                    "previousLabelId": str(labels["NOT_ISSUED"]),
                    "previousValue": "NOT_ISSUED",
                    "currentValue": "ACTIVE",
                    "currentLabelId": str(labels["ACTIVE"]),
                },
                customer_entity(customer_id),
            ),
        ],
    )
    assert customer_entry["requestId"] == card_entry["requestId"] == request_id


async def test_removing_a_card_records_both_sides_under_one_request(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    labels = await label_ids(tenant, "CARD")
    customer_id, _ = await add_customer(tenant)
    await issue(tenant, customer_id, "GOLD0003", series_id)
    card = await card_id(tenant, "GOLD0003")
    _, request_id = await write(
        tenant,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {"remove": [{"type": "cardnumber", "value": "GOLD0003"}]},
    )
    customer_entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
    card_entry = (await audits(tenant, "CARD", card))[-1]
    assert customer_entry["requestId"] == card_entry["requestId"] == request_id
    assert_same(customer_entry["events"], [change("Identifier", "cardnumber", "GOLD0003", "NA")])
    assert_same(
        card_entry["events"],
        [
            ev(
                "CardStatus",
                "CardStatus",
                {
                    "previousLabelId": str(labels["ACTIVE"]),
                    "previousValue": "ACTIVE",
                    "currentValue": "NOT_ISSUED",
                    "currentLabelId": str(labels["NOT_ISSUED"]),
                },
                customer_entity(customer_id),
            )
        ],
    )


async def test_add_card_with_customer_records_both_under_one_request(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    labels = await label_ids(tenant, "CARD")
    customer_id, _ = await add_customer(tenant)
    card, request_id = await add_card(tenant, "GOLD0004", series_id, customerId=customer_id)
    [card_entry] = await audits(tenant, "CARD", card)
    check_entry(card_entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    # decisions.md: issuing makes the card ACTIVE; the entry ends in that status.
    last = card_entry["events"][-1]["additionalFields"]
    assert last.get("currentValue", last.get("value")) == "ACTIVE"
    assert last.get("currentLabelId", last.get("labelId")) == str(labels["ACTIVE"])
    customer_entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
    check_entry(
        customer_entry,
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=request_id,
        source="INSTORE",
    )
    assert_same(customer_entry["events"], [change("Identifier", "cardnumber", "NA", "GOLD0004")])


async def test_card_given_at_registration_is_issued_under_the_same_request(
    tenant: Tenant,
) -> None:
    series_id = await add_series(tenant)
    labels = await label_ids(tenant, "CARD")
    customer_id, request_id = await add_customer(
        tenant,
        identifiers=[{"type": "cardnumber", "value": "GOLD0010", "seriesId": series_id}],
    )
    card = await card_id(tenant, "GOLD0010")
    [customer_entry] = await audits(tenant, "CUSTOMER", customer_id)
    assert customer_entry["requestId"] == request_id
    assert change("Identifier", "cardnumber", "NA", "GOLD0010") in customer_entry["events"]
    [card_entry] = await audits(tenant, "CARD", card)
    check_entry(card_entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    assert_same(
        card_entry["events"],
        [
            ev(
                "CardStatus",
                "CardStatus",
                {"labelId": str(labels["NOT_ISSUED"]), "value": "NOT_ISSUED"},
                NO_ENTITY,
            ),
            ev(
                "CardStatus",
                "CardStatus",
                {
                    "previousLabelId": str(labels["NOT_ISSUED"]),
                    "previousValue": "NOT_ISSUED",
                    "currentValue": "ACTIVE",
                    "currentLabelId": str(labels["ACTIVE"]),
                },
                customer_entity(customer_id),
            ),
        ],
    )


async def test_replacing_a_card_is_one_identifier_event_and_two_card_entries(
    tenant: Tenant,
) -> None:
    series_id = await add_series(tenant)
    labels = await label_ids(tenant, "CARD")
    customer_id, _ = await add_customer(tenant)
    await issue(tenant, customer_id, "OLD0001", series_id)
    old_card = await card_id(tenant, "OLD0001")
    _, request_id = await write(
        tenant,
        "POST",
        f"/v2/customers/{customer_id}/changeIdentifier",
        {
            "remove": [{"type": "cardnumber", "value": "OLD0001"}],
            "add": [{"type": "cardnumber", "value": "NEW0001", "seriesId": series_id}],
        },
    )
    new_card = await card_id(tenant, "NEW0001")
    customer_entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
    assert customer_entry["requestId"] == request_id
    assert_same(
        customer_entry["events"], [change("Identifier", "cardnumber", "OLD0001", "NEW0001")]
    )
    old_entry = (await audits(tenant, "CARD", old_card))[-1]
    assert old_entry["requestId"] == request_id
    assert old_entry["events"][-1]["additionalFields"]["currentValue"] == "NOT_ISSUED"
    [new_entry] = await audits(tenant, "CARD", new_card)
    assert new_entry["requestId"] == request_id
    assert [e["additionalFields"] for e in new_entry["events"]] == [
        {"labelId": str(labels["NOT_ISSUED"]), "value": "NOT_ISSUED"},
        {
            "previousLabelId": str(labels["NOT_ISSUED"]),
            "previousValue": "NOT_ISSUED",
            "currentValue": "ACTIVE",
            "currentLabelId": str(labels["ACTIVE"]),
        },
    ]


# -- CardCustomField and CardExtendedField ----------------------------------------------
@pytest.mark.parametrize(
    ("kind", "body_key", "reference_type"),
    [
        ("custom", "customFields", "CardCustomField"),
        ("extended", "extendedFields", "CardExtendedField"),
    ],
)
async def test_card_field_events_on_an_issued_card(
    tenant: Tenant, kind: str, body_key: str, reference_type: str
) -> None:
    series_id = await add_series(tenant)
    await field(tenant, "CARD", kind, "vehicle_type")
    customer_id, _ = await add_customer(tenant)
    await issue(tenant, customer_id, "GOLD0005", series_id)
    card = await card_id(tenant, "GOLD0005")
    _, first = await write(
        tenant, "PUT", "/v2/card", {"cardNumber": "GOLD0005", body_key: {"vehicle_type": "Car"}}
    )
    _, second = await write(
        tenant, "PUT", "/v2/card", {"cardId": card, body_key: {"vehicle_type": "Bike"}}
    )
    # Same value again: nothing recorded.
    await write(tenant, "PUT", "/v2/card", {"cardId": card, body_key: {"vehicle_type": "Bike"}})
    entries = await audits(tenant, "CARD", card)
    assert len(entries) == 3
    linked = customer_entity(customer_id)
    for entry, request_id, events in (
        (entries[1], first, [change(reference_type, "vehicle_type", "NA", "Car", linked)]),
        (entries[2], second, [change(reference_type, "vehicle_type", "Car", "Bike", linked)]),
    ):
        check_entry(entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
        assert_same(entry["events"], events)
    filtered = await by_reference(tenant, "CARD", card, reference_type)
    assert [e["requestId"] for e in filtered] == [first, second]


@pytest.mark.parametrize(
    ("kind", "body_key", "reference_type"),
    [
        ("custom", "customFields", "CardCustomField"),
        ("extended", "extendedFields", "CardExtendedField"),
    ],
)
async def test_card_field_events_on_an_unlinked_card_have_no_associate(
    tenant: Tenant, kind: str, body_key: str, reference_type: str
) -> None:
    """decisions.md: card field events carry the card's customer, or null when unlinked."""
    series_id = await add_series(tenant)
    await field(tenant, "CARD", kind, "vehicle_type")
    card, _ = await add_card(tenant, "GOLD0006", series_id)
    _, request_id = await write(
        tenant, "PUT", "/v2/card", {"cardNumber": "GOLD0006", body_key: {"vehicle_type": "Car"}}
    )
    entry = (await audits(tenant, "CARD", card))[-1]
    check_entry(entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    assert_same(entry["events"], [change(reference_type, "vehicle_type", "NA", "Car")])


async def test_card_fields_given_at_creation_join_the_creation_entry(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    labels = await label_ids(tenant, "CARD")
    await field(tenant, "CARD", "custom", "vehicle_type")
    await field(tenant, "CARD", "extended", "fee", dataType="double")
    card, request_id = await add_card(
        tenant,
        "GOLD0007",
        series_id,
        customFields={"vehicle_type": "Car"},
        extendedFields={"fee": 20},
    )
    [entry] = await audits(tenant, "CARD", card)
    check_entry(entry, tenant, entity_type="CARD", entity_id=card, request_id=request_id)
    assert_same(
        entry["events"][0],
        ev(
            "CardStatus",
            "CardStatus",
            {"labelId": str(labels["NOT_ISSUED"]), "value": "NOT_ISSUED"},
            NO_ENTITY,
        ),
    )
    rest = [{**e, "associateEntities": None} for e in entry["events"][1:]]
    assert_same(
        sort_events(rest),
        sort_events(
            [
                change("CardCustomField", "vehicle_type", "NA", "Car"),
                change("CardExtendedField", "fee", "NA", "20.0"),
            ]
        ),
    )


# -- audited fields: only with auditTrail, at most 5 ------------------------------------
FIELD_KINDS = [
    ("CUSTOMER", "custom", "CustomField"),
    ("CUSTOMER", "extended", "ExtendedField"),
    ("CARD", "custom", "CardCustomField"),
    ("CARD", "extended", "CardExtendedField"),
]


async def _write_fields(
    t: Tenant, entity_type: str, kind: str, entity_id: int, values: dict[str, Any]
) -> str:
    if entity_type == "CARD":
        key = "customFields" if kind == "custom" else "extendedFields"
        _, request_id = await write(t, "PUT", "/v2/card", {"cardId": entity_id, key: values})
    elif kind == "custom":
        _, request_id = await write(
            t, "PUT", f"/v2/customers/{entity_id}", {"profiles": [{"fields": values}]}
        )
    else:
        _, request_id = await write(
            t, "PUT", f"/v2/customers/{entity_id}", {"extendedFields": values}
        )
    return request_id


async def _entity(t: Tenant, entity_type: str) -> int:
    if entity_type == "CARD":
        card, _ = await add_card(t, "GOLD0008", await add_series(t))
        return card
    customer_id, _ = await add_customer(t)
    return customer_id


@pytest.mark.parametrize(("entity_type", "kind", "reference_type"), FIELD_KINDS)
async def test_field_without_audit_trail_records_no_event(
    tenant: Tenant, entity_type: str, kind: str, reference_type: str
) -> None:
    await field(tenant, entity_type, kind, "audited")
    await field(tenant, entity_type, kind, "quiet", audit=False)
    entity_id = await _entity(tenant, entity_type)
    before = len(await audits(tenant, entity_type, entity_id))

    await _write_fields(tenant, entity_type, kind, entity_id, {"quiet": "x"})
    assert len(await audits(tenant, entity_type, entity_id)) == before

    request_id = await _write_fields(
        tenant, entity_type, kind, entity_id, {"quiet": "y", "audited": "z"}
    )
    entries = await audits(tenant, entity_type, entity_id)
    assert len(entries) == before + 1
    assert entries[-1]["requestId"] == request_id
    assert [(e["eventType"], e["updatedField"]) for e in entries[-1]["events"]] == [
        (EVENT_TYPES[reference_type], "audited")
    ]
    assert entries[-1]["events"][0]["additionalFields"] == {
        "previousValue": "NA",
        "currentValue": "z",
    }


@pytest.mark.parametrize(("entity_type", "kind", "reference_type"), FIELD_KINDS)
async def test_a_sixth_audited_field_is_refused(
    tenant: Tenant, entity_type: str, kind: str, reference_type: str
) -> None:
    for i in range(5):
        await field(tenant, entity_type, kind, f"audited_{i}")
    r = await define_field(tenant, entity_type, kind, "audited_5")
    assert r.status_code == 400, r.text
    error = r.json()["errors"][0]
    assert error["status"] is False
    assert error["code"] == 400
    assert "5" in error["message"]
    # Not audited: allowed. Another kind or entity type: its own budget.
    await field(tenant, entity_type, kind, "quiet_5", audit=False)
    other_kind = "extended" if kind == "custom" else "custom"
    await field(tenant, entity_type, other_kind, "other_kind")
    other_entity = "CARD" if entity_type == "CUSTOMER" else "CUSTOMER"
    await field(tenant, other_entity, kind, "other_entity")
    r = await tenant.http.get("/v2/orgs/settings/fields")
    assert r.status_code == 200, r.text
    names = {f["name"] for f in r.json()["data"]}
    assert "audited_5" not in names
    assert {"quiet_5", "other_kind", "other_entity"} <= names


async def test_audit_limit_is_per_org(make_tenant: Any) -> None:
    full, fresh = await make_tenant(), await make_tenant()
    for i in range(5):
        await field(full, "CUSTOMER", "custom", f"audited_{i}")
    assert (await define_field(full, "CUSTOMER", "custom", "audited_5")).status_code == 400
    await field(fresh, "CUSTOMER", "custom", "audited_5")


# -- CustomerMerge -------------------------------------------------------------------------
async def test_customer_merge_entries(tenant: Tenant) -> None:
    victim, _ = await add_customer(
        tenant,
        mobile="917288599612",
        first="JAK",
        last="GHI",
        identifiers=[
            {"type": "email", "value": "jak.victim@example.com"},
            {"type": "externalId", "value": "917288599612externalId"},
            {"type": "cuid", "value": "CU-VICTIM"},
        ],
    )
    survivor, _ = await add_customer(
        tenant,
        mobile="917288599611",
        first="JAK",
        last="GHI",
        identifiers=[
            {"type": "email", "value": "jak.survivor@example.com"},
            {"type": "externalId", "value": "917288599611externalId"},
        ],
    )
    _, request_id = await write(
        tenant,
        "POST",
        "/v2/requests",
        {
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "changeIdentifiers": {
                "add": [{"type": "id", "value": str(survivor)}],
                "remove": [{"type": "id", "value": str(victim)}],
            },
        },
        params={"client_auto_approve": "true"},
    )
    victim_details = {
        "firstName": "JAK",
        "lastName": "GHI",
        "email": "jak.victim@example.com",
        "mobile": "917288599612",
        "externalId": "917288599612externalId",
    }
    survivor_details = {
        "firstName": "JAK",
        "lastName": "GHI",
        "email": "jak.survivor@example.com",
        "mobile": "917288599611",
        "externalId": "917288599611externalId",
    }
    merge_event = ev(
        "CustomerMerge",
        "CustomerMerge",
        {"victimId": str(victim), "survivorId": str(survivor)},
    )
    expected_events = {
        survivor: [merge_event, change("Identifier", "cuid", "NA", "CU-VICTIM")],
        victim: [merge_event, change("Identifier", "cuid", "CU-VICTIM", "NA")],
    }
    for customer_id, events in expected_events.items():
        entries = await audits(tenant, "CUSTOMER", customer_id)
        assert len(entries) == 2
        entry = entries[1]
        check_entry(
            entry,
            tenant,
            entity_type="CUSTOMER",
            entity_id=customer_id,
            request_id=request_id,
            source="INSTORE",
        )
        assert_same(entry["victimUserDetails"], victim_details)
        assert_same(entry["survivorUserDetails"], survivor_details)
        assert_same(entry["events"], events)
        # Entries other than merges carry no merge details.
        assert entries[0]["victimUserDetails"] is None
        assert entries[0]["survivorUserDetails"] is None

        filtered = await by_reference(tenant, "CUSTOMER", customer_id, "CustomerMerge")
        assert len(filtered) == 1
        assert filtered[0]["requestId"] == request_id
        assert_same(filtered[0]["events"], [merge_event])
        assert_same(filtered[0]["victimUserDetails"], victim_details)


async def test_merge_approved_later_is_recorded_under_the_approval(tenant: Tenant) -> None:
    victim, _ = await add_customer(tenant, mobile="917288599612")
    survivor, _ = await add_customer(tenant, mobile="917288599611")
    created, _ = await write(
        tenant,
        "POST",
        "/v2/requests",
        {
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "changeIdentifiers": {
                "add": [{"type": "id", "value": str(survivor)}],
                "remove": [{"type": "id", "value": str(victim)}],
            },
        },
    )
    assert len(await audits(tenant, "CUSTOMER", victim)) == 1
    _, approval = await write(
        tenant,
        "PUT",
        "/v2/requests",
        [
            {
                "type": "CHANGE_IDENTIFIER",
                "baseType": "MERGE",
                "id": created["createdId"],
                "status": "APPROVED",
            }
        ],
    )
    for customer_id in (victim, survivor):
        entry = (await audits(tenant, "CUSTOMER", customer_id))[-1]
        assert entry["requestId"] == approval
        assert entry["events"][0]["eventType"] == "Customer Merge"
        assert list(entry["victimUserDetails"]) == PERSON_KEYS
        assert entry["victimUserDetails"]["mobile"] == "917288599612"
        assert entry["survivorUserDetails"]["mobile"] == "917288599611"


# -- who: till, store, user context ------------------------------------------------------
async def test_entry_names_the_till_and_store_of_the_caller(tenant: Tenant) -> None:
    store_code = unique("store")
    till_id, till_code, password = make_till(
        tenant.db,
        tenant.org_id,
        code=unique("desk"),
        name="Front desk",
        store_code=store_code,
        store_name="Main Street",
    )
    _, request_id = await write(
        tenant,
        "POST",
        "/v2/customers",
        {"profiles": [{"identifiers": [{"type": "mobile", "value": MOBILE}]}]},
        headers=basic(till_code, md5(password)),
    )
    r = await tenant.http.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": MOBILE},
    )
    assert r.status_code == 200, r.text
    customer_id = r.json()["entity"]
    [entry] = await audits(tenant, "CUSTOMER", customer_id)
    check_entry(
        entry,
        tenant,
        entity_type="CUSTOMER",
        entity_id=customer_id,
        request_id=request_id,
        source="INSTORE",
        till_id=till_id,
    )
    assert_same(entry["till"], {"code": till_code, "name": "Front desk", "id": till_id})
    assert_same(
        entry["store"],
        {
            "code": store_code,
            "name": "Main Street",
            "externalId": None,
            "externalId1": None,
            "externalId2": None,
        },
    )


async def test_user_context_headers_on_a_customer_write(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant, last="V")
    _, request_id = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {"profiles": [{"lastName": "Vatsal"}]},
        headers=MEMBER_CARE,
    )
    with_context = await audits(tenant, "CUSTOMER", customer_id, includeUserContext="true")
    without = await audits(tenant, "CUSTOMER", customer_id, includeUserContext="false")
    default = await audits(tenant, "CUSTOMER", customer_id)

    entry = with_context[1]
    assert entry["requestId"] == request_id
    assert entry["updatedByMode"] == "MEMBER_CARE"
    assert_same(
        entry["userContextDetails"],
        {
            "entityType": "INTOUCH_ADMIN_USER",
            "entityId": "75015489",
            "entitySource": "MEMBER_CARE",
            "entitySourceId": "Achyuthanandan S",
        },
    )
    # An entry written without the headers: all four keys, null (seeds/003).
    assert_same(with_context[0]["userContextDetails"], dict.fromkeys(USER_CONTEXT_KEYS))
    assert with_context[0]["updatedByMode"] == "API"
    for entries in (without, default):
        assert [e["userContextDetails"] for e in entries] == [None, None]
        assert entries[1]["updatedByMode"] == "MEMBER_CARE"
        check_entry(
            entries[1],
            tenant,
            entity_type="CUSTOMER",
            entity_id=customer_id,
            request_id=request_id,
            source="INSTORE",
            mode="MEMBER_CARE",
        )


async def test_user_context_headers_on_card_and_status_writes(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    card, _ = await add_card(tenant, "GOLD0009", series_id)
    headers = {**MEMBER_CARE, "USER-CONTEXT-ENTITY-SOURCE": "REQUEST_WORKFLOW"}
    _, request_id = await write(
        tenant,
        "PUT",
        "/v2/card",
        {"cardNumber": "GOLD0009", "statusLabel": "SUSPENDED"},
        headers=headers,
    )
    entry = (await audits(tenant, "CARD", card, includeUserContext="true"))[-1]
    assert entry["requestId"] == request_id
    assert entry["updatedByMode"] == "REQUEST_WORKFLOW"
    assert entry["userContextDetails"]["entitySource"] == "REQUEST_WORKFLOW"
    assert entry["userContextDetails"]["entityId"] == "75015489"

    customer_id, _ = await add_customer(tenant)
    _, status_request = await write(
        tenant,
        "PUT",
        "/v2/customers/lookup/status",
        {"reason": "member care", "label": "SUSPENDED"},
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": MOBILE},
        headers=MEMBER_CARE,
    )
    entry = (await audits(tenant, "CUSTOMER", customer_id, includeUserContext="true"))[-1]
    assert entry["requestId"] == status_request
    assert entry["updatedByMode"] == "MEMBER_CARE"
    assert entry["userContextDetails"]["entitySourceId"] == "Achyuthanandan S"


# -- one entry per (entity, request) -----------------------------------------------------
async def test_one_request_is_one_entry_per_entity(tenant: Tenant) -> None:
    await field(tenant, "CUSTOMER", "extended", "vehicle_type")
    customer_id, _ = await add_customer(tenant, first="Tom", last="V")
    _, request_id = await write(
        tenant,
        "PUT",
        f"/v2/customers/{customer_id}",
        {
            "profiles": [
                {"firstName": "Thomas", "commChannels": [{"type": "android", "value": "tok"}]}
            ],
            "extendedFields": {"vehicle_type": "Car"},
        },
    )
    entries = await audits(tenant, "CUSTOMER", customer_id)
    assert len(entries) == 2
    assert entries[1]["requestId"] == request_id
    assert_same(
        sort_events(entries[1]["events"]),
        sort_events(
            [
                change("StandardField", "FirstName", "Tom", "Thomas"),
                change("CommChannel", "android", "NA", "tok"),
                change("ExtendedField", "vehicle_type", "NA", "Car"),
            ]
        ),
    )
    # The referenceType filter keeps the entry but returns only the matching events.
    [only] = await audits(tenant, "CUSTOMER", customer_id, referenceType="CommChannel")
    assert only["requestId"] == request_id
    assert_same(only["events"], [change("CommChannel", "android", "NA", "tok")])


async def test_a_failed_write_records_nothing(tenant: Tenant) -> None:
    await field(tenant, "CUSTOMER", "extended", "age", dataType="integer")
    customer_id, _ = await add_customer(tenant, first="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={"profiles": [{"firstName": "Thomas"}], "extendedFields": {"age": "old"}},
    )
    assert r.status_code == 400, r.text
    assert len(await audits(tenant, "CUSTOMER", customer_id)) == 1
    r = await tenant.http.get(f"/v2/customers/{customer_id}")
    assert r.json()["profiles"][0]["firstName"] == "Tom"


async def test_every_reference_type_is_a_filter(tenant: Tenant) -> None:
    """Each referenceType of seeds/003 is accepted; one with no events gives an empty page."""
    customer_id, _ = await add_customer(tenant)
    for reference_type in EVENT_TYPES:
        r = await tenant.http.get(
            AUDITS,
            params={
                "entityType": "CUSTOMER",
                "entityId": customer_id,
                "referenceType": reference_type,
            },
        )
        assert r.status_code == 200, (reference_type, r.text)
        page = r.json()
        expected = 1 if reference_type in {"Identifier", "StandardField", "CustomerStatus"} else 0
        assert page["pagination"]["totalElements"] == expected, reference_type
