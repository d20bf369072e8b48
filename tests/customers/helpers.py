"""Shared helpers for the customer API tests: unique values, writes, reads, assertions."""

from __future__ import annotations

import random
import string
import uuid
from typing import Any

import httpx

from tests.fixtures.factories import Tenant

AUDITS = "/api_gateway/v2/audits"


# -- unique identifier values ----------------------------------------------------
def mobile() -> str:
    return "91" + "".join(random.choices(string.digits, k=10))


def email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def external_id() -> str:
    return f"EXT{uuid.uuid4().hex[:12].upper()}"


def card_number() -> str:
    return f"CARD{uuid.uuid4().hex[:12].upper()}"


def ident(type_: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "value": value, **extra}


# -- assertions ------------------------------------------------------------------
def assert_error(
    r: httpx.Response,
    status: int | tuple[int, ...],
    code: int | tuple[int, ...],
    *fragments: str,
) -> dict[str, Any]:
    """The response is SPEC §1's error envelope with this status and code, and its
    message contains every fragment (case-insensitive)."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers.get("x-cap-requestid"), "every response carries X-Cap-Requestid"
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    assert isinstance(body["errors"], list)
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert set(error) == {"status", "code", "message"}, error
    assert error["status"] is False
    codes = code if isinstance(code, tuple) else (code,)
    assert error["code"] in codes, f"expected code {code}, got {error['code']}: {error['message']}"
    assert isinstance(error["message"], str)
    assert error["message"]
    for fragment in fragments:
        assert fragment.lower() in error["message"].lower(), (
            f"{fragment!r} not in message {error['message']!r}"
        )
    return error


def assert_ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers.get("x-cap-requestid")
    body: dict[str, Any] = r.json()
    return body


def warning_codes(body: dict[str, Any]) -> list[int]:
    return [w["code"] for w in body.get("warnings", [])]


# -- customers ---------------------------------------------------------------------
def profile(*identifiers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"identifiers": list(identifiers), **extra}


async def post_customer(
    t: Tenant, body: dict[str, Any], *, source: str | None = None, **kwargs: Any
) -> httpx.Response:
    params = {"source": source} if source is not None else None
    return await t.http.post("/v2/customers", json=body, params=params, **kwargs)


async def add_customer(
    t: Tenant,
    *identifiers: dict[str, Any],
    source: str | None = None,
    first_name: str | None = "Test",
    **extra: Any,
) -> int:
    """A new customer with these identifiers (a random mobile when none); its id."""
    if not identifiers:
        identifiers = (ident("mobile", mobile()),)
    prof: dict[str, Any] = {"identifiers": list(identifiers)}
    if first_name is not None:
        prof["firstName"] = first_name
    body = assert_ok(await post_customer(t, {"profiles": [prof], **extra}, source=source))
    assert body["warnings"] == [], body
    customer_id = body["createdId"]
    assert isinstance(customer_id, int)
    return customer_id


async def get_customer(t: Tenant, customer_id: int) -> dict[str, Any]:
    return assert_ok(await t.http.get(f"/v2/customers/{customer_id}"))


async def lookup(
    t: Tenant, name: str, value: str, source: str | None = None, **params: Any
) -> httpx.Response:
    query = {"identifierName": name, "identifierValue": value, **params}
    if source is not None:
        query["source"] = source
    return await t.http.get("/v2/customers/lookup", params=query)


async def lookup_id(t: Tenant, name: str, value: str, source: str | None = None) -> int:
    body = assert_ok(await lookup(t, name, value, source))
    customer_id: int = body["entity"]
    return customer_id


async def assert_not_found(t: Tenant, name: str, value: str, source: str | None = None) -> None:
    assert_error(await lookup(t, name, value, source), 404, 8015)


def profile_of(view: dict[str, Any], source: str = "INSTORE") -> dict[str, Any]:
    found = [p for p in view["profiles"] if p["source"] == source]
    assert len(found) == 1, view["profiles"]
    return found[0]


def identifiers_of(view: dict[str, Any], source: str = "INSTORE") -> list[tuple[str, str]]:
    return [(i["type"], i["value"]) for i in profile_of(view, source)["identifiers"]]


async def change_identifier(
    t: Tenant,
    customer_id: int,
    *,
    add: list[dict[str, Any]] | None = None,
    remove: list[dict[str, Any]] | None = None,
    **params: Any,
) -> httpx.Response:
    body: dict[str, Any] = {}
    if add is not None:
        body["add"] = add
    if remove is not None:
        body["remove"] = remove
    return await t.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier", json=body, params=params or None
    )


async def set_status(
    t: Tenant, name: str, value: str, label: str, reason: str = "test", **params: Any
) -> httpx.Response:
    return await t.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": name, "identifierValue": value, **params},
        json={"reason": reason, "label": label},
    )


# -- org settings ----------------------------------------------------------------
async def define_field(
    t: Tenant,
    name: str,
    *,
    kind: str = "custom",
    data_type: str = "string",
    audit: bool = True,
    psi: bool = False,
    entity_type: str = "CUSTOMER",
) -> int:
    body = assert_ok(
        await t.http.post(
            "/v2/orgs/settings/fields",
            json={
                "entityType": entity_type,
                "kind": kind,
                "name": name,
                "dataType": data_type,
                "auditTrail": audit,
                "psi": psi,
            },
        )
    )
    field_id: int = body["fieldId"]
    return field_id


async def create_series(t: Tenant, code: str | None = None) -> tuple[int, str]:
    code = code or f"S{uuid.uuid4().hex[:8]}"
    body = assert_ok(
        await t.http.post(
            "/v2/orgs/settings/cardSeries", json={"name": f"Series {code}", "code": code}
        )
    )
    return body["seriesId"], code


async def add_customer_label(t: Tenant, status: str, label: str) -> int:
    body = assert_ok(
        await t.http.post(
            "/v2/orgs/settings/customerStatusLabels", json={"status": status, "label": label}
        )
    )
    label_id: int = body["labelId"]
    return label_id


async def get_card(t: Tenant, number: str) -> dict[str, Any]:
    return assert_ok(await t.http.get("/v2/card", params={"number": number}))


# -- audits ----------------------------------------------------------------------
async def audits(
    t: Tenant, entity_id: int, entity_type: str = "CUSTOMER", **params: Any
) -> dict[str, Any]:
    query = {"entityType": entity_type, "entityId": entity_id, "limit": 100, **params}
    return assert_ok(await t.http.get(AUDITS, params=query))


async def audit_count(t: Tenant, entity_id: int, entity_type: str = "CUSTOMER") -> int:
    page = await audits(t, entity_id, entity_type)
    total: int = page["pagination"]["totalElements"]
    return total


async def latest_entry(t: Tenant, entity_id: int, entity_type: str = "CUSTOMER") -> dict[str, Any]:
    page = await audits(t, entity_id, entity_type)
    assert page["data"], f"no audit entry for {entity_type} {entity_id}"
    entry: dict[str, Any] = page["data"][0]
    return entry


def events_of(entry: dict[str, Any], event_type: str | None = None) -> list[dict[str, Any]]:
    return [e for e in entry["events"] if event_type is None or e["eventType"] == event_type]


def change_of(entry: dict[str, Any], event_type: str, field: str) -> dict[str, Any]:
    """The additionalFields of the one event of this type and field in the entry."""
    found = [
        e for e in entry["events"] if e["eventType"] == event_type and e["updatedField"] == field
    ]
    assert len(found) == 1, f"{event_type}/{field} events: {found} in {entry['events']}"
    fields: dict[str, Any] = found[0]["additionalFields"]
    return fields


def value_event(field: str, previous: str, current: str, event_type: str) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "updatedField": field,
        "additionalFields": {"previousValue": previous, "currentValue": current},
        "associateEntities": None,
    }


# -- merge -------------------------------------------------------------------------
def merge_body(survivor: int | str, victim: int | str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "CHANGE_IDENTIFIER",
        "baseType": "MERGE",
        "changeIdentifiers": {
            "add": [{"type": "id", "value": str(survivor)}],
            "remove": [{"type": "id", "value": str(victim)}],
        },
        **extra,
    }


async def request_merge(
    t: Tenant, survivor: int | str, victim: int | str, *, auto: bool = True, **extra: Any
) -> httpx.Response:
    params = {"client_auto_approve": "true"} if auto else None
    return await t.http.post(
        "/v2/requests", json=merge_body(survivor, victim, **extra), params=params
    )


async def merge(t: Tenant, survivor: int, victim: int) -> int:
    body = assert_ok(await request_merge(t, survivor, victim))
    request_id: int = body["createdId"]
    return request_id


async def decide(t: Tenant, *items: dict[str, Any]) -> httpx.Response:
    return await t.http.put("/v2/requests", json=list(items))


def decision(request_id: int, status: str = "APPROVED", **extra: Any) -> dict[str, Any]:
    return {
        "type": "CHANGE_IDENTIFIER",
        "baseType": "MERGE",
        "id": request_id,
        "status": status,
        **extra,
    }
