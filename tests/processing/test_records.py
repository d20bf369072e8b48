"""Reading what processing wrote: a customer's events (newest first, duplicates included),
one event by its requestId, and exactly one log entry per posted request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.pipeline import (
    SUCCESS,
    add_customer,
    assert_record_shape,
    customer_fld,
    define,
    enable_auth,
    event_name,
    fld,
    logs,
    make_webhook,
    mobile,
    outcome,
    post,
    post_raw,
    record_by_id,
    record_of,
    records,
    tick,
)

Drain = Callable[[], int]


@pytest.fixture(autouse=True)
def _empty_queue(drain: Callable[[], int]) -> None:
    """Requests another test left queued must not be counted as this test's."""
    drain()


async def _org(t: Tenant, *, uniqueness: bool = False) -> tuple[str, str]:
    name = event_name()
    await define(t, name, [customer_fld(), fld("ref", "string", isUniqueKeyField=True)])
    return name, await make_webhook(t, uniqueness=uniqueness)


async def test_customer_events_newest_first(tenant: Tenant, drain: Drain) -> None:
    name, webhook = await _org(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    posted = []
    for n in range(4):
        await tick()
        posted.append(
            await post(tenant, webhook, {"event_name": name, "customer": phone, "ref": n})
        )
        assert drain() == 1
    data = await records(tenant, customer)
    assert [r["eventId"] for r in data] == posted[::-1]
    stamps = [r["additonalAttributes"]["autoUpdateTimeStamp"] for r in data]
    assert stamps == sorted(stamps, reverse=True)
    assert [r["additonalAttributes"]["ref"] for r in data] == ["3", "2", "1", "0"]


async def test_customer_events_of_one_batch_newest_posted_first(
    tenant: Tenant, drain: Drain
) -> None:
    """Events processed together share their processing time; the later posted is newer."""
    name, webhook = await _org(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    posted = []
    for n in range(8):
        await tick()
        posted.append(
            await post(tenant, webhook, {"event_name": name, "customer": phone, "ref": n})
        )
    assert drain() == 8
    data = await records(tenant, customer)
    assert [r["eventId"] for r in data] == posted[::-1]


async def test_duplicates_are_included(tenant: Tenant, drain: Drain) -> None:
    name, webhook = await _org(tenant, uniqueness=True)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    body = {"event_name": name, "customer": phone, "ref": "same"}
    first = await post(tenant, webhook, body)
    assert drain() == 1
    await tick()
    second = await post(tenant, webhook, body)
    assert drain() == 1
    data = await records(tenant, customer)
    assert [(r["eventId"], r["additonalAttributes"]["isDuplicate"]) for r in data] == [
        (second, True),
        (first, False),
    ]
    assert data[0]["uniqueId"] == data[1]["uniqueId"]


async def test_unknown_customer_or_customer_without_events_has_no_events(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    name, webhook = await _org(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    quiet = await add_customer(tenant)
    await post(tenant, webhook, {"event_name": name, "customer": phone, "ref": "1"})
    assert drain() == 1
    assert len(await records(tenant, customer)) == 1
    assert await records(tenant, quiet) == []
    assert await records(tenant, customer + 10_000_000) == []
    # another org's customer is unknown here, and this org's customer unknown there
    other = await make_tenant()
    assert await records(other, customer) == []
    other_name, other_hook = await _org(other)
    other_phone = mobile()
    other_customer = await add_customer(other, value=other_phone)
    await post(other, other_hook, {"event_name": other_name, "customer": other_phone, "ref": "1"})
    assert drain() == 1
    assert len(await records(other, other_customer)) == 1
    assert await records(tenant, other_customer) == []


async def test_one_event_by_request_id(
    tenant: Tenant, make_tenant: TenantFactory, drain: Drain
) -> None:
    name, webhook = await _org(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    rids = [
        await post(tenant, webhook, {"event_name": name, "customer": phone, "ref": n})
        for n in range(3)
    ]
    failed = await post(tenant, webhook, {"event_name": "Nope", "customer": phone})
    assert drain() == 4
    listed = {r["eventId"]: r for r in await records(tenant, customer)}
    for n, rid in enumerate(rids):
        record = await record_of(tenant, rid)
        assert record == listed[rid]
        assert_record_shape(
            record,
            org_id=tenant.org_id,
            user_id=customer,
            request_id=rid,
            name=name,
            till_id=tenant.till_id,
            till_code=tenant.till_code,
            attributes={"ref": str(n)},
        )
    # a failed request stored nothing; an unknown id is nothing
    assert await outcome(tenant, failed) == ("INVALID_EVENT_NAME", "Invalid event name Nope")
    assert await record_by_id(tenant, failed) == []
    assert await record_by_id(tenant, "00000000-0000-4000-8000-000000000000") == []
    # another org's request is not found, and this org's not found there
    other = await make_tenant()
    other_name, other_hook = await _org(other)
    other_phone = mobile()
    await add_customer(other, value=other_phone)
    theirs = await post(
        other, other_hook, {"event_name": other_name, "customer": other_phone, "ref": "x"}
    )
    assert drain() == 1
    assert len(await record_by_id(other, theirs)) == 1
    assert await record_by_id(tenant, theirs) == []
    assert await record_by_id(other, rids[0]) == []


async def test_exactly_one_log_entry_per_request(
    tenant: Tenant, http: httpx.AsyncClient, drain: Drain
) -> None:
    name, webhook = await _org(tenant, uniqueness=True)
    await enable_auth(tenant, webhook)
    phone, unknown = mobile(), mobile()
    await add_customer(tenant, value=phone)
    auth = tenant.auth
    bodies: list[dict[str, object] | str] = [
        {"event_name": name, "customer": phone, "ref": "a"},  # success
        {"event_name": name, "customer": phone, "ref": "a"},  # duplicate, still a success
        {"event_name": name, "customer": unknown, "ref": "b"},  # unknown customer
        {"event_name": name, "customer": phone},  # a required field missing
        {"event_name": "Nope", "customer": phone},  # unknown event
        {"customer": phone},  # no event_name
    ]
    rids: list[str] = []
    expected_statuses: Counter[str | None] = Counter()
    # three rounds: one request per batch, then all of a round in one batch, twice
    for round_ in range(3):
        for body in bodies:
            rids.append(await post(tenant, webhook, body, headers=auth))
            if round_ == 0:
                assert drain() == 1
        r = await post_raw(tenant.http, webhook, "[1, 2]", headers=auth)
        assert r.status_code == 400
        r = await post_raw(http, webhook, {"event_name": name, "customer": phone, "ref": "c"})
        assert r.status_code == 401
        if round_ > 0:
            assert drain() == len(bodies) + 2
        else:
            assert drain() == 2
    expected_statuses.update(
        {
            "EVENT_SUCCESS": 6,
            "NO_CUSTOMER_DETAILS_PASSED": 3,
            "EVENT_FIELD_VALIDATION_FAILED": 3,
            "INVALID_EVENT_NAME": 3,
            "INVALID_META_TRANSFORMER_MAPPINGS": 3,
            "INVALID_PAYLOAD": 3,
            None: 3,
        }
    )
    entries = await logs(tenant)
    ids = Counter(e["id"] for e in entries)
    assert len(entries) == len(rids) + 6
    assert all(count == 1 for count in ids.values()), ids.most_common(3)
    assert set(rids) <= set(ids)
    assert Counter(e.get("status") for e in entries) == expected_statuses
    # draining again finds nothing left and writes nothing more
    assert drain() == 0
    assert len(await logs(tenant)) == len(entries)
    for rid in rids[:2]:
        assert (await outcome(tenant, rid))[1] == SUCCESS


async def test_batch_post_gets_one_log_entry_per_event(tenant: Tenant, drain: Drain) -> None:
    name, webhook = await _org(tenant)
    phone = mobile()
    await add_customer(tenant, value=phone)
    events = [{"event_name": name, "customer": phone, "ref": str(n)} for n in range(5)]
    events.append({"event_name": "Nope", "customer": phone})
    r = await tenant.http.post(f"/webhooks/{webhook}/batch", json={"events": events})
    assert r.status_code == 200, r.text
    rids = r.json()["requestIds"]
    assert len(rids) == len(set(rids)) == 6
    assert drain() == 6
    entries = await logs(tenant)
    assert sorted(e["id"] for e in entries) == sorted(rids)
    statuses = [(await outcome(tenant, rid))[0] for rid in rids]
    assert statuses == ["EVENT_SUCCESS"] * 5 + ["INVALID_EVENT_NAME"]
