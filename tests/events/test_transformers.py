"""Transformer (adapter) mappings: POST/GET /v2/events/adapter_mapping, and foreign
payloads posted to a mapping transformer's webhook (SPEC §3.1, §3.3; reference §3.2)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TenantFactory
from tests.customers.helpers import add_customer, assert_error, assert_ok, ident, mobile
from tests.fixtures.factories import Tenant

Drain = Callable[[], int]
MAPPING = "/v2/events/adapter_mapping"
NO_MAPPING = "Invalid meta transformer mappings: No transformer mapping found"


# -- helpers -----------------------------------------------------------------------
async def define(t: Tenant, name: str, *extra_fields: dict[str, Any]) -> None:
    fields = [
        {"name": "customer", "type": "customer", "attributes": {"identifierType": "mobile"}},
        {"name": "amount", "type": "double"},
        {"name": "store", "type": "string"},
        *extra_fields,
    ]
    body = {"eventName": name, "actions": ["EIConsumer"], "fields": fields}
    assert_ok(await t.http.post("/v2/events", json=body))


def shop_fields() -> list[dict[str, str]]:
    return [
        {"eventFieldName": "customer", "fieldName": "user.mobile"},
        {"eventFieldName": "amount", "fieldName": "data.order.total"},
        {"eventFieldName": "store", "fieldName": "data.items.0.store"},
    ]


def webengage_body(
    value_map: dict[str, str],
    field_mapper: dict[str, list[dict[str, str]]],
    *,
    path: str = "meta.name",
    transformer: str = "WebEngageTransformer",
    key: str = "webEngageTransformerData",
) -> dict[str, Any]:
    return {
        "transformerType": transformer,
        key: {
            "eventMapper": {"fieldName": path, "valueMap": value_map},
            "eventFieldMapper": field_mapper,
        },
    }


async def set_mapping(t: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await t.http.post(MAPPING, json=body)


async def mappings(t: Tenant) -> list[dict[str, Any]]:
    body = assert_ok(await t.http.get(MAPPING))
    assert body["warnings"] == [] and body["errors"] == [], body
    data: list[dict[str, Any]] = body["data"]
    return data


def mapping_for(data: list[dict[str, Any]], transformer: str) -> dict[str, Any]:
    found = [m for m in data if m["transformerType"].lower() == transformer.lower()]
    assert len(found) == 1, data
    return found[0]


async def transformer_mappings(t: Tenant, event: str) -> dict[str, Any]:
    body = assert_ok(await t.http.get("/v2/events", params={"eventName": event}))
    assert len(body["data"]) == 1, body
    result: dict[str, Any] = body["data"][0]["transformerMappings"]
    return result


async def webhook(t: Tenant, transformer: str = "WebEngageTransformer") -> str:
    body = assert_ok(
        await t.http.post(
            "/v2/events/webhook", json={"transformerType": transformer, "tillCode": t.till_code}
        )
    )
    webhook_id: str = body["webHookId"]
    return webhook_id


async def post(t: Tenant, webhook_id: str, payload: dict[str, Any]) -> str:
    body = assert_ok(await t.http.post(f"/webhooks/{webhook_id}", json=payload))
    assert body["status"]["code"] == 1100
    request_id: str = body["requestId"]
    return request_id


async def log_of(t: Tenant, request_id: str) -> dict[str, Any]:
    body = assert_ok(await t.http.get("/v2/events/logs", params={"limit": 1000}))
    found = [e for e in body["data"] if e["id"] == request_id]
    assert len(found) == 1, body["data"]
    entry: dict[str, Any] = found[0]
    return entry


async def events_of(t: Tenant, customer_id: int) -> list[dict[str, Any]]:
    body = assert_ok(await t.http.get(f"/v2/events/event_data/{customer_id}"))
    data: list[dict[str, Any]] = body["data"]
    return data


def foreign(name: str | None, phone: str, total: Any = 120.5, store: str = "Mall") -> dict:
    payload: dict[str, Any] = {
        "user": {"mobile": phone, "name": "Ann"},
        "data": {"order": {"total": total}, "items": [{"store": store}, {"store": "other"}]},
    }
    if name is not None:
        payload["meta"] = {"name": name, "ts": 1}
    return payload


# -- setting and reading mappings --------------------------------------------------------
async def test_webengage_mapping_is_stored_and_shown(tenant: Tenant) -> None:
    await define(tenant, "Shop")
    await define(tenant, "Other")
    r = await set_mapping(
        tenant, webengage_body({"purchase_done": "Shop"}, {"Shop": shop_fields()})
    )
    assert assert_ok(r) == {"warnings": [], "errors": []}

    mapping = mapping_for(await mappings(tenant), "WebEngageTransformer")
    assert mapping["eventMapper"]["fieldName"] == "meta.name"
    assert mapping["eventMapper"]["valueMap"] == {"purchase_done": "Shop"}
    assert mapping["eventFieldMapper"] == {"Shop": shop_fields()}

    shown = await transformer_mappings(tenant, "Shop")
    assert shown["defaultTransformerMapping"] is None
    assert shown["webEngageTransformerMapping"] == {
        "eventNameMapping": {"valueMap": {"purchase_done": "Shop"}},
        "eventFieldMappings": shop_fields(),
    }
    assert await transformer_mappings(tenant, "Other") == {
        "defaultTransformerMapping": None,
        "webEngageTransformerMapping": None,
    }


async def test_capillary_sample_mapping_body_is_accepted(tenant: Tenant) -> None:
    await define(tenant, "CustomerEvent", {"name": "string", "type": "string"})
    sample = {
        "transformerType": "webEngageTransformer",
        "webEngageTransformerData": {
            "eventMapper": {
                "eventFieldName": "event_name",
                "eventDataType": "",
                "fieldName": "event_name",
                "valueMap": {},
            },
            "eventFieldMapper": {
                "CustomerEvent": [
                    {"eventFieldName": "customer", "eventDataType": "", "fieldName": "customer"},
                    {"eventFieldName": "string", "eventDataType": "", "fieldName": "string"},
                ]
            },
        },
    }
    assert_ok(await set_mapping(tenant, sample))
    mapping = mapping_for(await mappings(tenant), "WebEngageTransformer")
    assert [m["eventFieldName"] for m in mapping["eventFieldMapper"]["CustomerEvent"]] == [
        "customer",
        "string",
    ]
    shown = (await transformer_mappings(tenant, "CustomerEvent"))["webEngageTransformerMapping"]
    assert shown is not None
    assert [m["fieldName"] for m in shown["eventFieldMappings"]] == ["customer", "string"]


async def test_empty_value_map_keeps_the_name(tenant: Tenant, drain: Drain) -> None:
    """Capillary's sample maps event_name with an empty valueMap: the posted name is ours."""
    await define(tenant, "CustomerEvent", {"name": "string", "type": "string"})
    fields = [
        {"eventFieldName": "customer", "fieldName": "customer"},
        {"eventFieldName": "string", "fieldName": "string"},
    ]
    body = webengage_body({}, {"CustomerEvent": fields}, path="event_name")
    assert_ok(await set_mapping(tenant, body))
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    webhook_id = await webhook(tenant)
    payload = {"event_name": "CustomerEvent", "customer": phone, "string": "hi", "x": 1}
    request_id = await post(tenant, webhook_id, payload)
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    [event] = await events_of(tenant, customer_id)
    assert event["additonalAttributes"]["string"] == "hi"
    assert "x" not in event["additonalAttributes"], "only mapped fields are taken"


