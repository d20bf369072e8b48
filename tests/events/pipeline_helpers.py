"""Helpers for the processing-pipeline tests: definitions, webhooks, posting, reading the
log and the stored records, and the shapes of seeds/000 (records) and seeds/002, 004 (logs)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import string
import uuid
from typing import Any

import anyio
import httpx

from tests.fixtures.factories import Tenant

# -- statuses and Capillary's exact messages (SPEC §3.3) ---------------------------------
SUCCESS = "Event processed successfully"
NO_MAPPING = "Invalid meta transformer mappings: No transformer mapping found"
EMF_NO_CUSTOMER = "Error while processing emfEvent: customerId not present,cant proceed further"
NO_CUSTOMER = "Customer details not passed"


def invalid_event_name(name: str) -> str:
    return f"Invalid event name {name}"


def invalid_group(value: str) -> str:
    return f"Invalid group identifier passed {value}"


def not_in_group(value: str) -> str:
    return f"Customer details not passed ,User does not belong to group {value}"


# -- shapes of the seeds -----------------------------------------------------------------
# seeds/002, 004: every key of a log entry, in the seeds' order.
LOG_KEYS = (
    "startTime",
    "responseTime",
    "orgId",
    "status",
    "eventName",
    "inputRequest",
    "id",
    "webhookId",
    "parentOrgId",
    "message",
)
# seeds/000: every key of a stored record (displayName only when the event has a label).
RECORD_KEYS = frozenset(
    {
        "orgId",
        "userId",
        "date",
        "eventName",
        "eventId",
        "source",
        "tillCode",
        "additonalAttributes",
        "psiAttributes",
        "uniqueId",
    }
)
# seeds/000: the system keys of additonalAttributes (plus ouTillCode with a tillCode field).
SYSTEM_KEYS = frozenset(
    {
        "accountId",
        "autoUpdateTimeStamp",
        "customerId",
        "displayName",
        "eventDateTime",
        "eventName",
        "isDuplicate",
        "is_mongo_push",
        "orgId",
        "requestId",
        "source",
        "source_till_id",
        "source_user_id",
        "uniqueId",
        "x-cap-lineage-id",
        "x-cap-lineage-start",
    }
)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DIGITS_RE = re.compile(r"^\d+$")


# -- unique values -----------------------------------------------------------------------
def mobile() -> str:
    return "91" + "".join(random.choices(string.digits, k=10))


def email() -> str:
    return f"e{uuid.uuid4().hex[:12]}@example.com"


def external_id() -> str:
    return f"EXT{uuid.uuid4().hex[:12].upper()}"


def event_name(prefix: str = "Ev") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def unique_id(name: str, customer: str, *values: str) -> str:
    """SPEC §3.3: upper-case md5 hex of ``<eventName>_<customer>_<unique values...>``."""
    key = "_".join([f"{name}_{customer}", *values])
    return hashlib.md5(key.encode()).hexdigest().upper()


# -- definitions -------------------------------------------------------------------------
def fld(name: str, type_: str, **attributes: Any) -> dict[str, Any]:
    """A definition field; attributes as Capillary's ``{"value": "<text>"}`` objects."""
    attrs = {}
    for key, value in attributes.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        attrs[key] = {"value": text}
    return {"name": name, "type": type_, "attributes": attrs}


def customer_fld(
    name: str = "customer",
    identifier_type: str = "mobile",
    *,
    add: bool = False,
    source: str = "INSTORE",
) -> dict[str, Any]:
    return fld(
        name,
        "customer",
        identifierType=identifier_type,
        source=source,
        isRequired=True,
        addCustomerIfNotExists=add,
    )


