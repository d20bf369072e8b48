"""``eventrail demo``: an org with real data behind every API, in a few seconds.

Everything is made through eventrail's own HTTP API (in-process, the same
requests a client sends), so the demo data is exactly what those APIs produce:
a parent org and a child org, tills, an OAuth client, event definitions,
webhooks (one with a WebEngage-style mapping), a few hundred customers, a few
thousand events covering every processing status, and customer and card
histories covering the 11 audit reference types.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from eventrail.auth.service import create_client, create_till
from eventrail.config import Settings
from eventrail.db import Database
from eventrail.kit.security import md5_hex
from eventrail.orgs.service import create_org

CUSTOMERS = 300
EVENTS_PER_CUSTOMER = 10
DEMO_ENV_FILE = ".eventrail-demo.env"
DEMO_ORG_NAME = "Demo Brand"
DEMO_TILL = "demo.till"
_RATE_LIMIT_WHILE_LOADING = 100_000
_NORMAL_RATE_LIMIT = 1000

FIRST_NAMES = ["Asha", "Ravi", "Meera", "Tom", "Lena", "Kenji", "Sara", "Omar", "Ines", "Yuki"]
LAST_NAMES = ["Rao", "Iyer", "Sawyer", "Berg", "Sato", "Haddad", "Costa", "Khan", "Moreau", "Vu"]


@dataclass
class DemoResult:
    org_id: int
    child_org_id: int
    till: str
    password: str
    client_key: str
    client_secret: str
    busy_customer: int
    audited_customer: int
    card_id: int
    events: int


class _Api:
    """A small client of eventrail's own API, failing loudly on any unexpected answer."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        r = await self.http.request(method, path, json=body, params=params or None)
        if r.status_code != 200:
            raise RuntimeError(f"demo: {method} {path} answered {r.status_code}: {r.text}")
        return r.json()


