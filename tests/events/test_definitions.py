"""Event definitions: POST/PUT/GET /v2/events, /v2/events/meta, /v2/events/disable
(SPEC §3.1, reference §3.1-§3.2)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TenantFactory
from tests.customers.helpers import add_customer, assert_error, assert_ok, ident, mobile
from tests.fixtures.factories import Tenant

HEX32 = re.compile(r"^[0-9a-f]{32}$")
Drain = Callable[[], int]


# -- helpers -----------------------------------------------------------------------
def customer_field(name: str = "customer", identifier: str = "mobile", **attrs: Any) -> dict:
    attributes: dict[str, Any] = {"identifierType": {"value": identifier}, **attrs}
    return {"name": name, "type": "customer", "attributes": attributes}


def field(name: str, type_: str, **attrs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": type_}
    if attrs:
        out["attributes"] = attrs
    return out


def definition(name: str = "Shop", *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventName": name,
        "actions": ["EIConsumer"],
        "fields": list(fields) or [customer_field(), field("amount", "double")],
    }
    body.update(extra)
    return body


async def create(t: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await t.http.post("/v2/events", json=body)


async def create_ok(t: Tenant, body: dict[str, Any]) -> str:
    result = assert_ok(await create(t, body))
    event_id: str = result["eventId"]
    return event_id


async def list_events(t: Tenant, name: str | None = None) -> list[dict[str, Any]]:
    params = {"eventName": name} if name is not None else None
    body = assert_ok(await t.http.get("/v2/events", params=params))
    assert body["warnings"] == [] and body["errors"] == [], body
    data: list[dict[str, Any]] = body["data"]
    return data


async def meta_of(t: Tenant, name: str) -> dict[str, Any]:
    data = await list_events(t, name)
    assert len(data) == 1, data
    meta: dict[str, Any] = data[0]["clickEventsMeta"]
    return meta


def fields_by_name(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in meta["fields"]}


async def default_webhook(t: Tenant) -> str:
    body = assert_ok(
        await t.http.post(
            "/v2/events/webhook",
            json={"transformerType": "defaultTransformer", "tillCode": t.till_code},
        )
    )
    webhook_id: str = body["webHookId"]
    return webhook_id


async def post_event(t: Tenant, webhook_id: str, payload: dict[str, Any]) -> str:
    body = assert_ok(await t.http.post(f"/webhooks/{webhook_id}", json=payload))
    assert body["status"]["code"] == 1100, body
    request_id: str = body["requestId"]
    return request_id


async def log_of(t: Tenant, request_id: str) -> dict[str, Any]:
    body = assert_ok(await t.http.get("/v2/events/logs", params={"limit": 1000}))
    found = [e for e in body["data"] if e["id"] == request_id]
    assert len(found) == 1, body["data"]
    entry: dict[str, Any] = found[0]
    return entry


ALL_TYPES = {
    "customer": "CUSTOMER",
    "tillCode": "TILLCODE",
    "groupId": "GROUPID",
    "string": "STRING",
    "double": "DOUBLE",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "enum": "ENUM",
    "date": "DATE",
    "couponCode": "COUPONCODE",
    "productSku": "PRODUCTSKU",
    "productBrand": "PRODUCTBRAND",
    "productCategory": "PRODUCTCATEGORY",
}


# -- create ------------------------------------------------------------------------
async def test_create_answers_event_id_and_get_shows_the_definition(tenant: Tenant) -> None:
    before = int(time.time() * 1000)
    r = await create(
        tenant,
        definition(
            "Shop",
            customer_field(),
            field("amount", "double"),
            description="A purchase",
            label="Shop Event",
            eventType="USEREVENT",
        ),
    )
    body = assert_ok(r)
    assert set(body) == {"warnings", "errors", "eventId"}, body
    assert body["warnings"] == [] and body["errors"] == []
    assert HEX32.match(body["eventId"]), body

    data = await list_events(tenant, "Shop")
    assert len(data) == 1
    item = data[0]
    assert set(item) == {"clickEventsMeta", "transformerMappings"}
    meta = item["clickEventsMeta"]
    assert meta["eventId"] == body["eventId"]
    assert meta["eventName"] == "Shop"
    assert meta["eventType"] == "USEREVENT"
    assert meta["actions"] == ["EIConsumer"]
    assert meta["orgId"] == tenant.org_id
    assert meta["status"] == "PUBLISHED"
    assert meta["testStatus"] == "NOT_VERIFIED"
    assert meta["connectedOrgContext"] == {"orgType": "STANDARD_ORG"}
    assert isinstance(meta["date"], int)
    assert before - 5000 <= meta["date"] <= int(time.time() * 1000) + 5000
    assert meta["standardEvent"] is False
    fields = fields_by_name(meta)
    assert list(fields) == ["customer", "amount"]
    assert fields["customer"]["type"] == "CUSTOMER"
    assert fields["customer"]["attributes"]["identifierType"]["value"] == "mobile"
    assert fields["amount"]["type"] == "DOUBLE"
    assert item["transformerMappings"] == {
        "defaultTransformerMapping": None,
        "webEngageTransformerMapping": None,
    }


async def test_event_ids_are_distinct(tenant: Tenant) -> None:
    first = await create_ok(tenant, definition("One"))
    second = await create_ok(tenant, definition("Two"))
    assert first != second
    assert HEX32.match(first) and HEX32.match(second)


async def test_event_type_is_optional_and_userevent_when_not_given(tenant: Tenant) -> None:
    """Capillary's samples show a custom event as a USEREVENT; a given type is kept."""
    await create_ok(tenant, definition("NoType"))
    assert (await meta_of(tenant, "NoType"))["eventType"] == "USEREVENT"
    await create_ok(tenant, definition("Coupon", eventType="couponevent"))
    assert (await meta_of(tenant, "Coupon"))["eventType"] == "COUPONEVENT"


