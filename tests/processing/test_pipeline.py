"""The processing pipeline (SPEC §3.3): every status with its exact message, the order of
the steps, customer resolution and registration, uniqueness, and what a success stores."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant, basic, make_till, md5
from tests.fixtures.pipeline import (
    EMF_NO_CUSTOMER,
    NO_CUSTOMER,
    NO_MAPPING,
    SUCCESS,
    add_customer,
    assert_log_shape,
    assert_record_shape,
    customer_fld,
    define,
    disable,
    email,
    enable_auth,
    event_name,
    external_id,
    fld,
    invalid_event_name,
    invalid_group,
    iso_utc,
    log_of,
    logs,
    lookup_customer,
    make_group,
    make_webhook,
    mobile,
    not_in_group,
    outcome,
    post,
    post_raw,
    record_by_id,
    record_of,
    records,
    set_members,
    tick,
    unique_id,
)

Drain = Callable[[], int]


@pytest.fixture(autouse=True)
def _empty_queue(drain: Callable[[], int]) -> None:
    """Requests another test left queued must not be counted as this test's."""
    drain()


def invalid_field(name: str) -> re.Pattern[str]:
    """SPEC §3.3: ``Invalid value for field <name>: <reason>`` (the reason is ours)."""
    return re.compile(rf"^Invalid value for field {re.escape(name)}: \S.*$")


async def run(t: Tenant, drain: Drain, webhook: str, body: dict[str, Any] | str) -> str:
    """Post one event and process it; its requestId."""
    request_id = await post(t, webhook, body)
    assert drain() == 1
    return request_id


async def status_of(
    t: Tenant, drain: Drain, webhook: str, body: dict[str, Any] | str
) -> tuple[str | None, str]:
    return await outcome(t, await run(t, drain, webhook, body))


