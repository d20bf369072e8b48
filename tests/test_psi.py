"""PSI masking (SPEC §6, reference §9): when the org masks PSI and the caller lacks
PSI_VIEW, PSI values read as ``*****`` in event data, event logs (``inputRequest``) and audit
values; the database keeps the clear values, so turning masking off shows them again."""

from __future__ import annotations

import copy
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from eventrail.db import Database
from tests.fixtures.factories import Tenant, make_client

MASK = "*****"
EVENT_DATA = "/v2/events/event_data"
LOGS = "/v2/events/logs"
AUDITS = "/api_gateway/v2/audits"
SETTINGS = "/v2/orgs/settings"
PSI_FIELDS = {"nick", "vehicle"}  # custom / extended fields created with "psi": true

Drain = Callable[[], int]
Headers = dict[str, str]


# -- helpers -------------------------------------------------------------------------------
def mobile() -> str:
    return "91" + "".join(random.choices(string.digits[1:], k=10))


def token(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def envelope(r: httpx.Response) -> list[dict[str, Any]]:
    body = ok(r)
    assert body["warnings"] == [] and body["errors"] == [], body
    items: list[dict[str, Any]] = body["data"]
    return items


def decode(value: Any) -> Any:
    """A JSON column as read with plain SQL: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


async def set_masking(t: Tenant, enabled: bool) -> None:
    body = ok(await t.http.put(SETTINGS, json={"psiMaskingEnabled": enabled}))
    assert body["psiMaskingEnabled"] is enabled
    assert ok(await t.http.get(SETTINGS))["psiMaskingEnabled"] is enabled


async def oauth(http: httpx.AsyncClient, db: Database, t: Tenant, *, psi_view: bool) -> Headers:
    key, secret = make_client(db, t.org_id, t.till_code, psi_view=psi_view)
    r = await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    access: str = ok(r)["data"]["accessToken"]
    return {"X-CAP-API-OAUTH-TOKEN": access}


@dataclass
class Viewers:
    """The org's Basic till client, and OAuth clients with and without PSI_VIEW."""

    tenant: Tenant
    http: httpx.AsyncClient
    psi_view: Headers
    plain: Headers

    def all(self) -> dict[str, tuple[httpx.AsyncClient, Headers]]:
        return {
            "basic": (self.tenant.http, {}),
            "oauth_psi_view": (self.http, self.psi_view),
            "oauth_plain": (self.http, self.plain),
        }


async def viewers(http: httpx.AsyncClient, db: Database, t: Tenant) -> Viewers:
    return Viewers(
        t, http, await oauth(http, db, t, psi_view=True), await oauth(http, db, t, psi_view=False)
    )


async def read_modes(
    v: Viewers, read: Callable[[httpx.AsyncClient, Headers], Any]
) -> dict[str, Any]:
    """What each viewer reads with masking off, then on, then off again."""
    seen: dict[str, Any] = {}
    for phase, enabled in (("off", False), ("on", True), ("off_again", False)):
        await set_masking(v.tenant, enabled)
        for name, (client, headers) in v.all().items():
            seen[f"{phase}/{name}"] = await read(client, headers)
    return seen


def assert_modes(seen: dict[str, Any], clear: Any, masked: Any) -> None:
    """Masking off: everyone reads clear values; on: only PSI_VIEW does; off again: clear."""
    assert clear != masked, "the data must hold PSI values for this test to mean anything"
    expected = {
        "off/basic": clear,
        "off/oauth_psi_view": clear,
        "off/oauth_plain": clear,
        "on/basic": masked,
        "on/oauth_psi_view": clear,
        "on/oauth_plain": masked,
        "off_again/basic": clear,
        "off_again/oauth_psi_view": clear,
        "off_again/oauth_plain": clear,
    }
    for mode, want in expected.items():
        assert seen[mode] == want, mode


# -- behavioural events ------------------------------------------------------------------------
@dataclass
class EventWorld:
    tenant: Tenant
    visit: str
    ext_visit: str
    mobile: str
    external_id: str
    customer_id: int
    full: str = ""  # Visit with every field
    partial: str = ""  # Visit without the PSI "note"
    by_external_id: str = ""  # ExtVisit, customer by externalId
    unknown: str = ""  # an event name nobody defined
    invalid: str = ""  # Visit failing field validation
    all_ids: list[str] = field(default_factory=list)


async def event_world(t: Tenant, http: httpx.AsyncClient, drain: Drain) -> EventWorld:
    visit, ext_visit = token("Visit_"), token("ExtVisit_")
    psi = {"isPsiData": {"value": "true"}}
    for name, identifier in ((visit, "mobile"), (ext_visit, "externalId")):
        fields = [
            {
                "name": "customer",
                "type": "customer",
                "attributes": {"identifierType": {"value": identifier}},
            },
            {"name": "age", "type": "double", "attributes": psi},
            {"name": "city", "type": "string"},
        ]
        if name == visit:
            fields.append({"name": "note", "type": "string", "attributes": psi})
        r = await t.http.post(
            "/v2/events", json={"eventName": name, "actions": ["EIConsumer"], "fields": fields}
        )
        assert r.status_code == 200 and r.json()["errors"] == [], r.text
    hook = ok(
        await t.http.post(
            "/v2/events/webhook",
            json={"transformerType": "defaultTransformer", "tillCode": t.till_code},
        )
    )["webHookId"]
    mob, ext = mobile(), token("EXT")
    customer_id = ok(
        await t.http.post(
            "/v2/customers",
            json={
                "profiles": [
                    {
                        "firstName": "Odalys",
                        "lastName": "Fenwick",
                        "identifiers": [
                            {"type": "mobile", "value": mob},
                            {"type": "externalId", "value": ext},
                        ],
                    }
                ]
            },
        )
    )["createdId"]
    w = EventWorld(t, visit, ext_visit, mob, ext, customer_id)

    async def post(payload: dict[str, Any]) -> str:
        r = await http.post(f"/webhooks/{hook}", json=payload)
        assert r.status_code == 200, r.text
        request_id: str = r.json()["requestId"]
        w.all_ids.append(request_id)
        return request_id

    w.full = await post(
        {
            "event_name": visit,
            "customer": mob,
            "age": 41.5,
            "city": "Pune",
            "note": "zircon-secret",
            "free": "undeclared",
        }
    )
    w.partial = await post({"event_name": visit, "customer": mob, "age": 52, "city": "Goa"})
    w.by_external_id = await post(
        {"event_name": ext_visit, "customer": ext, "age": 63.25, "city": "Agra"}
    )
    w.unknown = await post({"event_name": token("Nobody_"), "customer": mob, "age": 74})
    w.invalid = await post(
        {"event_name": visit, "customer": mob, "age": "not-a-number", "note": "quartz-secret"}
    )
    drain()
    return w


def masked_record(record: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["additonalAttributes"] = {
        key: (MASK if key in record["psiAttributes"] and value is not None else value)
        for key, value in record["additonalAttributes"].items()
    }
    return out


async def test_event_data_masks_psi_attributes(
    tenant: Tenant, http: httpx.AsyncClient, db: Database, drain: Drain
) -> None:
    w = await event_world(tenant, http, drain)
    v = await viewers(http, db, tenant)

    async def read(client: httpx.AsyncClient, headers: Headers) -> Any:
        records = envelope(await client.get(f"{EVENT_DATA}/{w.customer_id}", headers=headers))
        one = envelope(await client.get(EVENT_DATA, params={"id": w.full}, headers=headers))
        return {"records": records, "one": one}

    seen = await read_modes(v, read)
    clear = seen["off/basic"]
    records = clear["records"]
    # newest first; the ExtVisit event belongs to the same customer
    assert [r["eventId"] for r in records] == [w.by_external_id, w.partial, w.full]
    full = records[2]
    attributes = full["additonalAttributes"]
    assert attributes["age"] == "41.5"
    assert attributes["note"] == "zircon-secret"
    assert attributes["city"] == "Pune"
    assert attributes["free"] == "undeclared"
    assert full["psiAttributes"] == ["age", "note"]
    assert records[1]["psiAttributes"] == ["age", "note"]
    assert "note" not in records[1]["additonalAttributes"]
    assert records[0]["psiAttributes"] == ["age"]
    assert clear["one"] == [full]

    masked = {"records": [masked_record(r) for r in records], "one": [masked_record(full)]}
    assert_modes(seen, clear, masked)

    # spot checks of the masked view
    on = seen["on/basic"]
    m_full = on["records"][2]["additonalAttributes"]
    assert m_full["age"] == MASK
    assert m_full["note"] == MASK
    assert m_full["city"] == "Pune"
    assert m_full["free"] == "undeclared"
    assert m_full["customerId"] == str(w.customer_id)
    assert m_full["eventName"] == w.visit
    assert on["records"][1]["additonalAttributes"]["age"] == MASK
    assert "note" not in on["records"][1]["additonalAttributes"]
    assert on["records"][0]["additonalAttributes"]["age"] == MASK
    assert on["records"][0]["additonalAttributes"]["city"] == "Agra"
    for masked_one, clear_one in zip(on["records"], clear["records"], strict=True):
        assert masked_one["psiAttributes"] == clear_one["psiAttributes"]
    text_on = json.dumps(on)
    for secret in ("41.5", "52.0", "63.25", "zircon-secret"):
        assert secret not in text_on

    # the database holds the clear values
    with db.transaction(write=False) as session:
        rows = session.execute(
            text("SELECT id, attributes, psi_attributes FROM event_records WHERE org_id = :org"),
            {"org": tenant.org_id},
        ).all()
    stored = {row[0]: (decode(row[1]), decode(row[2])) for row in rows}
    assert set(stored) == {w.full, w.partial, w.by_external_id}
    assert stored[w.full][0]["age"] == "41.5"
    assert stored[w.full][0]["note"] == "zircon-secret"
    assert stored[w.full][1] == ["age", "note"]
    assert stored[w.by_external_id][0]["age"] == "63.25"
    assert MASK not in json.dumps([s[0] for s in stored.values()])


def masked_input(entry: dict[str, Any], w: EventWorld) -> dict[str, Any]:
    """The log entry (inputRequest parsed) as a masking viewer should see it."""
    out = dict(entry)
    doc = copy.deepcopy(entry["inputRequest"])
    if entry["id"] in (w.full, w.partial, w.invalid):
        keys = ("customer", "age", "note")
    elif entry["id"] == w.by_external_id:
        keys = ("age",)  # an externalId customer stays clear
    else:
        keys = ()  # unknown event name: no definition says what is PSI
    for key in keys:
        if doc.get(key) is not None:
            doc[key] = MASK
    out["inputRequest"] = doc
    return out


async def test_event_logs_mask_psi_values_of_the_input_request(
    tenant: Tenant, http: httpx.AsyncClient, db: Database, drain: Drain
) -> None:
    w = await event_world(tenant, http, drain)
    v = await viewers(http, db, tenant)

    async def read(client: httpx.AsyncClient, headers: Headers) -> Any:
        entries = envelope(await client.get(LOGS, params={"limit": 100}, headers=headers))
        # inputRequest is a JSON string; compare documents
        return [{**e, "inputRequest": json.loads(e["inputRequest"])} for e in entries]

    seen = await read_modes(v, read)
    clear = seen["off/basic"]
    assert [e["id"] for e in clear] == w.all_ids[::-1]
    by_id = {e["id"]: e for e in clear}
    assert by_id[w.full]["inputRequest"]["customer"] == w.mobile
    assert by_id[w.full]["inputRequest"]["age"] == 41.5
    assert by_id[w.full]["status"] == "EVENT_SUCCESS"
    assert by_id[w.unknown]["status"] == "INVALID_EVENT_NAME"
    assert by_id[w.invalid]["status"] == "EVENT_FIELD_VALIDATION_FAILED"

    masked = [masked_input(e, w) for e in clear]
    assert_modes(seen, clear, masked)

    on = {e["id"]: e["inputRequest"] for e in seen["on/basic"]}
    assert on[w.full] == {
        "event_name": w.visit,
        "customer": MASK,
        "age": MASK,
        "city": "Pune",
        "note": MASK,
        "free": "undeclared",
    }
    assert on[w.partial] == {
        "event_name": w.visit,
        "customer": MASK,
        "age": MASK,
        "city": "Goa",
    }
    assert on[w.by_external_id] == {
        "event_name": w.ext_visit,
        "customer": w.external_id,
        "age": MASK,
        "city": "Agra",
    }
    assert on[w.invalid]["customer"] == MASK
    assert on[w.invalid]["age"] == MASK
    assert on[w.invalid]["note"] == MASK
    assert on[w.unknown]["customer"] == w.mobile  # unknown event: nothing says it is PSI
    assert on[w.unknown]["age"] == 74
    # filters give the same masked entries
    await set_masking(tenant, True)
    raw = await tenant.http.get(
        LOGS, params={"event_name": w.visit, "status": "EVENT_SUCCESS", "limit": 100}
    )
    filtered = envelope(raw)
    assert [e["id"] for e in filtered] == [w.partial, w.full]
    assert w.mobile not in raw.text
    assert "zircon-secret" not in raw.text
    assert all(isinstance(e["inputRequest"], str) for e in filtered)
    await set_masking(tenant, False)

    # the database holds the bodies as received
    with db.transaction(write=False) as session:
        rows = session.execute(
            text("SELECT id, input_request FROM event_logs WHERE org_id = :org"),
            {"org": tenant.org_id},
        ).all()
    stored = {row[0]: json.loads(row[1]) for row in rows}
    assert set(stored) == set(w.all_ids)
    assert stored[w.full]["customer"] == w.mobile
    assert stored[w.full]["age"] == 41.5
    assert stored[w.full]["note"] == "zircon-secret"
    assert stored[w.invalid]["note"] == "quartz-secret"
    assert MASK not in json.dumps(stored)


async def test_event_logs_mask_mapped_paths_of_a_foreign_payload(
    tenant: Tenant, http: httpx.AsyncClient, db: Database, drain: Drain
) -> None:
    """A mapping transformer: the PSI values sit at the mapped paths of the foreign body."""
    name = token("Shop_")
    fields = [
        {"name": "customer", "type": "customer", "attributes": {"identifierType": "mobile"}},
        {"name": "age", "type": "double", "attributes": {"isPsiData": {"value": "true"}}},
        {"name": "city", "type": "string"},
    ]
    r = await tenant.http.post(
        "/v2/events", json={"eventName": name, "actions": ["EIConsumer"], "fields": fields}
    )
    assert r.status_code == 200, r.text
    ok(
        await tenant.http.post(
            "/v2/events/adapter_mapping",
            json={
                "transformerType": "WebEngageTransformer",
                "webEngageTransformerData": {
                    "eventMapper": {"fieldName": "meta.name", "valueMap": {"shop": name}},
                    "eventFieldMapper": {
                        name: [
                            {"eventFieldName": "customer", "fieldName": "user.phone"},
                            {"eventFieldName": "age", "fieldName": "data.items.0.age"},
                            {"eventFieldName": "city", "fieldName": "data.city"},
                        ]
                    },
                },
            },
        )
    )
    hook = ok(
        await tenant.http.post(
            "/v2/events/webhook",
            json={"transformerType": "WebEngageTransformer", "tillCode": tenant.till_code},
        )
    )["webHookId"]
    mob = mobile()
    ok(
        await tenant.http.post(
            "/v2/customers",
            json={"profiles": [{"identifiers": [{"type": "mobile", "value": mob}]}]},
        )
    )
    body = {
        "meta": {"name": "shop"},
        "user": {"phone": mob, "name": "keep"},
        "data": {"items": [{"age": 37, "sku": "S1"}], "city": "Delhi"},
    }
    r = await http.post(f"/webhooks/{hook}", json=body)
    assert r.status_code == 200, r.text
    request_id = r.json()["requestId"]
    drain()
    v = await viewers(http, db, tenant)

    async def read(client: httpx.AsyncClient, headers: Headers) -> Any:
        [entry] = envelope(await client.get(LOGS, headers=headers))
        assert entry["id"] == request_id
        assert entry["status"] == "EVENT_SUCCESS", entry
        return json.loads(entry["inputRequest"])

    seen = await read_modes(v, read)
    masked = copy.deepcopy(body)
    masked["user"]["phone"] = MASK
    masked["data"]["items"][0]["age"] = MASK
    assert_modes(seen, body, masked)


# -- audit trail -------------------------------------------------------------------------------
def should_mask(event: dict[str, Any]) -> bool:
    kind, name = event["eventType"], event["updatedField"]
    if kind == "Identifiers":
        return name != "externalId"
    if kind in ("Standard Fields", "Communication Channels"):
        return True
    if kind in ("Custom Fields", "Extended Fields"):
        return name in PSI_FIELDS
    return False  # statuses, subscriptions, merges, cards


def masked_entry(entry: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(entry)
    for event in out["events"]:
        if should_mask(event):
            for key in ("previousValue", "currentValue"):
                value = event["additionalFields"].get(key)
                if value not in (None, "NA"):
                    event["additionalFields"][key] = MASK
    for key in ("victimUserDetails", "survivorUserDetails"):
        details = out[key]
        if details is not None:
            out[key] = {
                k: (value if k == "externalId" or value is None else MASK)
                for k, value in details.items()
            }
    return out


@dataclass
class AuditWorld:
    customer_id: int
    survivor_id: int
    victim_id: int
    card_id: int
    secrets: list[str]  # PSI values that must never show through a mask
    clear_values: list[str]  # non-PSI values that must always show


async def write(t: Tenant, method: str, path: str, body: Any, **params: Any) -> None:
    r = await t.http.request(method, path, json=body, params=params or None)
    assert r.status_code == 200, r.text
    warnings = r.json().get("warnings") or []
    assert not [w for w in warnings if w.get("code") not in (8071,)], r.text


async def audit_world(t: Tenant) -> AuditWorld:
    for entity, kind, name, psi in (
        ("CUSTOMER", "custom", "nick", True),
        ("CUSTOMER", "custom", "color", False),
        ("CUSTOMER", "extended", "vehicle", True),
        ("CUSTOMER", "extended", "tier", False),
    ):
        await write(
            t,
            "POST",
            f"{SETTINGS}/fields",
            {
                "entityType": entity,
                "kind": kind,
                "name": name,
                "dataType": "string",
                "auditTrail": True,
                "psi": psi,
            },
        )
    mob1, mob2 = mobile(), mobile()
    ext1, ext2 = token("EXTA"), token("EXTB")
    mail1, mail2 = f"{token('m')}@example.com", f"{token('n')}@example.com"
    first1, first2, last = token("Ysolde"), token("Yvaine"), token("Quenby")
    r = await t.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "firstName": first1,
                    "lastName": last,
                    "identifiers": [
                        {"type": "mobile", "value": mob1},
                        {"type": "externalId", "value": ext1},
                        {"type": "email", "value": mail1},
                    ],
                    "commChannels": [{"type": "email", "value": mail1, "primary": True}],
                    "fields": {"nick": "Nickolas", "color": "cerulean"},
                }
            ],
            "extendedFields": {"vehicle": "Zeppelin", "tier": "platinum"},
        },
    )
    customer_id = ok(r)["createdId"]
    cid = f"/v2/customers/{customer_id}"
    # names, comm channel and fields change
    await write(
        t,
        "PUT",
        cid,
        {
            "profiles": [
                {
                    "firstName": first2,
                    "commChannels": [{"type": "email", "value": mail2, "primary": True}],
                    "fields": {"nick": "Nicodemus", "color": "vermilion"},
                }
            ],
            "extendedFields": {"vehicle": "Dirigible", "tier": "titanium"},
        },
    )
    # identifiers replaced: a mobile (PSI) and an externalId (not PSI)
    await write(
        t,
        "POST",
        f"{cid}/changeIdentifier",
        {
            "add": [{"type": "mobile", "value": mob2}, {"type": "externalId", "value": ext2}],
            "remove": [{"type": "mobile", "value": mob1}, {"type": "externalId", "value": ext1}],
        },
    )
    # subscriptions and a card: never PSI
    await write(
        t,
        "POST",
        f"{cid}/subscriptions",
        {"subscriptions": [{"channel": "EMAIL", "priority": "TRANS", "type": "OPTOUT"}]},
    )
    series = token("SER")
    series_id = ok(
        await t.http.post(f"{SETTINGS}/cardSeries", json={"name": series, "code": series})
    )["seriesId"]
    number = token("CARD").upper()
    await write(
        t,
        "POST",
        f"{cid}/changeIdentifier",
        {"add": [{"type": "cardnumber", "value": number, "seriesId": series_id}]},
    )
    card_id = ok(await t.http.get("/v2/card", params={"number": number}))["cardId"]
    # the status last (a suspended customer is still readable)
    await write(
        t,
        "PUT",
        "/v2/customers/lookup/status",
        {"reason": "audit check", "label": "SUSPENDED"},
        source="INSTORE",
        identifierName="externalId",
        identifierValue=ext2,
    )

    # a merge: the victim's email and externalId move to the survivor
    s_mob, v_mob = mobile(), mobile()
    v_ext, v_mail = token("EXTV"), f"{token('v')}@example.com"
    s_first, v_first, v_last = token("Saoirse"), token("Vashti"), token("Verhoeven")
    survivor_id = ok(
        await t.http.post(
            "/v2/customers",
            json={
                "profiles": [
                    {"firstName": s_first, "identifiers": [{"type": "mobile", "value": s_mob}]}
                ]
            },
        )
    )["createdId"]
    victim_id = ok(
        await t.http.post(
            "/v2/customers",
            json={
                "profiles": [
                    {
                        "firstName": v_first,
                        "lastName": v_last,
                        "identifiers": [
                            {"type": "mobile", "value": v_mob},
                            {"type": "email", "value": v_mail},
                            {"type": "externalId", "value": v_ext},
                        ],
                    }
                ]
            },
        )
    )["createdId"]
    await write(
        t,
        "POST",
        "/v2/requests",
        {
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "changeIdentifiers": {
                "add": [{"type": "id", "value": str(survivor_id)}],
                "remove": [{"type": "id", "value": str(victim_id)}],
            },
        },
        client_auto_approve="true",
    )
    return AuditWorld(
        customer_id,
        survivor_id,
        victim_id,
        card_id,
        secrets=[
            mob1,
            mob2,
            mail1,
            mail2,
            first1,
            first2,
            last,
            "Nickolas",
            "Nicodemus",
            "Zeppelin",
            "Dirigible",
            s_mob,
            v_mob,
            v_mail,
            s_first,
            v_first,
            v_last,
        ],
        clear_values=[ext1, ext2, v_ext, "cerulean", "vermilion", "platinum", "titanium"],
    )