async def test_every_field_type_is_stored_upper_case(tenant: Tenant) -> None:
    fields = []
    for request_type in ALL_TYPES:
        if request_type == "customer":
            fields.append(customer_field("cust"))
        elif request_type == "enum":
            fields.append(field("f_enum", "enum", possibleValues={"value": "red,green"}))
        else:
            fields.append(field(f"f_{request_type}", request_type))
    await create_ok(tenant, definition("AllTypes", *fields))
    meta = await meta_of(tenant, "AllTypes")
    stored = {f["name"]: f["type"] for f in meta["fields"]}
    expected = {
        ("cust" if t == "customer" else f"f_{t}"): stored_type
        for t, stored_type in ALL_TYPES.items()
    }
    assert stored == expected


async def test_field_type_spelling_is_case_insensitive(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition(
            "Cased", customer_field(), field("code", "COUPONCODE"), field("sku", "ProductSku")
        ),
    )
    stored = {f["name"]: f["type"] for f in (await meta_of(tenant, "Cased"))["fields"]}
    assert stored == {"customer": "CUSTOMER", "code": "COUPONCODE", "sku": "PRODUCTSKU"}


async def test_attributes_wrapped_and_plain_values_both_work(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition(
            "Attrs",
            customer_field(addCustomerIfNotExists={"value": "true", "valueType": "Boolean"}),
            field("wrapped", "string", isRequired={"value": "true", "valueType": "Boolean"}),
            field("plain", "string", isRequired=True, regex="^[A-Z]+$"),
            field("off", "integer", isRequired=False),
            field("colour", "enum", possibleValues="red,green", isPsiData=True),
        ),
    )
    fields = fields_by_name(await meta_of(tenant, "Attrs"))
    assert fields["wrapped"]["attributes"]["isRequired"]["value"] == "true"
    assert fields["plain"]["attributes"]["isRequired"]["value"] == "true"
    assert fields["plain"]["attributes"]["regex"]["value"] == "^[A-Z]+$"
    assert fields["off"]["attributes"]["isRequired"]["value"] == "false"
    assert fields["colour"]["attributes"]["possibleValues"]["value"] == "red,green"
    assert fields["colour"]["attributes"]["isPsiData"]["value"] == "true"
    assert fields["customer"]["attributes"]["addCustomerIfNotExists"]["value"] == "true"
    for f in fields.values():
        for attr in f["attributes"].values():
            assert isinstance(attr, dict) and "valueType" in attr, f
            if "value" in attr:
                assert isinstance(attr["value"], str), f


