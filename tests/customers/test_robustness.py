"""Across the customer APIs: authentication first, the error envelope, no 500 on any input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_ok,
    audit_count,
    define_field,
    email,
    get_customer,
    ident,
    mobile,
    profile,
    request_merge,
)
from tests.fixtures.envelopes import UNAUTHORIZED_TEXT as UNAUTHORIZED
from tests.fixtures.factories import Tenant, basic, md5

# (method, path, JSON body) of every customer endpoint, with valid-looking input.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("POST", "/v2/customers", {"profiles": [profile(ident("mobile", "919812345678"))]}),
    ("GET", "/v2/customers/1", None),
    (
        "GET",
        "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919812345678",
        None,
    ),
    (
        "GET",
        "/v2/customers/lookup/customerDetails?identifierName=mobile&identifierValue=919812345678",
        None,
    ),
    ("PUT", "/v2/customers/1", {"profiles": [{"firstName": "X"}]}),
    (
        "PUT",
        "/v2/customers/lookup?identifierName=mobile&identifierValue=919812345678",
        {"profiles": [{"firstName": "X"}]},
    ),
    (
        "PUT",
        "/v2/customers/lookup/status?identifierName=mobile&identifierValue=919812345678",
        {"reason": "r", "label": "SUSPENDED"},
    ),
    ("POST", "/v2/customers/1/changeIdentifier", {"add": [ident("email", "a@b.com")]}),
    (
        "POST",
        "/v2/customers/1/subscriptions",
        {"subscriptions": [{"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"}]},
    ),
    ("POST", "/v2/requests?client_auto_approve=true", {"type": "CHANGE_IDENTIFIER"}),
    ("PUT", "/v2/requests", [{"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "id": 1}]),
    ("GET", "/v2/requests/1", None),
]
WRITES = [(m, p, b) for m, p, b in ENDPOINTS if m != "GET"]
SOME_WRITES = [WRITES[0], WRITES[3], WRITES[6]]


def _id(item: tuple[str, str, Any]) -> str:
    return f"{item[0]} {item[1].split('?')[0]}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
async def test_without_credentials_every_endpoint_is_401(
    http: httpx.AsyncClient, endpoint: tuple[str, str, Any]
) -> None:
    method, path, body = endpoint
    r = await http.request(method, path, json=body)
    error = assert_error(r, 401, 401)
    assert error["message"] == UNAUTHORIZED


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
async def test_with_wrong_password_every_endpoint_is_401(
    tenant: Tenant, http: httpx.AsyncClient, endpoint: tuple[str, str, Any]
) -> None:
    method, path, body = endpoint
    r = await http.request(
        method, path, json=body, headers=basic(tenant.till_code, md5("wrong-password"))
    )
    assert_error(r, 401, 401, UNAUTHORIZED)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/customers/not-a-number"),
        ("GET", "/v2/customers/lookup"),
        ("PUT", "/v2/customers/lookup/status"),
        ("GET", "/v2/requests/0"),
    ],
)
async def test_without_credentials_bad_parameters_are_not_reported(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await http.request(method, path, json={})
    assert_error(r, 401, 401, UNAUTHORIZED)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"{}", "application/json"),
        (b'{"profiles": 1, "label": [], "add": "x"}', "application/json"),
    ],
    ids=["empty-body", "empty-object", "wrong-fields"],
)
@pytest.mark.parametrize("endpoint", SOME_WRITES, ids=_id)
async def test_without_credentials_a_bad_body_is_still_401(
    http: httpx.AsyncClient, endpoint: tuple[str, str, Any], content: bytes, content_type: str
) -> None:
    method, path, _ = endpoint
    r = await http.request(method, path, content=content, headers={"content-type": content_type})
    assert_error(r, 401, 401, UNAUTHORIZED)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "needle"),
    [
        (b"{not json", "application/json", 400, "JSON"),
        (b"profiles=1", "text/plain", 415, "Content-Type"),
        (b"profiles=1", "application/x-www-form-urlencoded", 415, "Content-Type"),
        (b'{"profiles": "\\u0000"}', "application/json", 400, "NUL"),
    ],
    ids=["malformed-json", "text-plain", "form", "nul-in-json"],
)
@pytest.mark.parametrize("endpoint", SOME_WRITES, ids=_id)
async def test_without_credentials_a_body_that_is_not_json_is_refused_first(
    http: httpx.AsyncClient,
    endpoint: tuple[str, str, Any],
    content: bytes,
    content_type: str,
    status: int,
    needle: str,
) -> None:
    """A body that is not JSON at all is refused before credentials are looked at
    (docs/decisions.md): the answer speaks of the body only, never of the data."""
    method, path, _ = endpoint
    r = await http.request(method, path, content=content, headers={"content-type": content_type})
    assert_error(r, status, status, needle)


@pytest.mark.parametrize("endpoint", WRITES, ids=_id)
async def test_malformed_json_is_400_everywhere(
    tenant: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    method, path, _ = endpoint
    r = await tenant.http.request(
        method, path, content=b'{"a": [1, 2', headers={"content-type": "application/json"}
    )
    assert_error(r, 400, 400, "JSON")


@pytest.mark.parametrize("endpoint", WRITES, ids=_id)
async def test_missing_body_is_400_everywhere(
    tenant: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    method, path, _ = endpoint
    r = await tenant.http.request(method, path, headers={"content-type": "application/json"})
    assert_error(r, 400, 400, "body")


@pytest.mark.parametrize("endpoint", WRITES, ids=_id)
async def test_non_json_content_type_is_refused(
    tenant: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    method, path, body = endpoint
    r = await tenant.http.request(
        method, path, content=json.dumps(body).encode(), headers={"content-type": "text/plain"}
    )
    assert_error(r, 415, 415, "Content-Type")


@pytest.mark.parametrize(
    "body",
    [None, 5, "text", True, [[]], {"profiles": None}, {"profiles": [None]}, {"profiles": [5]}],
    ids=str,
)
async def test_add_customer_with_odd_json_is_400(tenant: Tenant, body: Any) -> None:
    r = await tenant.http.post(
        "/v2/customers",
        content=httpx.Request("POST", "/", json=body).content,
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, 400)


async def test_deeply_nested_body_is_refused_without_500(tenant: Tenant) -> None:
    depth = 5000
    content = b'{"profiles": ' + b"[" * depth + b"]" * depth + b"}"
    r = await tenant.http.post(
        "/v2/customers", content=content, headers={"content-type": "application/json"}
    )
    assert_error(r, (400, 413), (400, 413))


async def test_unsupported_method_is_405(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    assert_error(await tenant.http.delete(f"/v2/customers/{customer_id}"), 405, 405)
    assert (await get_customer(tenant, customer_id))["id"] == customer_id


async def test_unknown_path_is_404_envelope(tenant: Tenant) -> None:
    assert_error(await tenant.http.get("/v2/customers/1/nothing-here"), 404, 404)


# -- NUL and other characters the databases refuse -----------------------------------
async def test_nul_in_a_name_is_never_a_500(tenant: Tenant) -> None:
    m = mobile()
    r = await tenant.http.post(
        "/v2/customers",
        json={"profiles": [profile(ident("mobile", m), firstName="Nul\x00Name")]},
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error(r, 400, 400, "firstName")


async def test_nul_in_a_string_field_value_is_never_a_500(tenant: Tenant) -> None:
    await define_field(tenant, "note", kind="extended")
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [profile(ident("mobile", mobile()))],
            "extendedFields": {"note": "a\x00"},
        },
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error(r, 400, 400, "extendedFields.note")


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"identifierName": "externalId", "identifierValue": "a\x00b"}, "identifierValue"),
        (
            {"identifierName": "mobile", "identifierValue": "919812345678", "accountId": "a\x00"},
            "accountId",
        ),
    ],
    ids=["value", "account"],
)
async def test_nul_in_lookup_parameters_is_refused_naming_the_parameter(
    tenant: Tenant, params: dict[str, str], name: str
) -> None:
    r = await tenant.http.get("/v2/customers/lookup", params=params)
    assert r.status_code in (400, 404), r.text
    if r.status_code == 404:
        assert_error(r, 404, 8015)
    else:
        assert_error(r, 400, (400, 8014), name)


async def test_nul_in_change_identifier_account_is_refused_naming_it(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        params={"accountId": "acc\x00"},
        json={"add": [ident("email", email())]},
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error(r, 400, 400, "accountId")


async def test_nul_in_a_card_series_code_is_never_a_500(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        json={"add": [ident("cardnumber", "CARD1", seriesCode="S\x00")]},
    )
    assert_error(r, 400, (400, 3004))
    assert await audit_count(tenant, customer_id) == 1


async def test_nul_in_a_status_label_is_8086_not_500(tenant: Tenant) -> None:
    m = mobile()
    await add_customer(tenant, ident("mobile", m))
    r = await tenant.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": "mobile", "identifierValue": m},
        json={"reason": "r", "label": "SUSP\x00"},
    )
    assert_error(r, 400, (400, 8086))


async def test_nul_in_subscription_account_is_never_a_500(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/subscriptions",
        json={
            "subscriptions": [
                {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN", "accountId": "a\x00"}
            ]
        },
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error(r, 400, 400, "accountId")


async def test_nul_in_merge_comments_is_never_a_500(tenant: Tenant) -> None:
    survivor, victim = await add_customer(tenant), await add_customer(tenant)
    r = await request_merge(tenant, survivor, victim, auto=False, comments="dup\x00")
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error(r, 400, 400, "comments")


async def test_escaped_backslash_u0000_text_is_not_a_nul(tenant: Tenant) -> None:
    # JSON "\\u0000" is a backslash followed by "u0000": six ordinary characters.
    name = "C:\\u0000dir"
    r = await tenant.http.post(
        "/v2/customers", json={"profiles": [profile(ident("mobile", mobile()), firstName=name)]}
    )
    customer_id = assert_ok(r)["createdId"]
    assert (await get_customer(tenant, customer_id))["profiles"][0]["firstName"] == name


async def test_unicode_names_round_trip(tenant: Tenant) -> None:
    name = "Zoë 王小明 🙂"
    r = await tenant.http.post(
        "/v2/customers", json={"profiles": [profile(ident("mobile", mobile()), firstName=name)]}
    )
    customer_id = assert_ok(r)["createdId"]
    assert (await get_customer(tenant, customer_id))["profiles"][0]["firstName"] == name