async def test_audits_mask_psi_values_and_merge_details(
    tenant: Tenant, http: httpx.AsyncClient, db: Database
) -> None:
    w = await audit_world(tenant)
    v = await viewers(http, db, tenant)
    entities = [
        ("CUSTOMER", w.customer_id),
        ("CUSTOMER", w.survivor_id),
        ("CUSTOMER", w.victim_id),
        ("CARD", w.card_id),
    ]

    async def read(client: httpx.AsyncClient, headers: Headers) -> Any:
        pages = []
        for entity_type, entity_id in entities:
            r = await client.get(
                AUDITS,
                params={
                    "entityType": entity_type,
                    "entityId": entity_id,
                    "limit": 100,
                    "sortOrder": "ASC",
                },
                headers=headers,
            )
            pages.append(ok(r))
        return pages

    seen = await read_modes(v, read)
    clear = seen["off/basic"]
    masked = [{**page, "data": [masked_entry(e) for e in page["data"]]} for page in clear]
    assert_modes(seen, clear, masked)

    # every kind of event is there, with its clear values
    clear_text = json.dumps(clear)
    for value in w.secrets + w.clear_values:
        assert value in clear_text, value
    kinds = {ev["eventType"] for page in clear for e in page["data"] for ev in e["events"]}
    assert kinds >= {
        "Identifiers",
        "Standard Fields",
        "Communication Channels",
        "Custom Fields",
        "Extended Fields",
        "Customer Status",
        "Subscription Status",
        "Customer Merge",
        "Card Status",
    }, kinds
    merged = [e for page in clear[1:3] for e in page["data"] if e["victimUserDetails"]]
    assert len(merged) == 2
    for entry in merged:
        assert entry["victimUserDetails"]["externalId"] is not None
        assert entry["victimUserDetails"]["mobile"] is not None

    # the masked view: no PSI value shows; non-PSI values and "NA" do
    for mode in ("on/basic", "on/oauth_plain"):
        text_on = json.dumps(seen[mode])
        for secret in w.secrets:
            assert secret not in text_on, (mode, secret)
        for value in w.clear_values:
            assert value in text_on, (mode, value)
    on = seen["on/basic"]
    events = [ev for e in on[0]["data"] for ev in e["events"]]

    def one(kind: str, name: str) -> list[dict[str, Any]]:
        return [
            ev["additionalFields"]
            for ev in events
            if (ev["eventType"], ev["updatedField"]) == (kind, name)
        ]

    # creation: "NA" stays "NA"
    assert {"previousValue": "NA", "currentValue": MASK} in one("Identifiers", "mobile")
    assert {"previousValue": MASK, "currentValue": MASK} in one("Identifiers", "mobile")
    assert {"previousValue": "NA", "currentValue": MASK} in one("Standard Fields", "FirstName")
    assert {"previousValue": MASK, "currentValue": MASK} in one("Standard Fields", "FirstName")
    assert {"previousValue": MASK, "currentValue": MASK} in one("Communication Channels", "email")
    assert {"previousValue": MASK, "currentValue": MASK} in one("Custom Fields", "nick")
    assert {"previousValue": "cerulean", "currentValue": "vermilion"} in one(
        "Custom Fields", "color"
    )
    assert {"previousValue": MASK, "currentValue": MASK} in one("Extended Fields", "vehicle")
    assert {"previousValue": "platinum", "currentValue": "titanium"} in one(
        "Extended Fields", "tier"
    )
    ext_changes = one("Identifiers", "externalId")
    assert all(MASK not in change.values() for change in ext_changes), ext_changes
    status = one("Customer Status", "CustomerStatus")
    assert status[-1]["previousValue"] == "ACTIVE"
    assert status[-1]["currentValue"] == "SUSPENDED"
    subscription = [
        ev["additionalFields"] for ev in events if ev["eventType"] == "Subscription Status"
    ]
    assert subscription and subscription[-1]["currentValue"] == "OPTOUT"
    card_events = [ev for e in on[3]["data"] for ev in e["events"]]
    assert card_events and all(MASK not in json.dumps(ev) for ev in card_events)
    for entry in (e for page in on[1:3] for e in page["data"] if e["victimUserDetails"]):
        details = entry["victimUserDetails"]
        assert details["externalId"] != MASK and details["externalId"] is not None
        assert details["mobile"] == MASK
        assert details["firstName"] == MASK
        assert details["email"] == MASK
        assert entry["survivorUserDetails"]["mobile"] == MASK
        merge_events = [ev for ev in entry["events"] if ev["eventType"] == "Customer Merge"]
        assert merge_events[0]["additionalFields"] == {
            "victimId": str(w.victim_id),
            "survivorId": str(w.survivor_id),
        }

    # the database holds the clear values
    with db.transaction(write=False) as session:
        rows = session.execute(
            text(
                "SELECT events, victim_details FROM audit_entries "
                "WHERE org_id = :org AND entity_type = 'CUSTOMER'"
            ),
            {"org": tenant.org_id},
        ).all()
    stored = json.dumps([[decode(row[0]), decode(row[1])] for row in rows])
    for value in w.secrets + w.clear_values:
        assert value in stored, value
    assert MASK not in stored