async def test_boolean_attribute_values_are_case_insensitive(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition(
            "Bools",
            customer_field(),
            field("a", "string", isRequired={"value": "TRUE", "valueType": "BOOLEAN"}),
        ),
    )
    fields = fields_by_name(await meta_of(tenant, "Bools"))
    assert fields["a"]["attributes"]["isRequired"]["value"] == "true"


async def test_unique_key_field_forces_is_required(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition(
            "Uniq",
            customer_field(),
            field("order", "string", isUniqueKeyField=True, isRequired=False),
            field("ref", "string", isUniqueKeyField={"value": "true", "valueType": "Boolean"}),
        ),
    )
    fields = fields_by_name(await meta_of(tenant, "Uniq"))
    for name in ("order", "ref"):
        attributes = fields[name]["attributes"]
        assert attributes["isUniqueKeyField"]["value"] == "true"
        assert attributes["isRequired"]["value"] == "true", attributes


async def test_psi_data_is_allowed_on_string_double_and_enum(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition(
            "Psi",
            customer_field(),
            field("s", "string", isPsiData=True),
            field("d", "double", isPsiData=True),
            field("e", "enum", isPsiData=True, possibleValues="x,y"),
        ),
    )
    fields = fields_by_name(await meta_of(tenant, "Psi"))
    for name in ("s", "d", "e"):
        assert fields[name]["attributes"]["isPsiData"]["value"] == "true"


@pytest.mark.parametrize("identifier", ["mobile", "email", "externalId", "userId", "cardnumber"])
async def test_customer_identifier_types_are_accepted(tenant: Tenant, identifier: str) -> None:
    await create_ok(tenant, definition("Ident", customer_field(identifier=identifier)))
    fields = fields_by_name(await meta_of(tenant, "Ident"))
    assert fields["customer"]["attributes"]["identifierType"]["value"].lower() == (
        identifier.lower()
    )


async def test_the_capillary_sample_body_is_accepted(tenant: Tenant) -> None:
    sample = {
        "eventName": "Event_Aditi Khandelwal",
        "actions": ["EMFConsumer"],
        "fields": [
            {
                "attributes": {"addCustomerIfNotExists": {"valueType": "Boolean", "value": "true"}},
                "type": "customer",
                "name": "customer",
            },
            {
                "attributes": {"isRequired": {"valueType": "Boolean", "value": "true"}},
                "type": "tillCode",
                "name": "String",
            },
        ],
    }
    await create_ok(tenant, sample)
    meta = await meta_of(tenant, "Event_Aditi Khandelwal")
    assert meta["actions"] == ["EMFConsumer"]
    assert [f["type"] for f in meta["fields"]] == ["CUSTOMER", "TILLCODE"]


