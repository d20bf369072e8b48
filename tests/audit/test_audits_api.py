"""GET /api_gateway/v2/audits: pagination, sorting, date ranges, filters, bad input, plans.

Entries are made two ways: through the write APIs (realistic events, headers,
sources) and, where exact timestamps matter, inserted directly as rows of
``audit_entries`` (inserts are what the writers do too; the append-only
triggers refuse only UPDATE and DELETE).
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.audit.repository import AuditQuery, AuditReads, audit_queries
from eventrail.audit.service import EVENT_TYPES, REFERENCE_TYPES, audit_page
from eventrail.db import Database
from eventrail.kit.fastdb import ReadPool
from eventrail.models import AuditEntry, AuditRef
from tests.fixtures.factories import Tenant

AUDITS = "/api_gateway/v2/audits"
IST = timezone(timedelta(hours=5, minutes=30))
# 2024-03-10 12:00:00 UTC == 2024-03-10 17:30:00 in Asia/Kolkata
T0 = int(datetime(2024, 3, 10, 12, 0, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000
ENTRY_KEYS = [
    "updatedByUser",
    "updatedBy",
    "orgId",
    "entityType",
    "entityId",
    "createdOn",
    "requestId",
    "till",
    "store",
    "userContextDetails",
    "victimUserDetails",
    "survivorUserDetails",
    "source",
    "updatedByMode",
    "autoUpdateTime",
    "events",
]
AUTH_MESSAGE = "Please check your username/password or authentication token"


# -- helpers ---------------------------------------------------------------------
def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def new_entity_id() -> int:
    return 10**12 + uuid.uuid4().int % 10**12


def mobile() -> str:
    return f"91{uuid.uuid4().int % 10**10:010d}"


def stored_event(
    reference_type: str = "StandardField", field: str = "FirstName", current: str = "x"
) -> dict[str, Any]:
    return {
        "referenceType": reference_type,
        "eventType": EVENT_TYPES[reference_type],
        "updatedField": field,
        "additionalFields": {"previousValue": "NA", "currentValue": current},
        "associateEntities": None,
        "psi": False,
    }


def insert_entries(
    db: Database,
    org_id: int,
    entity_id: int,
    rows: list[tuple[str, int, int]],
    *,
    entity_type: str = "CUSTOMER",
    source: str | None = "INSTORE",
) -> None:
    """Entries (requestId, autoUpdateTime, createdOn) of one entity, in list order."""
    with db.transaction() as session:
        session.add_all(
            AuditEntry(
                org_id=org_id,
                entity_type=entity_type,
                entity_id=entity_id,
                request_id=request_id,
                updated_by=1,
                till=None,
                store=None,
                user_context=None,
                victim_details=None,
                survivor_details=None,
                source=source,
                updated_by_mode="API",
                auto_update_time=auto,
                created_on=created,
                events=[stored_event(current=request_id)],
            )
            for request_id, auto, created in rows
        )


async def get_audits(t: Tenant, **params: Any) -> httpx.Response:
    return await t.http.get(AUDITS, params=params)


async def page(t: Tenant, **params: Any) -> dict[str, Any]:
    r = await get_audits(t, **params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"data", "pagination"}
    return body


def request_ids(body: dict[str, Any]) -> list[str]:
    return [entry["requestId"] for entry in body["data"]]


async def add_customer(t: Tenant, body: dict[str, Any], **kwargs: Any) -> int:
    r = await t.http.post("/v2/customers", json=body, **kwargs)
    assert r.status_code == 200, r.text
    customer_id: int = r.json()["createdId"]
    return customer_id


async def define_field(t: Tenant, name: str, **extra: Any) -> None:
    body = {"entityType": "CUSTOMER", "kind": "custom", "name": name, "auditTrail": True}
    body.update(extra)
    r = await t.http.post("/v2/orgs/settings/fields", json=body)
    assert r.status_code == 200, r.text


# -- pagination ------------------------------------------------------------------
async def test_pagination_arithmetic_23_entries_limit_10(tenant: Tenant, db: Database) -> None:
    entity = new_entity_id()
    rows = [(f"r{i:02d}", T0 + i * 1000, T0 + i * 1000 + 5) for i in range(23)]
    insert_entries(db, tenant.org_id, entity, rows)
    newest_first = [f"r{i:02d}" for i in reversed(range(23))]

    seen: list[str] = []
    for page_no, expected in ((0, 10), (1, 10), (2, 3)):
        body = await page(tenant, entityType="CUSTOMER", entityId=entity, limit=10, pageNo=page_no)
        assert body["pagination"] == {
            "totalElements": 23,
            "totalPages": 3,
            "numberOfElements": expected,
            "number": page_no,
        }
        assert len(body["data"]) == expected
        seen += request_ids(body)
    assert seen == newest_first

    for beyond in (3, 4, 1000):
        body = await page(tenant, entityType="CUSTOMER", entityId=entity, limit=10, pageNo=beyond)
        assert body["data"] == []
        assert body["pagination"] == {
            "totalElements": 23,
            "totalPages": 3,
            "numberOfElements": 0,
            "number": beyond,
        }


@pytest.mark.parametrize("limit", [1, 3, 7, 10, 22, 23, 24, 100])
async def test_pages_partition_the_entries_for_any_limit(
    tenant: Tenant, db: Database, limit: int
) -> None:
    entity = new_entity_id()
    rows = [(f"r{i:02d}", T0 + i * 1000, T0 + i * 1000) for i in range(23)]
    insert_entries(db, tenant.org_id, entity, rows)
    pages = math.ceil(23 / limit)
    collected: list[str] = []
    for page_no in range(pages):
        body = await page(
            tenant, entityType="CUSTOMER", entityId=entity, limit=limit, pageNo=page_no
        )
        size = min(limit, 23 - page_no * limit)
        assert body["pagination"] == {
            "totalElements": 23,
            "totalPages": pages,
            "numberOfElements": size,
            "number": page_no,
        }
        collected += request_ids(body)
    assert collected == [f"r{i:02d}" for i in reversed(range(23))]


async def test_default_limit_is_10_and_default_page_is_0(tenant: Tenant, db: Database) -> None:
    entity = new_entity_id()
    insert_entries(db, tenant.org_id, entity, [(f"r{i:02d}", T0 + i, T0 + i) for i in range(12)])
    body = await page(tenant, entityType="CUSTOMER", entityId=entity)
    assert body["pagination"] == {
        "totalElements": 12,
        "totalPages": 2,
        "numberOfElements": 10,
        "number": 0,
    }
    assert request_ids(body) == [f"r{i:02d}" for i in reversed(range(2, 12))]


async def test_exact_multiple_of_limit_has_no_empty_trailing_page(
    tenant: Tenant, db: Database
) -> None:
    entity = new_entity_id()
    insert_entries(db, tenant.org_id, entity, [(f"r{i:02d}", T0 + i, T0 + i) for i in range(20)])
    body = await page(tenant, entityType="CUSTOMER", entityId=entity, limit=10, pageNo=1)
    assert body["pagination"]["totalPages"] == 2
    assert body["pagination"]["numberOfElements"] == 10
    body = await page(tenant, entityType="CUSTOMER", entityId=entity, limit=10, pageNo=2)
    assert body["data"] == []
    assert body["pagination"]["totalPages"] == 2


@pytest.mark.parametrize("entity_type", ["CUSTOMER", "CARD"])
async def test_unknown_entity_is_an_empty_page(tenant: Tenant, entity_type: str) -> None:
    body = await page(tenant, entityType=entity_type, entityId=new_entity_id())
    assert body == {
        "data": [],
        "pagination": {"totalElements": 0, "totalPages": 0, "numberOfElements": 0, "number": 0},
    }


async def test_entity_type_separates_customer_and_card_with_same_id(
    tenant: Tenant, db: Database
) -> None:
    entity = new_entity_id()
    insert_entries(db, tenant.org_id, entity, [("cust", T0, T0)], entity_type="CUSTOMER")
    insert_entries(
        db,
        tenant.org_id,
        entity,
        [("card1", T0, T0), ("card2", T0 + 1, T0 + 1)],
        entity_type="CARD",
    )
    assert request_ids(await page(tenant, entityType="CUSTOMER", entityId=entity)) == ["cust"]
    assert request_ids(await page(tenant, entityType="CARD", entityId=entity)) == [
        "card2",
        "card1",
    ]
    body = await page(tenant, entityType="CARD", entityId=entity)
    assert {e["entityType"] for e in body["data"]} == {"CARD"}
    assert {e["entityId"] for e in body["data"]} == {entity}


# -- sorting ---------------------------------------------------------------------
@pytest.fixture
def sortable(tenant: Tenant, db: Database) -> int:
    """Nine entries whose createdOn order is the reverse of their autoUpdateTime order."""
    entity = new_entity_id()
    rows = [(f"r{i}", T0 + i * 1000, T0 + 10**7 - i * 1000) for i in range(9)]
    insert_entries(db, tenant.org_id, entity, rows)
    return entity


ASCENDING = [f"r{i}" for i in range(9)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ASCENDING[::-1]),
        ({"sortOrder": "DESC"}, ASCENDING[::-1]),
        ({"sortOrder": "ASC"}, ASCENDING),
        ({"sortBy": "autoUpdateTime"}, ASCENDING[::-1]),
        ({"sortBy": "autoUpdateTime", "sortOrder": "ASC"}, ASCENDING),
        ({"sortBy": "autoUpdateTime", "sortOrder": "DESC"}, ASCENDING[::-1]),
        # createdOn runs the other way round in this data set
        ({"sortBy": "createdOn"}, ASCENDING),
        ({"sortBy": "createdOn", "sortOrder": "DESC"}, ASCENDING),
        ({"sortBy": "createdOn", "sortOrder": "ASC"}, ASCENDING[::-1]),
    ],
)
async def test_sort_by_and_sort_order(
    tenant: Tenant, sortable: int, params: dict[str, str], expected: list[str]
) -> None:
    body = await page(tenant, entityType="CUSTOMER", entityId=sortable, limit=100, **params)
    assert request_ids(body) == expected
    key = "createdOn" if params.get("sortBy") == "createdOn" else "autoUpdateTime"
    values = [entry[key] for entry in body["data"]]
    descending = params.get("sortOrder", "DESC") == "DESC"
    assert values == sorted(values, reverse=descending)


@pytest.mark.parametrize("sort_by", ["autoUpdateTime", "createdOn"])
@pytest.mark.parametrize("sort_order", ["ASC", "DESC"])
async def test_sorted_pages_are_consistent_across_pages(
    tenant: Tenant, sortable: int, sort_by: str, sort_order: str
) -> None:
    full = await page(
        tenant,
        entityType="CUSTOMER",
        entityId=sortable,
        limit=100,
        sortBy=sort_by,
        sortOrder=sort_order,
    )
    paged: list[str] = []
    for page_no in range(3):
        body = await page(
            tenant,
            entityType="CUSTOMER",
            entityId=sortable,
            limit=4,
            pageNo=page_no,
            sortBy=sort_by,
            sortOrder=sort_order,
        )
        paged += request_ids(body)
    assert paged == request_ids(full)


@pytest.mark.parametrize("sort_by", ["autoUpdateTime", "createdOn"])
async def test_equal_timestamps_still_page_deterministically(
    tenant: Tenant, db: Database, sort_by: str
) -> None:
    entity = new_entity_id()
    insert_entries(db, tenant.org_id, entity, [(f"t{i:02d}", T0, T0) for i in range(15)])
    orders: dict[str, list[str]] = {}
    for sort_order in ("ASC", "DESC"):
        collected: list[str] = []
        for page_no in range(4):
            body = await page(
                tenant,
                entityType="CUSTOMER",
                entityId=entity,
                limit=4,
                pageNo=page_no,
                sortBy=sort_by,
                sortOrder=sort_order,
            )
            collected += request_ids(body)
        assert sorted(collected) == [f"t{i:02d}" for i in range(15)]  # no repeats, no gaps
        orders[sort_order] = collected
    assert orders["ASC"] == orders["DESC"][::-1]


# -- date ranges -----------------------------------------------------------------
def minute_rows() -> list[tuple[str, int, int]]:
    """m0..m9 at T0 + k minutes, and m6b half a second after m6."""
    rows = [(f"m{k}", T0 + k * MINUTE, T0 + k * MINUTE) for k in range(10)]
    rows.append(("m6b", T0 + 6 * MINUTE + 500, T0 + 6 * MINUTE + 500))
    return rows


async def in_range(t: Tenant, entity: int, **params: Any) -> list[str]:
    body = await page(
        t, entityType="CUSTOMER", entityId=entity, limit=100, sortOrder="ASC", **params
    )
    assert body["pagination"]["totalElements"] == len(body["data"])
    return request_ids(body)


async def test_date_range_in_epoch_milliseconds_is_inclusive(tenant: Tenant, db: Database) -> None:
    entity = new_entity_id()
    insert_entries(db, tenant.org_id, entity, minute_rows())
    start, end = T0 + 3 * MINUTE, T0 + 6 * MINUTE
    assert await in_range(tenant, entity, startDate=start, endDate=end) == [
        "m3",
        "m4",
        "m5",
        "m6",
    ]
    assert await in_range(tenant, entity, startDate=start + 1, endDate=end - 1) == ["m4", "m5"]
    assert await in_range(tenant, entity, startDate=start, endDate=start) == ["m3"]
    assert await in_range(tenant, entity, startDate=T0 + 8 * MINUTE) == ["m8", "m9"]
    assert await in_range(tenant, entity, endDate=T0 + MINUTE) == ["m0", "m1"]
    assert await in_range(tenant, entity, startDate=T0 + 10 * MINUTE) == []
    assert await in_range(tenant, entity, endDate=T0 - 1) == []
    # the range filters the count too
    body = await page(
        tenant, entityType="CUSTOMER", entityId=entity, limit=2, startDate=start, endDate=end
    )
    assert body["pagination"] == {
        "totalElements": 4,
        "totalPages": 2,
        "numberOfElements": 2,
        "number": 0,
    }
    assert request_ids(body) == ["m6", "m5"]


async def test_datetime_strings_use_the_org_timezone(make_tenant: Any, db: Database) -> None:
    kolkata: Tenant = await make_tenant(timezone="Asia/Kolkata")
    utc: Tenant = await make_tenant()
    entities = {}
    for t in (kolkata, utc):
        entities[t.org_id] = new_entity_id()
        insert_entries(db, t.org_id, entities[t.org_id], minute_rows())
    expected = ["m3", "m4", "m5", "m6", "m6b"]  # a second-precision end includes its second

    k_entity = entities[kolkata.org_id]
    # 17:33 IST is 12:03 UTC
    for start, end in (
        ("2024-03-10 17:33:00", "2024-03-10 17:36:00"),
        ("2024-03-10T17:33:00", "2024-03-10T17:36:00"),
        ("2024-03-10T12:03:00Z", "2024-03-10T12:06:00Z"),
        ("2024-03-10T12:03:00+00:00", "2024-03-10T12:06:00+0000"),
        ("2024-03-10T17:33:00+05:30", "2024-03-10T17:36:00+05:30"),
        ("2024-03-10T07:33:00-04:30", "2024-03-10T07:36:00-04:30"),
    ):
        assert await in_range(kolkata, k_entity, startDate=start, endDate=end) == expected, (
            start,
            end,
        )
    # Read as UTC wall time these would match; in the Kolkata org they are 5h30 earlier.
    assert (
        await in_range(
            kolkata, k_entity, startDate="2024-03-10 12:03:00", endDate="2024-03-10 12:06:00"
        )
        == []
    )
    assert await in_range(kolkata, k_entity, startDate="2024-03-10 17:38:00") == ["m8", "m9"]
    assert await in_range(kolkata, k_entity, endDate="2024-03-10 17:30:59") == ["m0"]

    u_entity = entities[utc.org_id]
    assert (
        await in_range(
            utc, u_entity, startDate="2024-03-10 12:03:00", endDate="2024-03-10 12:06:00"
        )
        == expected
    )
    assert (
        await in_range(
            utc, u_entity, startDate="2024-03-10 17:33:00", endDate="2024-03-10 17:36:00"
        )
        == []
    )


async def test_date_only_bounds_cover_whole_days_in_the_org_timezone(
    make_tenant: Any, db: Database
) -> None:
    kolkata: Tenant = await make_tenant(timezone="Asia/Kolkata")
    utc: Tenant = await make_tenant()
    midnight = datetime(2024, 3, 10, tzinfo=IST)
    rows = [
        ("before", ms(midnight) - 1, ms(midnight) - 1),  # 2024-03-09 23:59:59.999 IST
        ("first", ms(midnight), ms(midnight)),  # 2024-03-10 00:00:00.000 IST
        ("last", ms(midnight) + 86_400_000 - 1, ms(midnight) + 86_400_000 - 1),
        ("after", ms(midnight) + 86_400_000, ms(midnight) + 86_400_000),  # 03-11 00:00 IST
    ]
    entity = new_entity_id()
    insert_entries(db, kolkata.org_id, entity, rows)
    insert_entries(db, utc.org_id, entity, rows)

    day = "2024-03-10"
    assert await in_range(kolkata, entity, startDate=day, endDate=day) == ["first", "last"]
    assert await in_range(kolkata, entity, startDate=day) == ["first", "last", "after"]
    assert await in_range(kolkata, entity, endDate=day) == ["before", "first", "last"]
    assert await in_range(kolkata, entity, startDate="2024-03-09", endDate="2024-03-11") == [
        "before",
        "first",
        "last",
        "after",
    ]
    # In UTC the day 2024-03-10 runs from 05:30 to 05:29:59.999 next day IST.
    assert await in_range(utc, entity, startDate=day, endDate=day) == ["last", "after"]
    # Epoch milliseconds mean the same instant in every org.
    for t in (kolkata, utc):
        assert await in_range(t, entity, startDate=ms(midnight), endDate=ms(midnight)) == ["first"]


async def test_date_only_bounds_follow_daylight_saving_days(make_tenant: Any, db: Database) -> None:
    """2024-03-10 in New York is 23 hours long (EST -> EDT at 02:00)."""
    ny: Tenant = await make_tenant(timezone="America/New_York")
    day_start = ms(datetime(2024, 3, 10, 5, 0, tzinfo=UTC))  # 00:00 EST
    next_day = ms(datetime(2024, 3, 11, 4, 0, tzinfo=UTC))  # 00:00 EDT
    rows = [
        ("before", day_start - 1, day_start - 1),
        ("first", day_start, day_start),
        ("last", next_day - 1, next_day - 1),
        ("after", next_day, next_day),
    ]
    entity = new_entity_id()
    insert_entries(db, ny.org_id, entity, rows)
    assert await in_range(ny, entity, startDate="2024-03-10", endDate="2024-03-10") == [
        "first",
        "last",
    ]
    # wall-clock times on either side of the change use their own offsets
    assert await in_range(
        ny, entity, startDate="2024-03-10 00:00:00", endDate="2024-03-10 23:59:59"
    ) == ["first", "last"]


async def test_date_range_applies_to_entries_written_by_the_api(tenant: Tenant) -> None:
    customer = await add_customer(
        tenant,
        {
            "profiles": [
                {"firstName": "Ana", "identifiers": [{"type": "mobile", "value": mobile()}]}
            ]
        },
    )
    r = await tenant.http.put(f"/v2/customers/{customer}", json={"profiles": [{"lastName": "B"}]})
    assert r.status_code == 200, r.text
    body = await page(tenant, entityType="CUSTOMER", entityId=customer, sortOrder="ASC")
    first, second = (entry["autoUpdateTime"] for entry in body["data"])
    assert first <= second

    async def times(**params: Any) -> list[int]:
        found = await page(
            tenant, entityType="CUSTOMER", entityId=customer, sortOrder="ASC", **params
        )
        return [e["autoUpdateTime"] for e in found["data"]]

    assert await times(startDate=first, endDate=second) == [first, second]
    assert await times(startDate=second) == [t for t in (first, second) if t >= second]
    assert await times(endDate=first) == [t for t in (first, second) if t <= first]
    assert await times(endDate=first - 1) == []
    assert await times(startDate=second + 1) == []
    as_text = datetime.fromtimestamp(first / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert first in await times(startDate=as_text, endDate=as_text)


# -- referenceType / referenceValue ----------------------------------------------------
@pytest.fixture
async def rich_customer(tenant: Tenant) -> dict[str, Any]:
    """A customer whose creation entry has events of five reference types, then
    one entry each of Identifier, StandardField and CustomerStatus."""
    await define_field(tenant, "color")
    m1, m2 = mobile(), mobile()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    customer = await add_customer(
        tenant,
        {
            "profiles": [
                {
                    "firstName": "Asha",
                    "lastName": "Rao",
                    "identifiers": [
                        {"type": "mobile", "value": m1},
                        {"type": "email", "value": email},
                    ],
                    "commChannels": [{"type": "email", "value": email}],
                    "fields": {"color": "red"},
                }
            ]
        },
    )
    r = await tenant.http.post(
        f"/v2/customers/{customer}/changeIdentifier",
        json={
            "add": [{"type": "mobile", "value": m2}],
            "remove": [{"type": "mobile", "value": m1}],
        },
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.put(
        f"/v2/customers/{customer}", json={"profiles": [{"firstName": "Ash"}]}
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": "mobile", "identifierValue": m2, "source": "INSTORE"},
        json={"reason": "test", "label": "SUSPENDED"},
    )
    assert r.status_code == 200, r.text
    body = await page(tenant, entityType="CUSTOMER", entityId=customer, sortOrder="ASC")
    assert body["pagination"]["totalElements"] == 4
    creation, change, rename, status = body["data"]
    return {
        "id": customer,
        "creation": creation,
        "change": change,
        "rename": rename,
        "status": status,
        "email": email,
    }


CREATION_EVENTS = {
    "StandardField": ["FirstName", "LastName"],
    "CustomerStatus": ["CustomerStatus"],
    "Identifier": ["mobile", "email"],
    "CommChannel": ["email"],
    "CustomField": ["color"],
}


async def test_creation_entry_holds_all_its_events_unfiltered(
    tenant: Tenant, rich_customer: dict[str, Any]
) -> None:
    events = rich_customer["creation"]["events"]
    for reference_type, fields in CREATION_EVENTS.items():
        of_type = [
            e["updatedField"] for e in events if e["eventType"] == EVENT_TYPES[reference_type]
        ]
        assert sorted(of_type) == sorted(fields), reference_type
    assert len(events) == sum(len(f) for f in CREATION_EVENTS.values())


@pytest.mark.parametrize("reference_type", list(CREATION_EVENTS))
async def test_reference_type_keeps_matching_entries_with_only_matching_events(
    tenant: Tenant, rich_customer: dict[str, Any], reference_type: str
) -> None:
    body = await page(
        tenant, entityType="CUSTOMER", entityId=rich_customer["id"], referenceType=reference_type
    )
    creation = next(
        e for e in body["data"] if e["requestId"] == rich_customer["creation"]["requestId"]
    )
    assert {e["eventType"] for e in creation["events"]} == {EVENT_TYPES[reference_type]}
    assert sorted(e["updatedField"] for e in creation["events"]) == sorted(
        CREATION_EVENTS[reference_type]
    )
    for entry in body["data"]:
        assert entry["events"], "a kept entry shows at least one event"
        assert {e["eventType"] for e in entry["events"]} == {EVENT_TYPES[reference_type]}
    # the other entries that have this type, and only those
    others = {
        "Identifier": [rich_customer["change"]],
        "StandardField": [rich_customer["rename"]],
        "CustomerStatus": [rich_customer["status"]],
    }.get(reference_type, [])
    expected = {rich_customer["creation"]["requestId"]} | {e["requestId"] for e in others}
    assert set(request_ids(body)) == expected
    assert body["pagination"]["totalElements"] == len(expected)


@pytest.mark.parametrize(
    "reference_type",
    [
        "ExtendedField",
        "CardStatus",
        "SubscriptionStatus",
        "CustomerMerge",
        "CardCustomField",
        "CardExtendedField",
    ],
)
async def test_reference_type_without_matching_events_gives_an_empty_page(
    tenant: Tenant, rich_customer: dict[str, Any], reference_type: str
) -> None:
    body = await page(
        tenant, entityType="CUSTOMER", entityId=rich_customer["id"], referenceType=reference_type
    )
    assert body["data"] == []
    assert body["pagination"]["totalElements"] == 0
    assert body["pagination"]["totalPages"] == 0


@pytest.mark.parametrize("spelling", ["identifier", "IDENTIFIER", "iDeNtIfIeR"])
async def test_reference_type_is_case_insensitive(
    tenant: Tenant, rich_customer: dict[str, Any], spelling: str
) -> None:
    body = await page(
        tenant, entityType="CUSTOMER", entityId=rich_customer["id"], referenceType=spelling
    )
    assert body["pagination"]["totalElements"] == 2
    assert {e["eventType"] for entry in body["data"] for e in entry["events"]} == {"Identifiers"}


async def test_reference_value_matches_updated_field_in_any_type(
    tenant: Tenant, rich_customer: dict[str, Any]
) -> None:
    cid = rich_customer["id"]
    body = await page(tenant, entityType="CUSTOMER", entityId=cid, referenceValue="mobile")
    assert request_ids(body) == [
        rich_customer["change"]["requestId"],
        rich_customer["creation"]["requestId"],
    ]
    change, creation = body["data"]
    assert [e["updatedField"] for e in creation["events"]] == ["mobile"]
    assert change["events"] == rich_customer["change"]["events"]

    # "email" is both an Identifier and a Communication Channel of the creation entry
    body = await page(tenant, entityType="CUSTOMER", entityId=cid, referenceValue="email")
    assert request_ids(body) == [rich_customer["creation"]["requestId"]]
    assert sorted(e["eventType"] for e in body["data"][0]["events"]) == [
        "Communication Channels",
        "Identifiers",
    ]

    body = await page(tenant, entityType="CUSTOMER", entityId=cid, referenceValue="FirstName")
    assert set(request_ids(body)) == {
        rich_customer["creation"]["requestId"],
        rich_customer["rename"]["requestId"],
    }
    assert all(
        [e["updatedField"] for e in entry["events"]] == ["FirstName"] for entry in body["data"]
    )

    body = await page(tenant, entityType="CUSTOMER", entityId=cid, referenceValue="color")
    assert request_ids(body) == [rich_customer["creation"]["requestId"]]
    assert body["data"][0]["events"] == [
        {
            "eventType": "Custom Fields",
            "updatedField": "color",
            "additionalFields": {"previousValue": "NA", "currentValue": "red"},
            "associateEntities": None,
        }
    ]

    body = await page(tenant, entityType="CUSTOMER", entityId=cid, referenceValue="nosuchfield")
    assert body["data"] == []
    assert body["pagination"]["totalElements"] == 0


async def test_reference_type_and_value_combine(
    tenant: Tenant, rich_customer: dict[str, Any]
) -> None:
    cid = rich_customer["id"]
    body = await page(
        tenant,
        entityType="CUSTOMER",
        entityId=cid,
        referenceType="Identifier",
        referenceValue="email",
    )
    assert request_ids(body) == [rich_customer["creation"]["requestId"]]
    assert body["data"][0]["events"] == [
        {
            "eventType": "Identifiers",
            "updatedField": "email",
            "additionalFields": {"previousValue": "NA", "currentValue": rich_customer["email"]},
            "associateEntities": None,
        }
    ]
    body = await page(
        tenant,
        entityType="CUSTOMER",
        entityId=cid,
        referenceType="CommChannel",
        referenceValue="email",
    )
    assert [e["eventType"] for e in body["data"][0]["events"]] == ["Communication Channels"]
    body = await page(
        tenant,
        entityType="CUSTOMER",
        entityId=cid,
        referenceType="StandardField",
        referenceValue="mobile",
    )
    assert body["data"] == []
    assert body["pagination"]["totalElements"] == 0


async def test_filters_combine_with_pagination_and_sorting(
    tenant: Tenant, rich_customer: dict[str, Any]
) -> None:
    cid = rich_customer["id"]
    pages = []
    for page_no in range(3):
        body = await page(
            tenant,
            entityType="CUSTOMER",
            entityId=cid,
            referenceType="Identifier",
            limit=1,
            pageNo=page_no,
        )
        pages.append(body)
    assert [p["pagination"] for p in pages] == [
        {"totalElements": 2, "totalPages": 2, "numberOfElements": 1, "number": 0},
        {"totalElements": 2, "totalPages": 2, "numberOfElements": 1, "number": 1},
        {"totalElements": 2, "totalPages": 2, "numberOfElements": 0, "number": 2},
    ]
    assert request_ids(pages[0]) == [rich_customer["change"]["requestId"]]
    assert request_ids(pages[1]) == [rich_customer["creation"]["requestId"]]
    body = await page(
        tenant, entityType="CUSTOMER", entityId=cid, referenceType="Identifier", sortOrder="ASC"
    )
    assert request_ids(body) == [
        rich_customer["creation"]["requestId"],
        rich_customer["change"]["requestId"],
    ]
    # with a date range starting at the change
    start = rich_customer["change"]["autoUpdateTime"]
    body = await page(
        tenant, entityType="CUSTOMER", entityId=cid, referenceType="Identifier", startDate=start
    )
    assert request_ids(body) == [
        entry["requestId"]
        for entry in (rich_customer["change"], rich_customer["creation"])
        if entry["autoUpdateTime"] >= start
    ]


async def test_card_status_filter_on_card_entity(tenant: Tenant) -> None:
    r = await tenant.http.post(
        "/v2/orgs/settings/cardSeries", json={"name": "Gold", "code": f"G{uuid.uuid4().hex[:6]}"}
    )
    assert r.status_code == 200, r.text
    series = r.json()["seriesId"]
    customer = await add_customer(
        tenant, {"profiles": [{"identifiers": [{"type": "mobile", "value": mobile()}]}]}
    )
    number = f"CARD{uuid.uuid4().hex[:10].upper()}"
    r = await tenant.http.post(
        f"/v2/customers/{customer}/changeIdentifier",
        json={"add": [{"type": "cardnumber", "value": number, "seriesId": series}]},
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.put("/v2/card", json={"cardNumber": number, "statusLabel": "SUSPENDED"})
    assert r.status_code == 200, r.text
    card_id = r.json()["cardId"]

    body = await page(tenant, entityType="CARD", entityId=card_id, referenceType="CardStatus")
    assert body["pagination"]["totalElements"] == 2
    assert all(e["eventType"] == "Card Status" for entry in body["data"] for e in entry["events"])
    body = await page(tenant, entityType="CARD", entityId=card_id, referenceValue="CardStatus")
    assert body["pagination"]["totalElements"] == 2
    for other in ("CardCustomField", "CardExtendedField", "Identifier"):
        body = await page(tenant, entityType="CARD", entityId=card_id, referenceType=other)
        assert body["pagination"]["totalElements"] == 0, other
    # the customer's side of the issue is an Identifiers/cardnumber event
    body = await page(tenant, entityType="CUSTOMER", entityId=customer, referenceValue="cardnumber")
    assert body["pagination"]["totalElements"] == 1
    assert body["data"][0]["events"][0]["additionalFields"]["currentValue"] == number


async def test_every_reference_type_is_accepted(tenant: Tenant) -> None:
    assert len(REFERENCE_TYPES) == 11
    for reference_type in REFERENCE_TYPES:
        body = await page(
            tenant, entityType="CUSTOMER", entityId=new_entity_id(), referenceType=reference_type
        )
        assert body["pagination"]["totalElements"] == 0


# -- source ------------------------------------------------------------------------
async def test_source_filter(tenant: Tenant) -> None:
    customer = await add_customer(
        tenant,
        {"profiles": [{"firstName": "S", "identifiers": [{"type": "mobile", "value": mobile()}]}]},
    )
    r = await tenant.http.post(
        f"/v2/customers/{customer}/changeIdentifier",
        params={"source": "WECHAT"},
        json={"add": [{"type": "wechat", "value": f"wx-{uuid.uuid4().hex[:8]}"}]},
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.post(
        f"/v2/customers/{customer}/subscriptions",
        json={"subscriptions": [{"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"}]},
    )
    assert r.status_code == 200, r.text

    everything = await page(tenant, entityType="CUSTOMER", entityId=customer)
    assert [e["source"] for e in everything["data"]] == [None, "WECHAT", "INSTORE"]

    instore = await page(tenant, entityType="CUSTOMER", entityId=customer, source="INSTORE")
    assert [e["source"] for e in instore["data"]] == ["INSTORE"]
    assert instore["pagination"]["totalElements"] == 1
    wechat = await page(tenant, entityType="CUSTOMER", entityId=customer, source="WECHAT")
    assert [e["source"] for e in wechat["data"]] == ["WECHAT"]
    assert wechat["data"][0]["events"][0]["updatedField"] == "wechat"
    none = await page(tenant, entityType="CUSTOMER", entityId=customer, source="FACEBOOK")
    assert none["data"] == []
    assert none["pagination"]["totalElements"] == 0
    # source combines with referenceType
    combo = await page(
        tenant,
        entityType="CUSTOMER",
        entityId=customer,
        source="INSTORE",
        referenceType="Identifier",
    )
    assert combo["pagination"]["totalElements"] == 1
    assert [e["updatedField"] for e in combo["data"][0]["events"]] == ["mobile"]


# -- includeUserContext -------------------------------------------------------------
USER_CONTEXT_HEADERS = {
    "USER-CONTEXT-ENTITY-TYPE": "INTOUCH_ADMIN_USER",
    "USER-CONTEXT-ENTITY-ID": "75015489",
    "USER-CONTEXT-ENTITY-SOURCE": "MEMBER_CARE",
    "USER-CONTEXT-ENTITY-SOURCE-ID": "Achyuthanandan S",
}
EMPTY_CONTEXT = {"entityType": None, "entityId": None, "entitySource": None, "entitySourceId": None}


async def test_include_user_context(tenant: Tenant) -> None:
    customer = await add_customer(
        tenant,
        {"profiles": [{"firstName": "U", "identifiers": [{"type": "mobile", "value": mobile()}]}]},
    )
    r = await tenant.http.put(
        f"/v2/customers/{customer}",
        json={"profiles": [{"firstName": "V"}]},
        headers=USER_CONTEXT_HEADERS,
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.put(
        f"/v2/customers/{customer}",
        json={"profiles": [{"firstName": "W"}]},
        headers={"USER-CONTEXT-ENTITY-TYPE": "SCRIPT"},
    )
    assert r.status_code == 200, r.text

    for params in ({}, {"includeUserContext": "false"}):
        body = await page(tenant, entityType="CUSTOMER", entityId=customer, **params)
        assert [e["userContextDetails"] for e in body["data"]] == [None, None, None]
        assert list(body["data"][0]) == ENTRY_KEYS

    body = await page(tenant, entityType="CUSTOMER", entityId=customer, includeUserContext="true")
    partial, full, plain = body["data"]
    assert full["userContextDetails"] == {
        "entityType": "INTOUCH_ADMIN_USER",
        "entityId": "75015489",
        "entitySource": "MEMBER_CARE",
        "entitySourceId": "Achyuthanandan S",
    }
    assert full["updatedByMode"] == "MEMBER_CARE"
    assert partial["userContextDetails"] == {**EMPTY_CONTEXT, "entityType": "SCRIPT"}
    assert partial["updatedByMode"] == "API"
    assert plain["userContextDetails"] == EMPTY_CONTEXT  # as in seeds/003
    assert plain["updatedByMode"] == "API"
    assert list(full) == ENTRY_KEYS
    # the entry itself is the same either way
    for entry in (partial, full, plain):
        assert entry["updatedBy"] == tenant.till_id
        assert entry["orgId"] == tenant.org_id
        assert entry["till"]["id"] == tenant.till_id
        assert entry["till"]["code"] == tenant.till_code


# -- bad input -------------------------------------------------------------------------
BASE = {"entityType": "CUSTOMER", "entityId": "1"}
BAD_DATES = [
    "2024-13-01",
    "2024-02-30",
    "yesterday",
    "2024/01/01",
    "12:00",
    "2024-01-01T25:00:00",
    "2024-01-01 23:60:00",
    "2024-01-01T10:00",
    "2024-01-01T10:00:00+25:00",
    "01-02-2024",
    "",
    "-1",
    "1e12",
    "99999999999999999999",
    "null",
]
BAD_REQUESTS: list[tuple[dict[str, str], str]] = [
    ({"entityId": "1"}, "entityType"),
    ({"entityType": "CUSTOMER"}, "entityId"),
    ({}, "entity"),
    ({"entityType": "USER", "entityId": "1"}, "entityType"),
    ({"entityType": "CUSTOMERS", "entityId": "1"}, "entityType"),
    ({"entityType": "", "entityId": "1"}, "entityType"),
    ({"entityType": "CUSTOMER", "entityId": "abc"}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": "-1"}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": "-98662653"}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": "1.5"}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": ""}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": "1e3"}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": str(2**63)}, "entityId"),
    ({"entityType": "CUSTOMER", "entityId": "99999999999999999999999"}, "entityId"),
    *(({**BASE, "limit": v}, "limit") for v in ("0", "101", "abc", "-1", "1.5", "", "1000000")),
    *(({**BASE, "pageNo": v}, "pageNo") for v in ("-1", "abc", "1.5", "")),
    *(({**BASE, "sortBy": v}, "sortBy") for v in ("name", "autoUpdate", "", "id")),
    *(({**BASE, "sortOrder": v}, "sortOrder") for v in ("UP", "ascending", "", "1")),
    *(({**BASE, "referenceType": v}, "referenceType") for v in ("Foo", "", "CUSTOMER", "Mobile")),
    *(({**BASE, "startDate": d}, "startDate") for d in BAD_DATES),
    *(({**BASE, "endDate": d}, "endDate") for d in BAD_DATES),
    *(
        ({**BASE, "includeUserContext": v}, "includeUserContext")
        for v in ("maybe", "2", "yess", "")
    ),
]


def _case_id(case: tuple[dict[str, str], str]) -> str:
    params, name = case
    return f"{name}:{'&'.join(f'{k}={v}' for k, v in params.items())}"


def assert_bad_request(r: httpx.Response, name: str) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert set(error) == {"status", "code", "message"}
    assert error["status"] is False
    assert error["code"] == 400
    assert isinstance(error["message"], str)
    assert name in error["message"], error["message"]
    assert "Traceback" not in r.text
    assert r.headers.get("x-cap-requestid")
    message: str = error["message"]
    return message


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[_case_id(c) for c in BAD_REQUESTS])
async def test_bad_parameters_are_400_naming_the_parameter(
    tenant: Tenant, case: tuple[dict[str, str], str]
) -> None:
    params, name = case
    r = await tenant.http.get(AUDITS, params=params)
    assert_bad_request(r, name)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (str(T0 + 1), str(T0)),
        ("2024-03-11", "2024-03-10"),
        ("2024-03-10 10:00:01", "2024-03-10 10:00:00"),
        ("2024-03-10T10:00:00+05:30", "2024-03-10T04:29:59Z"),
        ("2024-03-10 00:00:00", str(T0 - 86_400_000)),
    ],
)
async def test_start_after_end_is_400(tenant: Tenant, start: str, end: str) -> None:
    r = await tenant.http.get(AUDITS, params={**BASE, "startDate": start, "endDate": end})
    message = assert_bad_request(r, "startDate")
    assert "endDate" in message


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (str(T0), str(T0)),
        ("2024-03-10", "2024-03-10"),
        ("2024-03-10 10:00:00", "2024-03-10 10:00:00"),
        ("2024-03-10T10:00:00+05:30", "2024-03-10T04:30:00Z"),
    ],
)
async def test_start_equal_to_end_is_accepted(tenant: Tenant, start: str, end: str) -> None:
    await page(tenant, **BASE, startDate=start, endDate=end)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "1"},
        {"limit": "100"},
        {"pageNo": "0"},
        {"sortBy": "createdOn", "sortOrder": "ASC"},
        {"includeUserContext": "true"},
        {"includeUserContext": "false"},
        {"startDate": str(T0)},
        {"endDate": "2024-03-10"},
        {"startDate": "2024-03-10 10:00:00"},
        {"startDate": "2024-03-10T10:00:00"},
        {"startDate": "2024-03-10T10:00:00+05:30"},
        {"startDate": "2024-03-10T10:00:00Z"},
        {"source": "INSTORE"},
        {"referenceValue": "mobile"},
    ],
)
async def test_valid_parameters_are_accepted(tenant: Tenant, params: dict[str, str]) -> None:
    body = await page(tenant, **BASE, **params)
    assert body["pagination"]["totalElements"] == 0


async def test_unauthenticated_requests_get_401_before_validation(
    http: httpx.AsyncClient,
) -> None:
    for params in ({}, {"entityType": "NOPE", "entityId": "x"}, {**BASE}):
        r = await http.get(AUDITS, params=params)
        assert r.status_code == 401, r.text
        assert r.json() == {
            "warnings": [],
            "errors": [{"status": False, "code": 401, "message": AUTH_MESSAGE}],
        }


# -- query plans -------------------------------------------------------------------------
def _explain(db: Database, query: AuditQuery) -> list[str]:
    """The plans of the two statements the audits API runs: the count and the page."""
    count_sql, page_sql, params = audit_queries(query)
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    plans: list[str] = []
    with db.transaction(write=False) as session:
        for sql in (count_sql, page_sql):
            rows = session.execute(sa.text(prefix + sql), params).all()
            plans.append("\n".join(" ".join(str(c) for c in row) for row in rows))
    return plans


def _full_scans(plan: str, sqlite: bool) -> list[str]:
    lines = plan.splitlines()
    if sqlite:
        return [line for line in lines if re.search(r"SCAN (audit_\w+|[ekr])\b", line)]
    return [line for line in lines if "Seq Scan" in line]


@pytest.fixture
def crowded_org(tenant: Tenant, db: Database) -> tuple[int, int]:
    """4,000 entries (with refs) over 200 entities of one org, statistics up to date."""
    org = tenant.org_id
    base = new_entity_id()
    entities = [base + i for i in range(200)]
    rows = [
        {
            "org_id": org,
            "entity_type": "CUSTOMER",
            "entity_id": entity,
            "request_id": f"bulk-{entity}-{i}",
            "updated_by": 1,
            "source": "INSTORE",
            "updated_by_mode": "API",
            "auto_update_time": T0 + i * 1000 + (entity - base),
            "created_on": T0 + i * 1000 + (entity - base) + 3,
            "events": [stored_event("Identifier" if i % 2 else "StandardField", "mobile")],
        }
        for entity in entities
        for i in range(20)
    ]
    with db.transaction() as session:
        session.execute(sa.insert(AuditEntry), rows)
        ids = session.execute(
            sa.select(AuditEntry.id, AuditEntry.entity_id, AuditEntry.events).where(
                AuditEntry.org_id == org
            )
        ).all()
        session.execute(
            sa.insert(AuditRef),
            [
                {
                    "entry_id": entry_id,
                    "org_id": org,
                    "entity_type": "CUSTOMER",
                    "entity_id": entity_id,
                    "reference_type": events[0]["referenceType"],
                    "updated_field": events[0]["updatedField"],
                }
                for entry_id, entity_id, events in ids
            ],
        )
    with db.transaction() as session:
        session.execute(sa.text("ANALYZE"))
    return org, entities[57]


@pytest.mark.parametrize(
    ("sort_by", "index"),
    [
        ("autoUpdateTime", "ix_audit_entries_entity_auto_update_time"),
        ("createdOn", "ix_audit_entries_entity_created_on"),
    ],
)
@pytest.mark.parametrize("descending", [True, False])
async def test_page_query_uses_the_entity_index(
    db: Database, crowded_org: tuple[int, int], sort_by: str, index: str, descending: bool
) -> None:
    org, entity = crowded_org
    query = AuditQuery(
        org_id=org,
        entity_type="CUSTOMER",
        entity_id=entity,
        sort_by=sort_by,
        descending=descending,
        limit=10,
        offset=0,
    )
    _, plan = _explain(db, query)
    assert index in plan, plan
    assert _full_scans(plan, db.is_sqlite) == [], plan
    # the rows come in index order: no sort step over the entity's entries
    if db.is_sqlite:
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "Sort" not in plan, plan


@pytest.mark.parametrize(
    ("sort_by", "index"),
    [
        ("autoUpdateTime", "ix_audit_entries_entity_auto_update_time"),
        ("createdOn", "ix_audit_entries_entity_created_on"),
    ],
)
async def test_a_deep_page_skips_rows_in_the_index_and_reads_only_its_own(
    db: Database, crowded_org: tuple[int, int], sort_by: str, index: str
) -> None:
    """Past the first page, the skipped rows are ids from the entity index (a
    subquery) and only the page's rows are read by primary key."""
    org, entity = crowded_org
    query = AuditQuery(
        org_id=org, entity_type="CUSTOMER", entity_id=entity, sort_by=sort_by, offset=10
    )
    _, plan = _explain(db, query)
    assert index in plan, plan
    assert _full_scans(plan, db.is_sqlite) == [], plan
    primary = "sqlite_autoindex_audit_entries_1" if db.is_sqlite else "pk_audit_entries"
    assert primary in plan or "PRIMARY KEY" in plan or "INTEGER PRIMARY KEY" in plan, plan


