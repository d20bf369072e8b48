"""POST /v2/customers: registration, validation, cross-source combining, its audit entry."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from tests.customers.helpers import (
    add_customer,
    add_customer_label,
    assert_error,
    assert_not_found,
    assert_ok,
    audit_count,
    audits,
    card_number,
    change_of,
    create_series,
    email,
    events_of,
    external_id,
    get_card,
    get_customer,
    ident,
    identifiers_of,
    latest_entry,
    lookup_id,
    mobile,
    post_customer,
    profile,
    profile_of,
    value_event,
    warning_codes,
)
from tests.fixtures.factories import Tenant


async def test_add_answers_created_id_warnings_and_side_effects(tenant: Tenant) -> None:
    r = await post_customer(tenant, {"profiles": [profile(ident("mobile", mobile()))]})
    body = assert_ok(r)
    assert set(body) == {"createdId", "warnings", "sideEffects"}
    assert isinstance(body["createdId"], int)
    assert body["createdId"] > 0
    assert body["warnings"] == []
    assert body["sideEffects"] == []


async def test_added_customer_reads_back_with_every_part(tenant: Tenant) -> None:
    m, e, x = mobile(), email(), external_id()
    body = {
        "profiles": [
            {
                "firstName": "Tom",
                "lastName": "Sawyer",
                "identifiers": [ident("mobile", m), ident("email", e), ident("externalId", x)],
                "commChannels": [
                    {"type": "email", "value": e, "primary": True, "verified": True},
                    {"type": "mobile", "value": m, "subscribed": False},
                ],
            }
        ]
    }
    customer_id = assert_ok(await post_customer(tenant, body))["createdId"]
    view = await get_customer(tenant, customer_id)
    assert view["id"] == customer_id
    assert view["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    assert view["extendedFields"] == {}
    assert view["statusLabel"] == "ACTIVE"
    assert view["warnings"] == []
    assert len(view["profiles"]) == 1
    prof = view["profiles"][0]
    assert prof["firstName"] == "Tom"
    assert prof["lastName"] == "Sawyer"
    assert prof["source"] == "INSTORE"
    assert prof["accountId"] == ""
    assert prof["fields"] == {}
    assert identifiers_of(view) == [("mobile", m), ("email", e), ("externalId", x)]
    channels = {c["type"]: c for c in prof["commChannels"]}
    assert set(channels) == {"email", "mobile"}
    assert channels["email"]["value"] == e
    assert channels["email"]["primary"] is True
    assert channels["email"]["verified"] is True
    assert channels["mobile"]["value"] == m
    assert channels["mobile"]["subscribed"] is False
    for name, value in (("mobile", m), ("email", e), ("externalId", x)):
        assert await lookup_id(tenant, name, value) == customer_id


async def test_creation_is_one_audit_entry_with_every_event(tenant: Tenant) -> None:
    m, e = mobile(), email()
    r = await post_customer(
        tenant,
        {
            "profiles": [
                {
                    "firstName": "Ann",
                    "lastName": "Lee",
                    "identifiers": [ident("mobile", m), ident("email", e)],
                    "commChannels": [{"type": "ios", "value": "push-token-1"}],
                }
            ]
        },
    )
    customer_id = assert_ok(r)["createdId"]
    page = await audits(tenant, customer_id)
    assert page["pagination"]["totalElements"] == 1
    entry = page["data"][0]
    assert entry["entityType"] == "CUSTOMER"
    assert entry["entityId"] == customer_id
    assert entry["orgId"] == tenant.org_id
    assert entry["requestId"] == r.headers["x-cap-requestid"]
    assert entry["updatedBy"] == tenant.till_id
    assert entry["till"]["code"] == tenant.till_code
    assert entry["till"]["id"] == tenant.till_id
    assert entry["source"] == "INSTORE"
    assert entry["updatedByMode"] == "API"
    assert entry["victimUserDetails"] is None
    assert entry["survivorUserDetails"] is None
    events = entry["events"]
    assert value_event("FirstName", "NA", "Ann", "Standard Fields") in events
    assert value_event("LastName", "NA", "Lee", "Standard Fields") in events
    assert value_event("mobile", "NA", m, "Identifiers") in events
    assert value_event("email", "NA", e, "Identifiers") in events
    assert value_event("ios", "NA", "push-token-1", "Communication Channels") in events
    status = change_of(entry, "Customer Status", "CustomerStatus")
    assert status["previousValue"] == "NA"
    assert status["previousLabelId"] == "NA"
    assert status["currentValue"] == "ACTIVE"
    assert status["currentLabelId"].isdigit()
    assert len(events) == 6


async def test_source_query_parameter_sets_the_profile_source(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m), source="wechat")
    view = await get_customer(tenant, customer_id)
    assert [p["source"] for p in view["profiles"]] == ["WECHAT"]
    assert await lookup_id(tenant, "mobile", m, source="WECHAT") == customer_id
    await assert_not_found(tenant, "mobile", m, source="INSTORE")
    entry = await latest_entry(tenant, customer_id)
    assert entry["source"] == "WECHAT"


async def test_profile_source_wins_over_query_source(tenant: Tenant) -> None:
    m = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", m), source="MOBILE_APP")]}, source="WECHAT"
    )
    customer_id = assert_ok(r)["createdId"]
    assert await lookup_id(tenant, "mobile", m, source="MOBILE_APP") == customer_id
    await assert_not_found(tenant, "mobile", m, source="WECHAT")


async def test_invalid_query_source_is_8003(tenant: Tenant) -> None:
    m = mobile()
    r = await post_customer(tenant, {"profiles": [profile(ident("mobile", m))]}, source="NOWHERE")
    assert_error(r, 400, 8003, "NOWHERE")
    await assert_not_found(tenant, "mobile", m)


async def test_invalid_profile_source_is_8003(tenant: Tenant) -> None:
    m = mobile()
    r = await post_customer(tenant, {"profiles": [profile(ident("mobile", m), source="MARS")]})
    assert_error(r, 400, 8003, "MARS")
    await assert_not_found(tenant, "mobile", m)


@pytest.mark.parametrize(
    "body",
    [
        {"profiles": [{}]},
        {"profiles": [{"identifiers": []}]},
        {"profiles": [{"firstName": "X", "commChannels": [{"type": "email", "value": "a@b.com"}]}]},
        {"profiles": [{"identifiers": []}, {"identifiers": []}]},
    ],
    ids=["empty-profile", "empty-identifiers", "comm-channels-only", "two-empty-profiles"],
)
async def test_no_identifiers_is_8005(tenant: Tenant, body: dict[str, Any]) -> None:
    assert_error(await post_customer(tenant, body), 400, 8005, "identifiers")


@pytest.mark.parametrize("type_", ["mobile", "email", "externalId"])
async def test_identifier_taken_in_the_same_source_is_8006(tenant: Tenant, type_: str) -> None:
    value = {"mobile": mobile, "email": email, "externalId": external_id}[type_]()
    first = await add_customer(tenant, ident(type_, value))
    before = await audit_count(tenant, first)
    r = await post_customer(tenant, {"profiles": [profile(ident(type_, value))]})
    error = assert_error(r, 400, 8006)
    assert error["message"] == (
        f"Add failed, Customer already exists with id {first} for same source"
    )
    assert await lookup_id(tenant, type_, value) == first
    assert await audit_count(tenant, first) == before


async def test_identifier_match_is_exact_after_trimming(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", f"  {m} "))
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m)]
    assert await lookup_id(tenant, "mobile", m) == customer_id
    r = await post_customer(tenant, {"profiles": [profile(ident("mobile", m))]})
    assert_error(r, 400, 8006, str(customer_id))


async def test_failed_registration_leaves_no_identifier_and_no_audit(tenant: Tenant) -> None:
    taken = email()
    owner = await add_customer(tenant, ident("email", taken))
    fresh = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", fresh), ident("email", taken))]}
    )
    assert_error(r, 400, 8006, str(owner))
    await assert_not_found(tenant, "mobile", fresh)
    assert await audit_count(tenant, owner) == 1
    # The mobile is still free: registering it now succeeds.
    customer_id = await add_customer(tenant, ident("mobile", fresh))
    assert await audit_count(tenant, customer_id) == 1


async def test_invalid_second_identifier_stores_nothing(tenant: Tenant) -> None:
    fresh = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", fresh), ident("email", "not-an-email"))]}
    )
    assert_error(r, 400, 8014, "not-an-email")
    await assert_not_found(tenant, "mobile", fresh)


async def test_card_with_unknown_series_stores_nothing(tenant: Tenant) -> None:
    fresh, number = mobile(), card_number()
    r = await post_customer(
        tenant,
        {
            "profiles": [
                profile(ident("mobile", fresh), ident("cardnumber", number, seriesId=987654))
            ]
        },
    )
    assert_error(r, 400, 3004)
    await assert_not_found(tenant, "mobile", fresh)
    assert_error(await tenant.http.get("/v2/card", params={"number": number}), 404, 3010)


async def test_identifier_in_another_source_combines_with_8050(tenant: Tenant) -> None:
    m = mobile()
    existing = await add_customer(tenant, ident("mobile", m))
    before = await audit_count(tenant, existing)
    wechat_id = f"wx-{external_id()}"
    r = await post_customer(
        tenant,
        {"profiles": [profile(ident("mobile", m), ident("wechat", wechat_id))]},
        source="WECHAT",
    )
    body = assert_ok(r)
    assert body["createdId"] == existing
    assert warning_codes(body) == [8050]
    assert body["warnings"][0]["message"] == "Same Customer found in other sources, Combining"
    view = await get_customer(tenant, existing)
    assert sorted(p["source"] for p in view["profiles"]) == ["INSTORE", "WECHAT"]
    assert identifiers_of(view, "WECHAT") == [("mobile", m), ("wechat", wechat_id)]
    assert identifiers_of(view, "INSTORE") == [("mobile", m)]
    assert await lookup_id(tenant, "mobile", m, source="WECHAT") == existing
    assert await lookup_id(tenant, "wechat", wechat_id, source="WECHAT") == existing
    assert await audit_count(tenant, existing) == before + 1
    entry = await latest_entry(tenant, existing)
    assert entry["source"] == "WECHAT"
    assert entry["events"] == [
        value_event("mobile", "NA", m, "Identifiers"),
        value_event("wechat", "NA", wechat_id, "Identifiers"),
    ]


async def test_identifiers_of_two_customers_in_other_sources_is_8052(tenant: Tenant) -> None:
    e1, m2 = email(), mobile()
    a = await add_customer(tenant, ident("email", e1))
    b = await add_customer(tenant, ident("mobile", m2))
    r = await post_customer(
        tenant, {"profiles": [profile(ident("email", e1), ident("mobile", m2))]}, source="WECHAT"
    )
    assert_error(r, 400, 8052)
    await assert_not_found(tenant, "email", e1, source="WECHAT")
    await assert_not_found(tenant, "mobile", m2, source="WECHAT")
    assert await audit_count(tenant, a) == 1
    assert await audit_count(tenant, b) == 1


@pytest.mark.parametrize(
    "value",
    [
        "0919900000001",
        "1234567",
        "1234567890123456",
        "+919900000001",
        "91-99000-00001",
        "91abc0000001",
        "91 9900000001",
    ],
)
async def test_invalid_mobile_is_8014(tenant: Tenant, value: str) -> None:
    r = await post_customer(tenant, {"profiles": [profile(ident("mobile", value))]})
    error = assert_error(r, 400, 8014, "Invalid Primary Id", "mobile")
    assert error["message"].startswith("Error in customer registration: Invalid Primary Id")


@pytest.mark.parametrize(
    "value",
    ["plainaddress", "a@b", "@example.com", "a b@example.com", "a@exa mple.com", "a@@b.com"],
)
async def test_invalid_email_is_8014(tenant: Tenant, value: str) -> None:
    r = await post_customer(tenant, {"profiles": [profile(ident("email", value))]})
    assert_error(r, 400, 8014, "Invalid Primary Id", "email")


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ("bad\tvalue", 8014, "externalId"),
        ("bad\nvalue", 8014, "externalId"),
        ("bad\x7fvalue", 8014, "externalId"),
        ("x" * 256, 400, "value"),
    ],
    ids=["tab", "newline", "del", "too-long"],
)
async def test_external_id_with_control_characters_or_too_long_is_refused(
    tenant: Tenant, value: str, code: int, fragment: str
) -> None:
    r = await post_customer(tenant, {"profiles": [profile(ident("externalId", value))]})
    assert_error(r, 400, code, fragment)


async def test_mobile_of_eight_digits_is_accepted(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, ident("mobile", "31612345"))
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", "31612345")]


async def test_unknown_identifier_type_is_refused_naming_it(tenant: Tenant) -> None:
    r = await post_customer(tenant, {"profiles": [profile(ident("passport", "X1234567"))]})
    assert_error(r, 400, 400, "passport")


async def test_identifier_type_is_case_insensitive(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("MOBILE", m))
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m)]


async def test_identifier_given_twice_is_refused(tenant: Tenant) -> None:
    m = mobile()
    r = await post_customer(tenant, {"profiles": [profile(ident("mobile", m), ident("mobile", m))]})
    assert_error(r, 400, 400, m)
    await assert_not_found(tenant, "mobile", m)


@pytest.mark.parametrize("type_", ["mobile", "email", "externalId"])
async def test_two_values_of_a_single_valued_type_in_one_profile_are_refused(
    tenant: Tenant, type_: str
) -> None:
    # mobile, email and externalId are single-valued per profile (docs/decisions.md:
    # adding another replaces the current one), so a profile cannot start with two.
    make = {"mobile": mobile, "email": email, "externalId": external_id}[type_]
    first, second = make(), make()
    r = await post_customer(
        tenant, {"profiles": [profile(ident(type_, first), ident(type_, second))]}
    )
    assert_error(r, 400, (400, 8014), type_)
    await assert_not_found(tenant, type_, first)
    await assert_not_found(tenant, type_, second)


async def test_status_label_on_creation(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, statusLabel="SUSPENDED")
    view = await get_customer(tenant, customer_id)
    assert view["statusLabel"] == "SUSPENDED"
    entry = await latest_entry(tenant, customer_id)
    status = change_of(entry, "Customer Status", "CustomerStatus")
    assert status["previousValue"] == "NA"
    assert status["currentValue"] == "SUSPENDED"


async def test_org_label_on_creation_keeps_its_status(tenant: Tenant) -> None:
    label_id = await add_customer_label(tenant, "ACTIVE", "Gold")
    customer_id = await add_customer(tenant, statusLabel="Gold")
    view = await get_customer(tenant, customer_id)
    assert view["statusLabel"] == "Gold"
    status = change_of(await latest_entry(tenant, customer_id), "Customer Status", "CustomerStatus")
    assert status["currentValue"] == "ACTIVE"
    assert status["currentLabelId"] == str(label_id)


async def test_unknown_status_label_is_8086(tenant: Tenant) -> None:
    m = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", m))], "statusLabel": "Platinum"}
    )
    assert_error(r, 400, 8086, "Platinum")
    await assert_not_found(tenant, "mobile", m)


async def test_non_loyalty_customer(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant, loyaltyInfo={"loyaltyType": "non_loyalty"})
    assert (await get_customer(tenant, customer_id))["loyaltyInfo"] == {
        "loyaltyType": "non_loyalty"
    }


async def test_names_longer_than_100_are_truncated(tenant: Tenant) -> None:
    long_first, long_last = "F" * 150, "L" * 101
    r = await post_customer(
        tenant,
        {
            "profiles": [
                profile(ident("mobile", mobile()), firstName=long_first, lastName=long_last)
            ]
        },
    )
    customer_id = assert_ok(r)["createdId"]
    prof = (await get_customer(tenant, customer_id))["profiles"][0]
    assert prof["firstName"] == "F" * 100
    assert prof["lastName"] == "L" * 100
    entry = await latest_entry(tenant, customer_id)
    assert change_of(entry, "Standard Fields", "FirstName")["currentValue"] == "F" * 100


async def test_unknown_comm_channel_type_is_8010(tenant: Tenant) -> None:
    m = mobile()
    r = await post_customer(
        tenant,
        {"profiles": [profile(ident("mobile", m), commChannels=[{"type": "fax", "value": "1"}])]},
    )
    assert_error(r, 400, 8010, "fax")
    await assert_not_found(tenant, "mobile", m)


async def test_comm_channel_given_twice_is_refused(tenant: Tenant) -> None:
    m = mobile()
    channels = [{"type": "email", "value": email()}, {"type": "EMAIL", "value": email()}]
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", m), commChannels=channels)]}
    )
    assert_error(r, 400, 400, "email")
    await assert_not_found(tenant, "mobile", m)


async def test_registration_with_a_card_issues_it(tenant: Tenant) -> None:
    series_id, _ = await create_series(tenant)
    m, number = mobile(), card_number()
    r = await post_customer(
        tenant,
        {
            "profiles": [
                profile(ident("mobile", m), ident("cardnumber", number, seriesId=series_id))
            ]
        },
    )
    customer_id = assert_ok(r)["createdId"]
    card = await get_card(tenant, number)
    assert card["customerId"] == customer_id
    assert card["statusInfo"]["status"] == "ACTIVE"
    idents = profile_of(await get_customer(tenant, customer_id))["identifiers"]
    cards = [i for i in idents if i["type"] == "cardnumber"]
    assert cards == [
        {"type": "cardnumber", "value": number, "seriesId": series_id, "statusLabel": "ACTIVE"}
    ]
    entry = await latest_entry(tenant, customer_id)
    assert value_event("cardnumber", "NA", number, "Identifiers") in entry["events"]
    card_entry = await latest_entry(tenant, card["cardId"], "CARD")
    assert card_entry["requestId"] == r.headers["x-cap-requestid"]


async def test_same_mobile_in_two_orgs_is_two_customers(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    m = mobile()
    a = await add_customer(tenant, ident("mobile", m))
    b = await add_customer(other, ident("mobile", m))
    assert a != b
    assert await lookup_id(tenant, "mobile", m) == a
    assert await lookup_id(other, "mobile", m) == b


async def test_user_context_headers_are_kept_with_the_entry(tenant: Tenant) -> None:
    headers = {
        "USER-CONTEXT-ENTITY-TYPE": "INTOUCH_ADMIN_USER",
        "USER-CONTEXT-ENTITY-ID": "75015489",
        "USER-CONTEXT-ENTITY-SOURCE": "MEMBER_CARE",
        "USER-CONTEXT-ENTITY-SOURCE-ID": "Achyuthanandan S",
    }
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", mobile()))]}, headers=headers
    )
    customer_id = assert_ok(r)["createdId"]
    entry = (await audits(tenant, customer_id, includeUserContext="true"))["data"][0]
    assert entry["updatedByMode"] == "MEMBER_CARE"
    assert entry["userContextDetails"] == {
        "entityType": "INTOUCH_ADMIN_USER",
        "entityId": "75015489",
        "entitySource": "MEMBER_CARE",
        "entitySourceId": "Achyuthanandan S",
    }
    assert (await latest_entry(tenant, customer_id))["userContextDetails"] is None


async def test_psi_values_are_masked_in_the_audit_when_masking_is_on(tenant: Tenant) -> None:
    m, x = mobile(), external_id()
    customer_id = await add_customer(tenant, ident("mobile", m), ident("externalId", x))
    assert_ok(await tenant.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True}))
    entry = await latest_entry(tenant, customer_id)
    assert change_of(entry, "Identifiers", "mobile") == {
        "previousValue": "NA",
        "currentValue": "*****",
    }
    assert change_of(entry, "Identifiers", "externalId")["currentValue"] == x
    assert change_of(entry, "Standard Fields", "FirstName")["currentValue"] == "*****"
    # The customer API is masked as the audit is (tests/test_psi.py has the whole rule).
    identifiers = identifiers_of(await get_customer(tenant, customer_id))
    assert ("mobile", "*****") in identifiers
    assert ("externalId", x) in identifiers
    assert m not in str(identifiers)


async def test_concurrent_registrations_of_one_mobile_create_one_customer(
    tenant: Tenant,
) -> None:
    m = mobile()
    responses: list[httpx.Response] = []

    async def register() -> None:
        responses.append(await post_customer(tenant, {"profiles": [profile(ident("mobile", m))]}))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(register)
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400], [
        r.text for r in responses
    ]
    winner = next(r for r in responses if r.status_code == 200).json()["createdId"]
    for r in responses:
        if r.status_code == 400:
            assert_error(r, 400, 8006, f"id {winner} ")
    assert await lookup_id(tenant, "mobile", m) == winner
    assert len(events_of(await latest_entry(tenant, winner), "Identifiers")) == 1