async def test_both_actions_are_accepted(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Both", actions=["EMFConsumer", "EIConsumer"]))
    meta = await meta_of(tenant, "Both")
    assert sorted(meta["actions"]) == ["EIConsumer", "EMFConsumer"]


# -- create: bad input ---------------------------------------------------------------
async def test_existing_event_name_is_1806(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Shop"))
    assert_error(await create(tenant, definition("Shop")), 400, 1806, "Shop", "exists")
    assert len(await list_events(tenant)) == 1


@pytest.mark.parametrize(
    "actions",
    [[], ["Bogus"], ["EIConsumer", "nope"], [""]],
    ids=["empty", "bogus", "mixed", "blank"],
)
async def test_invalid_actions_are_1810(tenant: Tenant, actions: list[str]) -> None:
    assert_error(await create(tenant, definition("Acts", actions=actions)), 400, 1810, "actions")
    assert await list_events(tenant) == []


async def test_missing_actions_is_a_400_naming_actions(tenant: Tenant) -> None:
    body = definition("NoActs")
    del body["actions"]
    assert_error(await create(tenant, body), 400, (400, 1810), "actions")


async def test_actions_not_a_list_is_a_400_naming_actions(tenant: Tenant) -> None:
    assert_error(
        await create(tenant, definition("StrActs", actions="EIConsumer")),
        400,
        (400, 1810),
        "actions",
    )


@pytest.mark.parametrize(
    "name",
    ["", "   ", "bad/name", "bad$name", "semi;colon", "quote'd", "a" * 101, "line\nbreak"],
    ids=["empty", "blank", "slash", "dollar", "semicolon", "quote", "too-long", "newline"],
)
async def test_invalid_event_names_are_1811(tenant: Tenant, name: str) -> None:
    assert_error(await create(tenant, definition(name)), 400, 1811, "name")
    assert await list_events(tenant) == []


async def test_missing_event_name_is_a_400_naming_it(tenant: Tenant) -> None:
    body = definition()
    del body["eventName"]
    assert_error(await create(tenant, body), 400, (400, 1811), "eventName")


@pytest.mark.parametrize("type_", ["text", "", "int", "customers", "currency code", "STRING "])
async def test_unknown_field_type_is_1823(tenant: Tenant, type_: str) -> None:
    r = await create(tenant, definition("Typed", customer_field(), field("x", type_)))
    error = assert_error(r, 400, 1823, "type")
    if type_.strip():
        assert type_.strip() in error["message"]
    assert await list_events(tenant) == []


async def test_field_type_missing_is_a_400_naming_type(tenant: Tenant) -> None:
    r = await create(tenant, definition("Typed", customer_field(), {"name": "x"}))
    assert_error(r, 400, (400, 1823), "type")


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [field("amount", "double")],
        [customer_field(), customer_field("customer2")],
    ],
    ids=["no-fields", "no-customer", "two-customers"],
)
async def test_exactly_one_customer_field_is_required(
    tenant: Tenant, fields: list[dict[str, Any]]
) -> None:
    body = definition("Cust")
    body["fields"] = fields
    assert_error(await create(tenant, body), 400, 1823, "customer")
    assert await list_events(tenant) == []


BAD_ATTRIBUTES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "unknown-attribute": (
        [customer_field(), field("amount", "double", isMandatory=True)],
        "isMandatory",
    ),
    "isRequired-not-boolean-plain": (
        [customer_field(), field("amount", "double", isRequired="yes")],
        "isRequired",
    ),
    "isRequired-not-boolean-wrapped": (
        [customer_field(), field("amount", "double", isRequired={"value": "maybe"})],
        "isRequired",
    ),
    "isRequired-number": (
        [customer_field(), field("amount", "double", isRequired=2)],
        "isRequired",
    ),
    "isUniqueKeyField-list": (
        [customer_field(), field("amount", "double", isUniqueKeyField=[True])],
        "isUniqueKeyField",
    ),
    "isPsiData-on-customer": (
        [customer_field(isPsiData=True)],
        "isPsiData",
    ),
    "isPsiData-on-tillCode": (
        [customer_field(), field("till", "tillCode", isPsiData=True)],
        "isPsiData",
    ),
    "enum-without-possibleValues": (
        [customer_field(), field("colour", "enum")],
        "possibleValues",
    ),
    "enum-with-empty-possibleValues": (
        [customer_field(), field("colour", "enum", possibleValues=" , ")],
        "possibleValues",
    ),
    "invalid-regex": (
        [customer_field(), field("code", "string", regex="([a-z")],
        "regex",
    ),
    "unknown-identifierType": (
        [customer_field(identifier="passport")],
        "identifierType",
    ),
    "unknown-source": (
        [customer_field(source={"value": "MOON", "valueType": "ENUM"})],
        "source",
    ),
    "reserved-field-name": (
        [customer_field(), field("event_name", "string")],
        "event_name",
    ),
    "duplicate-field-name": (
        [customer_field(), field("amount", "double"), field("amount", "string")],
        "unique",
    ),
    "unknown-groupIdentifierType": (
        [customer_field(), field("grp", "groupId", groupIdentifierType="Bogus")],
        "groupIdentifierType",
    ),
    "field-name-too-long": (
        [customer_field(), field("n" * 51, "string")],
        "name",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ATTRIBUTES))