# -- INVALID_META_TRANSFORMER_MAPPINGS ---------------------------------------------------
async def test_default_transformer_without_event_name_has_no_mapping(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    customer = mobile()
    await add_customer(tenant, value=customer)
    body = f'{{"customer":"{customer}","eventName":"{name}"}}'
    rid = await run(tenant, drain, webhook, body)
    entry = await log_of(tenant, rid)
    assert entry["status"] == "INVALID_META_TRANSFORMER_MAPPINGS"
    assert entry["message"] == NO_MAPPING
    assert_log_shape(
        entry, org_id=tenant.org_id, webhook_id=webhook, body=body, has_event_name=False
    )


async def test_mapping_transformer_without_a_mapping_has_no_mapping(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant, transformer="WebEngageTransformer")
    customer = mobile()
    await add_customer(tenant, value=customer)
    rid = await run(tenant, drain, webhook, {"event_name": name, "customer": customer})
    entry = await log_of(tenant, rid)
    assert (entry["status"], entry["message"]) == ("INVALID_META_TRANSFORMER_MAPPINGS", NO_MAPPING)
    assert "eventName" not in entry
    assert await records(tenant, (await _lookup_id(tenant, customer))) == []


async def _lookup_id(t: Tenant, value: str, type_: str = "mobile") -> int:
    r = await lookup_customer(t, type_, value)
    assert r.status_code == 200, r.text
    customer_id: int = r.json()["entity"]
    return customer_id


# -- INVALID_EVENT_NAME ------------------------------------------------------------------
async def test_unknown_and_empty_event_names(tenant: Tenant, drain: Drain) -> None:
    await define(tenant, event_name(), [customer_fld()])
    webhook = await make_webhook(tenant)
    customer = mobile()
    await add_customer(tenant, value=customer)
    for name in ("No_Such_Event", ""):
        rid = await run(tenant, drain, webhook, {"event_name": name, "customer": customer})
        entry = await log_of(tenant, rid)
        assert entry["status"] == "INVALID_EVENT_NAME"
        assert entry["message"] == invalid_event_name(name)
        assert entry["eventName"] == name
        assert_log_shape(entry, org_id=tenant.org_id, webhook_id=webhook)
    [empty] = [e for e in await logs(tenant) if e["eventName"] == ""]
    assert empty["message"] == "Invalid event name "


async def test_disabled_event_is_an_invalid_event_name(tenant: Tenant, drain: Drain) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    customer = mobile()
    await add_customer(tenant, value=customer)
    body = {"event_name": name, "customer": customer}
    assert await status_of(tenant, drain, webhook, body) == ("EVENT_SUCCESS", SUCCESS)
    await disable(tenant, name)
    assert await status_of(tenant, drain, webhook, body) == (
        "INVALID_EVENT_NAME",
        invalid_event_name(name),
    )


async def test_another_orgs_event_is_an_invalid_event_name(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    other = await make_tenant()
    name = event_name()
    await define(other, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    customer = mobile()
    await add_customer(tenant, value=customer)
    assert await status_of(tenant, drain, webhook, {"event_name": name, "customer": customer}) == (
        "INVALID_EVENT_NAME",
        invalid_event_name(name),
    )


# -- EVENT_FIELD_VALIDATION_FAILED -------------------------------------------------------
TYPED_FIELDS = [
    customer_fld(),
    fld("d", "double"),
    fld("i", "integer"),
    fld("b", "boolean"),
    fld("e", "enum", possibleValues="GOLD,SILVER"),
    fld("dt", "date"),
    fld("s", "string", regex=r"^[A-Z]{3}\d{2}$"),
    fld("c", "couponCode", regex=r"^CPN-\d{4}$"),
    fld("t", "tillCode"),
    fld("sku", "productSku"),
    fld("brand", "productBrand"),
    fld("cat", "productCategory"),
]

INVALID_VALUES = [
    ("d", "abc"),
    ("d", "NaN"),
    ("d", "nan"),
    ("d", "inf"),
    ("d", "Infinity"),
    ("d", "-Infinity"),
    ("d", "1e400"),
    ("d", True),
    ("i", "1.5"),
    ("i", 1.5),
    ("i", "abc"),
    ("i", True),
    ("i", False),
    ("i", 1.0),  # a fraction is never an integer, as in every body
    ("b", "yes"),
    ("b", 1),  # a number is never a boolean
    ("b", 0),
    ("b", "Y"),
    ("e", "BRONZE"),
    ("e", "GOLD,SILVER"),
    ("dt", "2024-13-45"),
    ("dt", "2024-02-30"),
    ("dt", "yesterday"),
    ("s", "abc12"),
    ("s", "ABC123"),
    ("c", "CPN-12"),
    ("c", "XCPN-1234"),
    ("t", "no_such_till"),
    ("eventDateTime", "not a date"),
    ("eventDateTime", "2024-13-45 00:00:00"),
]


async def _typed(t: Tenant) -> tuple[str, str, str]:
    name = event_name("Typed")
    await define(t, name, TYPED_FIELDS)
    webhook = await make_webhook(t)
    customer = mobile()
    await add_customer(t, value=customer)
    return name, webhook, customer


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES)
async def test_invalid_value_fails_field_validation(
    tenant: Tenant, drain: Drain, field: str, value: Any
) -> None:
    name, webhook, customer = await _typed(tenant)
    rid = await run(
        tenant, drain, webhook, {"event_name": name, "customer": customer, field: value}
    )
    status, message = await outcome(tenant, rid)
    assert status == "EVENT_FIELD_VALIDATION_FAILED", message
    assert invalid_field(field).match(message), message
    assert await record_by_id(tenant, rid) == []


VALID_VALUES = [
    ("d", 20, "20.0"),
    ("d", "20", "20.0"),
    ("d", "3.14", "3.14"),
    ("d", -1.5, "-1.5"),
    ("i", "42", None),
    ("i", 42, None),
    ("b", "true", None),
    ("b", False, None),
    ("e", "GOLD", "GOLD"),
    ("dt", "2024-04-11 12:00:00", "2024-04-11 12:00:00"),
    ("dt", "2024-04-11", "2024-04-11"),
    ("dt", "11-04-2024", "11-04-2024"),
    ("dt", "04/11/2024 12:00:00", "04/11/2024 12:00:00"),
    ("dt", "2024-04-11T12:00:00+05:30", "2024-04-11T12:00:00+05:30"),
    ("s", "ABC12", "ABC12"),
    ("c", "CPN-1234", "CPN-1234"),
    ("sku", "SKU-001", "SKU-001"),
    ("brand", "Nike", "Nike"),
    ("cat", "Shoes", "Shoes"),
]


@pytest.mark.parametrize(("field", "value", "stored"), VALID_VALUES)
async def test_valid_value_passes_field_validation(
    tenant: Tenant, drain: Drain, field: str, value: Any, stored: str | None
) -> None:
    name, webhook, customer = await _typed(tenant)
    rid = await run(
        tenant, drain, webhook, {"event_name": name, "customer": customer, field: value}
    )
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    attributes = (await record_of(tenant, rid))["additonalAttributes"]
    assert field in attributes
    if stored is not None:
        assert attributes[field] == stored


async def test_date_formats_are_accepted_for_event_date_time(tenant: Tenant, drain: Drain) -> None:
    name, webhook, customer = await _typed(tenant)
    expected = {
        "2024-04-11 12:00:00": "1712836800000",
        "2024-04-11": "1712793600000",
        "11-04-2024": "1712793600000",
        "04/11/2024 12:00:00": "1712836800000",
        "2024-04-11T12:00:00+05:30": "1712817000000",
        "1712836800000": "1712836800000",
    }
    for value, epoch in expected.items():
        body = {"event_name": name, "customer": customer, "eventDateTime": value}
        rid = await run(tenant, drain, webhook, body)
        assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS), value
        assert (await record_of(tenant, rid))["additonalAttributes"]["eventDateTime"] == epoch


async def test_required_field_missing_or_empty_fails_validation(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(
        tenant, name, [customer_fld(), fld("ref", "string", isRequired=True), fld("opt", "string")]
    )
    webhook = await make_webhook(tenant)
    customer = mobile()
    await add_customer(tenant, value=customer)
    for body in (
        {"event_name": name, "customer": customer},
        {"event_name": name, "customer": customer, "ref": ""},
        {"event_name": name, "customer": customer, "ref": None},
    ):
        status, message = await status_of(tenant, drain, webhook, body)
        assert status == "EVENT_FIELD_VALIDATION_FAILED", body
        assert invalid_field("ref").match(message), message
    # the optional field may be left out
    body = {"event_name": name, "customer": customer, "ref": "R1"}
    assert await status_of(tenant, drain, webhook, body) == ("EVENT_SUCCESS", SUCCESS)


async def test_till_code_of_another_org_fails_validation(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    other = await make_tenant()
    name, webhook, customer = await _typed(tenant)
    body = {"event_name": name, "customer": customer, "t": other.till_code}
    status, message = await status_of(tenant, drain, webhook, body)
    assert status == "EVENT_FIELD_VALIDATION_FAILED"
    assert invalid_field("t").match(message), message


# -- INVALID_GROUP_IDENTIFIER_PASSED and group membership --------------------------------
async def _group_event(t: Tenant, *, actions: tuple[str, ...] = ("EMFConsumer",)) -> str:
    name = event_name("Group")
    await define(
        t,
        name,
        [customer_fld(), fld("grp", "groupId", groupIdentifierType="GroupExternalId")],
        actions=actions,
    )
    return name


async def test_unknown_group_is_an_invalid_group_identifier(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    name = await _group_event(tenant)
    webhook = await make_webhook(tenant)
    phone = mobile()
    await add_customer(tenant, value=phone)
    other = await make_tenant()
    await make_group(other, "theirGroup", [])  # another org's group is unknown here
    for value in ("3854766", "theirGroup"):
        body = {"event_name": name, "customer": phone, "grp": value}
        assert await status_of(tenant, drain, webhook, body) == (
            "INVALID_GROUP_IDENTIFIER_PASSED",
            invalid_group(value),
        )


async def test_group_membership_decides_success(tenant: Tenant, drain: Drain) -> None:
    name = await _group_event(tenant)
    webhook = await make_webhook(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    await make_group(tenant, "vips", [])
    body = {"event_name": name, "customer": phone, "grp": "vips"}
    assert await status_of(tenant, drain, webhook, body) == (
        "NO_CUSTOMER_DETAILS_PASSED",
        not_in_group("vips"),
    )
    await set_members(tenant, "vips", add=[customer])
    rid = await run(tenant, drain, webhook, body)
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    await set_members(tenant, "vips", remove=[customer])
    assert await status_of(tenant, drain, webhook, body) == (
        "NO_CUSTOMER_DETAILS_PASSED",
        "Customer details not passed ,User does not belong to group vips",
    )
    # only the member's event was stored
    assert [r["eventId"] for r in await records(tenant, customer)] == [rid]


# -- customer: EMF_PROCESSOR_FAILED vs NO_CUSTOMER_DETAILS_PASSED ------------------------
async def test_unknown_customer_status_depends_on_emf_action(tenant: Tenant, drain: Drain) -> None:
    emf, emf_and_ei, ei = event_name("Emf"), event_name("Both"), event_name("Ei")
    await define(tenant, emf, [customer_fld()], actions=("EMFConsumer",))
    await define(tenant, emf_and_ei, [customer_fld()], actions=("EMFConsumer", "EIConsumer"))
    await define(tenant, ei, [customer_fld()], actions=("EIConsumer",))
    webhook = await make_webhook(tenant)
    unknown = mobile()
    for name in (emf, emf_and_ei):
        for body in (
            {"event_name": name, "customer": unknown},
            {"event_name": name},
            {"event_name": name, "customer": ""},
        ):
            assert await status_of(tenant, drain, webhook, body) == (
                "EMF_PROCESSOR_FAILED",
                EMF_NO_CUSTOMER,
            ), body
    for body in (
        {"event_name": ei, "customer": unknown},
        {"event_name": ei},
        {"event_name": ei, "customer": ""},
    ):
        assert await status_of(tenant, drain, webhook, body) == (
            "NO_CUSTOMER_DETAILS_PASSED",
            NO_CUSTOMER,
        ), body
    # without addCustomerIfNotExists nothing was registered
    assert (await lookup_customer(tenant, "mobile", unknown)).status_code == 404


async def test_customer_of_another_org_is_unknown(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    other = await make_tenant()
    phone = mobile()
    await add_customer(other, value=phone)
    name = event_name()
    await define(tenant, name, [customer_fld()], actions=("EIConsumer",))
    webhook = await make_webhook(tenant)
    assert await status_of(tenant, drain, webhook, {"event_name": name, "customer": phone}) == (
        "NO_CUSTOMER_DETAILS_PASSED",
        NO_CUSTOMER,
    )


# -- EVENT_SUCCESS -----------------------------------------------------------------------
async def test_success_logs_and_stores_the_event(tenant: Tenant, drain: Drain) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld(), fld("note", "string")], label="Nice Event")
    webhook = await make_webhook(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    body = {"event_name": name, "customer": phone, "note": "hello"}
    r = await post_raw(tenant.http, webhook, body)
    assert r.status_code == 200
    rid = r.json()["requestId"]
    assert r.headers["x-cap-requestid"] == rid
    assert drain() == 1
    entry = await log_of(tenant, rid)
    assert (entry["status"], entry["message"]) == ("EVENT_SUCCESS", SUCCESS)
    assert entry["eventName"] == name
    assert_log_shape(entry, org_id=tenant.org_id, webhook_id=webhook)
    assert entry["inputRequest"] == r.request.content.decode()
    record = await record_of(tenant, rid)
    assert_record_shape(
        record,
        org_id=tenant.org_id,
        user_id=customer,
        request_id=rid,
        name=name,
        till_id=tenant.till_id,
        till_code=tenant.till_code,
        label="Nice Event",
        attributes={"note": "hello"},
    )
    assert await records(tenant, customer) == [record]


# -- the order of the steps --------------------------------------------------------------
async def test_first_failing_step_decides(tenant: Tenant, drain: Drain) -> None:
    grouped = event_name("Grouped")
    await define(
        tenant,
        grouped,
        [
            customer_fld(),
            fld("grp", "groupId", groupIdentifierType="GroupExternalId"),
            fld("amount", "double"),
        ],
        actions=("EMFConsumer",),
    )
    webhook = await make_webhook(tenant)
    await make_group(tenant, "known", [])
    unknown = mobile()
    cases = [
        # transformer before everything: no event_name, every other step would fail too
        ({"customer": unknown, "grp": "nope", "amount": "x"}, "INVALID_META_TRANSFORMER_MAPPINGS"),
        # event name before fields
        ({"event_name": "Nope", "customer": unknown, "amount": "x"}, "INVALID_EVENT_NAME"),
        # fields before the group and the customer
        (
            {"event_name": grouped, "customer": unknown, "grp": "nope", "amount": "x"},
            "EVENT_FIELD_VALIDATION_FAILED",
        ),
        # a malformed eventDateTime is a field failure too, before the group
        (
            {"event_name": grouped, "customer": unknown, "grp": "nope", "eventDateTime": "x"},
            "EVENT_FIELD_VALIDATION_FAILED",
        ),
        # the group exists before the customer
        (
            {"event_name": grouped, "customer": unknown, "grp": "nope", "amount": 1},
            "INVALID_GROUP_IDENTIFIER_PASSED",
        ),
        # the customer before the membership
        (
            {"event_name": grouped, "customer": unknown, "grp": "known", "amount": 1},
            "EMF_PROCESSOR_FAILED",
        ),
    ]
    for body, expected in cases:
        status, message = await status_of(tenant, drain, webhook, body)
        assert status == expected, (body, status, message)


async def test_add_customer_if_not_exists_runs_only_after_the_earlier_steps(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(
        tenant,
        name,
        [
            customer_fld(add=True),
            fld("grp", "groupId", groupIdentifierType="GroupExternalId"),
            fld("amount", "double"),
        ],
        actions=("EMFConsumer",),
    )
    webhook = await make_webhook(tenant)
    await make_group(tenant, "known", [])
    phone = mobile()
    bad_field = {"event_name": name, "customer": phone, "grp": "known", "amount": "x"}
    status, _ = await status_of(tenant, drain, webhook, bad_field)
    assert status == "EVENT_FIELD_VALIDATION_FAILED"
    bad_group = {"event_name": name, "customer": phone, "grp": "nope", "amount": 1}
    assert await status_of(tenant, drain, webhook, bad_group) == (
        "INVALID_GROUP_IDENTIFIER_PASSED",
        invalid_group("nope"),
    )
    assert (await lookup_customer(tenant, "mobile", phone)).status_code == 404
    # every earlier step passes: the customer is registered, then is not in the group
    ok_but_not_member = {"event_name": name, "customer": phone, "grp": "known", "amount": 1}
    assert await status_of(tenant, drain, webhook, ok_but_not_member) == (
        "NO_CUSTOMER_DETAILS_PASSED",
        not_in_group("known"),
    )
    assert (await lookup_customer(tenant, "mobile", phone)).status_code == 200


# -- addCustomerIfNotExists and identifier types -----------------------------------------
async def test_add_customer_if_not_exists_registers_the_customer(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld(add=True)], actions=("EMFConsumer",))
    webhook = await make_webhook(tenant)
    phone = mobile()
    assert (await lookup_customer(tenant, "mobile", phone)).status_code == 404
    rid = await run(tenant, drain, webhook, {"event_name": name, "customer": phone})
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    customer = await _lookup_id(tenant, phone)
    record = await record_of(tenant, rid)
    assert record["userId"] == customer
    assert record["additonalAttributes"]["customerId"] == str(customer)
    # the registration is audited under the event's requestId, by the webhook's till
    r = await tenant.http.get(
        "/api_gateway/v2/audits",
        params={"entityType": "CUSTOMER", "entityId": customer, "limit": 100},
    )
    assert r.status_code == 200, r.text
    entries = r.json()["data"]
    assert [e["requestId"] for e in entries] == [rid]
    assert entries[0]["till"]["code"] == tenant.till_code
    # the next event finds the customer: no second registration
    await tick()
    rid2 = await run(tenant, drain, webhook, {"event_name": name, "customer": phone})
    assert (await record_of(tenant, rid2))["userId"] == customer
    assert [r["eventId"] for r in await records(tenant, customer)] == [rid2, rid]


async def test_add_customer_if_not_exists_registers_once_within_a_batch(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld(add=True)], actions=("EMFConsumer",))
    webhook = await make_webhook(tenant)
    phone = mobile()
    rids = [await post(tenant, webhook, {"event_name": name, "customer": phone}) for _ in range(3)]
    assert drain() == 3
    for rid in rids:
        assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    customer = await _lookup_id(tenant, phone)
    assert sorted(r["eventId"] for r in await records(tenant, customer)) == sorted(rids)


@pytest.mark.parametrize("identifier_type", ["userId", "email", "externalId", "mobile"])
async def test_customer_field_identifier_types(
    tenant: Tenant, drain: Drain, identifier_type: str
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld("who", identifier_type)], actions=("EIConsumer",))
    webhook = await make_webhook(tenant)
    if identifier_type == "userId":
        customer = await add_customer(tenant)
        value, unknown = str(customer), str(customer + 1_000_000)
    else:
        make = {"email": email, "externalId": external_id, "mobile": mobile}[identifier_type]
        value, unknown = make(), make()
        customer = await add_customer(tenant, identifier_type, value)
    rid = await run(tenant, drain, webhook, {"event_name": name, "who": value})
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    record = await record_of(tenant, rid)
    assert record["userId"] == customer
    assert "who" not in record["additonalAttributes"]
    assert await status_of(tenant, drain, webhook, {"event_name": name, "who": unknown}) == (
        "NO_CUSTOMER_DETAILS_PASSED",
        NO_CUSTOMER,
    )


# -- INVALID_PAYLOAD ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "body", ["[1, 2]", '"text"', "42", "null", "not json", '{"event_name":', ""]
)
async def test_body_that_is_not_a_json_object_is_refused_and_logged(
    tenant: Tenant, drain: Drain, body: str
) -> None:
    webhook = await make_webhook(tenant)
    r = await post_raw(tenant.http, webhook, body)
    assert r.status_code == 400, r.text
    answer = r.json()
    assert set(answer) == {"warnings", "errors"}
    assert answer["warnings"] == []
    [error] = answer["errors"]
    assert error["status"] is False
    assert error["code"] == 400
    assert error["message"].startswith("Invalid payload")
    assert r.headers.get("x-cap-requestid")
    assert drain() == 1
    [entry] = await logs(tenant)
    assert entry["status"] == "INVALID_PAYLOAD"
    assert entry["message"].startswith("Invalid payload")
    assert_log_shape(
        entry, org_id=tenant.org_id, webhook_id=webhook, body=body, has_event_name=False
    )


# -- uniqueness --------------------------------------------------------------------------
async def _unique_event(t: Tenant) -> str:
    name = event_name("Uniq")
    await define(
        t,
        name,
        [
            customer_fld(),
            fld("ref", "string", isUniqueKeyField=True),
            fld("note", "string"),
            fld("store", "string", isUniqueKeyField=True),
        ],
    )
    return name


def _attrs(record: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = record["additonalAttributes"]
    return attributes


async def test_repeat_is_stored_as_duplicate_across_drains(tenant: Tenant, drain: Drain) -> None:
    name = await _unique_event(tenant)
    webhook = await make_webhook(tenant, uniqueness=True)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    # keys in another order than the definition's: the key follows the definition
    body = {"store": "S1", "note": "a", "event_name": name, "ref": "R1", "customer": phone}
    first = await run(tenant, drain, webhook, body)
    await tick()
    second = await run(tenant, drain, webhook, {**body, "note": "b"})
    expected = unique_id(name, phone, "R1", "S1")
    for rid, duplicate in ((first, False), (second, True)):
        assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
        record = await record_of(tenant, rid)
        assert_record_shape(
            record,
            org_id=tenant.org_id,
            user_id=customer,
            request_id=rid,
            name=name,
            till_id=tenant.till_id,
            till_code=tenant.till_code,
            attributes={"ref": "R1", "store": "S1", "note": "b" if duplicate else "a"},
            unique=expected,
            duplicate=duplicate,
        )
    # both are in the customer's events, the duplicate included
    data = await records(tenant, customer)
    assert [(r["eventId"], _attrs(r)["isDuplicate"]) for r in data] == [
        (second, True),
        (first, False),
    ]


async def test_repeat_within_one_batch_is_a_duplicate(tenant: Tenant, drain: Drain) -> None:
    name = await _unique_event(tenant)
    webhook = await make_webhook(tenant, uniqueness=True)
    phone = mobile()
    body = {"event_name": name, "customer": phone, "ref": "R9", "store": "S9"}
    await add_customer(tenant, value=phone)
    rids = [await post(tenant, webhook, body) for _ in range(3)]
    assert drain() == 3
    expected = unique_id(name, phone, "R9", "S9")
    flags = []
    for rid in rids:
        assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
        record = await record_of(tenant, rid)
        assert record["uniqueId"] == expected
        assert _attrs(record)["uniqueId"] == expected
        flags.append(_attrs(record)["isDuplicate"])
    assert flags == [False, True, True], "the first posted is the original"


async def test_different_unique_values_or_customer_are_not_duplicates(
    tenant: Tenant, drain: Drain
) -> None:
    name = await _unique_event(tenant)
    webhook = await make_webhook(tenant, uniqueness=True)
    phone, other_phone = mobile(), mobile()
    await add_customer(tenant, value=phone)
    await add_customer(tenant, value=other_phone)
    bodies = [
        ({"event_name": name, "customer": phone, "ref": "R1", "store": "S1"}, ("R1", "S1")),
        ({"event_name": name, "customer": phone, "ref": "R2", "store": "S1"}, ("R2", "S1")),
        ({"event_name": name, "customer": phone, "ref": "R1", "store": "S2"}, ("R1", "S2")),
        ({"event_name": name, "customer": other_phone, "ref": "R1", "store": "S1"}, ("R1", "S1")),
    ]
    for body, values in bodies:
        rid = await run(tenant, drain, webhook, body)
        record = await record_of(tenant, rid)
        assert record["uniqueId"] == unique_id(name, body["customer"], *values)
        assert _attrs(record)["isDuplicate"] is False, body


async def test_uniqueness_off_makes_unique_id_the_request_id(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    # a webhook without the check, and a definition with unique key fields
    name = await _unique_event(tenant)
    webhook = await make_webhook(tenant, uniqueness=False)
    phone = mobile()
    await add_customer(tenant, value=phone)
    body = {"event_name": name, "customer": phone, "ref": "R1", "store": "S1"}
    for _ in range(2):
        rid = await run(tenant, drain, webhook, body)
        record = await record_of(tenant, rid)
        assert record["uniqueId"] == rid
        assert _attrs(record)["uniqueId"] == rid
        assert _attrs(record)["isDuplicate"] is False
    # a webhook with the check, and a definition without unique key fields
    other = await make_tenant()
    plain = event_name()
    await define(other, plain, [customer_fld(), fld("ref", "string")])
    webhook = await make_webhook(other, uniqueness=True)
    phone = mobile()
    await add_customer(other, value=phone)
    for _ in range(2):
        rid = await run(other, drain, webhook, {"event_name": plain, "customer": phone, "ref": "1"})
        record = await record_of(other, rid)
        assert record["uniqueId"] == rid
        assert _attrs(record)["isDuplicate"] is False


# -- what a success stores ---------------------------------------------------------------
async def test_event_date_time_is_stored_and_date_is_processing_time(
    tenant: Tenant, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    phone = mobile()
    await add_customer(tenant, value=phone)
    before = int(time.time() * 1000)
    rid = await run(
        tenant,
        drain,
        webhook,
        {"event_name": name, "customer": phone, "eventDateTime": "2024-04-11 12:00:00"},
    )
    after = int(time.time() * 1000)
    record = await record_of(tenant, rid)
    attrs = _attrs(record)
    assert attrs["eventDateTime"] == "1712836800000"
    assert before <= attrs["autoUpdateTimeStamp"] <= after
    assert record["date"] == iso_utc(attrs["autoUpdateTimeStamp"])
    assert iso_utc(before) <= record["date"] <= iso_utc(after)


async def test_reference_example_payload_is_stored_with_every_attribute(
    tenant: Tenant, drain: Drain
) -> None:
    """The post-event example of reference §4.1, with unknown extra keys and PSI fields."""
    name = "be_reserved"
    await define(
        tenant,
        name,
        [
            customer_fld("customer_id"),
            fld("age", "double", isPsiData=True),
            fld("hotel_name", "string"),
            fld("room_nights", "string", isPsiData=True),
            fld("tier", "enum", possibleValues="GOLD,SILVER", isPsiData=True),
        ],
    )
    webhook = await make_webhook(tenant)
    customer = await add_customer(tenant, value="9933772255")
    body = (
        '{"age":20,"customer_id":"9933772255","event_name":"be_reserved",'
        '"external_event_id":"RAND121","hotel_name":"Indiranagar","room_nights":"12",'
        '"eventDateTime":"2024-04-11 12:00:00","event_flag":"Y"}'
    )
    rid = await run(tenant, drain, webhook, body)
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    assert (await log_of(tenant, rid))["inputRequest"] == body
    record = await record_of(tenant, rid)
    assert_record_shape(
        record,
        org_id=tenant.org_id,
        user_id=customer,
        request_id=rid,
        name=name,
        till_id=tenant.till_id,
        till_code=tenant.till_code,
        attributes={
            "age": "20.0",
            "hotel_name": "Indiranagar",
            "room_nights": "12",
            "external_event_id": "RAND121",
            "event_flag": "Y",
        },
        psi=["age", "room_nights", "tier"],
    )
    assert _attrs(record)["eventDateTime"] == "1712836800000"
    assert "customer_id" not in _attrs(record)
    assert "event_name" not in _attrs(record)


async def test_till_code_field_attributes_the_event_to_that_till(
    tenant: Tenant, drain: Drain
) -> None:
    till_id, code, _ = make_till(tenant.db, tenant.org_id)
    name = event_name()
    await define(tenant, name, [customer_fld(), fld("where", "tillCode")])
    webhook = await make_webhook(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    rid = await run(tenant, drain, webhook, {"event_name": name, "customer": phone, "where": code})
    assert_record_shape(
        await record_of(tenant, rid),
        org_id=tenant.org_id,
        user_id=customer,
        request_id=rid,
        name=name,
        till_id=till_id,
        till_code=code,
        attributes={"where": str(till_id)},
        ou_till_code=code,
    )
    # without the field, the webhook's till
    rid = await run(tenant, drain, webhook, {"event_name": name, "customer": phone})
    assert_record_shape(
        await record_of(tenant, rid),
        org_id=tenant.org_id,
        user_id=customer,
        request_id=rid,
        name=name,
        till_id=tenant.till_id,
        till_code=tenant.till_code,
    )


async def test_payload_cannot_overwrite_system_attributes(tenant: Tenant, drain: Drain) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    spoof = {
        "requestId": "spoofed",
        "isDuplicate": True,
        "orgId": 1,
        "uniqueId": "SPOOF",
        "customerId": "1",
        "source_user_id": 1,
        "source_till_id": 1,
        "eventName": "Other",
        "accountId": "acc",
        "is_mongo_push": False,
    }
    rid = await run(tenant, drain, webhook, {"event_name": name, "customer": phone, **spoof})
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    assert_record_shape(
        await record_of(tenant, rid),
        org_id=tenant.org_id,
        user_id=customer,
        request_id=rid,
        name=name,
        till_id=tenant.till_id,
        till_code=tenant.till_code,
    )


async def test_date_is_rendered_in_the_org_timezone(
    make_tenant: TenantFactory, drain: Drain
) -> None:
    t = await make_tenant(timezone="Asia/Kolkata")
    name = event_name()
    await define(t, name, [customer_fld()])
    webhook = await make_webhook(t)
    phone = mobile()
    customer = await add_customer(t, value=phone)
    rid = await run(t, drain, webhook, {"event_name": name, "customer": phone})
    [record] = await records(t, customer)
    assert record["eventId"] == rid
    stamp = _attrs(record)["autoUpdateTimeStamp"]
    expected = (
        dt.datetime.fromtimestamp(stamp // 1000, tz=dt.UTC)
        .astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
        .strftime("%Y-%m-%dT%H:%M:%S+05:30")
    )
    assert record["date"] == expected


# -- Unauthorized (SPEC §3.2) ------------------------------------------------------------
async def test_auth_enabled_webhook_logs_refused_posts_without_status(
    tenant: Tenant, make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    await enable_auth(tenant, webhook)
    phone = mobile()
    await add_customer(tenant, value=phone)
    other = await make_tenant()
    refused = [
        (http, None),  # no credentials
        (http, basic(tenant.till_code, md5("wrong password"))),
        (other.http, None),  # valid credentials of another org
    ]
    bodies = []
    for client, headers in refused:
        body = f'{{"event_name":"{name}","customer":"{phone}","n":"{len(bodies)}"}}'
        r = await post_raw(client, webhook, body, headers)
        assert r.status_code == 401, r.text
        assert r.json()["errors"][0]["code"] == 401
        bodies.append(body)
    assert drain() == 3
    # the org's own credentials are accepted
    rid = await run(tenant, drain, webhook, {"event_name": name, "customer": phone})
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    entries = await logs(tenant)
    assert len(entries) == 4
    for entry, body in zip(reversed(entries[1:]), bodies, strict=True):
        assert entry["message"] == "Unauthorized"
        assert "status" not in entry
        assert entry["eventName"] == name
        assert_log_shape(
            entry, org_id=tenant.org_id, webhook_id=webhook, body=body, has_status=False
        )
    assert await logs(other) == []


# -- one batch, several orgs -------------------------------------------------------------
async def test_one_batch_of_two_orgs_resolves_each_in_its_own_org(
    make_tenant: TenantFactory, drain: Drain
) -> None:
    """Same event name, group id, till code and mobile in two orgs, processed together."""
    name, till_code, phone, newcomer = event_name(), f"shared-{mobile()}", mobile(), mobile()
    fields = [
        customer_fld(add=True),
        fld("grp", "groupId", groupIdentifierType="GroupExternalId"),
        fld("where", "tillCode"),
    ]
    orgs = []
    for member in (True, False):
        t = await make_tenant()
        till_id, _, _ = make_till(t.db, t.org_id, code=till_code)
        await define(t, name, fields, actions=("EMFConsumer",))
        webhook = await make_webhook(t)
        customer = await add_customer(t, value=phone)
        await make_group(t, "g", [customer] if member else [])
        orgs.append((t, webhook, customer, till_id))
    (a, a_hook, a_customer, a_till), (b, b_hook, _, _) = orgs
    body = {"event_name": name, "customer": phone, "grp": "g", "where": till_code}
    a_rid = await post(a, a_hook, body)
    b_rid = await post(b, b_hook, body)
    await tick()
    a_new = await post(a, a_hook, {**body, "customer": newcomer})
    b_new = await post(b, b_hook, {**body, "customer": newcomer})
    assert drain() == 4
    assert await outcome(a, a_rid) == ("EVENT_SUCCESS", SUCCESS)
    assert await outcome(b, b_rid) == ("NO_CUSTOMER_DETAILS_PASSED", not_in_group("g"))
    # the newcomer is registered in each org, and is in neither group
    for t, rid in ((a, a_new), (b, b_new)):
        assert await outcome(t, rid) == ("NO_CUSTOMER_DETAILS_PASSED", not_in_group("g"))
        assert (await lookup_customer(t, "mobile", newcomer)).status_code == 200
    assert await _lookup_id(a, newcomer) != await _lookup_id(b, newcomer)
    assert_record_shape(
        await record_of(a, a_rid),
        org_id=a.org_id,
        user_id=a_customer,
        request_id=a_rid,
        name=name,
        till_id=a_till,
        till_code=till_code,
        attributes={"grp": "g", "where": str(a_till)},
        ou_till_code=till_code,
    )
    assert [e["id"] for e in await logs(a)] == [a_new, a_rid]
    assert [e["id"] for e in await logs(b)] == [b_new, b_rid]


async def test_same_unique_key_in_two_orgs_is_not_a_duplicate(
    make_tenant: TenantFactory, drain: Drain
) -> None:
    phone = mobile()
    name = event_name("Uniq")
    posted = []
    for _ in range(2):
        t = await make_tenant()
        await define(t, name, [customer_fld(), fld("ref", "string", isUniqueKeyField=True)])
        webhook = await make_webhook(t, uniqueness=True)
        await add_customer(t, value=phone)
        posted.append(
            (t, await post(t, webhook, {"event_name": name, "customer": phone, "ref": "1"}))
        )
    assert drain() == 2
    for t, rid in posted:
        record = await record_of(t, rid)
        assert record["uniqueId"] == unique_id(name, phone, "1")
        assert _attrs(record)["isDuplicate"] is False


# -- groups named by their numeric id ----------------------------------------------------
async def test_group_identifier_type_group_id(tenant: Tenant, drain: Drain) -> None:
    name = event_name()
    await define(
        tenant,
        name,
        [customer_fld(), fld("grp", "groupId", groupIdentifierType="GroupId")],
        actions=("EMFConsumer",),
    )
    webhook = await make_webhook(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    group_id = await make_group(tenant, "by-id", [customer])
    ok = {"event_name": name, "customer": phone, "grp": str(group_id)}
    assert await status_of(tenant, drain, webhook, ok) == ("EVENT_SUCCESS", SUCCESS)
    assert await status_of(tenant, drain, webhook, {**ok, "grp": group_id}) == (
        "EVENT_SUCCESS",
        SUCCESS,
    )
    for value in (str(group_id + 100_000), "by-id"):
        assert await status_of(tenant, drain, webhook, {**ok, "grp": value}) == (
            "INVALID_GROUP_IDENTIFIER_PASSED",
            invalid_group(value),
        )


async def test_enabling_auth_applies_to_the_very_next_post(
    tenant: Tenant, http: httpx.AsyncClient, drain: Drain
) -> None:
    name = event_name()
    await define(tenant, name, [customer_fld()])
    webhook = await make_webhook(tenant)
    phone = mobile()
    await add_customer(tenant, value=phone)
    body = {"event_name": name, "customer": phone}
    r = await post_raw(http, webhook, body)
    assert r.status_code == 200, "auth is off: no credentials needed"
    await enable_auth(tenant, webhook)
    r = await post_raw(http, webhook, body)
    assert r.status_code == 401, (
        "the webhook answered authEnabled: true, yet took a post without credentials"
    )
    assert drain() == 2
    statuses = [e.get("status") for e in await logs(tenant)]
    assert statuses == [None, "EVENT_SUCCESS"]
