"""Webhooks: POST/PUT /v2/events/webhook, GET /v2/events/webhooks,
PUT /v2/events/webhook/disable (SPEC §3.1, reference §3.3)."""

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
from tests.fixtures.factories import Tenant, make_till

HEX32 = re.compile(r"^[0-9a-f]{32}$")
Drain = Callable[[], int]
WEBHOOK = "/v2/events/webhook"


# -- helpers -----------------------------------------------------------------------
def webhook_body(t: Tenant, transformer: str = "defaultTransformer", **extra: Any) -> dict:
    return {"transformerType": transformer, "tillCode": t.till_code, **extra}


async def create_webhook(t: Tenant, **body: Any) -> httpx.Response:
    return await t.http.post(WEBHOOK, json=body)


async def create_ok(t: Tenant, transformer: str = "defaultTransformer", **extra: Any) -> dict:
    body: dict[str, Any] = assert_ok(
        await t.http.post(WEBHOOK, json=webhook_body(t, transformer, **extra))
    )
    return body


async def list_webhooks(t: Tenant) -> list[dict[str, Any]]:
    body = assert_ok(await t.http.get("/v2/events/webhooks"))
    assert body["warnings"] == [] and body["errors"] == [], body
    data: list[dict[str, Any]] = body["data"]
    return data


async def webhook_by_id(t: Tenant, webhook_id: str) -> dict[str, Any]:
    found = [w for w in await list_webhooks(t) if w["webHookId"] == webhook_id]
    assert len(found) == 1, found
    return found[0]


async def define_shop(t: Tenant) -> None:
    body = {
        "eventName": "Shop",
        "actions": ["EIConsumer"],
        "fields": [
            {"name": "customer", "type": "customer", "attributes": {"identifierType": "mobile"}},
            {"name": "amount", "type": "double"},
        ],
    }
    assert_ok(await t.http.post("/v2/events", json=body))


async def post(t: Tenant, webhook_id: str, payload: Any, **kwargs: Any) -> httpx.Response:
    return await t.http.post(f"/webhooks/{webhook_id}", json=payload, **kwargs)


async def log_of(t: Tenant, request_id: str) -> dict[str, Any]:
    body = assert_ok(await t.http.get("/v2/events/logs", params={"limit": 1000}))
    found = [e for e in body["data"] if e["id"] == request_id]
    assert len(found) == 1, body["data"]
    entry: dict[str, Any] = found[0]
    return entry


async def eventually_status(
    t: Tenant, webhook_id: str, payload: dict[str, Any], status: int, seconds: float = 3.0
) -> httpx.Response:
    """Post until the answer has this status: ingestion caches webhooks for a second."""
    deadline = time.monotonic() + seconds
    while True:
        r = await post(t, webhook_id, payload)
        if r.status_code == status or time.monotonic() > deadline:
            return r
        await asyncio.sleep(0.1)


# -- create ------------------------------------------------------------------------
async def test_create_answers_capillary_shape(tenant: Tenant) -> None:
    r = await create_webhook(
        tenant,
        transformerType="WebEngageTransformer",
        tillCode=tenant.till_code,
        authEnabled=False,
        authMechanism="Basic",
        uniquenessCheckEnabled=False,
    )
    body = assert_ok(r)
    for key in (
        "transformerType",
        "webHookId",
        "uniquenessCheckEnabled",
        "tillCode",
        "webHookUri",
        "authEnabled",
        "warnings",
    ):
        assert key in body, (key, body)
    assert body["transformerType"] == "WebEngageTransformer"
    assert HEX32.match(body["webHookId"]), body
    assert body["webHookUri"].endswith(f"/webhooks/{body['webHookId']}")
    assert body["webHookUri"].startswith(("http://", "https://"))
    assert body["tillCode"] == tenant.till_code
    assert body["authEnabled"] is False
    assert body["uniquenessCheckEnabled"] is False
    assert body["warnings"] == []
    assert "errors" not in body or body["errors"] == []