async def test_mappings_of_several_events_merge(tenant: Tenant) -> None:
    await define(tenant, "Shop")
    await define(tenant, "Visit")
    assert_ok(
        await set_mapping(tenant, webengage_body({"purchase": "Shop"}, {"Shop": shop_fields()}))
    )
    visit_fields = [{"eventFieldName": "customer", "fieldName": "user.mobile"}]
    assert_ok(
        await set_mapping(tenant, webengage_body({"visit": "Visit"}, {"Visit": visit_fields}))
    )
    mapping = mapping_for(await mappings(tenant), "WebEngageTransformer")
    assert mapping["eventMapper"]["valueMap"] == {"purchase": "Shop", "visit": "Visit"}
    assert set(mapping["eventFieldMapper"]) == {"Shop", "Visit"}
    shop = (await transformer_mappings(tenant, "Shop"))["webEngageTransformerMapping"]
    visit = (await transformer_mappings(tenant, "Visit"))["webEngageTransformerMapping"]
    assert shop["eventNameMapping"]["valueMap"] == {"purchase": "Shop"}
    assert visit["eventNameMapping"]["valueMap"] == {"visit": "Visit"}
    assert visit["eventFieldMappings"] == visit_fields


async def test_posting_an_events_field_map_again_replaces_it(tenant: Tenant) -> None:
    await define(tenant, "Shop")
    assert_ok(await set_mapping(tenant, webengage_body({"p": "Shop"}, {"Shop": shop_fields()})))
    fewer = [{"eventFieldName": "customer", "fieldName": "who"}]
    assert_ok(await set_mapping(tenant, webengage_body({"p": "Shop"}, {"Shop": fewer})))
    shown = (await transformer_mappings(tenant, "Shop"))["webEngageTransformerMapping"]
    assert shown["eventFieldMappings"] == fewer


