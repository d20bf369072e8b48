"""Custom (profile ``fields``) and extended fields of customers: definitions, types, audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_not_found,
    assert_ok,
    audit_count,
    define_field,
    events_of,
    get_customer,
    ident,
    latest_entry,
    mobile,
    post_customer,
    profile,
    value_event,
)
from tests.fixtures.factories import Tenant


async def _define_all(t: Tenant) -> None:
    await define_field(t, "city", kind="custom", data_type="string", audit=True)
    await define_field(t, "age", kind="custom", data_type="integer", audit=False)
    await define_field(t, "vip", kind="custom", data_type="boolean", audit=True)
    await define_field(t, "gender", kind="extended", data_type="string", audit=True)
    await define_field(t, "score", kind="extended", data_type="double", audit=True)
    await define_field(t, "dob", kind="extended", data_type="date", audit=False)


async def test_fields_on_creation_are_stored_typed_as_strings(tenant: Tenant) -> None:
    await _define_all(tenant)
    customer_id = await add_customer(
        tenant,
        ident("mobile", mobile()),
        extendedFields={"gender": "F", "score": 20, "dob": "1990-01-02"},
    )
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={"profiles": [{"fields": {"city": "Pune", "age": 30, "vip": True}}]},
    )
    assert_ok(r)
    view = await get_customer(tenant, customer_id)
    assert view["profiles"][0]["fields"] == {"city": "Pune", "age": "30", "vip": "true"}
    assert view["extendedFields"] == {"gender": "F", "score": "20.0", "dob": "1990-01-02"}


async def test_only_audited_fields_are_in_the_creation_entry(tenant: Tenant) -> None:
    await _define_all(tenant)
    r = await post_customer(
        tenant,
        {
            "profiles": [
                profile(
                    ident("mobile", mobile()),
                    fields={"city": "Pune", "age": "41", "vip": "TRUE"},
                )
            ],
            "extendedFields": {"gender": "M", "score": "7.25", "dob": "2001-12-31"},
        },
    )
    customer_id = assert_ok(r)["createdId"]
    entry = await latest_entry(tenant, customer_id)
    custom = events_of(entry, "Custom Fields")
    extended = events_of(entry, "Extended Fields")
    assert custom == [
        value_event("city", "NA", "Pune", "Custom Fields"),
        value_event("vip", "NA", "true", "Custom Fields"),
    ]
    assert extended == [
        value_event("gender", "NA", "M", "Extended Fields"),
        value_event("score", "NA", "7.25", "Extended Fields"),
    ]


async def test_field_update_is_audited_previous_to_current(tenant: Tenant) -> None:
    await _define_all(tenant)
    customer_id = await add_customer(tenant, extendedFields={"score": 1.5})
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={"profiles": [{"fields": {"city": "Delhi"}}], "extendedFields": {"score": 2}},
    )
    assert_ok(r)
    assert (await latest_entry(tenant, customer_id))["events"] == [
        value_event("city", "NA", "Delhi", "Custom Fields"),
        value_event("score", "1.5", "2.0", "Extended Fields"),
    ]
    count = await audit_count(tenant, customer_id)
    # The same values again: nothing changes, nothing is recorded.
    assert_ok(
        await tenant.http.put(
            f"/v2/customers/{customer_id}",
            json={"profiles": [{"fields": {"city": "Delhi"}}], "extendedFields": {"score": "2.0"}},
        )
    )
    assert await audit_count(tenant, customer_id) == count


async def test_change_of_a_non_audited_field_is_stored_but_not_recorded(tenant: Tenant) -> None:
    await _define_all(tenant)
    customer_id = await add_customer(tenant)
    assert_ok(
        await tenant.http.put(
            f"/v2/customers/{customer_id}",
            json={"profiles": [{"fields": {"age": 52}}], "extendedFields": {"dob": "1970-05-06"}},
        )
    )
    view = await get_customer(tenant, customer_id)
    assert view["profiles"][0]["fields"] == {"age": "52"}
    assert view["extendedFields"] == {"dob": "1970-05-06"}
    assert await audit_count(tenant, customer_id) == 1


@pytest.mark.parametrize(
    ("body_key", "where"), [("fields", "fields"), ("extendedFields", "extendedFields")]
)
async def test_undefined_field_is_400_naming_it_and_stores_nothing(
    tenant: Tenant, body_key: str, where: str
) -> None:
    m = mobile()
    if body_key == "fields":
        body = {"profiles": [profile(ident("mobile", m), fields={"shoe_size": "42"})]}
    else:
        body = {"profiles": [profile(ident("mobile", m))], "extendedFields": {"shoe_size": "42"}}
    r = await post_customer(tenant, body)
    assert_error(r, 400, 400, f"{where}.shoe_size")
    await assert_not_found(tenant, "mobile", m)


async def test_custom_field_is_not_an_extended_field(tenant: Tenant) -> None:
    await define_field(tenant, "city", kind="custom")
    m = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", m))], "extendedFields": {"city": "Pune"}}
    )
    assert_error(r, 400, 400, "extendedFields.city")
    await assert_not_found(tenant, "mobile", m)


async def test_card_field_is_not_a_customer_field(tenant: Tenant) -> None:
    await define_field(tenant, "vehicle_number", kind="custom", entity_type="CARD")
    m = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", m), fields={"vehicle_number": "MH12"})]}
    )
    assert_error(r, 400, 400, "fields.vehicle_number")


async def test_another_orgs_field_is_undefined_here(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    await define_field(other, "loyalty_tier")
    r = await post_customer(
        tenant,
        {"profiles": [profile(ident("mobile", mobile()), fields={"loyalty_tier": "gold"})]},
    )
    assert_error(r, 400, 400, "fields.loyalty_tier")


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("integer", "abc"),
        ("integer", 1.5),
        ("integer", True),
        ("integer", "12.0"),
        ("double", "abc"),
        ("double", False),
        ("double", "NaN"),
        ("double", "inf"),
        ("boolean", "yes"),
        ("boolean", 1),
        ("date", "2020-13-45"),
        ("date", "yesterday"),
        ("date", 20200101),
        ("string", {"a": 1}),
        ("string", ["a"]),
        ("string", None),
        ("string", "x" * 4001),
    ],
)
async def test_wrongly_typed_field_value_is_400_naming_the_field(
    tenant: Tenant, data_type: str, value: Any
) -> None:
    await define_field(tenant, "typed", kind="extended", data_type=data_type)
    m = mobile()
    r = await post_customer(
        tenant, {"profiles": [profile(ident("mobile", m))], "extendedFields": {"typed": value}}
    )
    assert_error(r, 400, 400, "extendedFields.typed")
    await assert_not_found(tenant, "mobile", m)


@pytest.mark.parametrize(
    ("data_type", "value", "stored"),
    [
        ("integer", "-17", "-17"),
        ("integer", 0, "0"),
        ("double", "3", "3.0"),
        ("double", -0.5, "-0.5"),
        ("boolean", "False", "false"),
        ("date", "2024-02-29", "2024-02-29"),
        ("date", "2024-02-29T10:11:12Z", "2024-02-29T10:11:12Z"),
        ("string", 12, "12"),
    ],
)
async def test_accepted_field_values_are_normalised(
    tenant: Tenant, data_type: str, value: Any, stored: str
) -> None:
    await define_field(tenant, "typed", kind="extended", data_type=data_type)
    customer_id = await add_customer(tenant, extendedFields={"typed": value})
    assert (await get_customer(tenant, customer_id))["extendedFields"] == {"typed": stored}


async def test_invalid_field_in_update_rolls_back_the_whole_update(tenant: Tenant) -> None:
    await define_field(tenant, "score", kind="extended", data_type="integer")
    customer_id = await add_customer(tenant, first_name="Tom", extendedFields={"score": 1})
    r = await tenant.http.put(
        f"/v2/customers/{customer_id}",
        json={"profiles": [{"firstName": "Jerry"}], "extendedFields": {"score": "lots"}},
    )
    assert_error(r, 400, 400, "extendedFields.score")
    view = await get_customer(tenant, customer_id)
    assert view["profiles"][0]["firstName"] == "Tom"
    assert view["extendedFields"] == {"score": "1"}
    assert await audit_count(tenant, customer_id) == 1


async def test_psi_field_is_masked_in_the_audit_when_masking_is_on(tenant: Tenant) -> None:
    await define_field(tenant, "nickname", kind="custom", audit=True, psi=True)
    await define_field(tenant, "team", kind="custom", audit=True, psi=False)
    r = await post_customer(
        tenant,
        {"profiles": [profile(ident("mobile", mobile()), fields={"nickname": "Bo", "team": "A"})]},
    )
    customer_id = assert_ok(r)["createdId"]
    assert_ok(await tenant.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True}))
    entry = await latest_entry(tenant, customer_id)
    assert value_event("nickname", "NA", "*****", "Custom Fields") in entry["events"]
    assert value_event("team", "NA", "A", "Custom Fields") in entry["events"]