async def test_flags_are_stored_and_listed(tenant: Tenant) -> None:
    created = await create_ok(
        tenant,
        "defaultTransformer",
        authEnabled=True,
        authMechanism="OAUTH",
        uniquenessCheckEnabled=True,
        listenToChildEvents=True,
    )
    assert created["authEnabled"] is True
    assert created["uniquenessCheckEnabled"] is True
    listed = await webhook_by_id(tenant, created["webHookId"])
    assert listed["transformerType"] == "defaultTransformer"
    assert listed["tillCode"] == tenant.till_code
    assert listed["webHookUri"] == created["webHookUri"]
    assert listed["authEnabled"] is True
    assert listed["uniquenessCheckEnabled"] is True
    if "listenToChildEvents" in listed:
        assert listed["listenToChildEvents"] is True
    if "authMechanism" in listed:
        assert listed["authMechanism"].upper() == "OAUTH"


async def test_webhook_ids_are_distinct_and_usable(tenant: Tenant) -> None:
    first = await create_ok(tenant, "defaultTransformer")
    second = await create_ok(tenant, "WebEngageTransformer")
    third = await create_ok(tenant, "KumulosTransformer")
    ids = {first["webHookId"], second["webHookId"], third["webHookId"]}
    assert len(ids) == 3
    assert {w["webHookId"] for w in await list_webhooks(tenant)} == ids
    assert third["transformerType"] == "KumulosTransformer"
    for webhook_id in ids:
        r = await post(tenant, webhook_id, {"event_name": "Anything"})
        body = assert_ok(r)
        assert body["status"] == {
            "code": 1100,
            "message": "Event is pushed to transformation state",
        }


async def test_list_is_empty_for_a_new_org(tenant: Tenant) -> None:
    assert await list_webhooks(tenant) == []


@pytest.mark.parametrize("spelling", ["webEngageTransformer", "WEBENGAGETRANSFORMER"])
async def test_transformer_spelling_is_case_insensitive(tenant: Tenant, spelling: str) -> None:
    created = await create_ok(tenant, spelling)
    assert created["transformerType"].lower() == "webengagetransformer"
    r = await create_webhook(
        tenant, transformerType="WebEngageTransformer", tillCode=tenant.till_code
    )
    assert_error(r, 400, 400, "WebEngageTransformer")


# -- create: bad input ---------------------------------------------------------------
@pytest.mark.parametrize(
    "transformer",
    [None, "", "   ", "bad name!", "1Transformer", "x" * 101],
    ids=["missing", "empty", "blank", "punctuation", "digit-first", "too-long"],
)
async def test_missing_or_invalid_transformer_is_1808(
    tenant: Tenant, transformer: str | None
) -> None:
    body: dict[str, Any] = {"tillCode": tenant.till_code}
    if transformer is not None:
        body["transformerType"] = transformer
    r = await tenant.http.post(WEBHOOK, json=body)
    assert_error(r, 400, (1808, 400), "transformer")
    assert await list_webhooks(tenant) == []


async def test_missing_transformer_is_exactly_1808(tenant: Tenant) -> None:
    r = await tenant.http.post(WEBHOOK, json={"tillCode": tenant.till_code})
    assert_error(r, 400, 1808, "transformer")


async def test_auth_enabled_without_mechanism_is_1839(tenant: Tenant) -> None:
    r = await create_webhook(
        tenant, transformerType="defaultTransformer", tillCode=tenant.till_code, authEnabled=True
    )
    assert_error(r, 400, 1839, "auth mechanism")
    assert await list_webhooks(tenant) == []


@pytest.mark.parametrize("mechanism", ["DIGEST", "token", "  "])
async def test_unknown_auth_mechanism_with_auth_is_1839(tenant: Tenant, mechanism: str) -> None:
    r = await create_webhook(
        tenant,
        transformerType="defaultTransformer",
        tillCode=tenant.till_code,
        authEnabled=True,
        authMechanism=mechanism,
    )
    assert_error(r, 400, 1839, "auth")
    assert await list_webhooks(tenant) == []


@pytest.mark.parametrize("mechanism", ["Basic", "basic", "OAUTH", "oauth"])
async def test_known_auth_mechanisms_any_case(tenant: Tenant, mechanism: str) -> None:
    created = await create_ok(tenant, authEnabled=True, authMechanism=mechanism)
    assert created["authEnabled"] is True


async def test_unknown_till_code_is_a_400(tenant: Tenant) -> None:
    r = await create_webhook(tenant, transformerType="defaultTransformer", tillCode="no-such-till")
    assert_error(r, 400, 400, "tillCode")
    assert await list_webhooks(tenant) == []


async def test_missing_till_code_is_a_400(tenant: Tenant) -> None:
    r = await create_webhook(tenant, transformerType="defaultTransformer")
    assert_error(r, 400, 400, "tillCode")


