"""The audits API's extension filters: requestId, updatedBy (till id), updatedByMode and
a comma-separated referenceType list."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from eventrail.audit.service import EVENT_TYPES
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import assert_error

AUDITS = "/api_gateway/v2/audits"


async def _customer(t: Tenant) -> tuple[int, list[str]]:
    """A customer with three entries: added, renamed, status changed; their requestIds."""
    mobile = f"91{uuid.uuid4().int % 10**10:010d}"
    r = await t.http.post(
        "/v2/customers",
        json={
            "profiles": [{"firstName": "A", "identifiers": [{"type": "mobile", "value": mobile}]}]
        },
    )
    assert r.status_code == 200, r.text
    customer_id = r.json()["createdId"]
    ids = [r.headers["x-cap-requestid"]]
    r = await t.http.put(f"/v2/customers/{customer_id}", json={"profiles": [{"firstName": "B"}]})
    assert r.status_code == 200, r.text
    ids.append(r.headers["x-cap-requestid"])
    return customer_id, ids


async def _audits(t: Tenant, customer_id: int, **params: Any) -> httpx.Response:
    return await t.http.get(
        AUDITS, params={"entityType": "CUSTOMER", "entityId": customer_id, **params}
    )


def _data(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    assert r.json()["pagination"]["totalElements"] == len(data)
    return data


async def test_request_id_filter(tenant: Tenant) -> None:
    customer_id, ids = await _customer(tenant)
    everything = _data(await _audits(tenant, customer_id))
    assert {e["requestId"] for e in everything} == set(ids)
    for request_id in ids:
        [entry] = _data(await _audits(tenant, customer_id, requestId=request_id))
        assert entry["requestId"] == request_id
    assert _data(await _audits(tenant, customer_id, requestId="no-such-request")) == []


async def test_updated_by_and_mode_filters(tenant: Tenant) -> None:
    customer_id, _ = await _customer(tenant)
    everything = _data(await _audits(tenant, customer_id))
    assert _data(await _audits(tenant, customer_id, updatedBy=tenant.till_id)) == everything
    assert _data(await _audits(tenant, customer_id, updatedBy=tenant.till_id + 10**6)) == []
    modes = {e["updatedByMode"] for e in everything}
    assert modes == {"API"}
    assert _data(await _audits(tenant, customer_id, updatedByMode="api")) == everything
    assert _data(await _audits(tenant, customer_id, updatedByMode="CONSOLE")) == []
    both = await _audits(
        tenant, customer_id, updatedBy=tenant.till_id, updatedByMode="API", limit=1
    )
    assert both.status_code == 200 and both.json()["pagination"]["totalElements"] == len(everything)


async def test_reference_type_list(tenant: Tenant) -> None:
    customer_id, _ = await _customer(tenant)
    everything = _data(await _audits(tenant, customer_id))
    kinds = {ev["eventType"] for e in everything for ev in e["events"]}
    assert {EVENT_TYPES["Identifier"], EVENT_TYPES["StandardField"]} <= kinds
    for wanted in (["Identifier"], ["StandardField"], ["Identifier", "StandardField"]):
        got = _data(await _audits(tenant, customer_id, referenceType=",".join(wanted)))
        shown = {EVENT_TYPES[kind] for kind in wanted}
        expected = [e for e in everything if {ev["eventType"] for ev in e["events"]} & shown]
        assert [e["requestId"] for e in got] == [e["requestId"] for e in expected]
        for entry in got:
            assert entry["events"] and {ev["eventType"] for ev in entry["events"]} <= shown
    # repeats and spaces and case are forgiven; an entry is listed once
    got = _data(
        await _audits(tenant, customer_id, referenceType=" identifier ,StandardField,Identifier")
    )
    assert len({e["requestId"] for e in got}) == len(got) == len(everything)
    assert _data(await _audits(tenant, customer_id, referenceType="CardStatus,CommChannel")) == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"referenceType": "Bogus"}, "referenceType"),
        ({"referenceType": "Identifier,Bogus"}, "referenceType"),
        ({"referenceType": ","}, "referenceType"),
        ({"referenceType": "Identifier," * 60}, "referenceType"),
        ({"updatedBy": "abc"}, "updatedBy"),
        ({"updatedBy": "0"}, "updatedBy"),
        ({"updatedBy": "9" * 30}, "updatedBy"),
        ({"requestId": "r" * 65}, "requestId"),
        ({"updatedByMode": "m" * 41}, "updatedByMode"),
    ],
)
async def test_bad_filters_are_400_naming_them(
    tenant: Tenant, params: dict[str, str], name: str
) -> None:
    assert_error(await _audits(tenant, 1, **params), 400, 400, name)


async def test_filters_never_reach_another_org(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    customer_id, ids = await _customer(a)
    for params in (
        {"requestId": ids[0]},
        {"updatedBy": a.till_id},
        {"updatedByMode": "API"},
        {"referenceType": "Identifier,StandardField"},
    ):
        assert _data(await _audits(b, customer_id, **params)) == []
        assert _data(await _audits(a, customer_id, **params))
