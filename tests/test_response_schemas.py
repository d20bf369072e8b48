"""/openapi.json describes what the routes really answer.

Every operation of the document is called for real through the ASGI app (an org with
customers, cards, a merge request, events, webhooks and processed posts), and each
answer is validated against the schema the document declares for its status. The
objects of those schemas are read as closed: a key the document does not list fails,
and the keys sent must come in the order the document lists them, so the shapes are
checked key by key. Every operation must have been answered with
a 2xx at least once, and every 2xx schema must say more than "an object".
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs

from eventrail.app import EventrailApp
from tests.fixtures.factories import Tenant, make_client, unique
from tests.fixtures.ingest import definition, running_processor, setup_org
from tests.fixtures.isolation import build_org_a
from tests.security.document import DOCUMENT, OPERATIONS

SETTINGS = "/v2/orgs/settings"


def closed(node: Any) -> Any:
    """The schema with every object that lists its properties closed to other keys."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: closed(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", template)
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")


# Literal paths before templated ones: /v2/customers/lookup is not /v2/customers/{id}.
_TEMPLATES = sorted(DOCUMENT["paths"], key=lambda path: (path.count("{"), path))
_PATTERNS = [(template, _pattern(template)) for template in _TEMPLATES]


def template_of(method: str, path: str) -> str | None:
    for template, pattern in _PATTERNS:
        if pattern.match(path) and method.lower() in DOCUMENT["paths"][template]:
            return template
    return None


@dataclass
class Answers:
    """Every answer the clients got, by operation."""

    seen: dict[tuple[str, str], list[httpx.Response]] = field(default_factory=dict)
    components: dict[str, Any] = field(
        default_factory=lambda: closed(copy.deepcopy(DOCUMENT["components"]))
    )

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        method = response.request.method
        template = template_of(method, response.request.url.path)
        if template is not None:
            self.seen.setdefault((method, template), []).append(response)

    def problems(self, method: str, template: str, response: httpx.Response) -> list[str]:
        declared = DOCUMENT["paths"][template][method.lower()]["responses"]
        status = str(response.status_code)
        if status not in declared:
            return [f"{response.status_code} is not a documented answer: {response.text[:300]}"]
        content = declared[status].get("content", {}).get("application/json")
        if content is None:
            return []
        schema = {**content["schema"], "components": self.components}
        validator = jsonschema_rs.Draft202012Validator(schema)
        body = response.json()
        return [
            f"{response.status_code} at {'/'.join(map(str, error.instance_path))}: {error.message}"
            for error in validator.iter_errors(body)
        ] + [f"{response.status_code} {problem}" for problem in key_order(content["schema"], body)]


