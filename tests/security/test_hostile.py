"""Hand-written hostile input against every operation of the OpenAPI document where it
applies: invalid UTF-8, numbers no parser should take, oversized and deeply nested
bodies, injection strings in every string parameter and body field, wrong content
types, and a hundred malformed dates for every date parameter of the read APIs.

Never a 5xx; every error in SPEC §1's envelope; a 400 names what it refuses; a 200
never shows another org's data (a second org, the victim, holds a marker that no
answer to the attacker may contain).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from eventrail.app import EventrailApp
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant, unique
from tests.fixtures.ingest import ok, setup_org
from tests.security.document import (
    DOCUMENT,
    OPERATIONS,
    Operation,
    body_fields,
    dotted,
    param_type,
    skeleton,
    with_value,
)

MIB = 1024 * 1024
BODY_OPERATIONS = [op for op in OPERATIONS if op.body_schema is not None]
API_BODY_OPERATIONS = [op for op in BODY_OPERATIONS if not op.is_webhook]


def _ids(ops: list[Operation]) -> list[str]:
    return [str(op) for op in ops]


# -- the two orgs ----------------------------------------------------------------------
@dataclass
class World:
    attacker: Tenant
    marker: str  # in the victim org's data only
    victim_mobile: str
    path: dict[str, str]
    query: dict[str, str]

    def url(self, op: Operation, **path: str) -> str:
        values = {**self.path, **path}
        url = op.path
        for param in op.params_in("path"):
            url = url.replace("{" + param["name"] + "}", quote(values[param["name"]], safe=""))
        return url

    def required_query(self, op: Operation, skip: str | None = None) -> dict[str, str]:
        return {
            p["name"]: self.query[p["name"]]
            for p in op.params_in("query")
            if p.get("required") and p["name"] != skip
        }


async def _populate(t: Tenant, name: str, drain: Any) -> tuple[dict[str, str], dict[str, str]]:
    org = await setup_org(t, event_name=unique(name).replace("-", "_"))
    r = await t.http.post(
        f"/webhooks/{org.webhook_id}",
        json={"event_name": org.event_name, "customer": org.mobile, "amount": 2.5},
    )
    request_id = ok(r)["requestId"]
    drain()
    group = unique("grp")
    ok(
        await t.http.post(
            "/v2/orgs/settings/groups",
            json={"externalId": group, "name": name, "members": [org.customer_id]},
        )
    )
    series = ok(
        await t.http.post("/v2/orgs/settings/cardSeries", json={"name": name, "code": unique("S")})
    )["seriesId"]
    card = unique("CARD")
    ok(await t.http.post("/v2/card", json={"cardNumber": card, "seriesId": series}))
    # a notification webhook and one delivery of it (/v3/webHooks)
    hook = {
        "name": name,
        "webHookUrl": "https://receiver.example.com/hook",
        "methodType": "POST",
        "webHookType": "HTTP",
        "eventNames": ["customerUpdated"],
        "maxAllowedConnections": 2,
    }
    notify_hook = ok(await t.http.post("/v3/webHooks", json=hook))["data"]["webHookId"]
    r = await t.http.put(
        f"/v2/customers/{org.customer_id}", json={"profiles": [{"lastName": "Notified"}]}
    )
    ok(r)
    notify_request = r.headers["x-cap-requestid"]
    [delivery] = ok(await t.http.get(f"/v3/webHooks/eventLog/requestId/{notify_request}"))["data"]
    path = {
        "id": str(org.customer_id),
        "userId": str(org.customer_id),
        "webhook_id": org.webhook_id,
        "externalId": group,
        "webHookId": notify_hook,
        "eventLogId": delivery["eventLogId"],
        "requestId": notify_request,
        "refId": delivery["refId"],
    }
    query = {
        "entityId": str(org.customer_id),
        "entityType": "CUSTOMER",
        "id": request_id,
        "identifierName": "mobile",
        "identifierValue": org.mobile,
        "event_name": org.event_name,
        "eventName": org.event_name,
        "number": card,
        # the outcome summary's range (today's entries)
        "from_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86_400)),
        "to_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86_400)),
    }
    return path, query


@pytest.fixture
async def world(make_tenant: TenantFactory, drain: Any) -> World:
    victim = await make_tenant()
    marker = f"VICTIMMARK{unique('v').split('-')[1]}"
    victim_path, victim_query = await _populate(victim, marker, drain)
    ok(
        await victim.http.put(
            f"/v2/customers/{victim_path['id']}", json={"profiles": [{"firstName": marker}]}
        )
    )
    attacker = await make_tenant()
    path, query = await _populate(attacker, "attacker", drain)
    return World(attacker, marker, victim_query["identifierValue"], path, query)


# -- assertions --------------------------------------------------------------------------
def assert_envelope(r: httpx.Response) -> str:
    """SPEC §1: a 4xx with the error envelope and X-Cap-Requestid; its message."""
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    assert r.headers.get("x-cap-requestid"), dict(r.headers)
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    [error] = body["errors"]
    assert set(error) == {"status", "code", "message"}, error
    assert error["status"] is False
    assert isinstance(error["code"], int)
    message = error["message"]
    assert isinstance(message, str) and message.strip()
    return message


def assert_refused(r: httpx.Response, status: int, *needles: str) -> str:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    message = assert_envelope(r)
    for needle in needles:
        assert needle.lower() in message.lower(), (needle, message)
    return message


def assert_safe(r: httpx.Response, w: World, *names: str) -> None:
    """Never a 5xx; a refusal names one of ``names``, or is a 404 for an object the
    org does not have; a 200 shows nothing of the victim org."""
    assert r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    if r.status_code >= 400:
        message = assert_envelope(r)
        if r.status_code == 400 and names:
            assert any(name.lower() in message.lower() for name in names if name), (
                names,
                message,
            )
        else:
            assert r.status_code in (401, 404, 413, 415, 429), r.text[:500]
    else:
        assert r.headers.get("x-cap-requestid")
        assert w.marker not in r.text, r.text[:500]
        assert w.victim_mobile not in r.text, r.text[:500]


# -- raw ASGI: bytes no HTTP client would send -------------------------------------------
@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(
    app: EventrailApp,
    method: str,
    path: str,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    body: bytes = b"",
    chunk: int | None = None,
) -> RawResponse:
    """One request as a server hands it to the app: raw path, query and header bytes;
    the body in chunks of ``chunk`` bytes when given (Transfer-Encoding: chunked, no
    Content-Length)."""
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    all_headers = [(b"host", b"testserver"), *headers]
    if not chunk and body:
        all_headers.append((b"content-length", str(len(body)).encode()))
    elif chunk:  # as a server hands on a chunked upload: HTTP/1.1 has no body otherwise
        all_headers.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1", "replace"),
        "root_path": "",
        "query_string": query,
        "headers": all_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    decoded = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}
    return RawResponse(start["status"], decoded, content)


def assert_raw_envelope(r: RawResponse, *statuses: int) -> str:
    assert r.status in statuses, f"{r.status}: {r.body[:300]!r}"
    assert r.headers.get("x-cap-requestid")
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    [error] = body["errors"]
    assert error["status"] is False and isinstance(error["code"], int)
    message: str = error["message"]
    assert message
    return message


def _auth_bytes(t: Tenant) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", t.auth["Authorization"].encode())]


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) >= 40
    assert {op.path for op in OPERATIONS} == set(DOCUMENT["paths"])
    assert len(BODY_OPERATIONS) >= 20
    assert DATE_PARAMETERS, "the read APIs' date parameters"


async def test_the_document_is_the_served_one(http: httpx.AsyncClient) -> None:
    assert (await http.get("/openapi.json")).json() == DOCUMENT


# -- invalid UTF-8 ---------------------------------------------------------------------
@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=_ids(BODY_OPERATIONS))
async def test_invalid_utf8_body(app: EventrailApp, world: World, op: Operation) -> None:
    for body in (b'{"a": "\xff\xfe"}', b"\xc3\x28", b'{"\xed\xa0\x80": 1}', b"\x80" * 64):
        r = await raw_request(
            app,
            op.method,
            world.url(op),
            query="&".join(f"{k}={v}" for k, v in world.required_query(op).items()).encode(),
            headers=[*_auth_bytes(world.attacker), (b"content-type", b"application/json")],
            body=body,
        )
        message = assert_raw_envelope(r, 400)
        assert "json" in message.lower() or "body" in message.lower(), message


@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
async def test_invalid_utf8_in_query_and_headers(
    app: EventrailApp, world: World, op: Operation
) -> None:
    body = json.dumps(skeleton(op.body_schema)).encode() if op.body_schema else b""
    json_header = [(b"content-type", b"application/json")] if body else []
    for param in op.params_in("query"):
        query = dict(world.required_query(op, skip=param["name"]))
        base = "&".join(f"{k}={quote(v)}" for k, v in query.items()).encode()
        for bad in (b"\xff\xfe", b"%ff%fe", b"a%c3%28b", b"%ed%a0%80"):
            sep = b"&" if base else b""
            r = await raw_request(
                app,
                op.method,
                world.url(op),
                query=base + sep + param["name"].encode() + b"=" + bad,
                headers=[*_auth_bytes(world.attacker), *json_header],
                body=body,
            )
            assert r.status < 500, (param["name"], bad, r.status, r.body[:300])
            if r.status >= 400:
                assert_raw_envelope(r, r.status)
    user_context = [
        (b"user-context-entity-type", b"\xff\xfe\xfd"),
        (b"user-context-entity-id", b"\xc3\x28"),
        (b"x-cap-api-oauth-token", b"\xff.\xfe.\xfd"),
    ]
    r = await raw_request(
        app,
        op.method,
        world.url(op),
        query="&".join(f"{k}={quote(v)}" for k, v in world.required_query(op).items()).encode(),
        headers=[*json_header, *user_context],
        body=body,
    )
    if op.is_public or op.is_webhook:
        assert r.status < 500, r.body[:300]
    else:
        assert_raw_envelope(r, 401)
    r = await raw_request(
        app,
        op.method,
        world.url(op),
        headers=[(b"authorization", b"Basic \xff\xfe\xfd=="), *json_header],
        body=body,
    )
    assert r.status < 500, r.body[:300]
    if not (op.is_public or op.is_webhook):
        assert_raw_envelope(r, 401)


async def test_invalid_utf8_in_credentials_is_401(app: EventrailApp, world: World) -> None:
    for header in (b"Basic \xff\xfe", b"Basic " + b"\xc3\x28" * 10, b"\xff", b"Bearer \xff"):
        r = await raw_request(app, "GET", "/v2/orgs/settings", headers=[(b"authorization", header)])
        assert_raw_envelope(r, 401)
        r = await raw_request(app, "GET", "/v2/events/logs", headers=[(b"authorization", header)])
        assert_raw_envelope(r, 401)


# -- numbers no parser should take --------------------------------------------------------
HUGE_LITERALS = {
    "1e400": b"1e400",
    "-1e400": b"-1e400",
    "10**400": b"1" + b"0" * 400,
    "10**5000": b"1" + b"0" * 5000,
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
}
EDGE_LITERALS = {
    "-0": b"-0",
    "-0.0": b"-0.0",
    "2**63": b"9223372036854775808",
    "-2**63-1": b"-9223372036854775809",
    "2**64": b"18446744073709551616",
    "1e-400": b"1e-400",
    "1.7976931348623157e308": b"1.7976931348623157e308",
}
NUMBER_FIELDS = [
    (op, path)
    for op in BODY_OPERATIONS
    for path in body_fields(op.body_schema or {}, ("integer", "number"))
    if path
]


@pytest.mark.parametrize(
    ("op", "path"), NUMBER_FIELDS, ids=[f"{op} {dotted(p)}" for op, p in NUMBER_FIELDS]
)
async def test_huge_numbers_in_body_fields(
    app: EventrailApp, world: World, op: Operation, path: list[Any]
) -> None:
    schema = op.body_schema or {}
    placeholder = "__NUMBER__"
    template = json.dumps(with_value(skeleton(schema), schema, path, placeholder))
    query = "&".join(f"{k}={quote(v)}" for k, v in world.required_query(op).items()).encode()
    headers = [*_auth_bytes(world.attacker), (b"content-type", b"application/json")]
    for name, literal in {**HUGE_LITERALS, **EDGE_LITERALS}.items():
        body = template.replace(f'"{placeholder}"', literal.decode()).encode()
        r = await raw_request(
            app, op.method, world.url(op), query=query, headers=headers, body=body
        )
        assert r.status < 500, (name, r.status, r.body[:300])
        if name in HUGE_LITERALS:
            # Beyond a double or not JSON at all: refused by the parser, with the reason.
            message = assert_raw_envelope(r, 400)
            assert "json" in message.lower() or "payload" in message.lower(), (name, message)
        elif r.status >= 400:
            assert_raw_envelope(r, r.status)


NUMERIC_PARAMS = [
    (op, p)
    for op in OPERATIONS
    for p in op.params
    if p["in"] in ("query", "path") and param_type(p) in ("integer", "number")
]
BAD_NUMBERS = [
    "1e400",
    "1" + "0" * 400,
    "1" + "0" * 5000,
    "-1" + "0" * 400,
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1.5",
    "1e3",
    "0x10",
    "1_000",
    "١٢٣",  # Arabic-Indic digits
    "１２",  # fullwidth digits
    "",
    " ",
    "--1",
    "1-",
    "abc",
]


@pytest.mark.parametrize(
    ("op", "param"), NUMERIC_PARAMS, ids=[f"{op} {p['name']}" for op, p in NUMERIC_PARAMS]
)
async def test_bad_numbers_in_parameters(
    world: World, op: Operation, param: dict[str, Any]
) -> None:
    name = param["name"]
    body = skeleton(op.body_schema) if op.body_schema else None
    for value in [*BAD_NUMBERS, "-0", "0"]:
        if param["in"] == "path":
            url = world.url(op, **{name: value or "%20"})
            query = world.required_query(op)
        else:
            url = world.url(op)
            query = {**world.required_query(op, skip=name), name: value}
        r = await world.attacker.http.request(op.method, url, params=query, json=body)
        assert r.status_code < 500, (name, value, r.text[:300])
        if value == "1_000" and not r.is_error:
            continue  # pydantic reads 1_000 as 1000 on FastAPI's routes (harmless)
        if value == "1_000" and r.status_code == 404:
            assert_envelope(r)
            continue
        if value in ("-0", "0"):
            # Zero: taken where the minimum allows it, else refused naming the parameter.
            if r.status_code == 400 and param["schema"].get("minimum", 0) > 0:
                assert name in assert_envelope(r), (name, value)
            continue
        if op.is_webhook and param["in"] == "path":
            assert_refused(r, 404)  # not a webhook id
            continue
        if value in ("", " ") and param["in"] == "path":
            assert r.status_code in (400, 404, 405), r.text
            assert_envelope(r)
            continue
        message = assert_refused(r, 400, f"'{name}'")
        assert value == "" or message, value


# -- size and depth ---------------------------------------------------------------------
@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=_ids(BODY_OPERATIONS))
async def test_two_mib_body_is_413(app: EventrailApp, world: World, op: Operation) -> None:
    big = json.dumps({"events": [{"pad": "x" * 1000}] * 2100, "profiles": []}).encode()
    assert len(big) > 2 * MIB
    query = "&".join(f"{k}={quote(v)}" for k, v in world.required_query(op).items()).encode()
    headers = [*_auth_bytes(world.attacker), (b"content-type", b"application/json")]
    for chunk in (None, 64 * 1024):
        r = await raw_request(
            app, op.method, world.url(op), query=query, headers=headers, body=big, chunk=chunk
        )
        assert "1 MiB" in assert_raw_envelope(r, 413)


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=_ids(BODY_OPERATIONS))
async def test_deep_nesting_is_refused(world: World, op: Operation) -> None:
    depth = 10_000
    bodies = [
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        b'{"events": [' + b"[" * depth + b"]" * depth + b"]}",
        b'{"profiles": [' + b'{"a":' * depth + b"1" + b"}" * depth + b"]}",
    ]
    for content in bodies:
        r = await world.attacker.http.request(
            op.method,
            world.url(op),
            params=world.required_query(op),
            content=content,
            headers={"content-type": "application/json"},
        )
        message = assert_refused(r, 400)
        assert any(w in message.lower() for w in ("json", "deeper", "body", "payload")), message


# -- injection strings ---------------------------------------------------------------------
INJECTIONS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    "1; DROP TABLE customers; --",
    "'; DROP TABLE audit_entries; --",
    "1 UNION SELECT password_hash, code FROM tills --",
    "%' OR 1=1 --",
    "\\",
    "%",
    "_",
    '"}, {"a":1',
    '{"$gt": ""}',
    "]]}",
    "%00",
    "\u0000",
    "a\u0000b",
    "\u202e\ufeff\u200b",
    "𝓤𝓷𝓲𝓬𝓸𝓭𝓮🙂",
    "<script>alert(1)</script>",
    "${jndi:ldap://x/a}",
    "../../../../etc/passwd",
    "x" * 70_000,
]


def _query_strings() -> list[tuple[Operation, dict[str, Any]]]:
    return [
        (op, p)
        for op in OPERATIONS
        for p in op.params_in("query")
        if param_type(p) == "string" or "enum" in p["schema"]
    ]


QUERY_STRINGS = _query_strings()


@pytest.mark.parametrize(
    ("op", "param"), QUERY_STRINGS, ids=[f"{op} {p['name']}" for op, p in QUERY_STRINGS]
)
async def test_injection_in_string_parameters(
    world: World, op: Operation, param: dict[str, Any]
) -> None:
    name = param["name"]
    body = skeleton(op.body_schema) if op.body_schema else None
    before = await world.attacker.http.request(
        op.method, world.url(op), params=world.required_query(op), json=body
    )
    # A URL's query holds at most 64 KiB: the longest string here is shorter.
    for value in [*INJECTIONS[:-1], "x" * 8_000]:
        query = {**world.required_query(op, skip=name), name: value}
        r = await world.attacker.http.request(op.method, world.url(op), params=query, json=body)
        if before.status_code == 400 and r.status_code == 400:
            assert_envelope(r)  # the skeleton body is refused anyway, for another field
            continue
        # A refusal names the parameter, or quotes the refused value (Capillary's
        # domain messages, e.g. "Invalid identifier passed: '<value>'").
        assert_safe(r, world, f"'{name}'", value[:20].strip())


async def test_injection_in_path_parameters(world: World) -> None:
    ops = [op for op in OPERATIONS if op.params_in("path")]
    assert ops
    for op in ops:
        body = skeleton(op.body_schema) if op.body_schema else None
        for param in op.params_in("path"):
            for value in INJECTIONS[:-1]:
                url = world.url(op, **{param["name"]: value or " "})
                r = await world.attacker.http.request(
                    op.method, url, params=world.required_query(op), json=body
                )
                assert_safe(r, world, param["name"], "path", value[:20].strip())


STRING_FIELDS = [
    (op, path) for op in BODY_OPERATIONS for path in body_fields(op.body_schema or {}, ("string",))
]


@pytest.mark.parametrize(
    ("op", "path"), STRING_FIELDS, ids=[f"{op} {dotted(p)}" for op, p in STRING_FIELDS]
)
async def test_injection_in_body_string_fields(
    world: World, op: Operation, path: list[Any]
) -> None:
    schema = op.body_schema or {}
    base = skeleton(schema)
    url = world.url(op)
    query = world.required_query(op)
    before = await world.attacker.http.request(op.method, url, params=query, json=base)
    assert before.status_code < 500, before.text
    leaf = next(str(p) for p in reversed(path) if p != 0)
    for value in INJECTIONS:
        body = with_value(base, schema, path, value)
        r = await world.attacker.http.request(op.method, url, params=query, json=body)
        if r.status_code == 400 and before.status_code != 400:
            # Refused for a conflict with what an earlier injection created?
            before = await world.attacker.http.request(op.method, url, params=query, json=base)
        if before.status_code == 400 and r.status_code == 400:
            # The skeleton body is refused anyway (a domain rule on another field):
            # only the envelope can be checked.
            assert_envelope(r)
            continue
        assert_safe(r, world, leaf, dotted(path), value[:20].strip(), "string", "NUL")


async def test_json_injection_round_trips_in_the_event_log(world: World, drain: Any) -> None:
    """inputRequest is the posted body as a JSON string: an injected quote or brace
    stays inside its value."""
    webhook = world.path["webhook_id"]
    payloads = [
        {
            "event_name": world.query["event_name"],
            "customer": world.query["identifierValue"],
            "amount": 1,
            "note": value,
        }
        for value in INJECTIONS
        if "\x00" not in value and len(value) < 1000
    ]
    ids = [
        ok(await world.attacker.http.post(f"/webhooks/{webhook}", json=p))["requestId"]
        for p in payloads
    ]
    drain()
    r = await world.attacker.http.get("/v2/events/logs", params={"limit": 1000})
    entries = {e["id"]: e for e in ok(r)["data"]}
    for rid, payload in zip(ids, payloads, strict=True):
        assert json.loads(entries[rid]["inputRequest"]) == payload


# -- content types -----------------------------------------------------------------------
CONTENT_TYPES = [
    ("text/plain", None),
    ("multipart/form-data; boundary=xyz", None),
    ("application/xml", b"<profiles><x>1</x></profiles>"),
    ("application/x-www-form-urlencoded", b"a=1&b=2"),
    (None, None),
]


@pytest.mark.parametrize("op", API_BODY_OPERATIONS, ids=_ids(API_BODY_OPERATIONS))
async def test_wrong_content_type_is_415(world: World, op: Operation) -> None:
    body = json.dumps(skeleton(op.body_schema)).encode()
    for content_type, content in CONTENT_TYPES:
        headers = {"content-type": content_type} if content_type else {}
        r = await world.attacker.http.request(
            op.method,
            world.url(op),
            params=world.required_query(op),
            content=content or body,
            headers=headers,
        )
        assert_refused(r, 415, "Content-Type")


@pytest.mark.parametrize("op", [op for op in BODY_OPERATIONS if op.is_webhook], ids=str)
async def test_webhooks_take_json_declared_or_undeclared(world: World, op: Operation) -> None:
    """docs/decisions.md: foreign senders often send no Content-Type, so a body with
    none is taken as JSON; one declared as anything else is 415, as for the API."""
    event = {"event_name": world.query["event_name"], "customer": world.query["identifierValue"]}
    document = {"events": [event]} if op.path.endswith("/batch") else event
    for content_type, content in CONTENT_TYPES:
        headers = {"content-type": content_type} if content_type else {}
        r = await world.attacker.http.post(
            world.url(op), content=json.dumps(document).encode(), headers=headers
        )
        if content_type is None:
            assert r.status_code == 200, r.text
            r = await world.attacker.http.post(world.url(op), content=b"a=1", headers=headers)
            assert_refused(r, 400, "payload")
        else:
            assert_refused(r, 415, "Content-Type")
            if content is not None:
                r = await world.attacker.http.post(world.url(op), content=content, headers=headers)
                assert_refused(r, 415, "Content-Type")


# -- a hundred malformed dates per date parameter ---------------------------------------
def _date_parameters() -> list[tuple[Operation, str]]:
    return [
        (op, p["name"])
        for op in OPERATIONS
        if op.method == "GET"
        for p in op.params_in("query")
        # a date word: from_date, startDate (not the "date" inside updatedByMode)
        if re.search(r"(^|_)date|Date", p["name"]) and param_type(p) == "string"
    ]


DATE_PARAMETERS = _date_parameters()


def malformed_dates() -> list[str]:
    """Wrong formats, impossible calendar values, bad offsets, numbers that are not
    epoch milliseconds, blanks and look-alike digits."""
    dates = [
        "",
        " ",
        "\t",
        "null",
        "undefined",
        "today",
        "now",
        "yesterday",
        "2024-",
        "2024-05",
        "2024-05-",
        "2024 05 01",
        "2024/05/01",
        "01/05/2024",
        "05-01-2024",
        "01-May-2024",
        "May 1, 2024",
        "2024-5-1",
        "24-05-01",
        "2024-05-01T",
        "2024-05-01T10",
        "2024-05-01T10:00:00:00",
        "2024-05-01  10:00:00",
        "2024-05-01_10:00:00",
        "2024-05-01T10:00:00ZZ",
        "2024-05-01T10:00:00+",
        "2024-05-01T10:00:00+5",
        "2024-05-01T10:00:00+24:00",
        "2024-05-01T10:00:00+05:60",
        "2024-05-01T10:00:00+99:99",
        "2024-05-01T10:00:00 IST",
        "2024-05-01T10:00:00 Asia/Kolkata",
        "2024-05-01T10:00:00[UTC]",
        "2024-05-01T10:00:00.1234567",
        "2024-05-01T10:00:00.",
        "2024-05-01T10:00:00,5",
        "0000-01-01",
        "10000-01-01",
        "99999-12-31",
        "-2024-05-01",
        "+2024-05-01",
        "1e3",
        "1.5",
        "-1",
        "-1700000000000",
        "1700000000000.5",
        "0x1A",
        "9999999999999999",
        "253402300800000",
        "1" + "0" * 400,
        "1e400",
        "NaN",
        "Infinity",
        "２０２４-０５-０１",
        "٢٠٢٤-٠٥-٠١",
        "2024-05-01\x01",
        "2024‐05‐01",  # Unicode hyphens
        "2024-05-01\u200b",
        "' OR 1=1 --",
        "2024-05-01' OR '1'='1",
        "2024-05-01; DROP TABLE event_logs",
        "x" * 64,
        "2024-05-01" + "0" * 54,
        "true",
        "[]",
        "{}",
    ]
    for month in ("00", "13", "99"):
        dates.append(f"2024-{month}-01")
        dates.append(f"2024-{month}-01 10:00:00")
    for day in ("00", "32", "99"):
        dates.append(f"2024-05-{day}")
    for year, month, day in (("2023", "02", "29"), ("2024", "02", "30"), ("2024", "04", "31")):
        dates.append(f"{year}-{month}-{day}")
        dates.append(f"{year}-{month}-{day}T12:00:00Z")
    for zone in ("+5:30", "+0530:", "UTC+5", "GMT", "Z+05:00", "-", "+-05:00", "+05:30:00"):
        dates.append(f"2024-05-01T10:00:00{zone}")
    for clock in ("24:00:00", "23:60:00", "23:59:60", "99:99:99", "-1:00:00", "1:2:3"):
        dates.append(f"2024-05-01 {clock}")
        dates.append(f"2024-05-01T{clock}Z")
    assert len(set(dates)) >= 100, len(set(dates))
    return sorted(set(dates))


MALFORMED_DATES = malformed_dates()


@pytest.mark.parametrize(
    ("op", "name"), DATE_PARAMETERS, ids=[f"{op} {n}" for op, n in DATE_PARAMETERS]
)
async def test_a_hundred_malformed_dates_are_400_naming_the_parameter(
    world: World, op: Operation, name: str
) -> None:
    assert len(MALFORMED_DATES) >= 100
    for value in MALFORMED_DATES:
        query = {**world.required_query(op), name: value}
        r = await world.attacker.http.get(world.url(op), params=query)
        message = assert_refused(r, 400, f"'{name}'")
        assert value == "" or message, value
