"""Helpers for the ingestion, read-API and event-isolation tests: an org with a definition,
a webhook and a customer; posting; reading logs and events; error assertions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from eventrail.app import EventrailApp
from eventrail.db import Database
from tests.fixtures.factories import Tenant

ACK = {"code": 1100, "message": "Event is pushed to transformation state"}
UNAUTHORIZED_MESSAGE = "Please check your username/password or authentication token"
SUCCESS = ("EVENT_SUCCESS", "Event processed successfully")
LOGS = "/v2/events/logs"
EVENT_DATA = "/v2/events/event_data"


# -- values ----------------------------------------------------------------------
def new_mobile() -> str:
    return f"91{uuid.uuid4().int % 10**10:010d}"


def is_uuid4(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


# -- assertions --------------------------------------------------------------------
def assert_error(r: httpx.Response, status: int, code: int | None = None, *fragments: str) -> str:
    """SPEC §1's error envelope with this HTTP status (and code); the message contains
    every fragment (case-insensitive). Returns the message."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers.get("x-cap-requestid"), "every response carries X-Cap-Requestid"
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["status"] is False, error
    assert error["code"] == (status if code is None else code), error
    message = error["message"]
    assert isinstance(message, str) and message, error
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in {message!r}"
    return message


def assert_unauthorized(r: httpx.Response) -> None:
    message = assert_error(r, 401, 401)
    assert message == UNAUTHORIZED_MESSAGE


def envelope(r: httpx.Response) -> list[dict[str, Any]]:
    """The data of a 200 list envelope ``{"data": [...], "warnings": [], "errors": []}``."""
    assert r.status_code == 200, r.text
    assert r.headers.get("x-cap-requestid")
    body = r.json()
    assert set(body) == {"data", "warnings", "errors"}, body
    assert body["warnings"] == []
    assert body["errors"] == []
    assert isinstance(body["data"], list)
    data: list[dict[str, Any]] = body["data"]
    return data


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- setup -------------------------------------------------------------------------
def definition(name: str = "Shop", actions: tuple[str, ...] = ("EIConsumer",)) -> dict[str, Any]:
    return {
        "eventName": name,
        "actions": list(actions),
        "fields": [
            {
                "name": "customer",
                "type": "customer",
                "attributes": {"identifierType": {"value": "mobile"}},
            },
            {"name": "amount", "type": "double"},
        ],
    }


async def define_event(
    t: Tenant, name: str = "Shop", actions: tuple[str, ...] = ("EIConsumer",)
) -> str:
    ok(await t.http.post("/v2/events", json=definition(name, actions)))
    return name


async def create_webhook(t: Tenant, **extra: Any) -> str:
    body = ok(
        await t.http.post(
            "/v2/events/webhook",
            json={"transformerType": "defaultTransformer", "tillCode": t.till_code, **extra},
        )
    )
    webhook_id = body["webHookId"]
    assert isinstance(webhook_id, str) and len(webhook_id) == 32
    return webhook_id


async def add_customer(t: Tenant, mobile: str | None = None) -> tuple[int, str]:
    mobile = mobile or new_mobile()
    body = ok(
        await t.http.post(
            "/v2/customers",
            json={
                "profiles": [
                    {"firstName": "Test", "identifiers": [{"type": "mobile", "value": mobile}]}
                ]
            },
        )
    )
    customer_id = body["createdId"]
    assert isinstance(customer_id, int)
    return customer_id, mobile


@dataclass
class Org:
    """A tenant with the event ``event_name``, a default-transformer webhook and a
    customer (by mobile)."""

    tenant: Tenant
    event_name: str
    webhook_id: str
    customer_id: int
    mobile: str

    @property
    def http(self) -> httpx.AsyncClient:
        return self.tenant.http

    @property
    def url(self) -> str:
        return f"/webhooks/{self.webhook_id}"

    def payload(self, amount: Any = 12.5, **extra: Any) -> dict[str, Any]:
        return {
            "event_name": self.event_name,
            "customer": self.mobile,
            "amount": amount,
            **extra,
        }


