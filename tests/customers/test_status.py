"""PUT /v2/customers/lookup/status."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import (
    add_customer,
    add_customer_label,
    assert_error,
    assert_ok,
    audit_count,
    get_customer,
    ident,
    latest_entry,
    mobile,
    set_status,
)
from tests.fixtures.factories import Tenant


async def _labels(t: Tenant) -> dict[str, int]:
    body = assert_ok(await t.http.get("/v2/orgs/settings/customerStatusLabels"))
    return {item["label"]: item["labelId"] for item in body["data"]}


async def test_status_change_answers_created_id_and_is_audited(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    labels = await _labels(tenant)
    r = await set_status(tenant, "mobile", m, "SUSPENDED", source="INSTORE")
    assert assert_ok(r) == {"createdId": customer_id, "warnings": []}
    view = await get_customer(tenant, customer_id)
    assert view["statusLabel"] == "SUSPENDED"
    assert await audit_count(tenant, customer_id) == 2
    entry = await latest_entry(tenant, customer_id)
    assert entry["requestId"] == r.headers["x-cap-requestid"]
    assert entry["events"] == [
        {
            "eventType": "Customer Status",
            "updatedField": "CustomerStatus",
            "additionalFields": {
                "previousLabelId": str(labels["ACTIVE"]),
                "previousValue": "ACTIVE",
                "currentValue": "SUSPENDED",
                "currentLabelId": str(labels["SUSPENDED"]),
            },
            "associateEntities": None,
        }
    ]


async def test_setting_the_current_label_records_nothing(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    assert_ok(await set_status(tenant, "mobile", m, "ACTIVE"))
    assert await audit_count(tenant, customer_id) == 1
    assert_ok(await set_status(tenant, "mobile", m, "SUSPENDED"))
    assert_ok(await set_status(tenant, "mobile", m, "SUSPENDED"))
    assert await audit_count(tenant, customer_id) == 2


async def test_label_only_change_keeps_the_status_and_changes_the_label_id(
    tenant: Tenant,
) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    gold = await add_customer_label(tenant, "ACTIVE", "Gold")
    active = (await _labels(tenant))["ACTIVE"]
    assert_ok(await set_status(tenant, "mobile", m, "Gold"))
    assert (await get_customer(tenant, customer_id))["statusLabel"] == "Gold"
    fields = (await latest_entry(tenant, customer_id))["events"][0]["additionalFields"]
    assert fields == {
        "previousLabelId": str(active),
        "previousValue": "ACTIVE",
        "currentValue": "ACTIVE",
        "currentLabelId": str(gold),
    }


@pytest.mark.parametrize("label", ["Platinum", "suspended-ish", "x"])
async def test_unknown_label_is_8086_and_changes_nothing(tenant: Tenant, label: str) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    error = assert_error(await set_status(tenant, "mobile", m, label), 400, 8086, label)
    assert error["message"].startswith("Status label passed is not valid")
    assert (await get_customer(tenant, customer_id))["statusLabel"] == "ACTIVE"
    assert await audit_count(tenant, customer_id) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"label": "SUSPENDED"}, "reason"),
        ({"reason": "fraud"}, "label"),
        ({}, "reason"),
        ({"reason": "", "label": "SUSPENDED"}, "reason"),
        ({"reason": "fraud", "label": ""}, "label"),
        ({"reason": "fraud", "label": 5}, "label"),
        ({"reason": ["a"], "label": "SUSPENDED"}, "reason"),
    ],
    ids=[
        "no-reason",
        "no-label",
        "empty-body",
        "empty-reason",
        "empty-label",
        "label-int",
        "reason-list",
    ],
)
async def test_status_body_errors_name_the_field(
    tenant: Tenant, body: dict[str, Any], fragment: str
) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    r = await tenant.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": "mobile", "identifierValue": m},
        json=body,
    )
    assert_error(r, 400, 400, fragment)
    assert await audit_count(tenant, customer_id) == 1


async def test_status_with_malformed_json_is_400(tenant: Tenant) -> None:
    m = mobile()
    await add_customer(tenant, ident("mobile", m))
    r = await tenant.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": "mobile", "identifierValue": m},
        content=b"{reason: fraud}",
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, 400, "JSON")


@pytest.mark.parametrize(
    ("name", "source", "status", "code"),
    [
        ("mobile", "INSTORE", 404, 8015),
        ("phone", "INSTORE", 400, 8013),
        ("mobile", "UNDERGROUND", 400, 8003),
    ],
    ids=["not-found", "bad-name", "bad-source"],
)
async def test_status_lookup_errors(
    tenant: Tenant, name: str, source: str, status: int, code: int
) -> None:
    assert_error(await set_status(tenant, name, mobile(), "SUSPENDED", source=source), status, code)


async def test_status_of_another_orgs_customer_is_404(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    m = mobile()
    customer_id = await add_customer(other, ident("mobile", m))
    assert_error(await set_status(tenant, "mobile", m, "SUSPENDED"), 404, 8015)
    assert (await get_customer(other, customer_id))["statusLabel"] == "ACTIVE"
