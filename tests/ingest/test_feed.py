"""POST /v2/feed (Capillary's "Feed (Scan Event)"): queued as a post to the org's
defaultTransformer webhook, processed, logged and stored like any other event."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import (
    add_customer,
    all_logs,
    assert_error,
    create_webhook,
    customer_events,
    is_uuid4,
    new_mobile,
    ok,
)

FEED = "/v2/feed"
# The fragment's sample body (organization-1, "Feed (Scan Event)").
SAMPLE: dict[str, Any] = {
    "eventName": "GetPromotion",
    "openId": "",
    "eventTime": "2018-09-28T15:26:45+05:30",
    "scanId": "scanId_571910",
    "details": "details_571910",
    "customer": {
        "id": "293653070",
        "mobile": "917799497290",
        "email": "2245@gmail.com",
        "externalId": "ext_i9422176957",
    },
    "sku": "Levis-001",
    "promotionCode": "",
}


async def _define(t: Tenant, name: str, identifier: str = "mobile", *extra: dict) -> None:
    fields = [
        {"name": "customer", "type": "customer", "attributes": {"identifierType": identifier}},
        *extra,
    ]
    ok(
        await t.http.post(
            "/v2/events", json={"eventName": name, "actions": ["EIConsumer"], "fields": fields}
        )
    )


async def _post(t: Tenant | httpx.AsyncClient, body: Any, source: str | None = "INSTORE") -> Any:
    http = t.http if isinstance(t, Tenant) else t
    params = {"source": source} if source is not None else None
    return await http.post(FEED, params=params, json=body)


def _accepted(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["status", "requestId"], body
    assert body["status"] == {"code": 7300, "message": "Feed added successfully"}
    assert is_uuid4(body["requestId"])
    return str(body["requestId"])


async def _entry(t: Tenant, request_id: str) -> dict[str, Any]:
    [entry] = [e for e in await all_logs(t.http) if e["id"] == request_id]
    return entry


async def test_the_capillary_sample_is_processed_and_stored(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    await _define(tenant, "GetPromotion", "mobile", {"name": "sku", "type": "productSku"})
    webhook = await create_webhook(tenant)
    customer_id, _ = await add_customer(tenant, SAMPLE["customer"]["mobile"])
    request_id = _accepted(await _post(tenant, SAMPLE))
    drain()
    entry = await _entry(tenant, request_id)
    assert (entry["status"], entry["eventName"]) == ("EVENT_SUCCESS", "GetPromotion"), entry
    assert entry["webhookId"] == webhook
    [record] = await customer_events(tenant.http, customer_id)
    assert record["eventId"] == request_id
    attributes = record["additonalAttributes"]
    assert attributes["sku"] == "Levis-001"
    assert attributes["scanId"] == "scanId_571910"
    assert attributes["details"] == "details_571910"
    assert "promotionCode" not in attributes and "openId" not in attributes  # empty: left out
    assert attributes["source_till_id"] == tenant.till_id


@pytest.mark.parametrize(
    ("identifier", "key"),
    [("userId", "id"), ("email", "email"), ("externalId", "externalId"), ("mobile", "mobile")],
)
async def test_the_customer_is_found_by_the_id_its_field_wants(
    tenant: Tenant, drain: Callable[[], int], identifier: str, key: str
) -> None:
    await _define(tenant, "QRCodeScan", identifier)
    await create_webhook(tenant)
    mobile = new_mobile()
    email = f"{mobile}@example.com"
    external = f"ext-{mobile}"
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "firstName": "F",
                    "identifiers": [
                        {"type": "mobile", "value": mobile},
                        {"type": "email", "value": email},
                        {"type": "externalId", "value": external},
                    ],
                }
            ]
        },
    )
    customer_id = ok(r)["createdId"]
    body = copy.deepcopy(SAMPLE)
    body["eventName"] = "QRCodeScan"
    body["customer"] = {"id": str(customer_id), "mobile": mobile, "email": email}
    body["customer"]["externalId"] = external
    # only the id the field wants is needed
    body["customer"] = {key: body["customer"][key]}
    request_id = _accepted(await _post(tenant, body))
    drain()
    assert (await _entry(tenant, request_id))["status"] == "EVENT_SUCCESS"
    [record] = await customer_events(tenant.http, customer_id)
    assert record["eventName"] == "QRCodeScan"


async def test_an_unknown_customer_is_logged_like_any_event(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    await _define(tenant, "MenuClick")
    await create_webhook(tenant)
    body = {**SAMPLE, "eventName": "MenuClick", "customer": {"mobile": new_mobile()}}
    request_id = _accepted(await _post(tenant, body))
    drain()
    entry = await _entry(tenant, request_id)
    assert entry["status"] != "EVENT_SUCCESS" and entry["eventName"] == "MenuClick", entry


@pytest.mark.parametrize(
    ("change", "source", "code", "fragment"),
    [
        ({}, None, 7302, "source"),
        ({}, "", 7302, "source"),
        ({}, "ONLINE", 7303, "source"),
        ({"eventName": None}, "INSTORE", 7304, "eventName"),
        ({"eventName": "  "}, "INSTORE", 7304, "eventName"),
        ({"eventName": "NoSuchEvent"}, "INSTORE", 7305, "eventName"),
        ({"customer": None}, "INSTORE", 7307, "customer"),
        ({"customer": {"email": "a@b.c"}}, "INSTORE", 7307, "customer.mobile"),
        ({"customer": {"id": "abc", "mobile": "919999999999"}}, "INSTORE", 7308, "customer.id"),
        ({"eventName": 5}, "INSTORE", 400, "eventName"),
        ({"customer": "919999999999"}, "INSTORE", 400, "customer"),
        ({"sku": ["a"]}, "INSTORE", 400, "sku"),
    ],
)
async def test_bad_feeds_are_400_naming_the_value(
    tenant: Tenant,
    drain: Callable[[], int],
    change: dict[str, Any],
    source: str | None,
    code: int,
    fragment: str,
) -> None:
    await _define(tenant, "GetPromotion")
    await create_webhook(tenant)
    body = {**SAMPLE, **change}
    assert_error(await _post(tenant, body, source), 400, code, fragment)
    drain()
    assert await all_logs(tenant.http) == []


async def test_without_a_default_webhook_the_feed_is_refused(tenant: Tenant) -> None:
    await _define(tenant, "GetPromotion")
    assert_error(await _post(tenant, SAMPLE), 400, 7301, "defaultTransformer")


async def test_not_json_and_no_credentials(tenant: Tenant, http: httpx.AsyncClient) -> None:
    await _define(tenant, "GetPromotion")
    await create_webhook(tenant)
    r = await tenant.http.post(
        FEED,
        params={"source": "INSTORE"},
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_error(r, 400, 400)
    r = await http.post(FEED, params={"source": "INSTORE"}, json=SAMPLE)
    assert r.status_code == 401, r.text


async def test_the_feed_stays_in_the_callers_org(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    a, b = await make_tenant(), await make_tenant()
    await _define(a, "GetPromotion")
    await create_webhook(a)
    a_customer, mobile = await add_customer(a)
    await create_webhook(b)
    body = {**SAMPLE, "customer": {"mobile": mobile}}
    # B has no such event: A's definition is not B's
    assert_error(await _post(b, body), 400, 7305, "eventName")
    await _define(b, "GetPromotion")
    b_customer, _ = await add_customer(b, mobile)  # the same mobile, B's own customer
    request_id = _accepted(await _post(b, body))
    drain()
    assert (await _entry(b, request_id))["status"] == "EVENT_SUCCESS"
    [record] = await customer_events(b.http, b_customer)
    assert record["eventId"] == request_id
    assert await customer_events(a.http, a_customer) == []
    assert all(e["id"] != request_id for e in await all_logs(a.http))
