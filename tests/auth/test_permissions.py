"""The admin permission (issue: any till could switch PSI masking off): org
configuration and its history need an admin till or client; everyone else gets 403
with the error envelope, and the org's configuration stays as it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from eventrail.db import Database
from tests.fixtures.factories import Tenant, basic, make_client, make_till, md5, unique
from tests.fixtures.ingest import new_mobile

SETTINGS = "/v2/orgs/settings"
HISTORY = f"{SETTINGS}/history"
ADMIN_MESSAGE = "changing the org's configuration needs an admin till or client"

# Every route that needs the admin permission: all configuration writes, and the
# settings history. Reads of the configuration stay open to every till and client.
ADMIN_ROUTES = {
    "PUT /v2/orgs/settings",
    "GET /v2/orgs/settings/history",
    "POST /v2/orgs/settings/customerStatusLabels",
    "POST /v2/orgs/settings/cardStatusLabels",
    "POST /v2/orgs/settings/cardSeries",
    "POST /v2/orgs/settings/fields",
    "POST /v2/orgs/settings/groups",
    "PUT /v2/orgs/settings/groups/{externalId}/members",
    "POST /v2/events",
    "PUT /v2/events",
    "PUT /v2/events/disable",
    "POST /v2/events/webhook",
    "PUT /v2/events/webhook",
    "PUT /v2/events/webhook/disable",
    "POST /v2/events/adapter_mapping",
    "POST /v2/events/standard_events/enable",
    "POST /v2/events/logs/replay",
    "POST /v3/webHooks",
    "PUT /v3/webHooks/{webHookId}",
    "DELETE /v3/webHooks/{webHookId}",
    "POST /v3/webHooks/eventLog/{eventLogId}/redeliver",
}
CONFIGURATION_READS = [
    SETTINGS,
    f"{SETTINGS}/customerStatusLabels",
    f"{SETTINGS}/cardStatusLabels",
    f"{SETTINGS}/cardSeries",
    f"{SETTINGS}/fields",
    f"{SETTINGS}/groups",
    "/v2/events",
    "/v2/events/webhooks",
    "/v2/events/adapter_mapping",
    "/v2/events/meta_fields",
    "/v2/events/adapters_meta",
    "/v2/events/standard_events_meta",
]

Headers = dict[str, str]


def assert_403(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["warnings"] == [] and set(body) == {"warnings", "errors"}, body
    [error] = body["errors"]
    assert error["status"] is False and error["code"] == 403, error
    assert ADMIN_MESSAGE in error["message"]
    assert r.headers["x-cap-requestid"]


async def token(http: httpx.AsyncClient, key: str, secret: str) -> Headers:
    r = await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    assert r.status_code == 200, r.text
    return {"X-CAP-API-OAUTH-TOKEN": r.json()["data"]["accessToken"]}


@dataclass
class Org:
    """An org's admin till (the tenant), an ordinary till, ordinary and admin clients."""

    tenant: Tenant
    till: Headers
    till_id: int
    till_code: str
    client: Headers
    admin_client: Headers
    event: str
    webhook: str
    group: str
    notify_hook: str  # a notification webhook (/v3/webHooks)
    delivery: str  # the eventLogId of one of its deliveries


def _notify_hook() -> dict[str, Any]:
    return {
        "name": "hook",
        "webHookUrl": "https://receiver.example.com/hook",
        "methodType": "POST",
        "webHookType": "HTTP",
        "eventNames": ["customerAdded"],
        "maxAllowedConnections": 2,
    }


def _definition(name: str) -> dict[str, Any]:
    return {
        "eventName": name,
        "actions": ["EIConsumer"],
        "fields": [
            {"name": "customer", "type": "customer", "attributes": {"identifierType": "mobile"}},
            {"name": "amount", "type": "double"},
        ],
    }


