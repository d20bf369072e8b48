"""GET /v2/events/logs/summary: counts per status per bucket and per (event name, status,
message), from the rollup the processors keep in the transaction of the log entries."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TenantFactory
from tests.fixtures.ingest import accepted, assert_error, get_logs, post_json, setup_org

Drain = Callable[[], int]
SUMMARY = "/v2/events/logs/summary"


@pytest.fixture(autouse=True)
def _empty_queue(drain: Drain) -> None:
    drain()


async def summary(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await client.get(SUMMARY, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["warnings"] == [] and body["errors"] == []
    return body


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


async def test_counts_match_the_log(make_tenant: TenantFactory, drain: Drain) -> None:
    tenant = await make_tenant(timezone="Asia/Kolkata")
    org = await setup_org(tenant, "Shop")
    other = await setup_org(await make_tenant(), "Shop")
    for amount in (1, 2, 3):
        accepted(await post_json(org.http, org.url, org.payload(amount=amount)))
    for amount in ("x", "y"):
        accepted(await post_json(org.http, org.url, org.payload(amount=amount)))
    accepted(await post_json(org.http, org.url, {**org.payload(), "event_name": "Nope"}))
    accepted(await post_json(other.http, other.url, other.payload()))
    assert drain() == 7

    now = dt.datetime.now(dt.UTC)
    window = {
        "from_date": str(int((now - dt.timedelta(days=1)).timestamp() * 1000)),
        "to_date": str(int((now + dt.timedelta(days=1)).timestamp() * 1000)),
    }
    by_day = await summary(org.http, bucket="day", **window)
    assert by_day["bucket"] == "day" and by_day["total"] == 6
    log = await get_logs(org.http, limit=100)
    expected = Counter(e["status"] for e in log)
    counted: Counter[str] = Counter()
    for bucket in by_day["buckets"]:
        # Days start at midnight in the org's timezone.
        assert bucket["start"].endswith("T00:00:00+05:30"), bucket
        assert bucket["total"] == sum(s["count"] for s in bucket["statuses"])
        counted.update({s["status"]: s["count"] for s in bucket["statuses"]})
    assert (
        counted
        == expected
        == Counter(
            {"EVENT_SUCCESS": 3, "EVENT_FIELD_VALIDATION_FAILED": 2, "INVALID_EVENT_NAME": 1}
        )
    )
    starts = [b["startMs"] for b in by_day["buckets"]]
    assert starts == sorted(starts, reverse=True)

    outcomes = {(o["eventName"], o["status"], o["message"]): o["count"] for o in by_day["outcomes"]}
    assert outcomes[("Shop", "EVENT_SUCCESS", "Event processed successfully")] == 3
    assert outcomes[("Nope", "INVALID_EVENT_NAME", "Invalid event name Nope")] == 1
    assert sum(outcomes.values()) == 6

    by_hour = await summary(org.http, bucket="hour", **window)
    assert by_hour["total"] == 6
    for bucket in by_hour["buckets"]:
        assert bucket["start"].endswith(":00:00+05:30") or bucket["start"].endswith(":30:00+05:30")
        assert bucket["startMs"] % 3_600_000 == 30 * 60_000  # Kolkata hours: hh:30 UTC

    only_nope = await summary(org.http, event_name="Nope", **window)
    assert only_nope["total"] == 1
    assert [o["eventName"] for o in only_nope["outcomes"]] == ["Nope"]
    other_hook = await summary(org.http, webhookId=other.webhook_id, **window)
    assert other_hook["total"] == 0 and other_hook["buckets"] == []
    mine = await summary(org.http, webhookId=org.webhook_id, **window)
    assert mine["total"] == 6

    yesterday = (now - dt.timedelta(days=3)).strftime("%Y-%m-%d")
    empty = await summary(org.http, from_date=yesterday, to_date=yesterday)
    assert empty["total"] == 0 and empty["outcomes"] == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"to_date": "2026-01-01"}, "from_date"),
        ({"from_date": "2026-01-01"}, "to_date"),
        ({"from_date": "yesterday", "to_date": "2026-01-01"}, "from_date"),
        ({"from_date": "2026-01-02", "to_date": "2026-01-01"}, "from_date"),
        ({"from_date": "2024-01-01", "to_date": "2026-01-01"}, "to_date"),
        ({"from_date": "2026-01-01", "to_date": "2026-01-01", "bucket": "week"}, "bucket"),
        ({"from_date": "2026-01-01", "to_date": "2026-01-01", "webhookId": "x"}, "webhookId"),
        (
            {"from_date": "2026-01-01", "to_date": "2026-01-01", "event_name": "e" * 201},
            "event_name",
        ),
    ],
)
async def test_bad_input_is_a_400_naming_the_parameter(
    make_tenant: TenantFactory, params: dict[str, str], name: str
) -> None:
    tenant = await make_tenant()
    r = await tenant.http.get(SUMMARY, params=params)
    assert_error(r, 400, 400, name)


async def test_a_day_of_the_org(make_tenant: TenantFactory, drain: Drain) -> None:
    """A date names the org's day: today's entries are in today's summary."""
    tenant = await make_tenant()
    org = await setup_org(tenant, "Visit")
    accepted(await post_json(org.http, org.url, org.payload()))
    assert drain() == 1
    body = await summary(org.http, from_date=today(), to_date=today(), bucket="day")
    assert body["total"] == 1
    [bucket] = body["buckets"]
    assert bucket["start"] == f"{today()}T00:00:00Z"
    assert bucket["statuses"] == [{"status": "EVENT_SUCCESS", "count": 1}]