# -- entries refused before validation, of a known event -----------------------------------
async def _visit_with_webhook(t: Tenant) -> tuple[str, str]:
    name = token("Visit_")
    fields = [
        {"name": "customer", "type": "customer", "attributes": {"identifierType": "mobile"}},
        {"name": "age", "type": "double", "attributes": {"isPsiData": {"value": "true"}}},
        {"name": "city", "type": "string"},
    ]
    r = await t.http.post(
        "/v2/events", json={"eventName": name, "actions": ["EIConsumer"], "fields": fields}
    )
    assert r.status_code == 200, r.text
    hook: str = ok(
        await t.http.post(
            "/v2/events/webhook",
            json={"transformerType": "defaultTransformer", "tillCode": t.till_code},
        )
    )["webHookId"]
    return name, hook


async def test_unauthorized_entry_of_a_known_event_masks_its_psi_values(
    tenant: Tenant, http: httpx.AsyncClient, drain: Drain
) -> None:
    """A post refused for its credentials still carries the customer's PSI values, and the
    event it names says which they are: they are masked like any other entry's."""
    name, hook = await _visit_with_webhook(tenant)
    ok(
        await tenant.http.put(
            "/v2/events/webhook",
            json={"webHookId": hook, "authEnabled": True, "authMechanism": "BASIC"},
        )
    )
    mob = mobile()
    ok(
        await tenant.http.post(
            "/v2/customers",
            json={"profiles": [{"identifiers": [{"type": "mobile", "value": mob}]}]},
        )
    )
    payload = {"event_name": name, "customer": mob, "age": 29.5, "city": "Kochi"}
    refused = await http.post(f"/webhooks/{hook}", json=payload)
    assert refused.status_code == 401, refused.text
    refused_id = refused.headers["x-cap-requestid"]
    accepted = await http.post(f"/webhooks/{hook}", json=payload, headers=tenant.auth)
    assert accepted.status_code == 200, accepted.text
    accepted_id = accepted.json()["requestId"]
    drain()
    await set_masking(tenant, True)
    entries = {e["id"]: e for e in envelope(await tenant.http.get(LOGS, params={"limit": 100}))}
    expected = {"event_name": name, "customer": MASK, "age": MASK, "city": "Kochi"}
    # control: the accepted post is masked
    assert entries[accepted_id]["status"] == "EVENT_SUCCESS"
    assert json.loads(entries[accepted_id]["inputRequest"]) == expected
    refused_entry = entries[refused_id]
    assert "status" not in refused_entry
    assert refused_entry["message"] == "Unauthorized"
    assert json.loads(refused_entry["inputRequest"]) == expected, refused_entry


