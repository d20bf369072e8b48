"""A tenant's ``regex`` attribute cannot freeze the server (ReDoS): patterns run in RE2,
in time linear in the value, and a pattern RE2 refuses is refused when the definition is
saved (1802 naming the field), or, if stored before, fails its events' validation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
import sqlalchemy as sa

from eventrail.models import EventDefinition
from tests.conftest import TenantFactory
from tests.customers.helpers import assert_error
from tests.fixtures.factories import Tenant
from tests.fixtures.pipeline import (
    SUCCESS,
    add_customer,
    customer_fld,
    define,
    event_name,
    fld,
    log_of,
    make_webhook,
    mobile,
    outcome,
    post,
)

Drain = Callable[[], int]

# Backtracking engines (Python's re) take 2**n steps to refuse n "a"s and a "!":
# forty of them kept a processor, and the GIL with it, busy for hours.
EVIL = r"^(a+)+$"
ATTACK = "a" * 40 + "!"
# Seconds that processing the attack may take here: RE2 takes microseconds; a
# backtracking engine would take hours (2**40 steps).
BOUND = 5.0


@pytest.fixture(autouse=True)
def _empty_queue(drain: Drain) -> None:
    drain()


async def _attacker(make_tenant: TenantFactory) -> tuple[Tenant, str, str, str]:
    attacker = await make_tenant()
    name = event_name("Redos")
    await define(attacker, name, [customer_fld(), fld("code", "string", regex=EVIL)])
    hook = await make_webhook(attacker)
    phone = mobile()
    await add_customer(attacker, value=phone)
    return attacker, name, hook, phone


async def test_a_backtracking_pattern_is_matched_quickly_while_another_org_is_served(
    make_tenant: TenantFactory, drain: Drain
) -> None:
    attacker, name, hook, phone = await _attacker(make_tenant)
    other = await make_tenant()
    body = {"event_name": name, "customer": phone}
    attacks = [await post(attacker, hook, {**body, "code": ATTACK}) for _ in range(5)]
    long_attack = await post(attacker, hook, {**body, "code": "a" * 60_000 + "!"})
    matching = await post(attacker, hook, {**body, "code": "a" * 40})

    read_latencies: list[float] = []
    processed: list[int] = []

    async def process() -> None:
        processed.append(await anyio.to_thread.run_sync(drain))

    started = time.monotonic()
    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(process)
            # another org reads its log while the attacker's events are processed
            while not processed:
                asked = time.monotonic()
                r = await other.http.get("/v2/events/logs")
                assert r.status_code == 200, r.text
                read_latencies.append(time.monotonic() - asked)
                await anyio.sleep(0.005)
    elapsed = time.monotonic() - started
    assert processed == [7]
    assert elapsed < BOUND
    assert read_latencies
    assert max(read_latencies) < BOUND

    for request_id in [*attacks, long_attack]:
        assert await outcome(attacker, request_id) == (
            "EVENT_FIELD_VALIDATION_FAILED",
            f"Invalid value for field code: does not match {EVIL}",
        )
    assert await outcome(attacker, matching) == ("EVENT_SUCCESS", SUCCESS)


# -- patterns RE2 cannot run in linear time are refused when saved -------------------------
REFUSED = {
    "backreference": r"^(a+)\1$",
    "lookahead": r"^(?=a)a+$",
    "negative-lookahead": r"^(?!b)\w+$",
    "lookbehind": r"(?<=a)b",
    "possessive": r"a++",
    "atomic-group": r"(?>a+)b",
    "repetition-over-1000": r"a{1001}",
    "unbalanced": r"([a-z",
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_pattern_re2_refuses_is_1802_naming_the_field(tenant: Tenant, case: str) -> None:
    body = {
        "eventName": event_name("Refused"),
        "actions": ["EIConsumer"],
        "fields": [customer_fld(), fld("promoCode", "string", regex=REFUSED[case])],
    }
    r = await tenant.http.post("/v2/events", json=body)
    assert_error(r, 400, 1802, "promoCode", "regex")
    # nothing was stored
    listed = await tenant.http.get("/v2/events", params={"eventName": body["eventName"]})
    assert listed.json()["data"] == []


async def test_a_replacement_with_a_refused_pattern_is_1802_and_changes_nothing(
    tenant: Tenant,
) -> None:
    name = event_name("Replace")
    await define(tenant, name, [customer_fld(), fld("code", "string", regex="^[A-Z]{3}$")])
    body = {
        "eventName": name,
        "actions": ["EIConsumer"],
        "fields": [customer_fld(), fld("code", "string", regex=r"^(\w)\1$")],
    }
    assert_error(await tenant.http.put("/v2/events", json=body), 400, 1802, "code")
    listed = await tenant.http.get("/v2/events", params={"eventName": name})
    fields = {f["name"]: f for f in listed.json()["data"][0]["clickEventsMeta"]["fields"]}
    assert fields["code"]["attributes"]["regex"]["value"] == "^[A-Z]{3}$"


async def test_everyday_patterns_are_accepted_and_applied(tenant: Tenant, drain: Drain) -> None:
    name = event_name("Everyday")
    patterns = {
        "email": r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
        "code": r"^(?i)cpn-\d{4}$",
        "named": r"^(?P<prefix>[A-Z]{2})-\d+$",
        "letters": r"^[\p{L} ]{1,100}$",
    }
    await define(
        tenant, name, [customer_fld(), *(fld(k, "string", regex=v) for k, v in patterns.items())]
    )
    hook = await make_webhook(tenant)
    phone = mobile()
    await add_customer(tenant, value=phone)
    good = {"email": "a.b@example.com", "code": "CPN-0042", "named": "IN-7", "letters": "Ésa Lü"}
    rid = await post(tenant, hook, {"event_name": name, "customer": phone, **good})
    bad = await post(
        tenant, hook, {"event_name": name, "customer": phone, **good, "letters": "R2-D2"}
    )
    assert drain() == 2
    assert await outcome(tenant, rid) == ("EVENT_SUCCESS", SUCCESS)
    status, message = await outcome(tenant, bad)
    assert status == "EVENT_FIELD_VALIDATION_FAILED"
    assert message.startswith("Invalid value for field letters: does not match")


# -- a pattern stored before RE2 checked them ---------------------------------------------
def _store_pattern(t: Tenant, name: str, field_name: str, pattern: str) -> None:
    """Write a pattern into a stored definition as an older version could have saved it
    (Python's re accepted backreferences), bypassing the API that now refuses it."""
    with t.db.transaction() as session:
        definition = session.scalars(
            sa.select(EventDefinition).where(
                EventDefinition.org_id == t.org_id, EventDefinition.event_name == name
            )
        ).one()
        fields: list[dict[str, Any]] = [dict(f) for f in definition.fields]
        for item in fields:
            if item["name"] == field_name:
                item["attributes"] = {
                    **item["attributes"],
                    "regex": {"value": pattern, "valueType": "STRING"},
                }
        definition.fields = fields


async def test_a_stored_pattern_re2_refuses_fails_validation_without_breaking_the_batch(
    make_tenant: TenantFactory, drain: Drain
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    name = event_name("Legacy")
    await define(t, name, [customer_fld(), fld("code", "string", regex="^[a-z]+$")])
    _store_pattern(t, name, "code", r"^(a+)\1$")
    hook = await make_webhook(t)
    phone = mobile()
    await add_customer(t, value=phone)
    other_name = event_name("Plain")
    await define(other, other_name, [customer_fld()])
    other_hook = await make_webhook(other)
    other_phone = mobile()
    await add_customer(other, value=other_phone)

    with_value = await post(t, hook, {"event_name": name, "customer": phone, "code": "aa"})
    without_value = await post(t, hook, {"event_name": name, "customer": phone})
    others = [
        await post(other, other_hook, {"event_name": other_name, "customer": other_phone})
        for _ in range(3)
    ]
    assert drain() == 5

    status, message = await outcome(t, with_value)
    assert status == "EVENT_FIELD_VALIDATION_FAILED"
    assert message.startswith("Invalid value for field code: the definition's regex is refused")
    assert "correct the definition" in message
    assert await outcome(t, without_value) == ("EVENT_SUCCESS", SUCCESS)
    for request_id in others:
        assert await outcome(other, request_id) == ("EVENT_SUCCESS", SUCCESS)
    # the definition is still listed, and a replacement with an accepted pattern heals it
    entry = await log_of(t, with_value)
    assert entry["eventName"] == name
    fixed = {
        "eventName": name,
        "actions": ["EIConsumer"],
        "fields": [customer_fld(), fld("code", "string", regex="^(aa)+$")],
    }
    r = await t.http.put("/v2/events", json=fixed)
    assert r.status_code == 200, r.text
    again = await post(t, hook, {"event_name": name, "customer": phone, "code": "aa"})
    assert drain() == 1
    assert await outcome(t, again) == ("EVENT_SUCCESS", SUCCESS)