async def test_default_transformer_events_mapped(tenant: Tenant) -> None:
    await define(tenant, "Shop")
    await define(tenant, "Other")
    body = {"transformerType": "defaultTransformer", "eventsMapped": ["Shop"]}
    assert_ok(await set_mapping(tenant, body))
    mapping = mapping_for(await mappings(tenant), "defaultTransformer")
    assert mapping["eventsMapped"] == ["Shop"]
    shown = await transformer_mappings(tenant, "Shop")
    assert shown["defaultTransformerMapping"] is not None
    assert shown["webEngageTransformerMapping"] is None
    assert (await transformer_mappings(tenant, "Other"))["defaultTransformerMapping"] is None


async def test_mappings_are_empty_for_a_new_org(tenant: Tenant) -> None:
    assert await mappings(tenant) == []


# -- bad mappings ----------------------------------------------------------------------------
BAD_MAPPINGS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "value-map-to-unknown-event": (
        webengage_body({"x": "Nope"}, {"Shop": shop_fields()}),
        ("Nope",),
    ),
    "field-mapper-unknown-event": (
        webengage_body({"x": "Shop"}, {"Nope": shop_fields()}),
        ("Nope",),
    ),
    "field-mapper-unknown-field": (
        webengage_body({"x": "Shop"}, {"Shop": [{"eventFieldName": "colour", "fieldName": "c"}]}),
        ("colour",),
    ),
    "events-mapped-unknown": (
        {"transformerType": "defaultTransformer", "eventsMapped": ["Nope"]},
        ("eventsMapped", "Nope"),
    ),
    "webengage-without-data": (
        {"transformerType": "WebEngageTransformer"},
        ("webEngageTransformerData",),
    ),
    "missing-transformer": (
        {"eventsMapped": ["Shop"]},
        ("transformerType",),
    ),
    "field-mapping-without-field-name": (
        webengage_body({"x": "Shop"}, {"Shop": [{"eventFieldName": "customer"}]}),
        ("fieldName",),
    ),
    "field-mapping-empty-event-field": (
        webengage_body({"x": "Shop"}, {"Shop": [{"eventFieldName": "", "fieldName": "a"}]}),
        ("eventFieldName",),
    ),
    "field-mapper-not-a-map": (
        {
            "transformerType": "WebEngageTransformer",
            "webEngageTransformerData": {"eventFieldMapper": ["Shop"]},
        },
        ("eventFieldMapper",),
    ),
    "value-map-not-strings": (
        {
            "transformerType": "WebEngageTransformer",
            "webEngageTransformerData": {"eventMapper": {"valueMap": {"x": ["Shop"]}}},
        },
        ("valueMap",),
    ),
    "blank-event-name-path": (
        webengage_body({"x": "Shop"}, {"Shop": shop_fields()}, path="   "),
        ("fieldName",),
    ),
    "blank-field-path": (
        webengage_body({"x": "Shop"}, {"Shop": [{"eventFieldName": "customer", "fieldName": " "}]}),
        ("fieldName",),
    ),
    "events-mapped-not-a-list": (
        {"transformerType": "defaultTransformer", "eventsMapped": "Shop"},
        ("eventsMapped",),
    ),
}