async def test_one_webhook_per_transformer(tenant: Tenant) -> None:
    first = await create_ok(tenant, "WebEngageTransformer")
    r = await create_webhook(
        tenant, transformerType="WebEngageTransformer", tillCode=tenant.till_code
    )
    assert_error(r, 400, 400, "WebEngageTransformer")
    custom = await create_ok(tenant, "KumulosTransformer")
    r = await create_webhook(
        tenant, transformerType="kumulosTransformer", tillCode=tenant.till_code
    )
    assert_error(r, 400, 400, "umulosTransformer")
    ids = {w["webHookId"] for w in await list_webhooks(tenant)}
    assert ids == {first["webHookId"], custom["webHookId"]}


async def test_concurrent_creates_for_one_transformer_make_one_webhook(tenant: Tenant) -> None:
    """One webhook per transformer holds under simultaneous creates too."""
    answers = await asyncio.gather(
        *(
            create_webhook(
                tenant, transformerType="WebEngageTransformer", tillCode=tenant.till_code
            )
            for _ in range(5)
        )
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 400, 400, 400, 400], [(r.status_code, r.text) for r in answers]
    for r in answers:
        if r.status_code == 400:
            assert_error(r, 400, 400, "WebEngageTransformer")
    webhooks = [w for w in await list_webhooks(tenant) if w.get("enabled", True)]
    assert len(webhooks) == 1, webhooks


@pytest.mark.parametrize(
    "body",
    [
        {"transformerType": 5, "tillCode": "x"},
        {"transformerType": "defaultTransformer", "tillCode": ["a"]},
        {"transformerType": "defaultTransformer", "tillCode": "x", "authEnabled": "sometimes"},
        {"transformerType": "defaultTransformer", "tillCode": "x", "uniquenessCheckEnabled": {}},
    ],
    ids=["transformer-int", "till-list", "auth-string", "uniqueness-object"],
)
async def test_wrongly_typed_body_is_a_400(tenant: Tenant, body: dict[str, Any]) -> None:
    r = await tenant.http.post(WEBHOOK, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["errors"][0]
    assert error["status"] is False
    assert await list_webhooks(tenant) == []


@pytest.mark.parametrize("raw", [b"", b"[]", b"nope", b"{"], ids=["empty", "array", "text", "cut"])
async def test_malformed_body_is_a_400(tenant: Tenant, raw: bytes) -> None:
    r = await tenant.http.post(WEBHOOK, content=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, 400)


async def test_webhook_api_needs_credentials(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/v2/events/webhooks"), 401, 401)
    r = await http.post(WEBHOOK, json={"transformerType": "defaultTransformer", "tillCode": "x"})
    assert_error(r, 401, 401)


# -- update ------------------------------------------------------------------------
async def test_update_by_uri_and_by_id(tenant: Tenant) -> None:
    created = await create_ok(tenant, "WebEngageTransformer")
    webhook_id = created["webHookId"]

    r = await tenant.http.put(
        WEBHOOK, json={"webHookUri": created["webHookUri"], "uniquenessCheckEnabled": True}
    )
    assert assert_ok(r) == {"warnings": [], "errors": []}
    listed = await webhook_by_id(tenant, webhook_id)
    assert listed["uniquenessCheckEnabled"] is True
    assert listed["authEnabled"] is False

    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": webhook_id, "authEnabled": True, "authMechanism": "BASIC"}
    )
    assert_ok(r)
    listed = await webhook_by_id(tenant, webhook_id)
    assert listed["authEnabled"] is True
    assert listed["uniquenessCheckEnabled"] is True, "fields not sent are kept"
    assert listed["webHookUri"] == created["webHookUri"], "the URI never changes"


async def test_update_changes_the_till(tenant: Tenant) -> None:
    created = await create_ok(tenant)
    _, code, _ = make_till(tenant.db, tenant.org_id)
    r = await tenant.http.put(WEBHOOK, json={"webHookId": created["webHookId"], "tillCode": code})
    assert_ok(r)
    assert (await webhook_by_id(tenant, created["webHookId"]))["tillCode"] == code
    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": created["webHookId"], "tillCode": "no-such-till"}
    )
    assert_error(r, 400, 400, "tillCode")
    assert (await webhook_by_id(tenant, created["webHookId"]))["tillCode"] == code


