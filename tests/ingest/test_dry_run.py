"""POST /webhooks/{id}?dryRun=true: the pipeline's verdict and the step that failed, with
the admission of a real post (credentials, rate limit), storing and logging nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp
from eventrail.db import Database
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import (
    Org,
    all_logs,
    assert_error,
    assert_unauthorized,
    enable_auth,
    new_mobile,
    setup_org,
)

Drain = Callable[[], int]


@pytest.fixture(autouse=True)
def _empty_queue(drain: Drain) -> None:
    drain()


def counts(db: Database, org_id: int) -> dict[str, int]:
    """Every row a post could leave behind, for this org."""
    tables = (
        "ingest_requests",
        "event_logs",
        "event_records",
        "event_unique_keys",
        "customers",
        "audit_entries",
        "event_log_counts",
    )
    with db.transaction(write=False) as session:
        return {
            t: int(
                session.execute(
                    sa.text(f"SELECT count(*) FROM {t} WHERE org_id = :org"), {"org": org_id}
                ).scalar_one()
            )
            for t in tables
        }


async def dry(client: httpx.AsyncClient, org: Org, payload: Any) -> dict[str, Any]:
    r = await client.post(org.url, json=payload, params={"dryRun": "true"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["dryRun"] is True
    assert set(body["result"]) == {"status", "message", "step"}
    result: dict[str, Any] = body["result"]
    return result


async def test_verdicts_and_failed_steps_store_nothing(
    tenant: Tenant, db: Database, drain: Drain
) -> None:
    org = await setup_org(tenant, "Shop")
    before = counts(db, tenant.org_id)

    ok = await dry(org.http, org, org.payload())
    assert ok == {
        "status": "EVENT_SUCCESS",
        "message": "Event processed successfully",
        "step": None,
    }
    bad_amount = await dry(org.http, org, org.payload(amount="abc"))
    assert bad_amount["status"] == "EVENT_FIELD_VALIDATION_FAILED"
    assert bad_amount["message"].startswith("Invalid value for field amount")
    assert bad_amount["step"] == "field validation"
    unknown = await dry(org.http, org, {**org.payload(), "event_name": "Nope"})
    assert unknown == {
        "status": "INVALID_EVENT_NAME",
        "message": "Invalid event name Nope",
        "step": "event name",
    }
    no_name = await dry(org.http, org, {"customer": org.mobile})
    assert (no_name["status"], no_name["step"]) == (
        "INVALID_META_TRANSFORMER_MAPPINGS",
        "transformer",
    )
    stranger = await dry(org.http, org, org.payload(customer=new_mobile()))
    assert (stranger["status"], stranger["step"]) == ("NO_CUSTOMER_DETAILS_PASSED", "customer")

    assert drain() == 0
    assert counts(db, tenant.org_id) == before
    assert await all_logs(org.http) == []


async def test_a_customer_it_would_register_is_not_registered(tenant: Tenant, db: Database) -> None:
    org = await setup_org(tenant, "Visit")
    r = await org.http.post(
        "/v2/events",
        json={
            "eventName": "Signup",
            "actions": ["EIConsumer"],
            "fields": [
                {
                    "name": "customer",
                    "type": "customer",
                    "attributes": {
                        "identifierType": {"value": "mobile"},
                        "addCustomerIfNotExists": {"value": "true"},
                    },
                }
            ],
        },
    )
    assert r.status_code == 200, r.text
    before = counts(db, tenant.org_id)
    result = await dry(org.http, org, {"event_name": "Signup", "customer": new_mobile()})
    assert result["status"] == "EVENT_SUCCESS"
    assert counts(db, tenant.org_id) == before


async def test_admission_is_a_posts_and_refusals_are_not_logged(
    tenant: Tenant, app: EventrailApp, db: Database, drain: Drain
) -> None:
    org = await setup_org(tenant, "Login")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        await enable_auth(org, anonymous)
        drain()
        before = counts(db, tenant.org_id)
        r = await anonymous.post(org.url, json=org.payload(), params={"dryRun": "true"})
        assert_unauthorized(r)
    r = await org.http.post(
        org.url,
        content=b"[1, 2]",
        headers={"Content-Type": "application/json"},
        params={"dryRun": "true"},
    )
    assert_error(r, 400, 400, "not a JSON object")
    r = await org.http.post(org.url, json=org.payload(), params={"dryRun": "perhaps"})
    assert_error(r, 400, 400, "dryRun")
    # With credentials, the verdict.
    assert (await dry(org.http, org, org.payload()))["status"] == "EVENT_SUCCESS"
    assert drain() == 0
    assert counts(db, tenant.org_id) == before
    # Counted against the rate limit as a post is.
    remaining = []
    for _ in range(2):
        r = await org.http.post(org.url, json=org.payload(), params={"dryRun": "true"})
        assert r.status_code == 200, r.text
        remaining.append(int(r.headers["x-ratelimit-remaining"]))
    assert remaining[1] == remaining[0] - 1


async def test_a_batch_is_not_dry_run_and_nothing_is_stored(tenant: Tenant, db: Database) -> None:
    """A dry run takes one event: the batch route answers 400 naming dryRun, storing nothing."""
    org = await setup_org(tenant, "Shop")
    before = counts(db, tenant.org_id)
    r = await org.http.post(
        f"{org.url}/batch", params={"dryRun": "true"}, json={"events": [org.payload()]}
    )
    assert r.status_code == 400, r.text
    assert "'dryRun'" in r.json()["errors"][0]["message"]
    r = await org.http.post(org.url, params={"dryRun": "maybe"}, json=org.payload())
    assert r.status_code == 400 and "'dryRun'" in r.json()["errors"][0]["message"], r.text
    assert counts(db, tenant.org_id) == before