@pytest.mark.parametrize("case", list(BAD_MAPPINGS))
async def test_bad_mappings_are_400_and_change_nothing(tenant: Tenant, case: str) -> None:
    await define(tenant, "Shop")
    assert_ok(await set_mapping(tenant, webengage_body({"p": "Shop"}, {"Shop": shop_fields()})))
    before = await mappings(tenant)
    body, fragments = BAD_MAPPINGS[case]
    assert_error(await set_mapping(tenant, body), 400, 400, *fragments)
    assert await mappings(tenant) == before


@pytest.mark.parametrize("transformer", ["", "bad name!", "9lives"])
async def test_invalid_transformer_name_is_refused(tenant: Tenant, transformer: str) -> None:
    await define(tenant, "Shop")
    body = webengage_body({"p": "Shop"}, {"Shop": shop_fields()}, transformer=transformer)
    assert_error(await set_mapping(tenant, body), 400, (400, 1808), "transformer")
    assert await mappings(tenant) == []


async def test_malformed_mapping_body_is_a_400(tenant: Tenant) -> None:
    r = await tenant.http.post(
        MAPPING, content=b"[1, 2", headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, 400)


async def test_a_failed_mapping_post_is_atomic(tenant: Tenant) -> None:
    await define(tenant, "Shop")
    # The valueMap is valid, the field map is not: nothing of it may be kept.
    body = webengage_body(
        {"buy": "Shop"},
        {"Shop": [{"eventFieldName": "nope", "fieldName": "x"}]},
        path="other.path",
    )
    assert_error(await set_mapping(tenant, body), 400, 400, "nope")
    assert await mappings(tenant) == []
    assert (await transformer_mappings(tenant, "Shop"))["webEngageTransformerMapping"] is None


async def test_concurrent_first_mappings_of_a_transformer(tenant: Tenant) -> None:
    """Simultaneous first mappings of one transformer: never a 500, one mapping."""
    await define(tenant, "Shop")
    for round_ in range(3):
        transformer = f"Race{round_}Transformer"
        body = webengage_body({"buy": "Shop"}, {"Shop": shop_fields()}, transformer=transformer)
        answers = await asyncio.gather(*(set_mapping(tenant, body) for _ in range(5)))
        assert all(r.status_code in (200, 400) for r in answers), [
            (r.status_code, r.text) for r in answers
        ]
        assert any(r.status_code == 200 for r in answers)
        found = [m for m in await mappings(tenant) if m["transformerType"] == transformer]
        assert len(found) == 1, found
        assert found[0]["eventMapper"]["valueMap"] == {"buy": "Shop"}


# -- foreign payloads through a mapping transformer -------------------------------------------
async def test_foreign_nested_payload_is_mapped_and_stored(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    assert_ok(
        await set_mapping(
            tenant, webengage_body({"purchase_done": "Shop"}, {"Shop": shop_fields()})
        )
    )
    webhook_id = await webhook(tenant)

    request_id = await post(tenant, webhook_id, foreign("purchase_done", phone))
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    assert entry["message"] == "Event processed successfully"
    assert entry["eventName"] == "Shop"
    assert entry["webhookId"] == webhook_id
    assert '"purchase_done"' in entry["inputRequest"], "the log keeps the foreign body as received"

    events = await events_of(tenant, customer_id)
    assert [e["eventId"] for e in events] == [request_id]
    event = events[0]
    assert event["eventName"] == "Shop"
    assert event["userId"] == customer_id
    attributes = event["additonalAttributes"]
    assert attributes["amount"] == "120.5"
    assert attributes["store"] == "Mall"
    assert attributes["eventName"] == "Shop"
    assert attributes["customerId"] == str(customer_id)
    for foreign_key in ("user", "data", "meta"):
        assert foreign_key not in attributes, attributes
    assert (
        assert_ok(await tenant.http.get("/v2/events", params={"eventName": "Shop"}))["data"][0][
            "clickEventsMeta"
        ]["testStatus"]
        == "VERIFIED"
    )


async def test_top_level_event_name_path(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    fields = [
        {"eventFieldName": "customer", "fieldName": "phone"},
        {"eventFieldName": "amount", "fieldName": "price"},
    ]
    assert_ok(
        await set_mapping(
            tenant, webengage_body({"order": "Shop"}, {"Shop": fields}, path="eventName")
        )
    )
    webhook_id = await webhook(tenant)
    request_id = await post(tenant, webhook_id, {"eventName": "order", "phone": phone, "price": 3})
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    assert entry["eventName"] == "Shop"
    [event] = await events_of(tenant, customer_id)
    assert event["additonalAttributes"]["amount"] == "3.0"


async def test_mapped_values_are_validated_against_the_definition(
    tenant: Tenant, drain: Drain
) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    assert_ok(await set_mapping(tenant, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})))
    webhook_id = await webhook(tenant)
    request_id = await post(tenant, webhook_id, foreign("buy", phone, total="lots"))
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "EVENT_FIELD_VALIDATION_FAILED", entry
    assert entry["eventName"] == "Shop"
    assert "amount" in entry["message"]