async def test_uniqueness_check_cannot_be_disabled_once_enabled(tenant: Tenant) -> None:
    created = await create_ok(tenant, uniquenessCheckEnabled=True)
    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": created["webHookId"], "uniquenessCheckEnabled": False}
    )
    assert_error(r, 400, 400, "uniquenessCheckEnabled")
    assert (await webhook_by_id(tenant, created["webHookId"]))["uniquenessCheckEnabled"] is True
    # Saying it again is fine.
    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": created["webHookId"], "uniquenessCheckEnabled": True}
    )
    assert_ok(r)


async def test_update_enabling_auth_needs_a_mechanism(tenant: Tenant) -> None:
    created = await create_ok(tenant)
    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": created["webHookId"], "authEnabled": True}
    )
    assert_error(r, 400, 1839, "auth mechanism")
    assert (await webhook_by_id(tenant, created["webHookId"]))["authEnabled"] is False


@pytest.mark.parametrize(
    "ref",
    [
        {"webHookId": "0" * 32},
        {"webHookId": "not-a-webhook"},
        {"webHookUri": "http://testserver/webhooks/" + "f" * 32},
    ],
    ids=["unknown-id", "garbage-id", "unknown-uri"],
)
async def test_update_unknown_webhook_is_404(tenant: Tenant, ref: dict[str, str]) -> None:
    await create_ok(tenant)
    r = await tenant.http.put(WEBHOOK, json={**ref, "uniquenessCheckEnabled": True})
    assert_error(r, 404, 404, "webhook")


async def test_update_of_a_disabled_webhook_is_404(tenant: Tenant) -> None:
    created = await create_ok(tenant)
    assert_ok(await tenant.http.put(f"{WEBHOOK}/disable", json={"webHookId": created["webHookId"]}))
    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": created["webHookId"], "uniquenessCheckEnabled": True}
    )
    assert_error(r, 404, 404)


async def test_update_cannot_take_another_webhooks_transformer(tenant: Tenant) -> None:
    await create_ok(tenant, "WebEngageTransformer")
    other = await create_ok(tenant, "defaultTransformer")
    r = await tenant.http.put(
        WEBHOOK, json={"webHookId": other["webHookId"], "transformerType": "WebEngageTransformer"}
    )
    assert_error(r, 400, 400, "WebEngageTransformer")
    assert (await webhook_by_id(tenant, other["webHookId"]))["transformerType"] == (
        "defaultTransformer"
    )


# -- disable -------------------------------------------------------------------------
async def test_disable_makes_the_webhook_refuse_posts(tenant: Tenant) -> None:
    created = await create_ok(tenant)
    webhook_id = created["webHookId"]
    assert_ok(await post(tenant, webhook_id, {"event_name": "Shop"}))

    r = await tenant.http.put(f"{WEBHOOK}/disable", json={"webHookId": webhook_id})
    assert assert_ok(r) == {"warnings": [], "errors": []}
    r = await eventually_status(tenant, webhook_id, {"event_name": "Shop"}, 404)
    assert_error(r, 404, 404)
    listed = [w for w in await list_webhooks(tenant) if w["webHookId"] == webhook_id]
    for webhook in listed:  # listing a disabled webhook is allowed, but it must say so
        assert webhook.get("enabled") is False, webhook


async def test_disabling_twice_or_unknown_is_404(tenant: Tenant) -> None:
    created = await create_ok(tenant)
    assert_ok(await tenant.http.put(f"{WEBHOOK}/disable", json={"webHookId": created["webHookId"]}))
    r = await tenant.http.put(f"{WEBHOOK}/disable", json={"webHookId": created["webHookId"]})
    assert_error(r, 404, 404)
    r = await tenant.http.put(f"{WEBHOOK}/disable", json={"webHookId": "1" * 32})
    assert_error(r, 404, 404)


@pytest.mark.parametrize("body", [{}, {"webHookId": ""}, {"webHookId": 7}, {"id": "x"}])
async def test_disable_needs_a_webhook_id(tenant: Tenant, body: dict[str, Any]) -> None:
    r = await tenant.http.put(f"{WEBHOOK}/disable", json=body)
    assert_error(r, 400, 400, "webHookId")


