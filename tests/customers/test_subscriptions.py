"""POST /v2/customers/{id}/subscriptions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_ok,
    audit_count,
    latest_entry,
)
from tests.fixtures.factories import Tenant


def sub(
    channel: str = "EMAIL", priority: str = "TRANS", type_: str = "OPTIN", **extra: Any
) -> dict[str, Any]:
    return {"channel": channel, "priority": priority, "type": type_, **extra}


async def post_subs(t: Tenant, customer_id: int, body: Any) -> Any:
    return await t.http.post(f"/v2/customers/{customer_id}/subscriptions", json=body)


async def test_opt_in_echoes_the_request_and_is_audited(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    body = {
        "communicationId": -1,
        "campaignId": -1,
        "reason": "asked at the till",
        "scope": {"scope": "USER", "subScope": "NONE"},
        "subscriptions": [sub("EMAIL", "TRANS", "OPTIN")],
    }
    r = await post_subs(tenant, customer_id, body)
    answer = assert_ok(r)
    assert answer["warnings"] == []
    assert answer["communicationId"] == -1
    assert answer["campaignId"] == -1
    assert answer["reason"] == "asked at the till"
    assert answer["scope"] == {"scope": "USER", "subScope": "NONE"}
    assert len(answer["subscriptions"]) == 1
    item = answer["subscriptions"][0]
    assert (item["channel"], item["priority"], item["type"]) == ("EMAIL", "TRANS", "OPTIN")
    entry = await latest_entry(tenant, customer_id)
    assert entry["requestId"] == r.headers["x-cap-requestid"]
    assert entry["source"] is None
    assert entry["updatedBy"] == tenant.till_id
    assert entry["events"] == [
        {
            "eventType": "Subscription Status",
            "updatedField": "SubscriptionStatus",
            "additionalFields": {
                "org_source_id": "-1",
                "communication_channel_type": "EMAIL",
                "ou_id": "-1",
                "communication_channel_id": "2",
                "priority": "TRANS",
                "org_source": "INSTORE",
                "previousValue": "NA",
                "currentValue": "OPTIN",
            },
            "associateEntities": None,
        }
    ]


async def test_unchanged_subscription_records_nothing(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub()]}))
    assert await audit_count(tenant, customer_id) == 2
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub()]}))
    assert await audit_count(tenant, customer_id) == 2


async def test_opt_out_after_opt_in(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub(type_="OPTIN")]}))
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub(type_="optout")]}))
    fields = (await latest_entry(tenant, customer_id))["events"][0]["additionalFields"]
    assert (fields["previousValue"], fields["currentValue"]) == ("OPTIN", "OPTOUT")


async def test_several_subscriptions_are_one_entry(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await post_subs(
        tenant,
        customer_id,
        {
            "subscriptions": [
                sub("EMAIL", "TRANS", "OPTIN"),
                sub("android", "bulk", "OPTOUT", accountId="acc-1", orgUnitId=55),
                sub("MOBILE", "BULK", "OPTIN", sourceName="WECHAT"),
            ]
        },
    )
    assert_ok(r)
    assert await audit_count(tenant, customer_id) == 2
    events = (await latest_entry(tenant, customer_id))["events"]
    assert len(events) == 3
    android = events[1]["additionalFields"]
    assert android == {
        "org_source_id": "acc-1",
        "communication_channel_type": "ANDROID",
        "ou_id": "55",
        "communication_channel_id": "5",
        "priority": "BULK",
        "org_source": "INSTORE",
        "previousValue": "NA",
        "currentValue": "OPTOUT",
    }
    assert events[2]["additionalFields"]["org_source"] == "WECHAT"
    assert events[2]["additionalFields"]["communication_channel_id"] == "1"


@pytest.mark.parametrize(
    ("channel", "channel_id"),
    [
        ("MOBILE", "1"),
        ("SMS", "1"),
        ("EMAIL", "2"),
        ("WECHAT", "3"),
        ("IOS", "4"),
        ("ANDROID", "5"),
        ("LINE", "6"),
        ("WHATSAPP", "7"),
        ("MOBILEPUSH", "8"),
    ],
)
async def test_channel_ids(tenant: Tenant, channel: str, channel_id: str) -> None:
    customer_id = await add_customer(tenant)
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub(channel.lower())]}))
    fields = (await latest_entry(tenant, customer_id))["events"][0]["additionalFields"]
    assert fields["communication_channel_type"] == ("MOBILE" if channel == "SMS" else channel)
    assert fields["communication_channel_id"] == channel_id


async def test_sms_is_the_mobile_channel(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    assert_ok(
        await post_subs(tenant, customer_id, {"subscriptions": [sub("MOBILE", type_="OPTIN")]})
    )
    # SMS names the same channel: opting in again is no change, opting out changes OPTIN.
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub("SMS", type_="OPTIN")]}))
    assert await audit_count(tenant, customer_id) == 2
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub("SMS", type_="OPTOUT")]}))
    fields = (await latest_entry(tenant, customer_id))["events"][0]["additionalFields"]
    assert fields["communication_channel_id"] == "1"
    assert (fields["previousValue"], fields["currentValue"]) == ("OPTIN", "OPTOUT")


@pytest.mark.parametrize(
    ("item", "code", "fragment"),
    [
        (sub(channel="FAX"), 1101, "subscriptions[0].channel"),
        (sub(priority="URGENT"), 1102, "subscriptions[0].priority"),
        (sub(type_="MAYBE"), 1106, "subscriptions[0].type"),
        (sub(sourceName="NOWHERE"), 8003, "NOWHERE"),
    ],
    ids=["channel", "priority", "type", "source"],
)
async def test_invalid_subscription_is_refused_and_nothing_is_recorded(
    tenant: Tenant, item: dict[str, Any], code: int, fragment: str
) -> None:
    customer_id = await add_customer(tenant)
    r = await post_subs(tenant, customer_id, {"subscriptions": [item]})
    assert_error(r, 400, code, fragment)
    assert await audit_count(tenant, customer_id) == 1


async def test_invalid_second_item_leaves_the_first_unapplied(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await post_subs(tenant, customer_id, {"subscriptions": [sub(), sub(channel="PIGEON")]})
    assert_error(r, 400, 1101, "subscriptions[1].channel", "PIGEON")
    assert await audit_count(tenant, customer_id) == 1
    # The first item was not stored: opting in now is still a change from NA.
    assert_ok(await post_subs(tenant, customer_id, {"subscriptions": [sub()]}))
    fields = (await latest_entry(tenant, customer_id))["events"][0]["additionalFields"]
    assert fields["previousValue"] == "NA"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "subscriptions"),
        ({"subscriptions": []}, "subscriptions"),
        ({"subscriptions": [{"channel": "EMAIL", "type": "OPTIN"}]}, "subscriptions[0].priority"),
        ({"subscriptions": [{"priority": "TRANS", "type": "OPTIN"}]}, "subscriptions[0].channel"),
        ({"subscriptions": "EMAIL"}, "subscriptions"),
        ({"subscriptions": [sub(orgUnitId="store-1")]}, "subscriptions[0].orgUnitId"),
        ({"communicationId": "x", "subscriptions": [sub()]}, "communicationId"),
    ],
    ids=["empty", "no-items", "no-priority", "no-channel", "string", "ou-string", "comm-id"],
)
async def test_subscription_body_errors_name_the_field(
    tenant: Tenant, body: dict[str, Any], fragment: str
) -> None:
    customer_id = await add_customer(tenant)
    assert_error(await post_subs(tenant, customer_id, body), 400, 400, fragment)


async def test_subscriptions_malformed_json_is_400(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/subscriptions",
        content=b"subscriptions=EMAIL",
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, 400, "JSON")


async def test_subscriptions_of_unknown_customer_is_404(tenant: Tenant) -> None:
    assert_error(await post_subs(tenant, 987654321, {"subscriptions": [sub()]}), 404, 8015)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"communicationId": 10**30, "subscriptions": [sub()]}, "communicationId"),
        ({"campaignId": -(10**25), "subscriptions": [sub()]}, "campaignId"),
    ],
    ids=["huge-communication-id", "huge-campaign-id"],
)
async def test_huge_echoed_numbers_never_give_500(
    tenant: Tenant, body: dict[str, Any], fragment: str
) -> None:
    customer_id = await add_customer(tenant)
    r = await post_subs(tenant, customer_id, body)
    # Either refused naming the field, or accepted and echoed as sent; never a 500.
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error(r, 400, 400, fragment)
    else:
        assert r.json()[fragment] == body[fragment]


async def test_out_of_range_org_unit_id_is_400_not_500(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await post_subs(tenant, customer_id, {"subscriptions": [sub(orgUnitId=10**20)]})
    assert_error(r, 400, 400, "orgUnitId")
    assert await audit_count(tenant, customer_id) == 1
