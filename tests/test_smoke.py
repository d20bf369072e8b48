from __future__ import annotations

from tests.fixtures.factories import Tenant


async def test_add_customer_and_read_its_audit(tenant: Tenant) -> None:
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {"firstName": "Tom", "identifiers": [{"type": "mobile", "value": "919988776655"}]}
            ]
        },
    )
    assert r.status_code == 200, r.text
    cid = r.json()["createdId"]
    r = await tenant.http.get(
        "/api_gateway/v2/audits", params={"entityType": "CUSTOMER", "entityId": cid}
    )
    assert r.status_code == 200
    assert r.json()["pagination"]["totalElements"] == 1