async def define(
    t: Tenant,
    name: str,
    fields: list[dict[str, Any]],
    *,
    actions: tuple[str, ...] = ("EIConsumer",),
    label: str | None = None,
) -> None:
    body: dict[str, Any] = {"eventName": name, "actions": list(actions), "fields": fields}
    if label is not None:
        body["label"] = label
    r = await t.http.post("/v2/events", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == [], r.text


async def disable(t: Tenant, name: str) -> None:
    r = await t.http.put("/v2/events/disable", params={"event_name": name})
    assert r.status_code == 200, r.text


async def make_webhook(
    t: Tenant,
    *,
    till_code: str | None = None,
    uniqueness: bool = False,
    transformer: str = "defaultTransformer",
) -> str:
    r = await t.http.post(
        "/v2/events/webhook",
        json={
            "transformerType": transformer,
            "tillCode": till_code or t.till_code,
            "uniquenessCheckEnabled": uniqueness,
        },
    )
    assert r.status_code == 200, r.text
    webhook_id: str = r.json()["webHookId"]
    assert re.fullmatch(r"[0-9a-f]{32}", webhook_id), webhook_id
    return webhook_id


async def enable_auth(t: Tenant, webhook_id: str) -> None:
    r = await t.http.put(
        "/v2/events/webhook",
        json={"webHookId": webhook_id, "authEnabled": True, "authMechanism": "BASIC"},
    )
    assert r.status_code == 200, r.text


# -- customers and groups ----------------------------------------------------------------
async def add_customer(t: Tenant, type_: str = "mobile", value: str | None = None) -> int:
    value = value if value is not None else mobile()
    r = await t.http.post(
        "/v2/customers", json={"profiles": [{"identifiers": [{"type": type_, "value": value}]}]}
    )
    assert r.status_code == 200, r.text
    customer_id: int = r.json()["createdId"]
    return customer_id


async def make_group(t: Tenant, external_id: str, members: list[int]) -> int:
    r = await t.http.post(
        "/v2/orgs/settings/groups",
        json={"externalId": external_id, "name": external_id, "members": members},
    )
    assert r.status_code == 200, r.text
    group_id: int = r.json()["groupId"]
    return group_id


async def set_members(
    t: Tenant, external_id: str, *, add: list[int] | None = None, remove: list[int] | None = None
) -> None:
    r = await t.http.put(
        f"/v2/orgs/settings/groups/{external_id}/members",
        json={"add": add or [], "remove": remove or []},
    )
    assert r.status_code == 200, r.text


# -- posting -----------------------------------------------------------------------------
async def post_raw(
    client: httpx.AsyncClient,
    webhook_id: str,
    body: dict[str, Any] | str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /webhooks/<id>: a dict as JSON, a str as the exact bytes sent."""
    if isinstance(body, str):
        return await client.post(
            f"/webhooks/{webhook_id}",
            content=body.encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
    return await client.post(f"/webhooks/{webhook_id}", json=body, headers=headers)


async def post(
    t: Tenant,
    webhook_id: str,
    body: dict[str, Any] | str,
    headers: dict[str, str] | None = None,
) -> str:
    """Post an event that must be acknowledged; its requestId."""
    r = await post_raw(t.http, webhook_id, body, headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["status"] == {"code": 1100, "message": "Event is pushed to transformation state"}
    request_id: str = answer["requestId"]
    assert uuid.UUID(request_id).version == 4
    return request_id


async def tick() -> None:
    """Let the clock move on, so that two posts never share a millisecond."""
    await anyio.sleep(0.003)


# -- reading -----------------------------------------------------------------------------
async def logs(t: Tenant, **params: Any) -> list[dict[str, Any]]:
    r = await t.http.get("/v2/events/logs", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["warnings"] == []
    assert body["errors"] == []
    data: list[dict[str, Any]] = body["data"]
    return data


async def log_of(t: Tenant, request_id: str) -> dict[str, Any]:
    found = [e for e in await logs(t) if e["id"] == request_id]
    assert len(found) == 1, f"{len(found)} log entries for {request_id}"
    return found[0]


async def outcome(t: Tenant, request_id: str) -> tuple[str | None, str]:
    entry = await log_of(t, request_id)
    return entry.get("status"), entry["message"]


async def records(t: Tenant, user_id: int, **params: Any) -> list[dict[str, Any]]:
    r = await t.http.get(f"/v2/events/event_data/{user_id}", params=params or None)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["warnings"] == []
    assert body["errors"] == []
    data: list[dict[str, Any]] = body["data"]
    return data


async def record_by_id(t: Tenant, request_id: str) -> list[dict[str, Any]]:
    r = await t.http.get("/v2/events/event_data", params={"id": request_id})
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def record_of(t: Tenant, request_id: str) -> dict[str, Any]:
    found = await record_by_id(t, request_id)
    assert len(found) == 1, found
    return found[0]


async def lookup_customer(t: Tenant, type_: str, value: str) -> httpx.Response:
    return await t.http.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": type_, "identifierValue": value},
    )


# -- shape assertions --------------------------------------------------------------------
def assert_log_shape(
    entry: dict[str, Any],
    *,
    org_id: int,
    webhook_id: str,
    body: str | None = None,
    has_status: bool = True,
    has_event_name: bool = True,
) -> None:
    """A log entry has exactly the keys of the seeds (status/eventName absent where the
    seeds have them absent) with the seeds' types."""
    expected = [
        k
        for k in LOG_KEYS
        if (k != "status" or has_status) and (k != "eventName" or has_event_name)
    ]
    assert sorted(entry) == sorted(expected), entry
    assert isinstance(entry["startTime"], int)
    assert not isinstance(entry["startTime"], bool)
    assert entry["startTime"] > 1_700_000_000_000
    assert isinstance(entry["responseTime"], int)
    assert entry["responseTime"] >= 0
    assert entry["orgId"] == org_id
    assert entry["parentOrgId"] == -1
    assert entry["webhookId"] == webhook_id
    assert isinstance(entry["inputRequest"], str)
    assert isinstance(entry["message"], str)
    if has_status:
        assert isinstance(entry["status"], str)
    if has_event_name:
        assert isinstance(entry["eventName"], str)
    if body is not None:
        assert entry["inputRequest"] == body


def assert_record_shape(
    record: dict[str, Any],
    *,
    org_id: int,
    user_id: int,
    request_id: str,
    name: str,
    till_id: int,
    till_code: str,
    label: str | None = None,
    attributes: dict[str, Any] | None = None,
    ou_till_code: str | None = None,
    unique: str | None = None,
    duplicate: bool = False,
    psi: list[str] | None = None,
) -> None:
    """A stored event has every key of seeds/000 with the same types and the derivations
    of SPEC §3.3; ``attributes`` are the payload attributes expected besides the system keys."""
    keys = set(RECORD_KEYS) | ({"displayName"} if label is not None else set())
    assert keys <= set(record), f"missing {keys - set(record)} in {record}"
    if label is None:
        assert "displayName" not in record, record
    else:
        assert record["displayName"] == label
    assert record["orgId"] == org_id
    assert record["userId"] == user_id
    assert isinstance(record["userId"], int)
    assert isinstance(record["date"], str)
    assert DATE_RE.fullmatch(record["date"]), record["date"]
    assert record["eventName"] == name
    assert record["eventId"] == request_id
    assert record["source"] == "INSTORE"
    assert record["tillCode"] == till_code
    assert record["psiAttributes"] == (psi or [])
    expected_unique = unique if unique is not None else request_id
    assert record["uniqueId"] == expected_unique

    extra = dict(attributes or {})
    if ou_till_code is not None:
        extra["ouTillCode"] = ou_till_code
    attrs = record["additonalAttributes"]
    assert set(attrs) == set(SYSTEM_KEYS) | set(extra), (
        f"unexpected {set(attrs) - SYSTEM_KEYS - set(extra)}, "
        f"missing {(SYSTEM_KEYS | set(extra)) - set(attrs)}"
    )
    for key, value in extra.items():
        assert attrs[key] == value, (key, attrs[key], value)
    assert attrs["accountId"] is None
    stamp = attrs["autoUpdateTimeStamp"]
    assert isinstance(stamp, int)
    assert not isinstance(stamp, bool)
    assert stamp > 1_700_000_000_000
    assert attrs["customerId"] == str(user_id)
    assert attrs["displayName"] == label
    assert isinstance(attrs["eventDateTime"], str)
    assert DIGITS_RE.fullmatch(attrs["eventDateTime"]), attrs["eventDateTime"]
    assert attrs["eventName"] == name
    assert attrs["isDuplicate"] is duplicate
    assert attrs["is_mongo_push"] is True
    assert attrs["orgId"] == org_id
    assert isinstance(attrs["orgId"], int)
    assert attrs["requestId"] == request_id
    assert attrs["source"] == "INSTORE"
    assert attrs["source_till_id"] == till_id
    assert isinstance(attrs["source_till_id"], int)
    assert attrs["source_user_id"] == user_id
    assert isinstance(attrs["source_user_id"], int)
    assert attrs["uniqueId"] == expected_unique
    assert attrs["x-cap-lineage-id"] == request_id
    lineage_start = attrs["x-cap-lineage-start"]
    assert isinstance(lineage_start, str)
    assert DIGITS_RE.fullmatch(lineage_start), lineage_start
    assert int(lineage_start) <= stamp
    # date = autoUpdateTimeStamp truncated to the second, in the org's timezone (UTC here)
    assert record["date"] == iso_utc(stamp)


def iso_utc(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