async def test_after_disabling_a_new_webhook_for_the_transformer_can_be_made(
    tenant: Tenant,
) -> None:
    old = await create_ok(tenant, "WebEngageTransformer")
    assert_ok(await tenant.http.put(f"{WEBHOOK}/disable", json={"webHookId": old["webHookId"]}))
    new = await create_ok(tenant, "WebEngageTransformer")
    assert new["webHookId"] != old["webHookId"]
    r = await tenant.http.put(
        WEBHOOK, json={"transformerType": "WebEngageTransformer", "uniquenessCheckEnabled": True}
    )
    assert_ok(r)
    assert (await webhook_by_id(tenant, new["webHookId"]))["uniquenessCheckEnabled"] is True


# -- webhooks in use -------------------------------------------------------------------
async def test_auth_enabled_webhook_requires_the_orgs_credentials(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Drain
) -> None:
    a = await make_tenant()
    b = await make_tenant()
    await define_shop(a)
    phone = mobile()
    await add_customer(a, ident("mobile", phone))
    created = await create_ok(a, authEnabled=True, authMechanism="BASIC")
    payload = {"event_name": "Shop", "customer": phone, "amount": 5}
    path = f"/webhooks/{created['webHookId']}"

    assert_error(await http.post(path, json=payload), 401, 401)
    assert_error(await http.post(path, json=payload, headers=b.auth), 401, 401)
    body = assert_ok(await http.post(path, json=payload, headers=a.auth))
    drain()
    assert (await log_of(a, body["requestId"]))["status"] == "EVENT_SUCCESS"


async def test_events_are_attributed_to_the_webhooks_till(tenant: Tenant, drain: Drain) -> None:
    await define_shop(tenant)
    phone = mobile()
    customer_id = await add_customer(tenant, ident("mobile", phone))
    created = await create_ok(tenant)
    _, code, _ = make_till(tenant.db, tenant.org_id)
    assert_ok(
        await tenant.http.put(WEBHOOK, json={"webHookId": created["webHookId"], "tillCode": code})
    )
    r = await post(tenant, created["webHookId"], {"event_name": "Shop", "customer": phone})
    request_id = assert_ok(r)["requestId"]
    drain()
    assert (await log_of(tenant, request_id))["status"] == "EVENT_SUCCESS"
    events = assert_ok(await tenant.http.get(f"/v2/events/event_data/{customer_id}"))["data"]
    assert [e["eventId"] for e in events] == [request_id]
    assert events[0]["tillCode"] == code


async def test_default_transformer_without_event_name_is_invalid_mapping(
    tenant: Tenant, drain: Drain
) -> None:
    created = await create_ok(tenant)
    r = await post(tenant, created["webHookId"], {"customer": "919999999999"})
    request_id = assert_ok(r)["requestId"]
    drain()
    entry = await log_of(tenant, request_id)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS"
    assert entry["message"] == "Invalid meta transformer mappings: No transformer mapping found"
    assert "eventName" not in entry
    assert entry["webhookId"] == created["webHookId"]


# -- tenancy ---------------------------------------------------------------------------
async def test_another_org_cannot_see_change_or_disable_webhooks(
    make_tenant: TenantFactory,
) -> None:
    a = await make_tenant()
    b = await make_tenant()
    created = await create_ok(a, "WebEngageTransformer")
    webhook_id = created["webHookId"]
    before = await webhook_by_id(a, webhook_id)

    assert await list_webhooks(b) == []
    r = await b.http.put(WEBHOOK, json={"webHookId": webhook_id, "uniquenessCheckEnabled": True})
    assert_error(r, 404, 404)
    r = await b.http.put(
        WEBHOOK, json={"webHookUri": created["webHookUri"], "uniquenessCheckEnabled": True}
    )
    assert_error(r, 404, 404)
    r = await b.http.put(WEBHOOK, json={"webHookId": webhook_id, "tillCode": b.till_code})
    assert_error(r, 404, 404)
    r = await b.http.put(f"{WEBHOOK}/disable", json={"webHookId": webhook_id})
    assert_error(r, 404, 404)
    # Another org's till is unknown here.
    r = await create_webhook(b, transformerType="defaultTransformer", tillCode=a.till_code)
    assert_error(r, 400, 400, "tillCode")

    assert await webhook_by_id(a, webhook_id) == before
    assert_ok(await post(a, webhook_id, {"event_name": "Shop"}))

    # One webhook per transformer is per org: B may have its own.
    mine = await create_ok(b, "WebEngageTransformer")
    assert mine["webHookId"] != webhook_id
    assert [w["webHookId"] for w in await list_webhooks(a)] == [webhook_id]
    assert [w["webHookId"] for w in await list_webhooks(b)] == [mine["webHookId"]]