async def setup_org(
    t: Tenant, event_name: str = "Shop", mobile: str | None = None, **webhook: Any
) -> Org:
    await define_event(t, event_name)
    webhook_id = await create_webhook(t, **webhook)
    customer_id, mobile = await add_customer(t, mobile)
    return Org(t, event_name, webhook_id, customer_id, mobile)


# -- posting -----------------------------------------------------------------------
async def post_json(
    client: httpx.AsyncClient,
    url: str,
    payload: Any,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(url, json=payload, params=params, headers=headers)


async def post_raw(
    client: httpx.AsyncClient,
    url: str,
    content: bytes | str,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    all_headers = dict(headers or {})
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    return await client.post(url, content=content, headers=all_headers, params=params)


def accepted(r: httpx.Response) -> str:
    """The requestId of an acknowledged single post (checking the acknowledgement)."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == ACK, body
    request_id = body["requestId"]
    assert is_uuid4(request_id), body
    assert r.headers.get("x-cap-requestid") == request_id
    return str(request_id)


# -- reading -----------------------------------------------------------------------
async def get_logs(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return envelope(await client.get(LOGS, params=params))


async def all_logs(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return await get_logs(client, limit=1000, **params)


async def log_of(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    """The one log entry with this id (failing when there is none or more)."""
    found = [e for e in await all_logs(client) if e["id"] == request_id]
    assert len(found) == 1, f"{len(found)} log entries for {request_id}"
    return found[0]


async def customer_events(
    client: httpx.AsyncClient, customer_id: int, **params: Any
) -> list[dict[str, Any]]:
    return envelope(await client.get(f"{EVENT_DATA}/{customer_id}", params=params))


async def event_by_id(client: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    return envelope(await client.get(EVENT_DATA, params={"id": request_id}))


def queued_count(db: Database, request_id: str) -> int:
    """Rows of ``ingest_requests`` (the durable queue) holding this request."""
    with db.transaction(write=False) as session:
        count = session.execute(
            sa.text("SELECT count(*) FROM ingest_requests WHERE request_id = :rid"),
            {"rid": request_id},
        ).scalar_one()
    return int(count)


def log_rows(db: Database, request_id: str) -> int:
    with db.transaction(write=False) as session:
        count = session.execute(
            sa.text("SELECT count(*) FROM event_logs WHERE id = :rid"), {"rid": request_id}
        ).scalar_one()
    return int(count)


# -- processors and caches -----------------------------------------------------------
@contextmanager
def running_processor(app: EventrailApp) -> Iterator[None]:
    """The app's processor running in a thread (tests run with none by default), so that
    ``?wait=true`` gets a verdict."""
    processor = app.state.background.processor
    threads = processor.thread_count
    processor.thread_count = max(1, threads)
    processor.start()
    try:
        yield
    finally:
        processor.stop()
        processor.thread_count = threads


async def eventually(
    attempt: Callable[[], Awaitable[httpx.Response]],
    accept: Callable[[httpx.Response], bool],
    *,
    timeout: float = 3.5,
) -> httpx.Response:
    """Repeat ``attempt`` until ``accept`` holds (the ingest cache keeps a webhook for up
    to a second); the last response."""
    deadline = time.monotonic() + timeout
    while True:
        r = await attempt()
        if accept(r) or time.monotonic() > deadline:
            return r
        await asyncio.sleep(0.1)


PROBE = {"event_name": "__cache_probe__"}


async def enable_auth(org: Org, anonymous: httpx.AsyncClient, mechanism: str = "BASIC") -> None:
    """Turn on the webhook's auth and wait until ingestion sees it (``anonymous``: a client
    of the same app without credentials)."""
    ok(
        await org.http.put(
            "/v2/events/webhook",
            json={"webHookId": org.webhook_id, "authEnabled": True, "authMechanism": mechanism},
        )
    )
    r = await eventually(
        lambda: anonymous.post(org.url, json=PROBE), lambda r: r.status_code == 401
    )
    assert r.status_code == 401, f"auth never took effect: {r.status_code} {r.text}"
