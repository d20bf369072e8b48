"""PUT /v2/customers/{id} and PUT /v2/customers/lookup."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_ok,
    audit_count,
    email,
    get_customer,
    ident,
    identifiers_of,
    latest_entry,
    lookup_id,
    mobile,
    profile_of,
    value_event,
)
from tests.fixtures.factories import Tenant


async def put(
    t: Tenant, customer_id: int, body: Any, *, source: str | None = None
) -> dict[str, Any]:
    params = {"source": source} if source else None
    return assert_ok(await t.http.put(f"/v2/customers/{customer_id}", json=body, params=params))


async def test_update_names_answers_created_id_and_audits_them(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={"profiles": [{"firstName": "Thomas", "lastName": "Hardy"}]},
    )
    body = assert_ok(r)
    assert body == {"createdId": customer_id, "warnings": [], "sideEffects": []}
    prof = (await get_customer(tenant, customer_id))["profiles"][0]
    assert (prof["firstName"], prof["lastName"]) == ("Thomas", "Hardy")
    assert await audit_count(tenant, customer_id) == 2
    entry = await latest_entry(tenant, customer_id)
    assert entry["requestId"] == r.headers["x-cap-requestid"]
    assert entry["source"] == "INSTORE"
    assert entry["events"] == [
        value_event("FirstName", "Tom", "Thomas", "Standard Fields"),
        value_event("LastName", "NA", "Hardy", "Standard Fields"),
    ]


async def test_update_with_the_same_values_records_nothing(tenant: Tenant) -> None:
    e = email()
    customer_id = await add_customer(tenant, first_name="Tom")
    body = {
        "profiles": [
            {"firstName": "Tom", "lastName": "X", "commChannels": [{"type": "email", "value": e}]}
        ]
    }
    await put(tenant, customer_id, body)
    count = await audit_count(tenant, customer_id)
    assert count == 2
    await put(tenant, customer_id, body)
    assert await audit_count(tenant, customer_id) == count


@pytest.mark.parametrize("body", [{}, {"profiles": []}, {"extendedFields": {}}])
async def test_empty_update_changes_and_records_nothing(
    tenant: Tenant, body: dict[str, Any]
) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    before = await get_customer(tenant, customer_id)
    assert (await put(tenant, customer_id, body))["createdId"] == customer_id
    assert await get_customer(tenant, customer_id) == before
    assert await audit_count(tenant, customer_id) == 1


async def test_update_adds_and_changes_comm_channels(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    e1, e2 = email(), email()
    await put(
        tenant, customer_id, {"profiles": [{"commChannels": [{"type": "email", "value": e1}]}]}
    )
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("email", "NA", e1, "Communication Channels")
    ]
    await put(
        tenant,
        customer_id,
        {"profiles": [{"commChannels": [{"type": "email", "value": e2, "verified": True}]}]},
    )
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("email", e1, e2, "Communication Channels")
    ]
    channels = profile_of(await get_customer(tenant, customer_id))["commChannels"]
    assert [(c["type"], c["value"], c["verified"]) for c in channels] == [("email", e2, True)]


async def test_update_with_unknown_comm_channel_is_8010_and_changes_nothing(
    tenant: Tenant,
) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={
            "profiles": [{"firstName": "Jerry", "commChannels": [{"type": "pager", "value": "1"}]}]
        },
    )
    assert_error(r, 400, 8010, "pager")
    assert (await get_customer(tenant, customer_id))["profiles"][0]["firstName"] == "Tom"
    assert await audit_count(tenant, customer_id) == 1


async def test_loyalty_to_non_loyalty_is_8018_and_changes_nothing(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={"profiles": [{"firstName": "Jerry"}], "loyaltyInfo": {"loyaltyType": "non_loyalty"}},
    )
    assert_error(r, 400, 8018, "non-loyalty")
    view = await get_customer(tenant, customer_id)
    assert view["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    assert view["profiles"][0]["firstName"] == "Tom"
    assert await audit_count(tenant, customer_id) == 1


async def test_non_loyalty_to_loyalty_is_allowed_and_audited(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, loyaltyInfo={"loyaltyType": "non_loyalty"})
    await put(tenant, customer_id, {"loyaltyInfo": {"loyaltyType": "loyalty"}})
    assert (await get_customer(tenant, customer_id))["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("LoyaltyType", "non_loyalty", "loyalty", "Standard Fields")
    ]
    # Saying "loyalty" again is no change.
    await put(tenant, customer_id, {"loyaltyInfo": {"loyaltyType": "loyalty"}})
    assert await audit_count(tenant, customer_id) == 2


async def test_invalid_loyalty_type_is_400_naming_it(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}", json={"loyaltyInfo": {"loyaltyType": "gold"}}
    )
    assert_error(r, 400, 400, "loyaltyInfo.loyaltyType")


async def test_identifiers_cannot_be_changed_by_update(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    body = await put(
        tenant, customer_id, {"profiles": [{"identifiers": [ident("email", email())]}]}
    )
    assert [w["code"] for w in body["warnings"]] == [91006]
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m)]
    assert await audit_count(tenant, customer_id) == 1


async def test_update_with_source_records_that_source(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    await put(tenant, customer_id, {"profiles": [{"firstName": "Ben"}]}, source="WECHAT")
    entry = await latest_entry(tenant, customer_id)
    assert entry["source"] == "WECHAT"
    assert entry["events"] == [value_event("FirstName", "Tom", "Ben", "Standard Fields")]


async def test_update_with_invalid_source_is_8003(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        params={"source": "ATLANTIS"},
        json={"profiles": [{"firstName": "Ben"}]},
    )
    assert_error(r, 400, 8003, "ATLANTIS")
    assert (await get_customer(tenant, customer_id))["profiles"][0]["firstName"] == "Tom"


async def test_update_with_invalid_profile_source_is_8003(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, first_name="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}", json={"profiles": [{"firstName": "Ben", "source": "MOON"}]}
    )
    assert_error(r, 400, 8003, "MOON")
    assert await audit_count(tenant, customer_id) == 1


async def test_update_unknown_customer_is_404_8015(tenant: Tenant) -> None:
    r = await tenant.http.put("/v2/customers/987654321", json={"profiles": [{"firstName": "X"}]})
    assert_error(r, 404, 8015)


async def test_update_another_orgs_customer_is_404(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    customer_id = await add_customer(other, first_name="Tom")
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}", json={"profiles": [{"firstName": "Hacked"}]}
    )
    assert_error(r, 404, 8015)
    assert (await get_customer(other, customer_id))["profiles"][0]["firstName"] == "Tom"


@pytest.mark.parametrize("bad_id", ["abc", "0", str(2**63)])
async def test_update_with_invalid_id_is_400(tenant: Tenant, bad_id: str) -> None:
    r = await tenant.http.put(f"/v2/customers/{bad_id}", json={})
    assert_error(r, 400, 400, "'id'")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"profiles": "Tom"}, "profiles"),
        ({"profiles": [{"firstName": 7}]}, "profiles[0].firstName"),
        ({"profiles": [{"commChannels": [{"type": "email"}]}]}, "commChannels[0].value"),
        ({"extendedFields": ["a"]}, "extendedFields"),
        ({"loyaltyInfo": "loyalty"}, "loyaltyInfo"),
        ([], "body"),
    ],
)
async def test_update_with_wrong_types_is_400_naming_the_field(
    tenant: Tenant, body: Any, fragment: str
) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.put(f"/v2/customers/{customer_id}", json=body)
    assert_error(r, 400, 400, fragment)
    assert await audit_count(tenant, customer_id) == 1


async def test_update_with_malformed_json_is_400(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        content=b'{"profiles": [',
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, 400, "JSON")


# -- PUT /v2/customers/lookup --------------------------------------------------------
async def test_update_by_lookup(tenant: Tenant) -> None:
    e = email()
    customer_id = await add_customer(tenant, ident("email", e), first_name="Tom")
    r = await tenant.http.put(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "email", "identifierValue": e},
        json={"profiles": [{"lastName": "Jones"}]},
    )
    assert assert_ok(r)["createdId"] == customer_id
    assert (await get_customer(tenant, customer_id))["profiles"][0]["lastName"] == "Jones"
    entry = await latest_entry(tenant, customer_id)
    assert entry["events"] == [value_event("LastName", "NA", "Jones", "Standard Fields")]
    assert await lookup_id(tenant, "email", e) == customer_id


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"identifierName": "mobile", "identifierValue": "919999999999"}, 404, 8015),
        ({"identifierName": "phone", "identifierValue": "919999999999"}, 400, 8013),
        (
            {"identifierName": "mobile", "identifierValue": "919999999999", "source": "NOPE"},
            400,
            8003,
        ),
        ({"identifierName": "mobile"}, 400, 400),
    ],
    ids=["not-found", "bad-name", "bad-source", "missing-value"],
)
async def test_update_by_lookup_errors(
    tenant: Tenant, params: dict[str, str], status: int, code: int
) -> None:
    r = await tenant.http.put(
        "/v2/customers/lookup", params=params, json={"profiles": [{"lastName": "X"}]}
    )
    assert_error(r, status, code)