async def test_count_and_filtered_queries_do_not_scan_the_table(
    db: Database, crowded_org: tuple[int, int]
) -> None:
    org, entity = crowded_org
    counts = "sqlite_autoindex_audit_counts_1" if db.is_sqlite else "pk_audit_counts"
    entity_index = "ix_audit_entries_entity"
    kinds_index = "ix_audit_kinds_entity"
    refs_index = "ix_audit_refs_entity_reference"
    one = {"org_id": org, "entity_type": "CUSTOMER", "entity_id": entity}
    cases: list[tuple[AuditQuery, list[str], list[str]]] = [
        # (query, indexes of the count, indexes of the page)
        (AuditQuery(**one), [counts], [entity_index]),
        (AuditQuery(**one, reference_type="Identifier"), [counts], [kinds_index]),
        (
            AuditQuery(**one, reference_type="Identifier", sort_by="createdOn", descending=False),
            [counts],
            ["ix_audit_kinds_entity_created_on"],
        ),
        (
            AuditQuery(**one, reference_type="Identifier", start_ms=T0, source="INSTORE"),
            [kinds_index],
            [kinds_index],
        ),
        (
            AuditQuery(
                **one, reference_value="mobile", start_ms=T0, end_ms=T0 + 10**6, source="INSTORE"
            ),
            [entity_index, refs_index],
            [entity_index, refs_index],
        ),
    ]
    for query, count_uses, page_uses in cases:
        count_plan, page_plan = _explain(db, query)
        for index in count_uses:
            assert index in count_plan, (query, count_plan)
        for index in page_uses:
            assert index in page_plan, (query, page_plan)
        for plan in (count_plan, page_plan):
            assert _full_scans(plan, db.is_sqlite) == [], plan
        # pages come in index order: no sort step over the entity's entries
        assert "TEMP B-TREE" not in page_plan and "Sort" not in page_plan, page_plan
    queries = [case[0] for case in cases]
    # and the answer is right
    pool = ReadPool(db.settings)
    try:
        result = audit_page(AuditReads(pool), queries[1], include_user_context=False, mask=False)
    finally:
        pool.close()
    assert result["pagination"]["totalElements"] == 10


@pytest.mark.parametrize(
    "params",
    [
        {"pageNo": str(10**18)},
        {"pageNo": str(2**63)},
        {"pageNo": str(10**7), "limit": "100"},
        {"limit": str(2**64)},
        {"entityId": str(2**63 - 1)},
        {"startDate": "0", "endDate": "253402300799999"},
        {"startDate": "9999-12-31 23:59:59"},
        {"endDate": "0001-01-01"},
        {"referenceValue": "x" * 100},
        {"source": "INSTORE' OR '1'='1"},
    ],
)
async def test_extreme_values_never_give_500(tenant: Tenant, params: dict[str, str]) -> None:
    r = await tenant.http.get(AUDITS, params={**BASE, **params})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["data"] == []
    else:
        assert r.json()["errors"][0]["code"] == 400
