"""POST /v2/customers/{id}/changeIdentifier: add, remove, replace, cards."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_not_found,
    assert_ok,
    audit_count,
    audits,
    card_number,
    change_identifier,
    create_series,
    email,
    external_id,
    get_card,
    get_customer,
    ident,
    identifiers_of,
    latest_entry,
    lookup_id,
    mobile,
    profile_of,
    value_event,
    warning_codes,
)
from tests.fixtures.factories import Tenant


async def test_add_email_answers_created_id_and_is_audited(tenant: Tenant) -> None:
    m, e = mobile(), email()
    customer_id = await add_customer(tenant, ident("mobile", m))
    r = await change_identifier(tenant, customer_id, add=[ident("email", e)])
    assert assert_ok(r) == {"createdId": customer_id, "warnings": []}
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m), ("email", e)]
    assert await lookup_id(tenant, "email", e) == customer_id
    entry = await latest_entry(tenant, customer_id)
    assert entry["requestId"] == r.headers["x-cap-requestid"]
    assert entry["source"] == "INSTORE"
    assert entry["events"] == [value_event("email", "NA", e, "Identifiers")]


async def test_adding_a_mobile_replaces_the_old_one_as_one_event(tenant: Tenant) -> None:
    old, new = mobile(), mobile()
    customer_id = await add_customer(tenant, ident("mobile", old))
    assert_ok(await change_identifier(tenant, customer_id, add=[ident("mobile", new)]))
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", new)]
    assert await lookup_id(tenant, "mobile", new) == customer_id
    await assert_not_found(tenant, "mobile", old)
    assert await audit_count(tenant, customer_id) == 2
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("mobile", old, new, "Identifiers")
    ]


@pytest.mark.parametrize("type_", ["mobile", "email", "externalId"])
async def test_remove_and_add_of_one_type_is_a_replacement(tenant: Tenant, type_: str) -> None:
    make = {"mobile": mobile, "email": email, "externalId": external_id}[type_]
    old, new = make(), make()
    customer_id = await add_customer(tenant, ident(type_, old))
    r = await change_identifier(
        tenant, customer_id, remove=[ident(type_, old)], add=[ident(type_, new)]
    )
    assert_ok(r)
    assert identifiers_of(await get_customer(tenant, customer_id)) == [(type_, new)]
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event(type_, old, new, "Identifiers")
    ]


async def test_identifier_history_filters_by_reference(tenant: Tenant) -> None:
    first, second, third = mobile(), mobile(), mobile()
    customer_id = await add_customer(tenant, ident("mobile", first))
    assert_ok(await change_identifier(tenant, customer_id, add=[ident("email", email())]))
    assert_ok(await change_identifier(tenant, customer_id, add=[ident("mobile", second)]))
    assert_ok(
        await change_identifier(
            tenant, customer_id, remove=[ident("mobile", second)], add=[ident("mobile", third)]
        )
    )
    page = await audits(
        tenant, customer_id, referenceType="Identifier", referenceValue="mobile", sortOrder="ASC"
    )
    assert page["pagination"]["totalElements"] == 3
    assert [e["events"] for e in page["data"]] == [
        [value_event("mobile", "NA", first, "Identifiers")],
        [value_event("mobile", first, second, "Identifiers")],
        [value_event("mobile", second, third, "Identifiers")],
    ]


async def test_remove_only(tenant: Tenant) -> None:
    m, e = mobile(), email()
    customer_id = await add_customer(tenant, ident("mobile", m), ident("email", e))
    assert_ok(await change_identifier(tenant, customer_id, remove=[ident("email", e)]))
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m)]
    await assert_not_found(tenant, "email", e)
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("email", e, "NA", "Identifiers")
    ]


async def test_removed_identifier_can_be_registered_again(tenant: Tenant) -> None:
    m, e = mobile(), email()
    first = await add_customer(tenant, ident("mobile", m), ident("email", e))
    assert_ok(await change_identifier(tenant, first, remove=[ident("email", e)]))
    second = await add_customer(tenant, ident("email", e))
    assert second != first
    assert await lookup_id(tenant, "email", e) == second


async def test_removing_an_unknown_value_is_9012_and_changes_nothing(tenant: Tenant) -> None:
    m, e = mobile(), email()
    customer_id = await add_customer(tenant, ident("mobile", m))
    stranger = mobile()
    r = await change_identifier(
        tenant, customer_id, add=[ident("email", e)], remove=[ident("mobile", stranger)]
    )
    assert_error(r, 400, 9012, "Old value is invalid", stranger)
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m)]
    await assert_not_found(tenant, "email", e)
    assert await audit_count(tenant, customer_id) == 1


async def test_removing_another_customers_identifier_is_9012(tenant: Tenant) -> None:
    theirs = mobile()
    other = await add_customer(tenant, ident("mobile", theirs))
    mine = await add_customer(tenant)
    r = await change_identifier(tenant, mine, remove=[ident("mobile", theirs)])
    assert_error(r, 400, 9012, theirs)
    assert await lookup_id(tenant, "mobile", theirs) == other


async def test_adding_an_identifier_the_customer_has_is_warning_8071(tenant: Tenant) -> None:
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    body = assert_ok(await change_identifier(tenant, customer_id, add=[ident("mobile", m)]))
    assert warning_codes(body) == [8071]
    assert identifiers_of(await get_customer(tenant, customer_id)) == [("mobile", m)]
    assert await audit_count(tenant, customer_id) == 1


async def test_adding_another_customers_identifier_is_8006_update_failed(
    tenant: Tenant,
) -> None:
    theirs = mobile()
    owner = await add_customer(tenant, ident("mobile", theirs))
    customer_id = await add_customer(tenant)
    r = await change_identifier(tenant, customer_id, add=[ident("mobile", theirs)])
    error = assert_error(r, 400, 8006)
    assert error["message"] == (
        f"Update failed, Customer already exists with id {owner} for same source"
    )


async def test_failed_change_identifier_leaves_identifiers_and_audit_unchanged(
    tenant: Tenant,
) -> None:
    theirs, mine, e = mobile(), mobile(), email()
    owner = await add_customer(tenant, ident("mobile", theirs))
    customer_id = await add_customer(tenant, ident("mobile", mine))
    before = await get_customer(tenant, customer_id)
    count = await audit_count(tenant, customer_id)
    # The email would be added and the mobile implicitly replaced, but the new
    # mobile belongs to someone else: all of it is refused.
    r = await change_identifier(
        tenant, customer_id, add=[ident("email", e), ident("mobile", theirs)]
    )
    assert_error(r, 400, 8006, str(owner))
    assert await get_customer(tenant, customer_id) == before
    assert await audit_count(tenant, customer_id) == count
    assert await lookup_id(tenant, "mobile", mine) == customer_id
    assert await lookup_id(tenant, "mobile", theirs) == owner
    await assert_not_found(tenant, "email", e)


async def test_failed_card_issue_rolls_back_the_other_additions(tenant: Tenant) -> None:
    e, number = email(), card_number()
    customer_id = await add_customer(tenant)
    r = await change_identifier(
        tenant,
        customer_id,
        add=[ident("email", e), ident("cardnumber", number, seriesId=424242)],
    )
    assert_error(r, 400, 3004)
    await assert_not_found(tenant, "email", e)
    assert await audit_count(tenant, customer_id) == 1
    assert_error(await tenant.http.get("/v2/card", params={"number": number}), 404, 3010)


@pytest.mark.parametrize(
    "body", [{}, {"add": [], "remove": []}, {"add": []}, {"remove": []}], ids=str
)
async def test_nothing_to_change_is_8070(tenant: Tenant, body: dict[str, Any]) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(f"/v2/customers/{customer_id}/changeIdentifier", json=body)
    assert_error(r, 400, 8070)
    assert await audit_count(tenant, customer_id) == 1


@pytest.mark.parametrize(
    ("item", "code", "fragment"),
    [
        (ident("mobile", "12"), 8014, "mobile"),
        (ident("email", "nobody"), 8014, "email"),
        (ident("twitter", "@me"), 400, "twitter"),
        (ident("id", "5"), 400, "'id'"),
        ({"type": "mobile"}, 400, "add[0].value"),
        ({"value": "919900000001"}, 400, "add[0].type"),
        ({"type": "mobile", "value": 919900000001}, 400, "add[0].value"),
        ({"type": "mobile", "value": ""}, 400, "add[0].value"),
    ],
    ids=[
        "short-mobile",
        "bad-email",
        "bad-type",
        "id-type",
        "no-value",
        "no-type",
        "int-value",
        "empty-value",
    ],
)
async def test_invalid_addition_is_refused_naming_it(
    tenant: Tenant, item: dict[str, Any], code: int, fragment: str
) -> None:
    customer_id = await add_customer(tenant)
    r = await change_identifier(tenant, customer_id, add=[item])
    assert_error(r, 400, code, fragment)
    assert await audit_count(tenant, customer_id) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"add": "mobile"}, "add"), ({"remove": {"type": "mobile"}}, "remove"), ([1], "body")],
)
async def test_wrongly_typed_body_is_400(tenant: Tenant, body: Any, fragment: str) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(f"/v2/customers/{customer_id}/changeIdentifier", json=body)
    assert_error(r, 400, 400, fragment)


async def test_malformed_json_is_400(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        content=b'{"add": [{"type": "email", "value": "a@b.com"}',
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, 400, "JSON")


async def test_unknown_customer_is_404_8015(tenant: Tenant) -> None:
    r = await change_identifier(tenant, 987654321, add=[ident("email", email())])
    assert_error(r, 404, 8015)


async def test_invalid_source_is_8003(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await change_identifier(tenant, customer_id, add=[ident("email", email())], source="XX")
    assert_error(r, 400, 8003, "XX")


async def test_another_orgs_customer_is_404(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    customer_id = await add_customer(other)
    r = await change_identifier(tenant, customer_id, add=[ident("email", email())])
    assert_error(r, 404, 8015)
    assert await audit_count(other, customer_id) == 1


async def test_identifier_added_in_another_source_gets_its_profile(tenant: Tenant) -> None:
    m, e = mobile(), email()
    customer_id = await add_customer(tenant, ident("mobile", m))
    assert_ok(
        await change_identifier(tenant, customer_id, add=[ident("email", e)], source="WECHAT")
    )
    view = await get_customer(tenant, customer_id)
    assert identifiers_of(view, "INSTORE") == [("mobile", m)]
    assert identifiers_of(view, "WECHAT") == [("email", e)]
    assert await lookup_id(tenant, "email", e, "WECHAT") == customer_id
    await assert_not_found(tenant, "email", e, "INSTORE")
    assert (await latest_entry(tenant, customer_id))["source"] == "WECHAT"


# -- cards ---------------------------------------------------------------------------
async def test_issuing_a_card_links_and_activates_it(tenant: Tenant) -> None:
    series_id, _ = await create_series(tenant)
    number = card_number()
    customer_id = await add_customer(tenant)
    r = await change_identifier(
        tenant, customer_id, add=[ident("cardnumber", number, seriesId=series_id)]
    )
    assert assert_ok(r) == {"createdId": customer_id, "warnings": []}
    card = await get_card(tenant, number)
    assert card["customerId"] == customer_id
    assert card["seriesId"] == series_id
    assert card["statusInfo"]["status"] == "ACTIVE"
    cards = [
        i
        for i in profile_of(await get_customer(tenant, customer_id))["identifiers"]
        if i["type"] == "cardnumber"
    ]
    assert cards == [
        {"type": "cardnumber", "value": number, "seriesId": series_id, "statusLabel": "ACTIVE"}
    ]
    request_id = r.headers["x-cap-requestid"]
    entry = await latest_entry(tenant, customer_id)
    assert entry["requestId"] == request_id
    assert entry["events"] == [value_event("cardnumber", "NA", number, "Identifiers")]
    card_entry = await latest_entry(tenant, card["cardId"], "CARD")
    assert card_entry["requestId"] == request_id
    statuses = [e for e in card_entry["events"] if e["eventType"] == "Card Status"]
    assert len(statuses) == 2
    assert statuses[0]["additionalFields"]["value"] == "NOT_ISSUED"
    assert statuses[1]["additionalFields"]["previousValue"] == "NOT_ISSUED"
    assert statuses[1]["additionalFields"]["currentValue"] == "ACTIVE"
    assert statuses[1]["associateEntities"] == [{"entityType": "CUSTOMER", "entityId": customer_id}]


async def test_issuing_a_card_by_series_code(tenant: Tenant) -> None:
    series_id, code = await create_series(tenant)
    number = card_number()
    customer_id = await add_customer(tenant)
    assert_ok(
        await change_identifier(
            tenant, customer_id, add=[ident("cardnumber", number, seriesCode=code)]
        )
    )
    card = await get_card(tenant, number)
    assert (card["customerId"], card["seriesId"]) == (customer_id, series_id)


async def test_a_customer_may_hold_several_cards(tenant: Tenant) -> None:
    series_id, _ = await create_series(tenant)
    first, second = card_number(), card_number()
    m = mobile()
    customer_id = await add_customer(tenant, ident("mobile", m))
    for number in (first, second):
        assert_ok(
            await change_identifier(
                tenant, customer_id, add=[ident("cardnumber", number, seriesId=series_id)]
            )
        )
    assert identifiers_of(await get_customer(tenant, customer_id)) == [
        ("mobile", m),
        ("cardnumber", first),
        ("cardnumber", second),
    ]
    assert await lookup_id(tenant, "cardnumber", first) == customer_id
    assert await lookup_id(tenant, "cardnumber", second) == customer_id


async def test_removing_a_card_returns_it_to_not_issued(tenant: Tenant) -> None:
    series_id, _ = await create_series(tenant)
    number = card_number()
    customer_id = await add_customer(tenant)
    assert_ok(
        await change_identifier(
            tenant, customer_id, add=[ident("cardnumber", number, seriesId=series_id)]
        )
    )
    r = await change_identifier(tenant, customer_id, remove=[ident("cardnumber", number)])
    assert_ok(r)
    card = await get_card(tenant, number)
    assert card["customerId"] == 0
    assert card["statusInfo"]["status"] == "NOT_ISSUED"
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("cardnumber", number, "NA", "Identifiers")
    ]
    card_entry = await latest_entry(tenant, card["cardId"], "CARD")
    assert card_entry["requestId"] == r.headers["x-cap-requestid"]
    assert card_entry["events"][0]["additionalFields"]["currentValue"] == "NOT_ISSUED"


async def test_card_issued_to_someone_else_is_3027(tenant: Tenant) -> None:
    series_id, _ = await create_series(tenant)
    number = card_number()
    holder = await add_customer(tenant)
    assert_ok(
        await change_identifier(
            tenant, holder, add=[ident("cardnumber", number, seriesId=series_id)]
        )
    )
    other = await add_customer(tenant)
    r = await change_identifier(
        tenant, other, add=[ident("cardnumber", number, seriesId=series_id)]
    )
    assert_error(r, 400, 3027)
    assert (await get_card(tenant, number))["customerId"] == holder
    assert await audit_count(tenant, other) == 1


@pytest.mark.parametrize(
    ("extra", "code"),
    [({"seriesId": 424242}, 3004), ({}, 3004), ({"seriesCode": "NO-SUCH-SERIES"}, 3004)],
    ids=["unknown-id", "no-series", "unknown-code"],
)
async def test_card_without_a_valid_series_is_refused(
    tenant: Tenant, extra: dict[str, Any], code: int
) -> None:
    number = card_number()
    customer_id = await add_customer(tenant)
    r = await change_identifier(tenant, customer_id, add=[ident("cardnumber", number, **extra)])
    assert_error(r, 400, code)
    assert await audit_count(tenant, customer_id) == 1


@pytest.mark.parametrize("number", ["has space", "-leading-dash", "x" * 101, "a*b"])
async def test_invalid_card_number_is_400_naming_cardnumber(tenant: Tenant, number: str) -> None:
    series_id, _ = await create_series(tenant)
    customer_id = await add_customer(tenant)
    r = await change_identifier(
        tenant, customer_id, add=[ident("cardnumber", number, seriesId=series_id)]
    )
    assert_error(r, 400, 400, "cardnumber")


async def test_series_id_of_wrong_type_is_400(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await change_identifier(
        tenant, customer_id, add=[ident("cardnumber", card_number(), seriesId="first")]
    )
    assert_error(r, 400, 400, "add[0].seriesId")