async def test_refused_org_resolver_entry_of_a_known_event_masks_its_psi_values(
    tenant: Tenant, http: httpx.AsyncClient, drain: Drain
) -> None:
    """An invalid orgResolver is refused in the webhook's org, whose definition of the named
    event says which values are PSI."""
    name, hook = await _visit_with_webhook(tenant)
    mob = mobile()
    payload = {
        "event_name": name,
        "customer": mob,
        "age": 31.5,
        "city": "Surat",
        "orgResolver": {"type": "PARENT_CHILD_ORG", "childOrgId": 2_000_000_000, "tillCode": "x"},
    }
    r = await http.post(f"/webhooks/{hook}", json=payload)
    assert r.status_code == 200, r.text
    request_id = r.json()["requestId"]
    drain()
    await set_masking(tenant, True)
    [entry] = envelope(await tenant.http.get(LOGS))
    assert entry["id"] == request_id
    assert entry["status"] == "EVENT_FIELD_VALIDATION_FAILED"
    assert entry["message"].startswith("Invalid value for field orgResolver:")
    assert json.loads(entry["inputRequest"]) == {**payload, "customer": MASK, "age": MASK}, entry


# -- customer and card reads ---------------------------------------------------------------
def masked_customer(view: dict[str, Any]) -> dict[str, Any]:
    """The customer view as a masked caller must read it: every identifier but
    externalId, the names, the channels' values and the PSI fields as *****."""
    out = copy.deepcopy(view)
    for profile in out["profiles"]:
        for name in ("firstName", "lastName"):
            if profile[name] is not None:
                profile[name] = MASK
        for ident in profile["identifiers"]:
            if ident["type"] != "externalId":
                ident["value"] = MASK
        for channel in profile["commChannels"]:
            channel["value"] = MASK
        profile["fields"] = {
            k: MASK if k in PSI_FIELDS else v for k, v in profile["fields"].items()
        }
    out["extendedFields"] = {
        k: MASK if k in PSI_FIELDS else v for k, v in out["extendedFields"].items()
    }
    return out


