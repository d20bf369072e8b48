"""GET /v2/customers/{id}, GET /v2/customers/lookup and /lookup/customerDetails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_ok,
    email,
    external_id,
    get_customer,
    ident,
    lookup,
    lookup_id,
    mobile,
)
from tests.fixtures.factories import Tenant


async def test_get_customer_shape(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    view = await get_customer(tenant, customer_id)
    for key in ("id", "profiles", "loyaltyInfo", "extendedFields", "statusLabel", "warnings"):
        assert key in view, key
    assert view["id"] == customer_id
    assert isinstance(view["profiles"], list)
    prof = view["profiles"][0]
    for key in (
        "firstName",
        "lastName",
        "fields",
        "identifiers",
        "commChannels",
        "source",
        "accountId",
    ):
        assert key in prof, key
    assert prof["identifiers"] == [{"type": "mobile", "value": m}]
    assert view["warnings"] == []


async def test_get_unknown_customer_is_404_8015(tenant: Tenant) -> None:
    assert_error(await tenant.http.get("/v2/customers/987654321"), 404, 8015)


async def test_get_largest_id_is_404_not_an_error(tenant: Tenant) -> None:
    assert_error(await tenant.http.get(f"/v2/customers/{2**63 - 1}"), 404, 8015)


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "0", "-3", str(2**63), "1e3"])
async def test_get_with_invalid_id_is_400_naming_it(tenant: Tenant, bad_id: str) -> None:
    assert_error(await tenant.http.get(f"/v2/customers/{bad_id}"), 400, 400, "'id'")


async def test_get_another_orgs_customer_is_404(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    customer_id = await add_customer(other)
    assert_error(await tenant.http.get(f"/v2/customers/{customer_id}"), 404, 8015)
    assert (await get_customer(other, customer_id))["id"] == customer_id


async def test_lookup_answers_entity_and_warnings(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    body = assert_ok(await lookup(tenant, "mobile", m, "INSTORE"))
    assert body == {"entity": customer_id, "warnings": []}


@pytest.mark.parametrize("type_", ["mobile", "email", "externalId"])
async def test_lookup_by_each_identifier_type(tenant: Tenant, type_: str) -> None:
    values = {"mobile": mobile(), "email": email(), "externalId": external_id()}
    customer_id = await add_customer(
        tenant, *(ident(name, value) for name, value in values.items())
    )
    other = await add_customer(tenant)
    assert other != customer_id
    assert await lookup_id(tenant, type_, values[type_]) == customer_id


async def test_lookup_without_source_means_instore(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    assert await lookup_id(tenant, "mobile", m) == customer_id


@pytest.mark.parametrize(
    ("name", "source"), [("MOBILE", "instore"), ("Mobile", "InStore"), ("mobile", " INSTORE ")]
)
async def test_lookup_names_are_case_insensitive(tenant: Tenant, name: str, source: str) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    assert await lookup_id(tenant, name, m, source) == customer_id


async def test_lookup_with_account_id(tenant: Tenant) -> None:
    m = mobile()
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {"source": "WECHAT", "accountId": "acc-1", "identifiers": [ident("mobile", m)]}
            ]
        },
    )
    customer_id = assert_ok(r)["createdId"]
    prof = (await get_customer(tenant, customer_id))["profiles"][0]
    assert (prof["source"], prof["accountId"]) == ("WECHAT", "acc-1")
    found = assert_ok(await lookup(tenant, "mobile", m, "WECHAT", accountId="acc-1"))
    assert found["entity"] == customer_id
    assert_error(await lookup(tenant, "mobile", m, "WECHAT"), 404, 8015)
    assert_error(await lookup(tenant, "mobile", m, "WECHAT", accountId="acc-2"), 404, 8015)


async def test_lookup_of_unknown_identifier_is_404_8015(tenant: Tenant) -> None:
    await add_customer(tenant)
    error = assert_error(await lookup(tenant, "mobile", mobile()), 404, 8015)
    assert error["message"] == "Customer not found for the given identifiers"


async def test_lookup_in_another_source_is_404(tenant: Tenant) -> None:
    m = mobile()
    await add_customer(tenant, ident("mobile", m))
    assert_error(await lookup(tenant, "mobile", m, "WECHAT"), 404, 8015)


async def test_lookup_of_another_type_with_the_same_value_is_404(tenant: Tenant) -> None:
    x = "91" + "1" * 10
    await add_customer(tenant, ident("externalId", x))
    assert_error(await lookup(tenant, "mobile", x), 404, 8015)


@pytest.mark.parametrize("name", ["phone", "id", "userId", "mobile_number"])
async def test_lookup_with_invalid_identifier_name_is_8013(tenant: Tenant, name: str) -> None:
    assert_error(await lookup(tenant, name, "919900000001"), 400, 8013, name)


@pytest.mark.parametrize("source", ["SHOP", "in-store", "0"])
async def test_lookup_with_invalid_source_is_8003(tenant: Tenant, source: str) -> None:
    assert_error(await lookup(tenant, "mobile", "919900000001", source), 400, 8003, source)


@pytest.mark.parametrize(
    ("params", "missing"),
    [
        ({"identifierValue": "919900000001"}, "identifierName"),
        ({"identifierName": "mobile"}, "identifierValue"),
        ({}, "identifier"),
    ],
)
async def test_lookup_without_required_parameter_is_400_naming_it(
    tenant: Tenant, params: dict[str, str], missing: str
) -> None:
    r = await tenant.http.get("/v2/customers/lookup", params=params)
    assert_error(r, 400, 400, missing)


async def test_lookup_with_empty_or_too_long_value_is_400(tenant: Tenant) -> None:
    assert_error(await lookup(tenant, "mobile", ""), 400, 400, "identifierValue")
    assert_error(await lookup(tenant, "externalId", "x" * 256), 400, 400, "identifierValue")


async def test_lookup_in_another_org_is_404(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    m = mobile()
    await add_customer(other, ident("mobile", m))
    assert_error(await lookup(tenant, "mobile", m), 404, 8015)


async def test_customer_details_by_lookup_is_the_customer_view(tenant: Tenant) -> None:
    e = email()
    customer_id = await add_customer(tenant, ident("email", e), ident("mobile", mobile()))
    r = await tenant.http.get(
        "/v2/customers/lookup/customerDetails",
        params={"identifierName": "email", "identifierValue": e, "source": "INSTORE"},
    )
    assert assert_ok(r) == await get_customer(tenant, customer_id)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"identifierName": "phone", "identifierValue": "1"}, 400, 8013),
        ({"identifierName": "email", "identifierValue": "nobody@example.com"}, 404, 8015),
        ({"identifierName": "email", "identifierValue": "a@b.com", "source": "X"}, 400, 8003),
        ({"identifierName": "email"}, 400, 400),
    ],
    ids=["bad-name", "not-found", "bad-source", "missing-value"],
)
async def test_customer_details_errors(
    tenant: Tenant, params: dict[str, str], status: int, code: int
) -> None:
    r = await tenant.http.get("/v2/customers/lookup/customerDetails", params=params)
    assert_error(r, status, code)