@pytest.mark.parametrize(
    "payload_name",
    ["never_mapped", None, {"nested": "object"}],
    ids=["unmapped-name", "no-name", "name-is-object"],
)
async def test_unmapped_foreign_payload_is_invalid_meta_transformer_mappings(
    tenant: Tenant, drain: Drain, payload_name: Any
) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    assert_ok(await set_mapping(tenant, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})))
    webhook_id = await webhook(tenant)
    payload = foreign(None, phone)
    if payload_name is not None:
        payload["meta"] = {"name": payload_name}
    request_id = await post(tenant, webhook_id, payload)
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS", entry
    assert entry["message"] == NO_MAPPING
    assert "eventName" not in entry, entry
    assert await events_of(tenant, customer_id) == []


async def test_mapping_transformer_without_any_mapping(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    webhook_id = await webhook(tenant)
    # Even a payload in Capillary's own flat shape needs a mapping on this transformer.
    request_id = await post(tenant, webhook_id, {"event_name": "Shop", "customer": phone})
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS", entry
    assert entry["message"] == NO_MAPPING
    assert "eventName" not in entry


async def test_mapped_name_of_a_disabled_event_is_invalid_event_name(
    tenant: Tenant, drain: Drain
) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    assert_ok(await set_mapping(tenant, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})))
    webhook_id = await webhook(tenant)
    assert_ok(await tenant.http.put("/v2/events/disable", params={"event_name": "Shop"}))
    request_id = await post(tenant, webhook_id, foreign("buy", phone))
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "INVALID_EVENT_NAME", entry
    assert entry["eventName"] == "Shop"
    assert entry["message"] == "Invalid event name Shop"