async def test_customer_and_card_reads_mask_psi_values(
    tenant: Tenant, http: httpx.AsyncClient, db: Database
) -> None:
    w = await audit_world(tenant)
    for name, psi in (("pin_hint", True), ("batch", False)):
        await write(
            tenant,
            "POST",
            f"{SETTINGS}/fields",
            {
                "entityType": "CARD",
                "kind": "custom",
                "name": name,
                "dataType": "string",
                "auditTrail": False,
                "psi": psi,
            },
        )
    series_id = envelope(await tenant.http.get(f"{SETTINGS}/cardSeries"))[0]["seriesId"]
    number = token("PSICARD").upper()
    await write(
        tenant,
        "POST",
        "/v2/card",
        {
            "cardNumber": number,
            "seriesId": series_id,
            "customFields": {"pin_hint": "obsidian-hint", "batch": "B7"},
        },
    )
    first = ok(await tenant.http.get(f"/v2/customers/{w.customer_id}"))
    [external] = [
        i["value"] for i in first["profiles"][0]["identifiers"] if i["type"] == "externalId"
    ]
    v = await viewers(http, db, tenant)

    async def read(client: httpx.AsyncClient, headers: Headers) -> Any:
        by_id = ok(await client.get(f"/v2/customers/{w.customer_id}", headers=headers))
        by_lookup = ok(
            await client.get(
                "/v2/customers/lookup/customerDetails",
                params={"identifierName": "externalId", "identifierValue": external},
                headers=headers,
            )
        )
        card = ok(await client.get("/v2/card", params={"number": number}, headers=headers))
        return [by_id, by_lookup, card]

    seen = await read_modes(v, read)
    clear = seen["off/basic"]
    masked_card = {**clear[2], "customFields": {"pin_hint": MASK, "batch": "B7"}}
    masked = [masked_customer(clear[0]), masked_customer(clear[1]), masked_card]
    assert_modes(seen, clear, masked)

    # what the clear view shows and the masked one must not: the current mobile, email,
    # names and card number (every one of them PSI), the PSI fields' values
    clear_text = json.dumps(clear[:2])
    idents = {i["type"]: i["value"] for i in clear[0]["profiles"][0]["identifiers"]}
    assert {"mobile", "email", "externalId", "cardnumber"} <= set(idents)
    shown = [s for s in w.secrets if s in clear_text] + [idents["cardnumber"], "Nicodemus"]
    assert len(shown) >= 7, shown
    for mode in ("on/basic", "on/oauth_plain"):
        customers_on, card_on = json.dumps(seen[mode][:2]), json.dumps(seen[mode][2])
        for secret in shown:
            assert secret not in customers_on, (mode, secret)
        for value in (external, "vermilion", "titanium", str(w.customer_id)):
            assert value in customers_on, (mode, value)
        assert "obsidian-hint" not in card_on and "B7" in card_on
        # the card's own number is what the caller asked by: it shows
        assert number in card_on