@pytest.fixture
async def org(tenant: Tenant, http: httpx.AsyncClient, db: Database) -> Org:
    till_id, code, password = make_till(db, tenant.org_id, admin=False)
    key, secret = make_client(db, tenant.org_id, code, admin=False)
    admin_key, admin_secret = make_client(db, tenant.org_id, code, admin=True)
    event = unique("Perm").replace("-", "_")
    r = await tenant.http.post("/v2/events", json=_definition(event))
    assert r.status_code == 200, r.text
    r = await tenant.http.post(
        "/v2/events/webhook",
        json={"transformerType": "defaultTransformer", "tillCode": tenant.till_code},
    )
    assert r.status_code == 200, r.text
    webhook = r.json()["webHookId"]
    group = unique("grp")
    r = await tenant.http.post(
        f"{SETTINGS}/groups", json={"externalId": group, "name": "G", "members": []}
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.post("/v3/webHooks", json=_notify_hook())
    assert r.status_code == 200, r.text
    notify_hook = r.json()["data"]["webHookId"]
    r = await tenant.http.post(
        "/v2/customers",
        json={"profiles": [{"identifiers": [{"type": "mobile", "value": new_mobile()}]}]},
    )
    assert r.status_code == 200, r.text
    r = await tenant.http.get(f"/v3/webHooks/eventLog/requestId/{r.headers['x-cap-requestid']}")
    assert r.status_code == 200, r.text
    [delivery] = r.json()["data"]
    return Org(
        tenant,
        basic(code, md5(password)),
        till_id,
        code,
        await token(http, key, secret),
        await token(http, admin_key, admin_secret),
        event,
        webhook,
        group,
        notify_hook,
        delivery["eventLogId"],
    )


def admin_requests(o: Org) -> list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]]:
    """(method, path, query, body) of every admin route, each valid for an admin."""
    event = _definition(o.event)
    return [
        ("PUT", SETTINGS, None, {"psiMaskingEnabled": False, "rateLimitPerMinute": 1_000_000}),
        ("GET", HISTORY, None, None),
        ("POST", f"{SETTINGS}/customerStatusLabels", None, {"status": "ACTIVE", "label": "Gold"}),
        ("POST", f"{SETTINGS}/cardStatusLabels", None, {"status": "ACTIVE", "label": "Live"}),
        ("POST", f"{SETTINGS}/cardSeries", None, {"name": "S", "code": unique("S")}),
        (
            "POST",
            f"{SETTINGS}/fields",
            None,
            {"entityType": "CUSTOMER", "kind": "custom", "name": unique("f"), "psi": False},
        ),
        ("POST", f"{SETTINGS}/groups", None, {"externalId": unique("g"), "name": "G"}),
        ("PUT", f"{SETTINGS}/groups/{o.group}/members", None, {"add": [], "remove": []}),
        ("POST", "/v2/events", None, _definition(unique("New").replace("-", "_"))),
        ("PUT", "/v2/events", None, {**event, "fields": event["fields"][:1]}),
        (
            "POST",
            "/v2/events/webhook",
            None,
            {
                "transformerType": unique("shopTransformer").replace("-", ""),
                "tillCode": o.till_code,
            },
        ),
        ("PUT", "/v2/events/webhook", None, {"webHookId": o.webhook, "authEnabled": False}),
        (
            "POST",
            "/v2/events/adapter_mapping",
            None,
            {"transformerType": "defaultTransformer", "eventsMapped": [o.event]},
        ),
        ("POST", "/v2/events/standard_events/enable", {"event_name": "ProductViewed"}, None),
        ("POST", "/v2/events/logs/replay", None, {"status": "INVALID_EVENT_NAME"}),
        ("POST", "/v3/webHooks", None, _notify_hook()),
        ("PUT", f"/v3/webHooks/{o.notify_hook}", None, _notify_hook()),
        ("POST", f"/v3/webHooks/eventLog/{o.delivery}/redeliver", None, None),
        ("DELETE", f"/v3/webHooks/{o.notify_hook}", None, None),
        ("PUT", "/v2/events/webhook/disable", None, {"webHookId": o.webhook}),
        ("PUT", "/v2/events/disable", {"event_name": o.event}, None),
    ]


async def configuration(http: httpx.AsyncClient, headers: Headers) -> list[Any]:
    out = []
    for path in CONFIGURATION_READS:
        r = await http.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)  # reads stay open to every caller
        out.append(r.json())
    return out


async def test_ordinary_tills_and_clients_get_403_on_every_admin_route(
    org: Org, http: httpx.AsyncClient
) -> None:
    o = org
    requests = admin_requests(o)
    routes = {
        f"{m} {p.replace(o.group, '{externalId}')}".replace(o.notify_hook, "{webHookId}").replace(
            o.delivery, "{eventLogId}"
        )
        for m, p, _, _ in requests
    }
    assert routes == ADMIN_ROUTES
    before = await configuration(http, o.till)
    for headers in (o.till, o.client):
        for method, path, params, body in requests:
            r = await http.request(method, path, params=params, json=body, headers=headers)
            assert_403(r)
    # nothing changed, as any of them (the ordinary till included) reads it
    assert await configuration(http, o.client) == before
    settings = (await http.get(SETTINGS, headers=o.till)).json()
    assert settings["rateLimitPerMinute"] == 1000
    # the same requests are valid: the admin till and the admin client make them
    for n, (method, path, params, body) in enumerate(requests):
        headers = o.admin_client if n % 2 else {}
        r = await o.tenant.http.request(method, path, params=params, json=body, headers=headers)
        assert r.status_code == 200, (method, path, r.text)
    assert await configuration(http, o.till) != before