def _customer(n: int, source: str = "INSTORE") -> dict[str, Any]:
    first, last = FIRST_NAMES[n % 10], LAST_NAMES[(n // 10) % 10]
    return {
        "profiles": [
            {
                "firstName": first,
                "lastName": last,
                "source": source,
                "identifiers": [
                    {"type": "mobile", "value": f"9198{n:08d}"},
                    {"type": "email", "value": f"{first.lower()}.{n}@example.com"},
                    {"type": "externalId", "value": f"EXT-{n:05d}"},
                ],
                "commChannels": [
                    {"type": "email", "value": f"{first.lower()}.{n}@example.com", "primary": True}
                ],
            }
        ]
    }


async def _configure(api: _Api) -> dict[str, Any]:
    await api.call("PUT", "/v2/orgs/settings", {"rateLimitPerMinute": _RATE_LIMIT_WHILE_LOADING})
    for field in (
        {"entityType": "CUSTOMER", "kind": "custom", "name": "nickname", "psi": True},
        {"entityType": "CUSTOMER", "kind": "extended", "name": "vehicle_type"},
        {"entityType": "CARD", "kind": "custom", "name": "city"},
        {"entityType": "CARD", "kind": "extended", "name": "card_requested_by"},
    ):
        await api.call("POST", "/v2/orgs/settings/fields", {**field, "auditTrail": True})
    await api.call(
        "POST", "/v2/orgs/settings/customerStatusLabels", {"status": "ACTIVE", "label": "Gold"}
    )
    series = await api.call(
        "POST", "/v2/orgs/settings/cardSeries", {"name": "Gold", "code": "GOLD"}
    )
    mobile = {"identifierType": {"value": "mobile", "valueType": "ENUM"}}
    definitions = [
        {
            "eventName": "StoreVisit",
            "label": "Store visit",
            "actions": ["EMFConsumer"],
            "fields": [
                {"name": "customer", "type": "customer", "attributes": mobile},
                {"name": "store", "type": "tillCode"},
                {"name": "group", "type": "groupId"},
            ],
        },
        {
            "eventName": "Purchase",
            "label": "Purchase",
            "actions": ["EIConsumer"],
            "fields": [
                {"name": "customer", "type": "customer", "attributes": mobile},
                {"name": "amount", "type": "double", "attributes": {"isRequired": True}},
                {"name": "orderId", "type": "string", "attributes": {"isUniqueKeyField": True}},
                {
                    "name": "channel",
                    "type": "enum",
                    "attributes": {"possibleValues": "app,web,pos"},
                },
                {"name": "email", "type": "string", "attributes": {"isPsiData": True}},
            ],
        },
        {
            "eventName": "AppOpen",
            "actions": ["EIConsumer"],
            "fields": [
                {
                    "name": "customer",
                    "type": "customer",
                    "attributes": {
                        "identifierType": {"value": "externalId"},
                        "addCustomerIfNotExists": True,
                    },
                },
                {"name": "os", "type": "string"},
            ],
        },
    ]
    for definition in definitions:
        await api.call("POST", "/v2/events", definition)
    hook = await api.call(
        "POST",
        "/v2/events/webhook",
        {
            "transformerType": "defaultTransformer",
            "tillCode": "demo.till",
            "uniquenessCheckEnabled": True,
        },
    )
    await api.call(
        "POST",
        "/v2/events/adapter_mapping",
        {
            "transformerType": "WebEngageTransformer",
            "webEngageTransformerData": {
                "eventMapper": {"fieldName": "eventName", "valueMap": {"app_opened": "AppOpen"}},
                "eventFieldMapper": {
                    "AppOpen": [
                        {"eventFieldName": "customer", "fieldName": "user.id"},
                        {"eventFieldName": "os", "fieldName": "device.os"},
                    ]
                },
            },
        },
    )
    mapped = await api.call(
        "POST",
        "/v2/events/webhook",
        {"transformerType": "WebEngageTransformer", "tillCode": "demo.till"},
    )
    secured = await api.call(
        "POST",
        "/v2/events/webhook",
        {
            "transformerType": "PartnerTransformer",
            "tillCode": "demo.till",
            "authEnabled": True,
            "authMechanism": "BASIC",
        },
    )
    return {
        "series": series["seriesId"],
        "hook": hook["webHookId"],
        "mapped": mapped["webHookId"],
        "secured": secured["webHookId"],
    }


async def _customers(api: _Api) -> list[int]:
    ids = []
    for n in range(CUSTOMERS):
        ids.append((await api.call("POST", "/v2/customers", _customer(n)))["createdId"])
    await api.call(
        "POST",
        "/v2/orgs/settings/groups",
        {"externalId": "vip", "name": "VIP", "members": ids[:50]},
    )
    return ids


async def _history(api: _Api, ids: list[int], series: int) -> tuple[int, int]:
    """Changes covering the 11 audit reference types; the (customer, card) they centre on."""
    who = ids[0]
    context = {
        "USER-CONTEXT-ENTITY-TYPE": "INTOUCH_ADMIN_USER",
        "USER-CONTEXT-ENTITY-ID": "75015489",
        "USER-CONTEXT-ENTITY-SOURCE": "MEMBER_CARE",
        "USER-CONTEXT-ENTITY-SOURCE-ID": "Demo Agent",
    }
    # Identifier: a new mobile number replaces the old one.
    await api.call(
        "POST",
        f"/v2/customers/{who}/changeIdentifier",
        {
            "add": [{"type": "mobile", "value": "919900000001"}],
            "remove": [{"type": "mobile", "value": "919800000000"}],
        },
    )
    # StandardField, CustomField, ExtendedField, CommChannel.
    await api.call(
        "PUT",
        f"/v2/customers/{who}",
        {
            "profiles": [
                {
                    "lastName": "Rao-Iyer",
                    "fields": {"nickname": "Ash"},
                    "commChannels": [{"type": "ios", "value": "ios-token-1"}],
                }
            ],
            "extendedFields": {"vehicle_type": "scooter"},
        },
    )
    # CustomerStatus, made by a Member Care agent (user context).
    r = await api.http.put(
        "/v2/customers/lookup/status",
        params={
            "source": "INSTORE",
            "identifierName": "externalId",
            "identifierValue": "EXT-00000",
        },
        json={"reason": "Loyal customer", "label": "Gold"},
        headers=context,
    )
    if r.status_code != 200:
        raise RuntimeError(f"demo: status change answered {r.status_code}: {r.text}")
    # SubscriptionStatus.
    await api.call(
        "POST",
        f"/v2/customers/{who}/subscriptions",
        {
            "subscriptions": [
                {"channel": "EMAIL", "priority": "BULK", "type": "OPTIN"},
                {"channel": "ANDROID", "priority": "TRANS", "type": "OPTOUT"},
            ]
        },
    )
    # CardStatus (and the customer's cardnumber Identifier), CardCustomField,
    # CardExtendedField.
    await api.call(
        "POST",
        f"/v2/customers/{who}/changeIdentifier",
        {"add": [{"type": "cardnumber", "value": "GOLD00000001", "seriesId": series}]},
    )
    card = await api.call(
        "PUT",
        "/v2/card",
        {
            "cardNumber": "GOLD00000001",
            "customFields": {"city": "Bengaluru"},
            "extendedFields": {"card_requested_by": "demo.till"},
        },
    )
    await api.call(
        "PUT",
        "/v2/card",
        {
            "cardNumber": "GOLD00000001",
            "statusLabel": "SUSPENDED",
            "statusInfo": {"reason": "Lost"},
        },
    )
    # CustomerMerge: a duplicate account registered online is merged into the survivor.
    victim = (await api.call("POST", "/v2/customers", _customer(CUSTOMERS + 1, "WEBSITE")))[
        "createdId"
    ]
    await api.call(
        "POST",
        "/v2/requests",
        {
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "changeIdentifiers": {
                "add": [{"type": "id", "value": str(ids[1])}],
                "remove": [{"type": "id", "value": str(victim)}],
            },
        },
        client_auto_approve="true",
    )
    return who, int(card["cardId"])


def _events(ids: list[int], rng: random.Random) -> list[dict[str, Any]]:
    """Events for the default webhook, with every outcome its pipeline can give."""
    events: list[dict[str, Any]] = []
    for index, _ in enumerate(ids):
        mobile = f"9198{index:08d}"
        for k in range(EVENTS_PER_CUSTOMER if index else EVENTS_PER_CUSTOMER * 5):
            kind = rng.random()
            if kind < 0.55:
                events.append(
                    {
                        "event_name": "Purchase",
                        "customer": mobile,
                        "amount": round(rng.uniform(5, 500), 2),
                        "orderId": f"O-{index}-{k % 7}",  # repeats: duplicates
                        "channel": rng.choice(["app", "web", "pos"]),
                        "email": f"c{index}@example.com",
                    }
                )
            elif kind < 0.8:
                group = "vip" if index < 60 else rng.choice(["vip", "gold-tier"])
                events.append(
                    {
                        "event_name": "StoreVisit",
                        "customer": mobile,
                        "store": "demo.till",
                        "group": group,
                    }
                )
            elif kind < 0.87:
                events.append(
                    {
                        "event_name": "Purchase",
                        "customer": mobile,
                        "amount": "lots",  # not a number: fails until the definition allows it
                        "orderId": f"L-{index}-{k}",
                    }
                )
            elif kind < 0.92:
                events.append({"event_name": "Checkout", "customer": mobile})
            elif kind < 0.96:
                events.append(
                    {"event_name": "StoreVisit", "customer": "919999999999", "group": "vip"}
                )
            else:
                events.append(
                    {
                        "event_name": "Purchase",
                        "customer": "919999999999",
                        "amount": 1,
                        "orderId": f"O-unknown-{index}-{k}",
                    }
                )
    events.append({"eventId": str(uuid.uuid4()), "eventName": "customerAdded", "data": {}})
    events.append("not an object")  # type: ignore[arg-type]
    return events


async def _post_events(
    api: _Api, anonymous: httpx.AsyncClient, hooks: dict[str, Any], events: list[dict[str, Any]]
) -> int:
    for start in range(0, len(events), 1000):
        await api.call(
            "POST", f"/webhooks/{hooks['hook']}/batch", {"events": events[start : start + 1000]}
        )
    foreign = [
        {"eventName": "app_opened", "user": {"id": f"EXT-{n:05d}"}, "device": {"os": "android"}}
        for n in range(40)
    ] + [{"eventName": "app_closed", "user": {"id": "EXT-00001"}}]
    await api.call("POST", f"/webhooks/{hooks['mapped']}/batch", {"events": foreign})
    # Refused: no credentials on an authEnabled webhook (logged as Unauthorized).
    r = await anonymous.post(
        f"/webhooks/{hooks['secured']}",
        json={"event_name": "StoreVisit", "customer": "919800000001"},
    )
    if r.status_code != 401:
        raise RuntimeError(f"demo: an unauthenticated post answered {r.status_code}")
    return len(events) + len(foreign) + 1


async def _child(
    api: _Api, child_http: httpx.AsyncClient, hooks: dict[str, Any], child_id: int
) -> None:
    child = _Api(child_http)
    await child.call(
        "POST",
        "/v2/events",
        {
            "eventName": "OutletVisit",
            "actions": ["EIConsumer"],
            "fields": [
                {
                    "name": "customer",
                    "type": "customer",
                    "attributes": {
                        "identifierType": {"value": "mobile"},
                        "addCustomerIfNotExists": True,
                    },
                }
            ],
        },
    )
    # Posted to the parent's webhook, processed in the child (orgResolver).
    await api.call(
        "POST",
        f"/webhooks/{hooks['hook']}/batch",
        {
            "events": [
                {
                    "event_name": "OutletVisit",
                    "customer": f"9198{n:08d}",
                    "orgResolver": {
                        "type": "PARENT_CHILD_ORG",
                        "childOrgId": child_id,
                        "tillCode": "outlet.till",
                    },
                }
                for n in range(20)
            ]
        },
    )


def provision(db: Database) -> tuple[int, int, str, str, str]:
    """Orgs, tills and the OAuth client (the CLI's provisioning, as a user would run it)."""
    password = secrets.token_urlsafe(9)
    with db.transaction() as session:
        org = create_org(session, name=DEMO_ORG_NAME, timezone="UTC")
        child = create_org(
            session, name="Demo Brand Outlet", parent_org_id=org.id, timezone="Asia/Kolkata"
        )
        create_till(
            session,
            org_id=org.id,
            code=DEMO_TILL,
            password=password,
            name="Demo front desk",
            store_code="demo.store",
            store_name="Demo flagship store",
            admin=True,
        )
        # Each org's till administers it; the OAuth client reads (PSI_VIEW) and
        # writes customers, but cannot change configuration.
        create_till(session, org_id=child.id, code="outlet.till", password=password, admin=True)
        client, secret = create_client(
            session, org_id=org.id, till_code=DEMO_TILL, ttl_seconds=3600, psi_view=True
        )
        return org.id, child.id, password, client.key, secret


async def _load(settings: Settings, db: Database) -> DemoResult:
    from eventrail.app import create_app

    org_id, child_id, password, key, secret = provision(db)
    # In this process only: no processor threads, and no metrics for the servers'
    # shared directory (the demo's own requests are not the service's traffic).
    app = create_app(settings.model_copy(update={"processor_threads": 0, "metrics_dir": None}), db)
    background = app.state.background
    background.committer.start()
    rng = random.Random(7)  # noqa: S311 (demo data, not security)
    try:
        transport = httpx.ASGITransport(app=app)
        auth = httpx.BasicAuth(DEMO_TILL, md5_hex(password))
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://demo", auth=auth) as http,
            httpx.AsyncClient(
                transport=transport,
                base_url="http://demo",
                auth=httpx.BasicAuth("outlet.till", md5_hex(password)),
            ) as child_http,
            httpx.AsyncClient(transport=transport, base_url="http://demo") as anonymous,
        ):
            api = _Api(http)
            hooks = await _configure(api)
            ids = await _customers(api)
            posted = await _post_events(api, anonymous, hooks, _events(ids, rng))
            await _child(api, child_http, hooks, child_id)
            await asyncio.to_thread(background.processor.drain, 300.0)
            who, card_id = await _history(api, ids, hooks["series"])
            # A customer leaves the VIP group: their next visit is refused for it.
            await api.call("PUT", "/v2/orgs/settings/groups/vip/members", {"remove": [ids[2]]})
            await api.call(
                "POST",
                f"/webhooks/{hooks['hook']}",
                {"event_name": "StoreVisit", "customer": "919800000002", "group": "vip"},
            )
            await asyncio.to_thread(background.processor.drain, 60.0)
            await api.call("PUT", "/v2/orgs/settings", {"rateLimitPerMinute": _NORMAL_RATE_LIMIT})
    finally:
        background.stop()
    return DemoResult(
        org_id=org_id,
        child_org_id=child_id,
        till=DEMO_TILL,
        password=password,
        client_key=key,
        client_secret=secret,
        busy_customer=ids[0],
        audited_customer=who,
        card_id=card_id,
        events=posted + 21,
    )


def has_data(db: Database) -> bool:
    from eventrail.orgs.repository import OrgRepository

    with db.transaction(write=False) as session:
        return OrgRepository(session).any_org()


def existing_orgs(db: Database) -> list[int]:
    """The orgs earlier demos made (an org "Demo Brand" with the till demo.till), oldest first."""
    from eventrail.auth.repository import AuthRepository

    with db.transaction(write=False) as session:
        tills = AuthRepository(session).tills_by_code(DEMO_TILL)
        return sorted(org.id for _, org, _ in tills if org.name == DEMO_ORG_NAME)


def saved(settings: Settings) -> dict[str, str]:
    """The values the last demo kept in the data directory (empty when there are none)."""
    try:
        text = (settings.data_dir / DEMO_ENV_FILE).read_text()
    except OSError:
        return {}
    pairs = (line.partition("=") for line in text.splitlines())
    return {key.strip(): value.strip() for key, sep, value in pairs if sep}


def run(settings: Settings, base_url: str) -> DemoResult:
    db = Database(settings)
    try:
        result = asyncio.run(_load(settings, db))
    finally:
        db.dispose()
    env_file = settings.data_dir / DEMO_ENV_FILE
    _write_env(env_file, result, base_url)
    return result


def _write_env(path: Path, result: DemoResult, base_url: str) -> None:
    lines = [
        f"DEMO_API={base_url}",
        f"DEMO_ORG={result.org_id}",
        f"DEMO_TILL={result.till}:{result.password}",
        f"DEMO_CUSTOMER={result.busy_customer}",
        f"DEMO_CARD={result.card_id}",
        f"DEMO_CLIENT_KEY={result.client_key}",
        f"DEMO_CLIENT_SECRET={result.client_secret}",
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def curl_commands(result: DemoResult, base_url: str) -> list[str]:
    user = f"{result.till}:{result.password}"
    return [
        f'curl -s -u {user} "{base_url}/v2/events/event_data/{result.busy_customer}?limit=5"',
        f'curl -s -u {user} "{base_url}/v2/events/logs?limit=10"',
        f'curl -s -u {user} "{base_url}/api_gateway/v2/audits?entityType=CUSTOMER'
        f'&entityId={result.audited_customer}&includeUserContext=true"',
    ]
