"""The catalogues: GET /v2/events/meta_fields (checked against the validator),
GET /v2/events/adapters_meta, GET /v2/events/standard_events_meta and
POST /v2/events/standard_events/enable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from eventrail.events import fields as f
from eventrail.events import standard
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant, basic, make_till, md5, unique
from tests.fixtures.ingest import (
    add_customer,
    all_logs,
    assert_error,
    envelope,
    ok,
)

META_FIELDS = "/v2/events/meta_fields"
ADAPTERS = "/v2/events/adapters_meta"
STANDARD = "/v2/events/standard_events_meta"
ENABLE = "/v2/events/standard_events/enable"


def _customer() -> dict[str, Any]:
    return {"name": "customer", "type": "customer", "attributes": {}}


def _body(name: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": name, "actions": ["EIConsumer"], "fields": list(fields)}


def _sample(attribute: dict[str, Any]) -> str:
    """A valid value of an attribute, from what the catalogue says of it."""
    if attribute["possibleValues"]:
        return str(attribute["possibleValues"][-1])
    return {"regex": "^[A-Za-z0-9]+$", "possibleValues": "a,b", "accountId": "acc1"}[
        attribute["name"]
    ]


def _field_of(type_: dict[str, Any], name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    attrs = dict(attributes)
    if type_["storedType"] == "ENUM" and "possibleValues" not in attrs:
        attrs["possibleValues"] = {"value": "a,b"}
    return {"name": name, "type": type_["type"], "attributes": attrs}


def _definition_with(type_: dict[str, Any], name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    if type_["storedType"] == "CUSTOMER":
        return _body(name, _field_of(type_, "customer", attrs))
    return _body(name, _customer(), _field_of(type_, "f", attrs))


async def test_meta_fields_lists_every_type_with_its_attributes(tenant: Tenant) -> None:
    types = envelope(await tenant.http.get(META_FIELDS))
    assert [t["storedType"] for t in types] == [rule.stored for rule in f.FIELD_TYPE_RULES]
    by_type = {t["storedType"]: t for t in types}
    assert by_type["CUSTOMER"]["label"] == "Customer Identifier"
    customer_attrs = {a["name"]: a for a in by_type["CUSTOMER"]["attributes"]}
    assert customer_attrs["isRequired"]["defaultValue"] == "true"
    assert customer_attrs["identifierType"]["defaultValue"] == "mobile"
    assert "userId" in customer_attrs["identifierType"]["possibleValues"]
    assert customer_attrs["source"]["defaultValue"] == "INSTORE"
    assert "isPsiData" not in customer_attrs  # not allowed on the customer identifier
    for t in types:
        assert t["type"].lower() in f.FIELD_TYPES
        for attribute in t["attributes"]:
            assert attribute["valueType"] in ("BOOLEAN", "STRING", "ENUM")


def test_catalogue_defaults_are_what_a_field_without_the_attribute_gets() -> None:
    for type_ in f.catalogue():
        spec = f.parse_field({"name": "x", "type": type_["storedType"], "attributes": {}})
        got = {
            "isRequired": "true" if spec.required else "false",
            "isUniqueKeyField": "true" if spec.unique else "false",
            "isPsiData": "true" if spec.psi else "false",
            "addCustomerIfNotExists": "true" if spec.add_if_missing else "false",
            "identifierType": spec.identifier_type,
            "source": spec.source,
            "groupIdentifierType": spec.group_identifier_type,
            "accountId": spec.account_id or None,
            "regex": None if spec.regex is None else spec.regex.pattern,
            "possibleValues": ",".join(sorted(spec.possible_values)) or None,
        }
        for attribute in type_["attributes"]:
            assert got[attribute["name"]] == attribute["defaultValue"], (type_, attribute)


async def test_every_listed_type_and_attribute_is_accepted_and_others_refused(
    tenant: Tenant,
) -> None:
    types = envelope(await tenant.http.get(META_FIELDS))
    every_attribute = {a["name"] for t in types for a in t["attributes"]} | {"bogusAttribute"}
    n = 0
    for type_ in types:
        listed = {a["name"] for a in type_["attributes"]}
        for attribute in type_["attributes"]:
            n += 1
            name = f"Cat{n}"
            attrs = {attribute["name"]: {"value": _sample(attribute)}}
            r = await tenant.http.post("/v2/events", json=_definition_with(type_, name, attrs))
            assert r.status_code == 200, (type_["type"], attribute["name"], r.text)
            # every possible value of an enumerated attribute is accepted too (false before
            # true: a unique key field cannot be reverted)
            for value in sorted(attribute["possibleValues"], key=lambda v: v == "true"):
                attrs = {attribute["name"]: {"value": value}}
                r = await tenant.http.put("/v2/events", json=_definition_with(type_, name, attrs))
                assert r.status_code == 200, (type_["type"], attribute["name"], value, r.text)
        for unlisted in sorted(every_attribute - listed):
            attrs = {unlisted: {"value": "true"}}
            r = await tenant.http.post(
                "/v2/events", json=_definition_with(type_, unique("Refused"), attrs)
            )
            assert_error(r, 400, 1802, unlisted)


async def test_a_value_outside_an_attributes_possible_values_is_refused(tenant: Tenant) -> None:
    for type_ in envelope(await tenant.http.get(META_FIELDS)):
        for attribute in type_["attributes"]:
            if not attribute["possibleValues"]:
                continue
            attrs = {attribute["name"]: {"value": "no-such-value"}}
            r = await tenant.http.post(
                "/v2/events", json=_definition_with(type_, unique("Bad"), attrs)
            )
            assert_error(r, 400, 1802, attribute["name"])


async def test_catalogues_need_credentials(http: httpx.AsyncClient) -> None:
    for path in (META_FIELDS, ADAPTERS, STANDARD):
        assert (await http.get(path)).status_code == 401
    assert (await http.post(ENABLE, params={"event_name": "ProductViewed"})).status_code == 401


# -- adapters_meta ---------------------------------------------------------------------
async def test_adapters_meta_lists_the_built_in_transformers_and_the_orgs_own(
    make_tenant: TenantFactory,
) -> None:
    a, b = await make_tenant(), await make_tenant()
    first = envelope(await a.http.get(ADAPTERS))
    assert [x["transformerType"] for x in first] == ["DefaultTransformer", "WebEngageTransformer"]
    assert all(x["mapping"] is None and x["custom"] is False for x in first)
    own = unique("shopTransformer").replace("-", "")
    ok(
        await a.http.post(
            "/v2/events/webhook", json={"transformerType": own, "tillCode": a.till_code}
        )
    )
    ok(await a.http.post("/v2/events", json=_body("Bought", _customer())))
    ok(
        await a.http.post(
            "/v2/events/adapter_mapping",
            json={
                "transformerType": own,
                "transformerData": {
                    "eventMapper": {"fieldName": "kind", "valueMap": {"buy": "Bought"}},
                    "eventFieldMapper": {
                        "Bought": [{"eventFieldName": "customer", "fieldName": "who"}]
                    },
                },
            },
        )
    )
    seen = envelope(await a.http.get(ADAPTERS))
    assert [x["transformerType"] for x in seen] == [
        "DefaultTransformer",
        "WebEngageTransformer",
        own,
    ]
    mine = seen[2]
    assert mine["custom"] is True
    assert mine["mapping"]["eventMapper"] == {"fieldName": "kind", "valueMap": {"buy": "Bought"}}
    assert mine["mapping"]["eventFieldMapper"]["Bought"] == [
        {"eventFieldName": "customer", "fieldName": "who"}
    ]
    # B sees none of it
    assert envelope(await b.http.get(ADAPTERS)) == first
    assert own not in (await b.http.get(ADAPTERS)).text


# -- the standard events library ---------------------------------------------------------
async def test_standard_events_meta_lists_the_library(tenant: Tenant) -> None:
    events = envelope(await tenant.http.get(STANDARD))
    names = [e["eventName"] for e in events]
    assert names == [e.event_name for e in standard.STANDARD_EVENTS]
    for label in ("Product Added To Cart", "Product Viewed", "Customer Logged In"):
        assert label in [e["label"] for e in events]
    for event in events:
        assert event["enabled"] is False
        assert event["eventType"] in standard.STANDARD_EVENT_TYPES
        customers = [x for x in event["fields"] if x["type"] == "CUSTOMER"]
        assert len(customers) == 1
        assert event["standardAdapterMapping"]["transformerType"] == "WebEngageTransformer"


async def test_every_standard_event_can_be_enabled(tenant: Tenant) -> None:
    for event in standard.STANDARD_EVENTS:
        ok(await tenant.http.post(ENABLE, params={"event_name": event.event_name}))
    listed = envelope(await tenant.http.get(STANDARD))
    assert all(e["enabled"] for e in listed)
    defined = {
        d["clickEventsMeta"]["eventName"]: d["clickEventsMeta"]
        for d in envelope(await tenant.http.get("/v2/events"))
    }
    by_name = {e["eventName"]: e for e in listed}
    for event in standard.STANDARD_EVENTS:
        meta = defined[event.event_name]
        assert meta["standardEvent"] is True
        assert meta["eventType"] == event.event_type != "USEREVENT"
        assert meta["label"] == event.label
        assert meta["fields"] == by_name[event.event_name]["fields"]


async def test_enable_the_capillary_sample_and_isolation(
    make_tenant: TenantFactory,
) -> None:
    a, b = await make_tenant(), await make_tenant()
    # the fragment's sample request: ?event_name=ProductRemovedFromCart
    body = ok(await a.http.post(ENABLE, params={"event_name": "ProductRemovedFromCart"}))
    assert body == {"warnings": [], "errors": []}
    [meta] = envelope(
        await a.http.get("/v2/events/meta", params={"event_name": "ProductRemovedFromCart"})
    )
    assert meta["clickEventsMeta"]["standardEvent"] is True
    assert meta["clickEventsMeta"]["eventType"] == "PRODUCTEVENT"
    # twice: it exists
    r = await a.http.post(ENABLE, params={"event_name": "ProductRemovedFromCart"})
    assert_error(r, 400, 1806, "ProductRemovedFromCart")
    # B: not enabled, not visible, and B may enable its own
    b_events = envelope(await b.http.get(STANDARD))
    assert not any(e["enabled"] for e in b_events)
    assert envelope(await b.http.get("/v2/events")) == []
    ok(await b.http.post(ENABLE, params={"event_name": "ProductRemovedFromCart"}))
    a_ids = {d["clickEventsMeta"]["eventId"] for d in envelope(await a.http.get("/v2/events"))}
    b_ids = {d["clickEventsMeta"]["eventId"] for d in envelope(await b.http.get("/v2/events"))}
    assert a_ids.isdisjoint(b_ids)


async def test_enable_by_label_any_case(tenant: Tenant) -> None:
    ok(await tenant.http.post(ENABLE, params={"event_name": "customer logged in"}))
    [meta] = envelope(await tenant.http.get("/v2/events", params={"eventName": "CustomerLoggedIn"}))
    assert meta["clickEventsMeta"]["eventType"] == "CUSTOMEREVENT"


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({}, 400, "event_name"),
        ({"event_name": ""}, 400, "event_name"),
        ({"event_name": "NoSuchStandardEvent"}, 1811, "event_name"),
        ({"event_name": "x" * 201}, 400, "event_name"),
        (
            {"event_name": "ProductViewed", "use_standard_adapter_mappings": "maybe"},
            400,
            "use_standard_adapter_mappings",
        ),
    ],
)
async def test_enable_bad_parameters_are_400_naming_them(
    tenant: Tenant, params: dict[str, str], code: int, fragment: str
) -> None:
    assert_error(await tenant.http.post(ENABLE, params=params), 400, code, fragment)
    assert envelope(await tenant.http.get("/v2/events")) == []


async def test_a_custom_event_of_the_same_name_blocks_enabling(tenant: Tenant) -> None:
    ok(await tenant.http.post("/v2/events", json=_body("ProductViewed", _customer())))
    r = await tenant.http.post(ENABLE, params={"event_name": "ProductViewed"})
    assert_error(r, 400, 1806, "ProductViewed")
    listed = {e["eventName"]: e for e in envelope(await tenant.http.get(STANDARD))}
    assert listed["ProductViewed"]["enabled"] is False


async def test_a_standard_event_keeps_its_type_on_update(tenant: Tenant) -> None:
    ok(await tenant.http.post(ENABLE, params={"event_name": "CouponApplied"}))
    [meta] = envelope(await tenant.http.get("/v2/events", params={"eventName": "CouponApplied"}))
    fields = meta["clickEventsMeta"]["fields"]
    update = {"eventName": "CouponApplied", "actions": ["EIConsumer"], "fields": fields}
    ok(await tenant.http.put("/v2/events", json=update))
    r = await tenant.http.put("/v2/events", json={**update, "eventType": "USEREVENT"})
    assert_error(r, 400, 400, "eventType")
    [meta] = envelope(await tenant.http.get("/v2/events", params={"eventName": "CouponApplied"}))
    assert meta["clickEventsMeta"]["eventType"] == "COUPONEVENT"
    assert meta["clickEventsMeta"]["standardEvent"] is True


async def test_enabling_needs_the_admin_permission(tenant: Tenant) -> None:
    _, code, password = make_till(tenant.db, tenant.org_id, admin=False)
    r = await tenant.http.post(
        ENABLE, params={"event_name": "ProductViewed"}, headers=basic(code, md5(password))
    )
    assert r.status_code == 403, r.text
    assert envelope(await tenant.http.get("/v2/events")) == []
    # the reads are open to it
    for path in (META_FIELDS, ADAPTERS, STANDARD):
        r = await tenant.http.get(path, headers=basic(code, md5(password)))
        assert r.status_code == 200, r.text


async def test_standard_adapter_mappings_take_webengage_payloads(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    ok(
        await tenant.http.post(
            ENABLE,
            params={"event_name": "ProductAddedToCart", "use_standard_adapter_mappings": "true"},
        )
    )
    [meta] = envelope(
        await tenant.http.get("/v2/events", params={"eventName": "ProductAddedToCart"})
    )
    mapping = meta["transformerMappings"]["webEngageTransformerMapping"]
    assert mapping["eventNameMapping"]["valueMap"] == {"Added To Cart": "ProductAddedToCart"}
    adapters = {x["transformerType"]: x for x in envelope(await tenant.http.get(ADAPTERS))}
    assert adapters["WebEngageTransformer"]["mapping"]["eventsMapped"] == ["ProductAddedToCart"]
    webhook = ok(
        await tenant.http.post(
            "/v2/events/webhook",
            json={"transformerType": "WebEngageTransformer", "tillCode": tenant.till_code},
        )
    )["webHookId"]
    customer_id, mobile = await add_customer(tenant)
    payload = {
        "eventName": "Added To Cart",
        "userId": mobile,
        "eventData": {"sku": "SKU-1", "name": "Shoe", "price": 12.5, "quantity": 2},
    }
    r = await tenant.http.post(f"/webhooks/{webhook}", json=payload)
    assert r.status_code == 200, r.text
    request_id = r.json()["requestId"]
    drain()
    [entry] = [e for e in await all_logs(tenant.http) if e["id"] == request_id]
    assert entry["status"] == "EVENT_SUCCESS", entry
    [record] = envelope(await tenant.http.get(f"/v2/events/event_data/{customer_id}"))
    assert record["eventName"] == "ProductAddedToCart"
    assert record["additonalAttributes"]["productSku"] == "SKU-1"
    assert (
        record["additonalAttributes"]["quantity"] == "2"
        or record["additonalAttributes"]["quantity"] == 2
    )