async def test_bad_field_attributes_are_1802(tenant: Tenant, case: str) -> None:
    fields, fragment = BAD_ATTRIBUTES[case]
    body = definition("Attr")
    body["fields"] = fields
    assert_error(await create(tenant, body), 400, 1802, fragment)
    assert await list_events(tenant) == []


async def test_attributes_not_an_object_is_a_400_naming_attributes(tenant: Tenant) -> None:
    bad = {"name": "amount", "type": "double", "attributes": ["isRequired"]}
    r = await create(tenant, definition("Attr", customer_field(), bad))
    assert_error(r, 400, (400, 1802), "attributes")


async def test_more_than_20_fields_is_a_400_naming_fields(tenant: Tenant) -> None:
    extra = [field(f"f{i}", "string") for i in range(20)]
    r = await create(tenant, definition("Wide", customer_field(), *extra))
    assert_error(r, 400, (400, 1802), "fields")
    assert await list_events(tenant) == []


async def test_group_identifier_types_are_accepted(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition(
            "Groups",
            customer_field(),
            field("ext", "groupId", groupIdentifierType="GroupExternalId"),
            field("num", "groupId", groupIdentifierType={"value": "GroupId", "valueType": "ENUM"}),
        ),
    )
    fields = fields_by_name(await meta_of(tenant, "Groups"))
    assert fields["ext"]["type"] == fields["num"]["type"] == "GROUPID"
    assert fields["ext"]["attributes"]["groupIdentifierType"]["value"] == "GroupExternalId"


async def test_invalid_event_type_is_a_400_naming_event_type(tenant: Tenant) -> None:
    r = await create(tenant, definition("Typ", eventType="SOMETHING"))
    assert_error(r, 400, 400, "eventType")


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'"text"', b"null", b'{"eventName": "x", "actions": ["EIConsumer"]'],
    ids=["garbage", "array", "string", "null", "truncated"],
)
async def test_malformed_body_is_a_400(tenant: Tenant, raw: bytes) -> None:
    r = await tenant.http.post(
        "/v2/events", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"eventName": 12, "actions": ["EIConsumer"], "fields": []},
        {"eventName": "X", "actions": [1], "fields": []},
        {"eventName": "X", "actions": ["EIConsumer"], "fields": "customer"},
        {"eventName": "X", "actions": ["EIConsumer"], "fields": [None]},
        {"eventName": "X", "actions": ["EIConsumer"], "fields": [{"name": 3, "type": "string"}]},
        {"eventName": "X", "actions": ["EIConsumer"], "fields": [{"name": "a", "type": 7}]},
        {"eventName": "X", "actions": ["EIConsumer"], "description": "a\u0000b"},
        {"eventName": "X", "actions": ["EIConsumer"], "label": ["x"]},
    ],
    ids=[
        "name-number",
        "action-number",
        "fields-string",
        "field-null",
        "fname-int",
        "type-int",
        "description-nul",
        "label-list",
    ],
)
async def test_wrongly_typed_body_is_a_400_not_a_500(tenant: Tenant, body: dict[str, Any]) -> None:
    r = await create(tenant, body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["status"] is False


async def test_concurrent_creates_of_one_name_make_one_event(tenant: Tenant) -> None:
    """Only one of several simultaneous creates of a name wins; the others get 1806
    (the database's unique constraint must not surface as a 500)."""
    for round_ in range(3):
        name = f"Race{round_}"
        answers = await asyncio.gather(*(create(tenant, definition(name)) for _ in range(5)))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200, 400, 400, 400, 400], [(r.status_code, r.text) for r in answers]
        for r in answers:
            if r.status_code == 400:
                assert_error(r, 400, 1806, name)
        assert len(await list_events(tenant, name)) == 1


async def test_create_needs_credentials(http: httpx.AsyncClient) -> None:
    r = await http.post("/v2/events", json=definition())
    assert_error(r, 401, 401)