def _resolve(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """A ``$ref`` followed; of an ``anyOf``, the branch for a value that is not null."""
    while True:
        if "$ref" in schema:
            schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in schema and value is not None:
            branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
            if len(branches) > 1 and isinstance(value, dict):  # the shape with its keys
                branches = [
                    b
                    for b in branches
                    if set(value) <= set(_resolve(b, value).get("properties", {}))
                ]
            if len(branches) != 1:
                return schema
            schema = branches[0]
        else:
            return schema


def key_order(schema: dict[str, Any], value: Any, at: str = "") -> list[str]:
    """Where an answer's keys are not in the order the document lists them (clients
    of Capillary's APIs may read them in order)."""
    schema = _resolve(schema, value)
    problems: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        listed = [key for key in schema["properties"] if key in value]
        sent = [key for key in value if key in schema["properties"]]
        if listed != sent:
            problems.append(f"at {at or '/'}: keys {sent}, documented in the order {listed}")
        for key in sent:
            problems += key_order(schema["properties"][key], value[key], f"{at}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += key_order(schema["items"], item, f"{at}/{index}")
    return problems


def test_every_documented_answer_names_its_keys() -> None:
    """No 2xx answer documented as a bare object, an empty schema or an untyped map."""
    for operation in OPERATIONS:
        for status, answer in operation.spec["responses"].items():
            if not status.startswith("2"):
                continue
            if "application/json" not in answer["content"]:
                if "application/x-ndjson" in answer["content"]:  # the streamed exports
                    assert set(answer["content"]) == {
                        "application/x-ndjson",
                        "text/csv; charset=utf-8; header=present",
                    }
                    continue
                # GET /metrics: Prometheus' text format, not JSON.
                assert list(answer["content"]) == ["text/plain; version=0.0.4; charset=utf-8"]
                continue
            schema = answer["content"]["application/json"]["schema"]
            # One named shape, or a choice of named shapes (a webhook's dry run).
            refs = schema.get("anyOf", [schema])
            for ref in refs:
                assert set(ref) == {"$ref"}, (str(operation), schema)
                name = ref["$ref"].rsplit("/", 1)[-1]
                shape = DOCUMENT["components"]["schemas"][name]
                assert shape.get("type") == "object" and shape.get("properties"), (
                    str(operation),
                    name,
                )


async def _exercise(
    t: Tenant, anonymous: httpx.AsyncClient, app: EventrailApp, drain: Callable[[], int]
) -> None:
    """One real call (at least) of each operation, the ones that answer 2xx."""
    http = t.http
    org = await build_org_a(t)
    lane = await setup_org(t, event_name=unique("Resp").replace("-", "_"))

    key, secret = make_client(t.db, t.org_id, t.till_code)
    r = await anonymous.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    assert r.status_code == 200, r.text
    for path in ("/health", "/ready"):
        assert (await anonymous.get(path)).status_code == 200

    # org settings
    assert (await http.get(SETTINGS)).status_code == 200
    r = await http.put(SETTINGS, json={"psiMaskingEnabled": False})
    assert r.status_code == 200, r.text
    for path in ("/history", "/customerStatusLabels", "/cardStatusLabels", "/cardSeries"):
        assert (await http.get(SETTINGS + path)).status_code == 200, path
    for path in ("/fields", "/groups"):
        assert (await http.get(SETTINGS + path)).status_code == 200, path
    r = await http.put(
        f"{SETTINGS}/groups/{org.group}/members", json={"add": [org.customers[3]], "remove": []}
    )
    assert r.status_code == 200, r.text

    # customers
    first = org.customers[0]
    by_mobile = {"identifierName": "mobile", "identifierValue": org.mobiles[0]}
    assert (await http.get("/v2/customers/lookup", params=by_mobile)).status_code == 200
    r = await http.get("/v2/customers/lookup/customerDetails", params=by_mobile)
    assert r.status_code == 200, r.text
    r = await http.put(
        "/v2/customers/lookup",
        params={**by_mobile, "source": "INSTORE"},
        json={"profiles": [{"lastName": "Lookup"}]},
    )
    assert r.status_code == 200, r.text
    r = await http.put(
        "/v2/customers/lookup/status",
        params={**by_mobile, "source": "INSTORE"},
        json={"reason": "moved", "label": org.customer_label[1]},
    )
    assert r.status_code == 200, r.text
    for cid in org.customers:
        assert (await http.get(f"/v2/customers/{cid}")).status_code == 200
    r = await http.put(f"/v2/customers/{first}", json={"profiles": [{"firstName": "Renamed"}]})
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/v2/customers/{first}/subscriptions",
        json={"subscriptions": [{"channel": "EMAIL", "priority": "TRANS", "type": "OPTOUT"}]},
    )
    assert r.status_code == 200, r.text

    # merge requests
    assert (await http.get(f"/v2/requests/{org.request_id}")).status_code == 200
    r = await http.put(
        "/v2/requests",
        json=[
            {
                "type": "CHANGE_IDENTIFIER",
                "baseType": "MERGE",
                "id": org.request_id,
                "status": "APPROVED",
            },
            # already decided by then: an item that fails, in the same answer
            {
                "type": "CHANGE_IDENTIFIER",
                "baseType": "MERGE",
                "id": org.request_id,
                "status": "REJECTED",
            },
        ],
    )
    assert r.status_code == 200, r.text
    assert (await http.get(f"/v2/requests/{org.request_id}")).status_code == 200

    # cards
    for number in org.cards:
        assert (await http.get("/v2/card", params={"number": number})).status_code == 200
        r = await http.put(
            "/v2/card", json={"cardNumber": number, "statusLabel": org.card_label[1]}
        )
        assert r.status_code == 200, r.text

    # event definitions, webhooks, transformer mappings
    name = lane.event_name
    assert (await http.get("/v2/events")).status_code == 200
    assert (await http.get("/v2/events/meta", params={"event_name": name})).status_code == 200
    assert (await http.get("/v2/events/webhooks")).status_code == 200
    r = await http.post(
        "/v2/events/adapter_mapping",
        json={
            "transformerType": "defaultTransformer",
            "eventsMapped": [name],
            "transformerData": {
                "eventMapper": {"fieldName": "kind", "valueMap": {"buy": name}},
                "eventFieldMapper": {
                    name: [{"eventFieldName": "amount", "fieldName": "total"}],
                },
            },
        },
    )
    assert r.status_code == 200, r.text
    assert (await http.get("/v2/events/adapter_mapping")).status_code == 200
    assert (await http.get("/v2/events")).status_code == 200  # with the mapping shown
    # the catalogues, and a standard event enabled with its adapter mapping
    for path in ("/v2/events/meta_fields", "/v2/events/standard_events_meta"):
        assert (await http.get(path)).status_code == 200, path
    r = await http.post(
        "/v2/events/standard_events/enable",
        params={"event_name": "ProductViewed", "use_standard_adapter_mappings": "true"},
    )
    assert r.status_code == 200, r.text
    assert (await http.get("/v2/events/standard_events_meta")).status_code == 200
    assert (await http.get("/v2/events/adapters_meta")).status_code == 200

    # the fast lane: posts (with and without waiting), then the reads
    r = await http.post(lane.url, json=lane.payload())
    assert r.status_code == 200, r.text
    request_id = r.json()["requestId"]
    r = await http.post(f"{lane.url}/batch", json={"events": [lane.payload(), {"nope": 1}]})
    assert r.status_code == 200, r.text
    with running_processor(app):
        r = await http.post(lane.url, params={"wait": "true"}, json=lane.payload())
        assert r.status_code == 200, r.text
        r = await http.post(
            f"{lane.url}/batch", params={"wait": "true"}, json={"events": [lane.payload()]}
        )
        assert r.status_code == 200, r.text
    drain()
    # an entry refused for its credentials (no status key) and one with no event name
    hooked = await http.post(
        "/v2/events/webhook",
        json={
            "transformerType": unique("t").replace("-", ""),
            "tillCode": t.till_code,
            "authEnabled": True,
            "authMechanism": "BASIC",
        },
    )
    assert hooked.status_code == 200, hooked.text
    r = await anonymous.post(f"/webhooks/{hooked.json()['webHookId']}", json={"x": 1})
    assert r.status_code == 401, r.text
    r = await http.post(lane.url, json={"customer": lane.mobile})
    assert r.status_code == 200, r.text
    failed = r.json()["requestId"]
    r = await http.post(lane.url, params={"dryRun": "true"}, json=lane.payload())
    assert r.status_code == 200, r.text
    # a scan event, through the feed (queued to the org's defaultTransformer webhook)
    r = await http.post(
        "/v2/feed",
        params={"source": "INSTORE"},
        json={"eventName": name, "customer": {"mobile": lane.mobile}, "scanId": "s1"},
    )
    assert r.status_code == 200, r.text
    drain()
    # a replay of the failed entry: its new entry carries replayOf
    r = await http.post("/v2/events/logs/replay", json={"ids": [failed]})
    assert r.status_code == 200 and r.json()["replayed"] == 1, r.text
    drain()
    now = datetime.datetime.now(datetime.UTC).date()
    days = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))
    today = {"from_date": str(days[0]), "to_date": str(days[1]), "bucket": "day"}
    assert (await http.get("/v2/events/logs/summary", params=today)).status_code == 200
    assert (await anonymous.get("/metrics")).status_code == 200

    assert len((await http.get("/v2/events/logs", params={"limit": 50})).json()["data"]) >= 5
    r = await http.get(f"/v2/events/event_data/{lane.customer_id}")
    assert r.status_code == 200 and r.json()["data"], r.text
    # cursor paging: the answers with nextCursor (a next page, then none)
    for path in ("/v2/events/logs", f"/v2/events/event_data/{lane.customer_id}"):
        r = await http.get(path, params={"cursor": "", "limit": 1})
        assert r.status_code == 200 and r.json()["nextCursor"], r.text
        r = await http.get(path, params={"cursor": r.json()["nextCursor"], "limit": 1000})
        assert r.status_code == 200 and r.json()["nextCursor"] is None, r.text
    assert (await http.get("/v2/events/event_data", params={"id": request_id})).status_code == 200
    for params in ({}, {"includeSideEffects": "true", "eventName": name, "sortOrder": "ASC"}):
        r = await http.get("/v2/events/search", params=params)
        assert r.status_code == 200 and r.json()["clickEventDataList"], r.text
    r = await http.get("/v2/events/search", params={"limit": "0"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 1850, r.text
    for entity_type, entity_id in (
        *(("CUSTOMER", cid) for cid in org.customers),
        *(("CARD", card_id) for card_id in org.cards.values()),
    ):
        r = await http.get(
            "/api_gateway/v2/audits",
            params={
                "entityType": entity_type,
                "entityId": entity_id,
                "limit": 100,
                "includeUserContext": "true",
            },
        )
        assert r.status_code == 200, r.text

    # notification webhooks (/v3/webHooks) and their delivery log
    await _exercise_notifications(http, first)

    for url in ("/api_gateway/v2/audits/export", "/v2/events/logs/export"):
        for fmt in ("ndjson", "csv"):
            assert (await http.get(url, params={"format": fmt})).status_code == 200
    assert (await http.get("/api_gateway/v2/audits/chainHead")).status_code == 200

    # the writes that end things, last
    r = await http.put("/v2/events/webhook", json={"webHookId": lane.webhook_id})
    assert r.status_code == 200, r.text
    r = await http.put(
        "/v2/events", json={**definition(name), "label": "Shown", "eventType": "USEREVENT"}
    )
    assert r.status_code == 200, r.text
    r = await http.put("/v2/events/webhook/disable", json={"webHookId": lane.webhook_id})
    assert r.status_code == 200, r.text
    r = await http.put("/v2/events/disable", params={"event_name": name})
    assert r.status_code == 200, r.text
    assert (await http.get("/v2/events")).status_code == 200  # a disabled definition


async def _exercise_notifications(http: httpx.AsyncClient, customer_id: int) -> None:
    hook = {
        "name": "crm",
        "webHookUrl": "https://receiver.example.com/hook",
        "methodType": "POST",
        "webHookType": "HTTP",
        "webHookHeaders": {"Authorization": "Basic abc"},
        "eventNames": ["customerUpdated"],
        "maxAllowedConnections": 2,
    }
    r = await http.post("/v3/webHooks", json=hook)
    assert r.status_code == 200, r.text
    hook_id = r.json()["data"]["webHookId"]
    assert (await http.get("/v3/webHooks")).status_code == 200
    assert (await http.get(f"/v3/webHooks/{hook_id}")).status_code == 200
    r = await http.put(f"/v3/webHooks/{hook_id}", json={**hook, "slaInSeconds": 10})
    assert r.status_code == 200, r.text
    r = await http.put(f"/v2/customers/{customer_id}", json={"profiles": [{"lastName": "Hook"}]})
    assert r.status_code == 200, r.text
    request_id = r.headers["x-cap-requestid"]
    r = await http.get(f"/v3/webHooks/eventLog/requestId/{request_id}")
    assert r.status_code == 200 and len(r.json()["data"]) == 1, r.text
    entry = r.json()["data"][0]
    assert (await http.get(f"/v3/webHooks/eventLog/refId/{entry['refId']}")).status_code == 200
    r = await http.get(f"/v3/webhooks/eventLog/{entry['eventLogId']}")
    assert r.status_code == 200, r.text
    r = await http.get("/v3/webHooks/eventLog", params={"webHookId": hook_id})
    assert r.status_code == 200, r.text
    r = await http.post(f"/v3/webHooks/eventLog/{entry['eventLogId']}/redeliver")
    assert r.status_code == 200, r.text
    assert (await http.delete(f"/v3/webHooks/{hook_id}")).status_code == 200


async def test_real_answers_match_the_document(
    app: EventrailApp, tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    answers = Answers()
    for client in (tenant.http, http):
        client.event_hooks["response"].append(answers.record)
    await _exercise(tenant, http, app, drain)

    problems = [
        f"{method} {template}: {problem}"
        for (method, template), responses in answers.seen.items()
        for response in responses
        for problem in answers.problems(method, template, response)
    ]
    assert not problems, "\n".join(problems)
    answered = {
        (method, template)
        for (method, template), responses in answers.seen.items()
        if any(200 <= r.status_code < 300 for r in responses)
    }
    missing = {(op.method, op.path) for op in OPERATIONS} - answered
    assert not missing, sorted(missing)
    assert sum(len(responses) for responses in answers.seen.values()) > len(OPERATIONS)