async def test_two_foreign_names_two_events(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    await define(tenant, "Visit")
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    visit_fields = [
        {"eventFieldName": "customer", "fieldName": "user.mobile"},
        {"eventFieldName": "store", "fieldName": "where"},
    ]
    body = webengage_body(
        {"buy": "Shop", "came": "Visit"}, {"Shop": shop_fields(), "Visit": visit_fields}
    )
    assert_ok(await set_mapping(tenant, body))
    webhook_id = await webhook(tenant)
    shop_id = await post(tenant, webhook_id, foreign("buy", phone))
    visit_payload = {"meta": {"name": "came"}, "user": {"mobile": phone}, "where": "Downtown"}
    visit_id = await post(tenant, webhook_id, visit_payload)
    drain()
    assert (await log_of(tenant, shop_id))["eventName"] == "Shop"
    visit_log = await log_of(tenant, visit_id)
    assert visit_log["status"] == "EVENT_SUCCESS", visit_log
    assert visit_log["eventName"] == "Visit"
    by_id = {e["eventId"]: e for e in await events_of(tenant, customer_id)}
    assert by_id[visit_id]["eventName"] == "Visit"
    assert by_id[visit_id]["additonalAttributes"]["store"] == "Downtown"
    assert by_id[shop_id]["eventName"] == "Shop"


async def test_custom_transformer_works_like_webengage(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    body = webengage_body(
        {"kumulos.purchase": "Shop"},
        {"Shop": shop_fields()},
        path="event.type",
        transformer="KumulosTransformer",
        key="transformerData",
    )
    assert_ok(await set_mapping(tenant, body))
    mapping = mapping_for(await mappings(tenant), "KumulosTransformer")
    assert mapping["eventMapper"] == {
        "fieldName": "event.type",
        "valueMap": {"kumulos.purchase": "Shop"},
    }
    webhook_id = await webhook(tenant, "KumulosTransformer")
    payload = foreign(None, phone, total=9)
    payload["event"] = {"type": "kumulos.purchase"}
    request_id = await post(tenant, webhook_id, payload)
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "EVENT_SUCCESS", entry
    assert entry["eventName"] == "Shop"
    [event] = await events_of(tenant, customer_id)
    assert event["additonalAttributes"]["amount"] == "9.0"
    # The WebEngage transformer's mapping is another one: it is not set.
    assert (await transformer_mappings(tenant, "Shop"))["webEngageTransformerMapping"] is None


async def test_custom_transformer_mapping_in_webengage_key(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    body = webengage_body({"p": "Shop"}, {"Shop": shop_fields()}, transformer="KumulosTransformer")
    assert_ok(await set_mapping(tenant, body))
    webhook_id = await webhook(tenant, "KumulosTransformer")
    request_id = await post(tenant, webhook_id, foreign("p", phone))
    drain()
    assert (await log_of(tenant, request_id))["status"] == "EVENT_SUCCESS"


async def test_each_transformer_uses_its_own_mapping(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    await add_customer(tenant, ident("mobile", phone))
    assert_ok(await set_mapping(tenant, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})))
    kumulos = await webhook(tenant, "KumulosTransformer")
    request_id = await post(tenant, kumulos, foreign("buy", phone))
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS", entry
    assert "eventName" not in entry


async def test_default_transformer_takes_the_flat_payload(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, "Shop")
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    assert_ok(await set_mapping(tenant, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})))
    webhook_id = await webhook(tenant, "defaultTransformer")
    flat = await post(tenant, webhook_id, {"event_name": "Shop", "customer": phone, "amount": 2})
    nested = await post(tenant, webhook_id, foreign("buy", phone))
    drain()
    assert (await log_of(tenant, flat))["status"] == "EVENT_SUCCESS"
    entry = await log_of(tenant, nested)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS", entry
    assert "eventName" not in entry
    assert [e["eventId"] for e in await events_of(tenant, customer_id)] == [flat]


# -- tenancy -----------------------------------------------------------------------------
async def test_another_org_cannot_see_or_use_mappings(
    make_tenant: TenantFactory, drain: Drain
) -> None:
    a = await make_tenant()
    b = await make_tenant()
    await define(a, "Shop")
    assert_ok(await set_mapping(a, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})))
    a_before = await mappings(a)

    assert await mappings(b) == []
    # B has no event Shop: it cannot map to A's.
    assert_error(
        await set_mapping(b, webengage_body({"buy": "Shop"}, {"Shop": shop_fields()})), 400, 400
    )
    r = await set_mapping(b, {"transformerType": "defaultTransformer", "eventsMapped": ["Shop"]})
    assert_error(r, 400, 400, "Shop")

    # B's own event of the same name does not see A's mapping.
    await define(b, "Shop")
    assert (await transformer_mappings(b, "Shop"))["webEngageTransformerMapping"] is None

    # B's webhook does not use A's mapping.
    phone = mobile()
    await add_customer(b, ident("mobile", phone))
    b_webhook = await webhook(b)
    request_id = await post(b, b_webhook, foreign("buy", phone))
    drain()
    entry = await log_of(b, request_id)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS", entry

    # B's mapping does not touch A's.
    assert_ok(await set_mapping(b, webengage_body({"other": "Shop"}, {"Shop": shop_fields()})))
    assert await mappings(a) == a_before
    shown = (await transformer_mappings(a, "Shop"))["webEngageTransformerMapping"]
    assert shown["eventNameMapping"]["valueMap"] == {"buy": "Shop"}