# -- update (full replacement) -----------------------------------------------------
async def test_put_replaces_the_whole_definition(tenant: Tenant) -> None:
    event_id = await create_ok(
        tenant,
        definition(
            "Shop",
            customer_field(),
            field("amount", "double"),
            field("note", "string"),
            description="old",
            label="Old label",
            eventType="PRODUCTEVENT",
        ),
    )
    r = await tenant.http.put(
        "/v2/events",
        json=definition(
            "Shop",
            customer_field(identifier="email"),
            field("amount", "double", isRequired=True),
            field("store", "string"),
            description="new",
            label="New label",
            actions=["EMFConsumer"],
        ),
    )
    body = assert_ok(r)
    assert body["warnings"] == [] and body["errors"] == []
    meta = await meta_of(tenant, "Shop")
    assert meta["eventId"] == event_id
    fields = fields_by_name(meta)
    assert list(fields) == ["customer", "amount", "store"], "note was left out: it must go"
    assert fields["customer"]["attributes"]["identifierType"]["value"] == "email"
    assert fields["amount"]["attributes"]["isRequired"]["value"] == "true"
    assert fields["store"]["type"] == "STRING"
    assert meta["actions"] == ["EMFConsumer"]
    assert meta.get("description") == "new"
    assert meta.get("label") == "New label"
    assert meta["eventType"] == "USEREVENT", "eventType left out goes back to the default"


async def test_put_unknown_event_is_404(tenant: Tenant) -> None:
    r = await tenant.http.put("/v2/events", json=definition("Nope"))
    assert_error(r, 404, 404, "Nope")
    assert await list_events(tenant) == []


