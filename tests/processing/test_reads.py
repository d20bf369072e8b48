"""The read APIs' parameters (SPEC §3.4): GET /v2/events/logs and
GET /v2/events/event_data/{userId}."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import (
    EVENT_DATA,
    LOGS,
    PROBE,
    Org,
    accepted,
    add_customer,
    all_logs,
    assert_error,
    customer_events,
    define_event,
    enable_auth,
    envelope,
    get_logs,
    post_json,
    setup_org,
)
from tests.fixtures.pipeline import RECORD_KEYS

KOLKATA = ZoneInfo("Asia/Kolkata")

MALFORMED_DATES = [
    "2024-13-01",
    "2024-00-10",
    "2024-02-30",
    "2023-02-29",
    "yesterday",
    "now",
    "2024/01/01",
    "01-02-2024",
    "2024-1-1",
    "2024-01",
    "12:00:00",
    "2024-01-01T25:00:00",
    "2024-01-01 23:60:00",
    "2024-01-01 10:00",
    "2024-01-01T10:00:00+25:00",
    "2024-01-01T10:00:00+05:30:00",
    "2024-01-01T10:00:00ZZ",
    "2024-01-01T10:00:00.1234567",
    "-1",
    "1e12",
    "1712836800000.5",
    "9999999999999999",
    "0000-01-01",
    "10000-01-01",
    "NaN",
    "null",
    "",
    " ",
    "2024-01-01" * 10,
    "2024-01-01'; DROP TABLE event_logs; --",
]


# -- helpers -------------------------------------------------------------------------
async def post_many(org: Org, payloads: list[dict[str, Any]]) -> list[str]:
    """Post one by one, a few ms apart, so that every startTime differs."""
    ids = []
    for payload in payloads:
        ids.append(accepted(await post_json(org.http, org.url, payload)))
        await asyncio.sleep(0.003)
    return ids


def wall(ms: int, tz: Any, sep: str = " ") -> str:
    """``yyyy-MM-dd HH:mm:ss`` of a moment (whole seconds) in a timezone."""
    moment = datetime.fromtimestamp(ms // 1000, tz=tz)
    return moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")


def day(ms: int, tz: Any, shift: int = 0) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=tz) + timedelta(days=shift)
    return moment.strftime("%Y-%m-%d")


def iso_ms(ms: int, offset: str) -> str:
    """ISO 8601 with milliseconds in a fixed offset (``Z``, ``+05:30``, ``-0300``)."""
    tz: tzinfo = UTC
    if offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime.fromtimestamp(ms / 1000, tz=tz)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}" + offset


def within(
    entries: list[dict[str, Any]], key: Callable[[dict[str, Any]], int], lo: int, hi: int
) -> None:
    for entry in entries:
        assert lo <= key(entry) <= hi, (lo, key(entry), hi)


# -- GET /v2/events/logs ---------------------------------------------------------------
async def test_logs_default_limit_is_10_newest_first(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    ids = await post_many(org, [org.payload(amount=i) for i in range(12)])
    drain()
    r = await tenant.http.get(LOGS)
    body = r.json()
    assert set(body) == {"data", "warnings", "errors"}
    assert body["warnings"] == [] and body["errors"] == []
    data = envelope(r)
    assert len(data) == 10
    assert [e["id"] for e in data] == list(reversed(ids))[:10]
    starts = [e["startTime"] for e in data]
    assert starts == sorted(starts, reverse=True)
    everything = await all_logs(tenant.http)
    assert [e["id"] for e in everything] == list(reversed(ids))


async def test_logs_limit(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    ids = await post_many(org, [org.payload(amount=i) for i in range(4)])
    drain()
    newest_first = list(reversed(ids))
    for limit in (1, 2, 3, 4, 5, 999, 1000):
        data = await get_logs(tenant.http, limit=limit)
        assert [e["id"] for e in data] == newest_first[:limit], limit
    for bad in ("0", "1001", "abc", "-1", "1.5", "", "10000000000000000000000", " 5x"):
        r = await tenant.http.get(LOGS, params={"limit": bad})
        assert_error(r, 400, 400, "limit")


async def test_logs_offset(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    ids = list(reversed(await post_many(org, [org.payload(amount=i) for i in range(7)])))
    drain()
    for offset, limit in ((0, 3), (2, 3), (5, 3), (6, 10), (7, 10), (100, 5)):
        data = await get_logs(tenant.http, offset=offset, limit=limit)
        assert [e["id"] for e in data] == ids[offset : offset + limit], (offset, limit)
    # pages cover the log exactly once
    pages = [await get_logs(tenant.http, offset=o, limit=2) for o in range(0, 8, 2)]
    assert [e["id"] for page in pages for e in page] == ids
    for bad in ("-1", "x", "1.5"):
        assert_error(await tenant.http.get(LOGS, params={"offset": bad}), 400, 400, "offset")


async def test_logs_event_name_filter(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    await define_event(tenant, "Visit")
    shop = await post_many(org, [org.payload(amount=i) for i in range(3)])
    visit = await post_many(org, [{**org.payload(), "event_name": "Visit"} for _ in range(2)])
    other = await post_many(org, [{**org.payload(), "event_name": "Other"}])
    drain()
    for name, expected in (("Shop", shop), ("Visit", visit), ("Other", other)):
        data = await all_logs(tenant.http, event_name=name)
        assert sorted(e["id"] for e in data) == sorted(expected), name
        assert {e["eventName"] for e in data} == {name}
    assert await all_logs(tenant.http, event_name="Nothing") == []
    assert await all_logs(tenant.http, event_name="shop") == []  # exact match
    # with a limit: the newest of that name
    [newest] = await get_logs(tenant.http, event_name="Shop", limit=1)
    assert newest["id"] == shop[-1]
    data = await all_logs(tenant.http, event_name="Other", status="INVALID_EVENT_NAME")
    assert [e["id"] for e in data] == other


async def test_logs_status_filter(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    success = await post_many(org, [org.payload(amount=i) for i in range(2)])
    bad_name = await post_many(org, [{**org.payload(), "event_name": "Nope"}])
    bad_field = await post_many(org, [org.payload(amount="x")])
    no_customer = await post_many(org, [{**org.payload(), "customer": "919000000003"}])
    r = await post_json(org.http, org.url, [1, 2])
    assert_error(r, 400, 400)
    await enable_auth(org, http)
    assert_error(await post_json(http, org.url, org.payload(marker=1)), 401, 401)
    drain()
    expected = {
        "EVENT_SUCCESS": success,
        "INVALID_EVENT_NAME": bad_name,
        "EVENT_FIELD_VALIDATION_FAILED": bad_field,
        "NO_CUSTOMER_DETAILS_PASSED": no_customer,
    }
    for status, ids in expected.items():
        data = await all_logs(tenant.http, status=status)
        # the probes of enable_auth accepted before the cache saw the change
        data = [e for e in data if e.get("eventName") != PROBE["event_name"]]
        assert sorted(e["id"] for e in data) == sorted(ids), status
        assert {e["status"] for e in data} == {status}
    invalid = await all_logs(tenant.http, status="INVALID_PAYLOAD")
    assert [e["inputRequest"] for e in invalid] == ["[1,2]"]
    unauthorized = await all_logs(tenant.http, status="UNAUTHORIZED")
    assert unauthorized, "the refused posts are logged"
    assert all("status" not in e and e["message"] == "Unauthorized" for e in unauthorized)
    assert any(json.loads(e["inputRequest"]).get("marker") == 1 for e in unauthorized)
    everything = await all_logs(tenant.http)
    assert sorted(e["id"] for e in unauthorized) == sorted(
        e["id"] for e in everything if "status" not in e
    )
    assert await all_logs(tenant.http, status="INVALID_GROUP_IDENTIFIER_PASSED") == []
    for bad in ("NOPE", "EVENT_SUCCESS_X", "SUCCESS", "", "EVENT SUCCESS"):
        assert_error(await tenant.http.get(LOGS, params={"status": bad}), 400, 400, "status")


async def test_logs_date_filters_in_every_format(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    tenant = await make_tenant(timezone="Asia/Kolkata")
    org = await setup_org(tenant)
    await post_many(org, [org.payload(amount=i) for i in range(3)])
    drain()
    entries = await all_logs(tenant.http)
    target = entries[1]
    s = target["startTime"]
    sec = s // 1000 * 1000
    ist_day_start = int(
        datetime.fromtimestamp(s / 1000, tz=KOLKATA)
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .timestamp()
        * 1000
    )
    ist_day_end = ist_day_start + 86_400_000 - 1
    forever = 2**53
    # (params, lo, hi, target included)
    cases: list[tuple[dict[str, str], int, int, bool]] = [
        # epoch milliseconds, inclusive
        ({"from_date": str(s)}, s, forever, True),
        ({"from_date": str(s + 1)}, s + 1, forever, False),
        ({"to_date": str(s)}, 0, s, True),
        ({"to_date": str(s - 1)}, 0, s - 1, False),
        ({"from_date": str(s), "to_date": str(s)}, s, s, True),
        # yyyy-MM-dd HH:mm:ss in the org's timezone; an end second covers its whole second
        ({"from_date": wall(sec, KOLKATA)}, sec, forever, True),
        ({"from_date": wall(sec + 1000, KOLKATA)}, sec + 1000, forever, False),
        ({"to_date": wall(sec, KOLKATA)}, 0, sec + 999, True),
        ({"to_date": wall(sec - 1000, KOLKATA)}, 0, sec - 1, False),
        # ISO 8601 without an offset: the org's timezone too
        ({"from_date": wall(sec, KOLKATA, "T")}, sec, forever, True),
        ({"to_date": wall(sec - 1000, KOLKATA, "T")}, 0, sec - 1, False),
        # ... which is not UTC: UTC wall-clock read as IST is 5h30 earlier
        ({"to_date": wall(sec, UTC)}, 0, sec - 19_800_000 + 999, False),
        ({"from_date": wall(sec, UTC, "T")}, sec - 19_800_000, forever, True),
        # ISO 8601 with an offset, to the millisecond
        ({"from_date": iso_ms(s, "Z")}, s, forever, True),
        ({"from_date": iso_ms(s + 1, "Z")}, s + 1, forever, False),
        ({"to_date": iso_ms(s, "+05:30")}, 0, s, True),
        ({"to_date": iso_ms(s - 1, "+05:30")}, 0, s - 1, False),
        ({"from_date": iso_ms(s, "-03:00"), "to_date": iso_ms(s, "+0100")}, s, s, True),
        ({"from_date": iso_ms(s + 1, "+00:00")}, s + 1, forever, False),
        ({"from_date": wall(sec, UTC, "T") + "Z"}, sec, forever, True),
        ({"to_date": wall(sec, UTC, "T") + "Z"}, 0, sec + 999, True),
        ({"to_date": wall(sec, KOLKATA) + "+05:30"}, 0, sec + 999, True),
        # fractions of a second without an offset: the org's timezone, to the millisecond
        ({"to_date": wall(sec, KOLKATA, "T") + f".{s % 1000:03d}"}, 0, s, True),
        ({"from_date": wall(sec, KOLKATA, "T") + f".{s % 1000:03d}"}, s, forever, True),
        (
            {"from_date": wall(s + 1, KOLKATA, "T") + f".{(s + 1) % 1000:03d}"},
            s + 1,
            forever,
            False,
        ),
        ({"to_date": wall(sec - 1000, UTC, "T") + "+00:00"}, 0, sec - 1, False),
        # yyyy-MM-dd: the org's day; a date-only end is the end of that day
        ({"from_date": day(s, KOLKATA)}, ist_day_start, forever, True),
        ({"from_date": day(s, KOLKATA, 1)}, ist_day_end + 1, forever, False),
        ({"to_date": day(s, KOLKATA)}, 0, ist_day_end, True),
        ({"to_date": day(s, KOLKATA, -1)}, 0, ist_day_start - 1, False),
        (
            {"from_date": day(s, KOLKATA), "to_date": day(s, KOLKATA)},
            ist_day_start,
            ist_day_end,
            True,
        ),
    ]
    for params, lo, hi, included in cases:
        data = await all_logs(tenant.http, **params)
        ids = [e["id"] for e in data]
        assert (target["id"] in ids) == included, (params, s)
        within(data, lambda e: e["startTime"], lo, hi)
        expected = [e["id"] for e in entries if lo <= e["startTime"] <= hi]
        assert ids == expected, params
    # an unencoded "+" in the query string arrives as a space: still the offset
    raw = iso_ms(s, "+05:30")
    data = envelope(await tenant.http.get(f"{LOGS}?limit=1000&to_date={raw}"))
    assert target["id"] in [e["id"] for e in data]
    data = envelope(await tenant.http.get(f"{LOGS}?limit=1000&from_date={iso_ms(s + 1, '+05:30')}"))
    assert target["id"] not in [e["id"] for e in data]


async def test_logs_malformed_dates_are_400(tenant: Tenant) -> None:
    for name in ("from_date", "to_date"):
        for value in MALFORMED_DATES:
            r = await tenant.http.get(LOGS, params={name: value})
            assert_error(r, 400, 400, name)


async def test_logs_from_after_to_is_400(tenant: Tenant) -> None:
    for start, end in (
        ("1712836800001", "1712836800000"),
        ("2024-04-12", "2024-04-11"),
        ("2024-04-11 12:00:01", "2024-04-11 12:00:00"),
        ("2024-04-11T12:00:00Z", "2024-04-11T17:29:59+05:30"),
        ("2024-04-12", "1712836800000"),
    ):
        r = await tenant.http.get(LOGS, params={"from_date": start, "to_date": end})
        assert_error(r, 400, 400, "from_date")
    # equal bounds are fine
    r = await tenant.http.get(LOGS, params={"from_date": "2024-04-11", "to_date": "2024-04-11"})
    assert envelope(r) == []


async def test_extreme_but_valid_dates_are_accepted(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    """The first and last days a yyyy-MM-dd can name are dates like any other: an open
    range written as 0001-01-01 .. 9999-12-31 covers everything."""
    org = await setup_org(tenant)
    [rid] = await post_many(org, [org.payload()])
    drain()
    ranges: list[dict[str, str]] = [
        {"from_date": "0001-01-01"},
        {"to_date": "9999-12-30"},
        {"to_date": "9999-12-31 23:59:59"},
        {"to_date": "9999-12-31T23:59:59Z"},
        {"to_date": "253402300799999"},
        {"to_date": "9999-12-31"},
        {"from_date": "0001-01-01", "to_date": "9999-12-31"},
    ]
    for params in ranges:
        data = envelope(await tenant.http.get(LOGS, params=params))
        assert [e["id"] for e in data] == [rid], params
        data = envelope(await tenant.http.get(f"{EVENT_DATA}/{org.customer_id}", params=params))
        assert [e["eventId"] for e in data] == [rid], params


# -- GET /v2/events/event_data/{userId} -------------------------------------------------
async def post_and_drain(org: Org, drain: Callable[[], int], payload: dict[str, Any]) -> str:
    """One event, processed on its own (each gets its own processing time)."""
    rid = accepted(await post_json(org.http, org.url, payload))
    drain()
    await asyncio.sleep(0.003)
    return rid


async def test_event_data_newest_first_with_the_seed_shape(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    tenant = await make_tenant(timezone="Asia/Kolkata")
    org = await setup_org(tenant)
    ids = [await post_and_drain(org, drain, org.payload(amount=i)) for i in range(4)]
    r = await tenant.http.get(f"{EVENT_DATA}/{org.customer_id}")
    body = r.json()
    assert set(body) == {"data", "warnings", "errors"}
    data = envelope(r)
    assert [e["eventId"] for e in data] == list(reversed(ids))
    stamps = [e["additonalAttributes"]["autoUpdateTimeStamp"] for e in data]
    assert stamps == sorted(stamps, reverse=True)
    for record in data:
        assert set(record) == RECORD_KEYS, record
        assert record["userId"] == org.customer_id
        assert record["orgId"] == tenant.org_id
        assert record["eventName"] == "Shop"
        assert record["date"].endswith("+05:30"), record["date"]


async def test_event_data_limit(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    ids = list(reversed([await post_and_drain(org, drain, org.payload()) for _ in range(3)]))
    for limit in (1, 2, 3, 10, 10000):
        data = await customer_events(tenant.http, org.customer_id, limit=limit)
        assert [e["eventId"] for e in data] == ids[:limit]
    for bad in ("0", "10001", "abc", "-1", "2.5", ""):
        r = await tenant.http.get(f"{EVENT_DATA}/{org.customer_id}", params={"limit": bad})
        assert_error(r, 400, 400, "limit")


async def test_event_data_default_limit_is_1000(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    r = await post_json(
        org.http, f"{org.url}/batch", {"events": [org.payload(amount=i) for i in range(1000)]}
    )
    assert r.status_code == 200, r.text
    drain()
    await asyncio.sleep(0.003)
    newest = await post_and_drain(org, drain, org.payload(amount=-1))
    data = await customer_events(tenant.http, org.customer_id)
    assert len(data) == 1000
    assert data[0]["eventId"] == newest
    assert len(await customer_events(tenant.http, org.customer_id, limit=10000)) == 1001


async def test_event_data_event_name_filter(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    await define_event(tenant, "Visit")
    shop = [await post_and_drain(org, drain, org.payload()) for _ in range(2)]
    visit = [await post_and_drain(org, drain, {**org.payload(), "event_name": "Visit"})]
    data = await customer_events(tenant.http, org.customer_id, event_name="Shop")
    assert [e["eventId"] for e in data] == list(reversed(shop))
    data = await customer_events(tenant.http, org.customer_id, event_name="Visit")
    assert [e["eventId"] for e in data] == visit
    assert await customer_events(tenant.http, org.customer_id, event_name="Nope") == []
    data = await customer_events(tenant.http, org.customer_id, event_name="Shop", limit=1)
    assert [e["eventId"] for e in data] == [shop[-1]]


async def test_event_data_date_filters_on_processing_time(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    tenant = await make_tenant(timezone="Asia/Kolkata")
    org = await setup_org(tenant)
    # an event whose own eventDateTime is long ago: the filter is on processing time
    ids = [
        await post_and_drain(org, drain, org.payload(eventDateTime="2001-01-01 00:00:00"))
        for _ in range(3)
    ]
    records = await customer_events(tenant.http, org.customer_id)
    assert [e["eventId"] for e in records] == list(reversed(ids))

    def stamp(e: dict[str, Any]) -> int:
        value: int = e["additonalAttributes"]["autoUpdateTimeStamp"]
        return value

    target = records[1]
    t = stamp(target)
    sec = t // 1000 * 1000
    forever = 2**53
    cases: list[tuple[dict[str, str], int, int, bool]] = [
        ({"from_date": str(t)}, t, forever, True),
        ({"from_date": str(t + 1)}, t + 1, forever, False),
        ({"to_date": str(t)}, 0, t, True),
        ({"to_date": str(t - 1)}, 0, t - 1, False),
        ({"from_date": str(t), "to_date": str(t)}, t, t, True),
        ({"from_date": wall(sec, KOLKATA)}, sec, forever, True),
        ({"to_date": wall(sec - 1000, KOLKATA, "T")}, 0, sec - 1, False),
        ({"to_date": wall(sec, UTC)}, 0, sec - 19_800_000 + 999, False),
        ({"from_date": iso_ms(t, "Z")}, t, forever, True),
        ({"to_date": iso_ms(t - 1, "+05:30")}, 0, t - 1, False),
        ({"to_date": day(t, KOLKATA)}, 0, forever, True),
        ({"to_date": day(t, KOLKATA, -1)}, 0, 0, False),
        ({"from_date": day(t, KOLKATA, 1)}, forever, forever, False),
        ({"from_date": "2001-01-01", "to_date": "2001-01-02"}, forever, forever, False),
    ]
    for params, lo, hi, included in cases:
        data = await customer_events(tenant.http, org.customer_id, **params)
        got = [e["eventId"] for e in data]
        assert (target["eventId"] in got) == included, (params, t)
        expected = [e["eventId"] for e in records if lo <= stamp(e) <= hi]
        assert got == expected, params


async def test_event_data_bad_dates_are_400(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)
    url = f"{EVENT_DATA}/{customer_id}"
    for name in ("from_date", "to_date"):
        for value in MALFORMED_DATES:
            assert_error(await tenant.http.get(url, params={name: value}), 400, 400, name)
    r = await tenant.http.get(url, params={"from_date": "2024-04-12", "to_date": "2024-04-11"})
    assert_error(r, 400, 400, "from_date")


async def test_event_data_bad_user_id_is_400(tenant: Tenant) -> None:
    for bad in ("abc", "0", str(2**64), str(2**63), "-1", "1.5", "1e3", "12abc"):
        r = await tenant.http.get(f"{EVENT_DATA}/{bad}")
        assert_error(r, 400, 400, "userId")


async def test_event_data_user_id_query_must_match_the_path(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    rid = await post_and_drain(org, drain, org.payload())
    url = f"{EVENT_DATA}/{org.customer_id}"
    data = envelope(await tenant.http.get(url, params={"userId": org.customer_id}))
    assert [e["eventId"] for e in data] == [rid]
    for other in (org.customer_id + 1, "abc", 0):
        assert_error(await tenant.http.get(url, params={"userId": other}), 400, 400, "userId")


async def test_event_data_scope_other_than_child_is_400(tenant: Tenant) -> None:
    customer_id, _ = await add_customer(tenant)
    for scope in ("other", "parent", "children", "all", ""):
        r = await tenant.http.get(f"{EVENT_DATA}/{customer_id}", params={"scope": scope})
        assert_error(r, 400, 400, "scope")


async def test_event_data_unknown_customer_is_empty(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    await post_and_drain(org, drain, org.payload())
    silent, _ = await add_customer(tenant)
    for customer_id in (silent, 2**62, org.customer_id + 10_000):
        r = await tenant.http.get(f"{EVENT_DATA}/{customer_id}")
        assert r.status_code == 200, r.text
        assert r.json() == {"data": [], "warnings": [], "errors": []}


async def test_event_by_request_id(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    rid = await post_and_drain(org, drain, org.payload(amount=3))
    failed = await post_and_drain(org, drain, org.payload(amount="x"))
    [record] = envelope(await tenant.http.get(EVENT_DATA, params={"id": rid}))
    assert record["eventId"] == rid
    assert record["additonalAttributes"]["requestId"] == rid
    assert envelope(await tenant.http.get(EVENT_DATA, params={"id": failed})) == []
    assert envelope(await tenant.http.get(EVENT_DATA, params={"id": "no-such-id"})) == []
    assert_error(await tenant.http.get(EVENT_DATA), 400, 400, "id")
