"""Cursor paging of GET /v2/events/logs and GET /v2/events/event_data/{userId}: pages
on (time, id) that neither skip nor repeat rows while events keep arriving; the seed
shapes unchanged for a client that sends no cursor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from eventrail.app import EventrailApp
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import (
    EVENT_DATA,
    LOGS,
    Org,
    accepted,
    all_logs,
    assert_error,
    customer_events,
    running_processor,
    setup_org,
)

SEED_KEYS = {"data", "warnings", "errors"}
PAGED_KEYS = ["data", "warnings", "errors", "nextCursor"]


def _path(org: Org, what: str) -> str:
    return LOGS if what == "logs" else f"{EVENT_DATA}/{org.customer_id}"


def _id(item: dict[str, Any], what: str) -> str:
    return str(item["id"] if what == "logs" else item["eventId"])


async def _pages(
    org: Org,
    what: str,
    limit: int,
    between: Callable[[], Any] | None = None,
    client: httpx.AsyncClient | None = None,
    start: str = "",
) -> list[list[str]]:
    """Every page by cursor, from the first; ``between`` runs after each page."""
    http = client or org.http
    pages: list[list[str]] = []
    cursor: str | None = start
    while cursor is not None:
        r = await http.get(_path(org, what), params={"limit": limit, "cursor": cursor})
        assert r.status_code == 200, r.text
        body = r.json()
        assert list(body) == PAGED_KEYS, body
        assert len(body["data"]) <= limit
        pages.append([_id(item, what) for item in body["data"]])
        cursor = body["nextCursor"]
        assert cursor is None or body["data"], body
        if between is not None:
            result = between()
            if asyncio.iscoroutine(result):
                await result
        assert len(pages) < 200, "paging does not end"
    return pages


async def _post(org: Org, n: int) -> list[str]:
    return [accepted(await org.http.post(org.url, json=org.payload(i))) for i in range(n)]


async def _entries(org: Org, what: str) -> list[str]:
    if what == "logs":
        return [e["id"] for e in await all_logs(org.http)]
    return [e["eventId"] for e in await customer_events(org.http, org.customer_id)]


@pytest.mark.parametrize("what", ["logs", "event_data"])
async def test_pages_by_cursor_cover_every_entry_once_in_order(
    tenant: Tenant, drain: Callable[[], int], what: str
) -> None:
    org = await setup_org(tenant, "Paged")
    await _post(org, 23)
    drain()
    everything = await _entries(org, what)
    assert len(everything) == 23
    pages = await _pages(org, what, 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for page in pages for i in page] == everything  # newest first, as one list
    # a page of exactly the rest: the last page says there is no more
    assert [len(p) for p in await _pages(org, what, 23)] == [23]
    assert [len(p) for p in await _pages(org, what, 1000)] == [23]


@pytest.mark.parametrize("what", ["logs", "event_data"])
async def test_no_cursor_keeps_the_seed_shape(
    tenant: Tenant, drain: Callable[[], int], what: str
) -> None:
    org = await setup_org(tenant, "Seed")
    await _post(org, 3)
    drain()
    r = await org.http.get(_path(org, what), params={"limit": 2})
    assert r.status_code == 200 and set(r.json()) == SEED_KEYS, r.text
    assert len(r.json()["data"]) == 2


@pytest.mark.parametrize("what", ["logs", "event_data"])
async def test_entries_arriving_between_pages_neither_skip_nor_repeat(
    tenant: Tenant, drain: Callable[[], int], what: str
) -> None:
    org = await setup_org(tenant, "Moving")
    await _post(org, 12)
    drain()
    before = await _entries(org, what)

    async def more() -> None:
        await _post(org, 2)
        drain()

    pages = await _pages(org, what, 4, between=more)
    seen = [i for page in pages for i in page]
    assert len(seen) == len(set(seen)), "an entry repeated"
    assert seen == before  # the newer entries come before the first page, not in between
    assert len(await _entries(org, what)) == 12 + 2 * len(pages)


@pytest.mark.parametrize("what", ["logs", "event_data"])
async def test_cursor_paging_while_events_are_posted_concurrently(
    tenant: Tenant, app: EventrailApp, drain: Callable[[], int], what: str
) -> None:
    org = await setup_org(tenant, "Busy")
    await _post(org, 30)
    drain()
    with running_processor(app):
        before = set(await _entries(org, what))

        async def poster() -> None:
            for i in range(30):
                accepted(await org.http.post(org.url, json=org.payload(i)))
                await asyncio.sleep(0.005)

        async def pager() -> list[list[str]]:
            return await _pages(org, what, 3, between=lambda: asyncio.sleep(0.01))

        _, pages = await asyncio.gather(poster(), pager())
    drain()
    seen = [i for page in pages for i in page]
    assert len(seen) == len(set(seen)), "an entry repeated"
    assert before <= set(seen), "an entry skipped"
    assert set(seen) <= set(await _entries(org, what))


@pytest.mark.parametrize("what", ["logs", "event_data"])
@pytest.mark.parametrize(
    "cursor",
    ["abc", "1.2.3", "12", ".5", "5.", "-1.2", "1.-2", "\uff11.2", "9" * 19 + ".1", "x" * 41],
)
async def test_a_bad_cursor_is_a_400_naming_it(
    tenant: Tenant, drain: Callable[[], int], what: str, cursor: str
) -> None:
    org = await setup_org(tenant, "BadCursor")
    r = await org.http.get(_path(org, what), params={"cursor": cursor})
    assert_error(r, 400, 400, "cursor")


async def test_a_cursor_with_an_offset_is_a_400_naming_offset(tenant: Tenant) -> None:
    r = await tenant.http.get(LOGS, params={"cursor": "", "offset": 5})
    assert_error(r, 400, 400, "offset")


@pytest.mark.parametrize("what", ["logs", "event_data"])
async def test_another_orgs_cursor_shows_only_the_callers_entries(
    make_tenant: TenantFactory, drain: Callable[[], int], what: str
) -> None:
    a = await setup_org(await make_tenant(), "IsoA")
    b = await setup_org(await make_tenant(), "IsoB", mobile=a.mobile)
    a_ids = set(await _post(a, 6))
    await _post(b, 2)
    drain()
    r = await a.http.get(_path(a, what), params={"limit": 2, "cursor": ""})
    a_cursor = r.json()["nextCursor"]
    assert a_cursor
    # B pages from A's cursor: a position, not a key to A's rows
    b_pages = await _pages(b, what, 5, start=a_cursor)
    assert not a_ids & {i for page in b_pages for i in page}
    # A's customer path read by B is B's customer (another id): nothing of A's either
    r = await b.http.get(f"{EVENT_DATA}/{a.customer_id}", params={"cursor": ""})
    assert r.status_code == 200 and r.json()["data"] == [], r.text