async def test_put_validates_like_post_and_changes_nothing_on_error(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Shop"))
    before = await meta_of(tenant, "Shop")
    cases: list[tuple[dict[str, Any], int]] = [
        (definition("Shop", customer_field(), field("x", "text")), 1823),
        (definition("Shop", field("x", "string")), 1823),
        (definition("Shop", actions=["Nope"]), 1810),
        (definition("Shop", customer_field(), field("x", "string", isRequired="perhaps")), 1802),
    ]
    for body, code in cases:
        assert_error(await tenant.http.put("/v2/events", json=body), 400, code)
    assert await meta_of(tenant, "Shop") == before


async def test_unique_key_field_cannot_be_removed_or_reverted(tenant: Tenant) -> None:
    await create_ok(
        tenant,
        definition("Uniq", customer_field(), field("order", "string", isUniqueKeyField=True)),
    )
    before = await meta_of(tenant, "Uniq")
    removed = definition("Uniq", customer_field(), field("other", "string"))
    assert_error(await tenant.http.put("/v2/events", json=removed), 400, 1802, "order")
    reverted = definition(
        "Uniq", customer_field(), field("order", "string", isUniqueKeyField=False)
    )
    assert_error(await tenant.http.put("/v2/events", json=reverted), 400, 1802, "order")
    assert await meta_of(tenant, "Uniq") == before
    kept = definition(
        "Uniq",
        customer_field(),
        field("order", "string", isUniqueKeyField=True),
        field("extra", "string"),
    )
    assert_ok(await tenant.http.put("/v2/events", json=kept))
    assert list(fields_by_name(await meta_of(tenant, "Uniq"))) == ["customer", "order", "extra"]


async def test_a_field_can_become_a_unique_key_by_update(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Later", customer_field(), field("ref", "string")))
    body = definition("Later", customer_field(), field("ref", "string", isUniqueKeyField=True))
    assert_ok(await tenant.http.put("/v2/events", json=body))
    ref = fields_by_name(await meta_of(tenant, "Later"))["ref"]
    assert ref["attributes"]["isUniqueKeyField"]["value"] == "true"
    assert ref["attributes"]["isRequired"]["value"] == "true"


async def test_disabled_event_cannot_be_changed(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Gone"))
    assert_ok(await tenant.http.put("/v2/events/disable", params={"event_name": "Gone"}))
    body = definition("Gone", customer_field(), field("amount", "double"), field("new", "string"))
    assert_error(await tenant.http.put("/v2/events", json=body), 400, 400, "Gone", "disabled")
    meta = await meta_of(tenant, "Gone")
    assert "new" not in fields_by_name(meta)
    assert meta["status"] == "DISABLED"


# -- reads ---------------------------------------------------------------------------
async def test_get_lists_all_events_of_the_org(tenant: Tenant) -> None:
    assert await list_events(tenant) == []
    ids = {name: await create_ok(tenant, definition(name)) for name in ("A1", "B2", "C3")}
    data = await list_events(tenant)
    seen = {d["clickEventsMeta"]["eventName"]: d["clickEventsMeta"]["eventId"] for d in data}
    assert seen == ids
    for item in data:
        assert item["clickEventsMeta"]["orgId"] == tenant.org_id
    only = await list_events(tenant, "B2")
    assert [d["clickEventsMeta"]["eventName"] for d in only] == ["B2"]


async def test_get_by_unknown_name_is_empty(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Known"))
    r = await tenant.http.get("/v2/events", params={"eventName": "Unknown"})
    if r.status_code == 200:
        assert r.json()["data"] == []
    else:
        assert_error(r, 404, 404, "Unknown")


async def test_meta_answers_one_definition(tenant: Tenant) -> None:
    event_id = await create_ok(tenant, definition("Shop", label="Shopping"))
    await create_ok(tenant, definition("Other"))
    body = assert_ok(await tenant.http.get("/v2/events/meta", params={"event_name": "Shop"}))
    assert body["warnings"] == [] and body["errors"] == []
    assert len(body["data"]) == 1
    meta = body["data"][0]["clickEventsMeta"]
    assert meta["eventId"] == event_id
    assert meta["eventName"] == "Shop"
    assert meta["orgId"] == tenant.org_id
    assert [f["type"] for f in meta["fields"]] == ["CUSTOMER", "DOUBLE"]


async def test_meta_unknown_event_is_404(tenant: Tenant) -> None:
    r = await tenant.http.get("/v2/events/meta", params={"event_name": "Nope"})
    assert_error(r, 404, 404, "Nope")


@pytest.mark.parametrize("params", [{}, {"event_name": ""}, {"eventName": "Shop"}])
async def test_meta_needs_event_name(tenant: Tenant, params: dict[str, str]) -> None:
    await create_ok(tenant, definition("Shop"))
    r = await tenant.http.get("/v2/events/meta", params=params)
    assert_error(r, 400, 400, "event_name")


# -- disable -------------------------------------------------------------------------
async def test_disable_marks_the_event_disabled(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Old"))
    await create_ok(tenant, definition("Kept"))
    body = assert_ok(await tenant.http.put("/v2/events/disable", params={"event_name": "Old"}))
    assert body == {"warnings": [], "errors": []}
    assert (await meta_of(tenant, "Old"))["status"] == "DISABLED"
    assert (await meta_of(tenant, "Kept"))["status"] == "PUBLISHED"


async def test_disabling_twice_is_a_400(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Old"))
    assert_ok(await tenant.http.put("/v2/events/disable", params={"event_name": "Old"}))
    r = await tenant.http.put("/v2/events/disable", params={"event_name": "Old"})
    assert_error(r, 400, 400, "Old", "disabled")


async def test_disable_unknown_event_is_404(tenant: Tenant) -> None:
    r = await tenant.http.put("/v2/events/disable", params={"event_name": "Nope"})
    assert_error(r, 404, 404, "Nope")


async def test_disable_needs_event_name(tenant: Tenant) -> None:
    assert_error(await tenant.http.put("/v2/events/disable"), 400, 400, "event_name")


async def test_a_disabled_name_cannot_be_created_again(tenant: Tenant) -> None:
    await create_ok(tenant, definition("Once"))
    assert_ok(await tenant.http.put("/v2/events/disable", params={"event_name": "Once"}))
    assert_error(await create(tenant, definition("Once")), 400, 1806, "Once")


async def test_events_of_a_disabled_definition_are_invalid_event_name(
    tenant: Tenant, drain: Drain
) -> None:
    await create_ok(tenant, definition("Shop"))
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    webhook_id = await default_webhook(tenant)
    ok_id = await post_event(
        tenant, webhook_id, {"event_name": "Shop", "customer": phone, "amount": 10}
    )
    drain()
    assert (await log_of(tenant, ok_id))["status"] == "EVENT_SUCCESS"

    assert_ok(await tenant.http.put("/v2/events/disable", params={"event_name": "Shop"}))
    request_id = await post_event(
        tenant, webhook_id, {"event_name": "Shop", "customer": phone, "amount": 10}
    )
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "INVALID_EVENT_NAME"
    assert entry["message"] == "Invalid event name Shop"
    assert entry["eventName"] == "Shop"


# -- testStatus ------------------------------------------------------------------------
async def test_test_status_becomes_verified_after_a_successful_event(
    tenant: Tenant, drain: Drain
) -> None:
    await create_ok(tenant, definition("Shop"))
    await create_ok(tenant, definition("Idle"))
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    webhook_id = await default_webhook(tenant)

    # A failed event does not verify the definition.
    failed = await post_event(
        tenant, webhook_id, {"event_name": "Shop", "customer": phone, "amount": "lots"}
    )
    drain()
    assert (await log_of(tenant, failed))["status"] == "EVENT_FIELD_VALIDATION_FAILED"
    assert (await meta_of(tenant, "Shop"))["testStatus"] == "NOT_VERIFIED"

    ok = await post_event(
        tenant, webhook_id, {"event_name": "Shop", "customer": phone, "amount": 12.5}
    )
    drain()
    assert (await log_of(tenant, ok))["status"] == "EVENT_SUCCESS"
    assert (await meta_of(tenant, "Shop"))["testStatus"] == "VERIFIED"
    assert (await meta_of(tenant, "Idle"))["testStatus"] == "NOT_VERIFIED"
    events = assert_ok(await tenant.http.get(f"/v2/events/event_data/{customer_id}"))["data"]
    assert [e["eventId"] for e in events] == [ok]


async def test_update_keeps_test_status(tenant: Tenant, drain: Drain) -> None:
    await create_ok(tenant, definition("Shop"))
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    webhook_id = await default_webhook(tenant)
    await post_event(tenant, webhook_id, {"event_name": "Shop", "customer": phone, "amount": 1})
    drain()
    assert (await meta_of(tenant, "Shop"))["testStatus"] == "VERIFIED"
    body = definition("Shop", customer_field(), field("amount", "double"), field("x", "string"))
    assert_ok(await tenant.http.put("/v2/events", json=body))
    meta = await meta_of(tenant, "Shop")
    assert meta["testStatus"] == "VERIFIED"
    assert "x" in fields_by_name(meta)


# -- tenancy ---------------------------------------------------------------------------
async def test_another_org_cannot_see_change_or_disable_definitions(
    make_tenant: TenantFactory,
) -> None:
    a = await make_tenant()
    b = await make_tenant()
    await create_ok(a, definition("Secret", description="A's"))
    before = await meta_of(a, "Secret")

    assert await list_events(b) == []
    assert await list_events(b, "Secret") == []
    assert_error(await b.http.get("/v2/events/meta", params={"event_name": "Secret"}), 404, 404)
    changed = definition("Secret", customer_field(), field("stolen", "string"))
    assert_error(await b.http.put("/v2/events", json=changed), 404, 404)
    r = await b.http.put("/v2/events/disable", params={"event_name": "Secret"})
    assert_error(r, 404, 404)

    assert await meta_of(a, "Secret") == before

    # The same name is free in another org, and stays separate.
    b_id = await create_ok(b, definition("Secret", description="B's"))
    assert b_id != before["eventId"]
    assert (await meta_of(b, "Secret"))["orgId"] == b.org_id
    assert (await meta_of(a, "Secret"))["eventId"] == before["eventId"]
    assert [d["clickEventsMeta"]["eventName"] for d in await list_events(a)] == ["Secret"]