async def test_an_ordinary_till_cannot_switch_masking_off_or_raise_its_rate_limit(
    org: Org, http: httpx.AsyncClient
) -> None:
    o = org
    r = await o.tenant.http.put(
        SETTINGS, json={"psiMaskingEnabled": True, "rateLimitPerMinute": 50}
    )
    assert r.status_code == 200, r.text
    for headers in (o.till, o.client):
        for body in (
            {"psiMaskingEnabled": False},
            {"rateLimitPerMinute": 1_000_000},
            {"timezone": "Asia/Kolkata"},
            {"rateLimitPerMinute": -5, "unknown": True},  # invalid: still 403, nothing told
        ):
            assert_403(await http.put(SETTINGS, json=body, headers=headers))
    for headers in (o.till, o.client, {}):
        client = o.tenant.http if headers == {} else http
        settings = (await client.get(SETTINGS, headers=headers)).json()
        assert settings["psiMaskingEnabled"] is True
        assert settings["rateLimitPerMinute"] == 50
        assert settings["timezone"] == "UTC"
    # ordinary callers still do their everyday work: customers
    r = await http.post(
        "/v2/customers",
        json={"profiles": [{"identifiers": [{"type": "externalId", "value": unique("E")}]}]},
        headers=o.till,
    )
    assert r.status_code == 200, r.text


async def test_the_document_lists_403_on_exactly_the_admin_routes(
    http: httpx.AsyncClient,
) -> None:
    document = (await http.get("/openapi.json")).json()
    declared = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "403" in operation.get("responses", {}):
                declared.add(f"{method.upper()} {path}")
                content = operation["responses"]["403"]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert declared == ADMIN_ROUTES


# -- the settings history --------------------------------------------------------------------
async def test_settings_changes_are_recorded_with_who_when_before_and_after(
    org: Org, http: httpx.AsyncClient
) -> None:
    o = org
    t = o.tenant
    assert (await t.http.get(HISTORY)).json()["data"] == []
    r = await t.http.put(SETTINGS, json={"psiMaskingEnabled": True})
    assert r.status_code == 200
    first_request = r.headers["x-cap-requestid"]
    # a PUT that changes nothing records nothing; a refused one neither
    assert (await t.http.put(SETTINGS, json={"psiMaskingEnabled": True})).status_code == 200
    assert_403(await http.put(SETTINGS, json={"psiMaskingEnabled": False}, headers=o.till))
    r = await http.put(
        SETTINGS,
        json={"rateLimitPerMinute": 600, "timezone": "Asia/Kolkata"},
        headers=o.admin_client,
    )
    assert r.status_code == 200, r.text
    history = (await t.http.get(HISTORY)).json()
    assert history["warnings"] == [] and history["errors"] == []
    newest, oldest = history["data"]
    assert oldest["requestId"] == first_request
    assert oldest["till"] == {"id": t.till_id, "code": t.till_code}
    assert oldest["clientId"] is None
    assert oldest["before"] == {
        "timezone": "UTC",
        "psiMaskingEnabled": False,
        "rateLimitPerMinute": 1000,
        "retention": {"eventLogsDays": None, "eventDataDays": None, "auditDays": None},
    }
    assert oldest["after"] == {**oldest["before"], "psiMaskingEnabled": True}
    # made with the admin client's token: its id, and the till it acts as
    assert isinstance(newest["clientId"], int)
    assert newest["till"] == {"id": o.till_id, "code": o.till_code}
    assert newest["before"] == oldest["after"]
    assert newest["after"] == {
        "timezone": "Asia/Kolkata",
        "psiMaskingEnabled": True,
        "rateLimitPerMinute": 600,
        "retention": {"eventLogsDays": None, "eventDataDays": None, "auditDays": None},
    }
    assert oldest["changedAt"] <= newest["changedAt"]
    assert newest["id"] > oldest["id"]
    # paging, and the admin client reads it too
    page = (
        await http.get(HISTORY, params={"limit": 1, "offset": 1}, headers=o.admin_client)
    ).json()
    assert [c["id"] for c in page["data"]] == [oldest["id"]]
    # the ordinary till and client cannot read it
    assert_403(await http.get(HISTORY, headers=o.till))
    assert_403(await http.get(HISTORY, headers=o.client))


async def test_an_org_reads_only_its_own_settings_history(make_tenant: Any, tenant: Tenant) -> None:
    other = await make_tenant()
    assert (await other.http.put(SETTINGS, json={"rateLimitPerMinute": 777})).status_code == 200
    assert (await tenant.http.get(HISTORY)).json()["data"] == []
    [change] = (await other.http.get(HISTORY)).json()["data"]
    assert change["after"]["rateLimitPerMinute"] == 777


async def test_the_settings_history_is_append_only(tenant: Tenant, db: Database) -> None:
    assert (await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": True})).status_code == 200
    for statement in (
        "UPDATE org_settings_changes SET till_code = 'forged' WHERE org_id = :org",
        "DELETE FROM org_settings_changes WHERE org_id = :org",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(sa.text(statement), {"org": tenant.org_id})
    [change] = (await tenant.http.get(HISTORY)).json()["data"]
    assert change["till"]["code"] == tenant.till_code
