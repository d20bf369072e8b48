"""Ingestion (SPEC §3.2): POST /webhooks/{id}, /batch, ?wait=true, auth-enabled webhooks.

A post is committed to the durable queue before it is acknowledged; processing (the log
entry, the stored event) happens after, when the test drains the queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from eventrail.app import EventrailApp
from eventrail.db import Database
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant, basic, make_client, make_till, md5
from tests.fixtures.ingest import (
    ACK,
    SUCCESS,
    Org,
    accepted,
    all_logs,
    assert_error,
    assert_unauthorized,
    customer_events,
    enable_auth,
    event_by_id,
    eventually,
    is_uuid4,
    log_of,
    log_rows,
    ok,
    post_json,
    post_raw,
    queued_count,
    running_processor,
    setup_org,
)
from tests.fixtures.pipeline import LOG_KEYS

BATCH_CODE = 1100
MAX_DEPTH = 32
MAX_STRING = 64 * 1024
MIB = 1024 * 1024


def nested(levels: int) -> dict[str, Any]:
    """A JSON object ``levels`` objects deep (the object itself is level 1)."""
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        node = {"a": node}
    return node


def text_of(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


async def invalid_payload_logs(client: httpx.AsyncClient) -> dict[str, list[dict[str, Any]]]:
    """INVALID_PAYLOAD entries by inputRequest."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in await all_logs(client, status="INVALID_PAYLOAD"):
        assert entry["status"] == "INVALID_PAYLOAD"
        out.setdefault(entry["inputRequest"], []).append(entry)
    return out


# -- acknowledgement and durability ----------------------------------------------------
async def test_post_is_acknowledged_durably_before_processing(
    tenant: Tenant, db: Database, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    payload = org.payload(amount=20)
    r = await post_json(org.http, org.url, payload)
    assert r.json() == {"status": ACK, "requestId": r.json()["requestId"]}
    rid = accepted(r)

    # committed to the queue, not processed yet
    assert queued_count(db, rid) == 1
    assert log_rows(db, rid) == 0
    assert [e for e in await all_logs(org.http) if e["id"] == rid] == []
    assert await event_by_id(org.http, rid) == []
    assert await customer_events(org.http, org.customer_id) == []

    drain()
    assert queued_count(db, rid) == 0
    assert log_rows(db, rid) == 1
    entry = await log_of(org.http, rid)
    assert set(entry) == set(LOG_KEYS)
    assert (entry["status"], entry["message"]) == SUCCESS
    assert entry["eventName"] == org.event_name
    assert entry["orgId"] == tenant.org_id
    assert entry["webhookId"] == org.webhook_id
    assert entry["parentOrgId"] == -1
    assert isinstance(entry["startTime"], int) and entry["startTime"] > 1_600_000_000_000
    assert isinstance(entry["responseTime"], int) and entry["responseTime"] >= 0
    assert isinstance(entry["inputRequest"], str)
    assert json.loads(entry["inputRequest"]) == payload

    [record] = await event_by_id(org.http, rid)
    assert record["eventId"] == rid
    assert record["userId"] == org.customer_id
    assert record["additonalAttributes"]["amount"] == "20.0"
    assert [e["eventId"] for e in await customer_events(org.http, org.customer_id)] == [rid]


async def test_every_post_gets_a_new_request_id_and_one_log_entry(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    ids = [accepted(await post_json(org.http, org.url, org.payload(amount=i))) for i in range(5)]
    assert len(set(ids)) == 5
    drain()
    logs = await all_logs(org.http)
    assert sorted(e["id"] for e in logs) == sorted(ids)
    assert all(e["status"] == "EVENT_SUCCESS" for e in logs)


async def test_post_without_credentials_on_a_webhook_without_auth(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    rid = accepted(await post_json(http, org.url, org.payload()))
    drain()
    assert (await log_of(org.http, rid))["status"] == "EVENT_SUCCESS"


# -- unknown, malformed, disabled webhooks ------------------------------------------
BAD_WEBHOOK_IDS = [
    uuid.uuid4().hex,  # well-formed, unknown
    "abc",
    "0" * 31,
    "0" * 33,
    "g" * 32,
    "1234567890abcdef1234567890abcdeZ",
    "not-a-webhook",
    "%20",
]


async def test_unknown_or_malformed_webhook_is_404(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    for webhook_id in BAD_WEBHOOK_IDS:
        for client in (http, org.http):
            r = await post_json(client, f"/webhooks/{webhook_id}", org.payload())
            assert_error(r, 404, 404)
            r = await post_json(client, f"/webhooks/{webhook_id}/batch", {"events": [{}]})
            assert_error(r, 404, 404)
            r = await post_json(client, f"/webhooks/{webhook_id}?wait=true", org.payload())
            assert_error(r, 404, 404)
    # another org's id space does not matter: an id is unknown or it is not
    drain()
    assert await all_logs(org.http) == []


async def test_webhooks_take_only_post(tenant: Tenant, http: httpx.AsyncClient) -> None:
    org = await setup_org(tenant)
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        for url in (org.url, f"{org.url}/batch"):
            r = await http.request(method, url)
            assert_error(r, 405, 405)


async def test_disabled_webhook_is_404(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    accepted(await post_json(org.http, org.url, org.payload()))  # cached as enabled
    ok(await org.http.put("/v2/events/webhook/disable", json={"webHookId": org.webhook_id}))
    r = await eventually(
        lambda: post_json(org.http, org.url, org.payload()), lambda r: r.status_code == 404
    )
    assert_error(r, 404, 404)
    assert_error(await post_json(org.http, f"{org.url}/batch", {"events": [org.payload()]}), 404)
    drain()
    # what was accepted before the cache noticed is processed; nothing after
    before = len(await all_logs(org.http))
    assert_error(await post_json(org.http, org.url, org.payload()), 404)
    drain()
    assert len(await all_logs(org.http)) == before


# -- bodies that are not JSON objects -----------------------------------------------
NOT_OBJECTS: list[tuple[bytes, str]] = [
    (b"[1, 2, 3]", "not a JSON object"),
    (b'[{"event_name": "Shop"}]', "not a JSON object"),
    (b'"just a string"', "not a JSON object"),
    (b"42", "not a JSON object"),
    (b"-1.5", "not a JSON object"),
    (b"null", "not a JSON object"),
    (b"true", "not a JSON object"),
    (b'{"event_name": "Shop", ', "not valid JSON"),
    (b"{event_name: Shop}", "not valid JSON"),
    (b"not json at all", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"   ", "not valid JSON"),
    (b'{"event_name": "Sh\xffop"}', "not valid JSON"),  # invalid UTF-8
    (b"\xfe\xff\x00{", "not valid JSON"),
    (b'{"a": 1} {"b": 2}', "not valid JSON"),
    (b'{"event_name": "\\ud800"}', "not valid JSON"),  # a lone surrogate
]


async def test_body_that_is_not_a_json_object_is_400_and_logged(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    for body, fragment in NOT_OBJECTS:
        r = await post_raw(org.http, org.url, body)
        assert_error(r, 400, 400, fragment)
    drain()
    logged = await invalid_payload_logs(org.http)
    for body, fragment in NOT_OBJECTS:
        text = text_of(body).replace("\x00", "\ufffd")
        entries = logged.get(text, [])
        assert len(entries) == 1, f"{body!r}: {entries}"
        entry = entries[0]
        assert fragment.lower() in entry["message"].lower(), entry
        assert entry["webhookId"] == org.webhook_id
        assert entry["orgId"] == tenant.org_id
        assert entry["parentOrgId"] == -1
        assert is_uuid4(entry["id"])
    assert len(await all_logs(org.http)) == len(NOT_OBJECTS)


async def test_payload_limits_are_400_and_logged(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    too_deep = {**org.payload(), "deep": nested(MAX_DEPTH)}  # the root + 32 = 33 levels
    deep_list: Any = ["x"]
    for _ in range(MAX_DEPTH):
        deep_list = [deep_list]
    cases: list[tuple[bytes, str]] = [
        (json.dumps(nested(MAX_DEPTH + 1)).encode(), "deeper than 32"),
        (json.dumps(too_deep).encode(), "deeper than 32"),
        (json.dumps({**org.payload(), "list": deep_list}).encode(), "deeper than 32"),
        (json.dumps({**org.payload(), "note": "x" * (70 * 1024)}).encode(), "longer than"),
        (json.dumps({**org.payload(), "note": "y" * (MAX_STRING + 1)}).encode(), "longer than"),
        (json.dumps({**org.payload(), "k" * (MAX_STRING + 1): 1}).encode(), "key"),
        (json.dumps({**org.payload(), "note": "a\u0000b"}).encode(), "NUL"),
        (json.dumps({**org.payload(), "items": [{"sku": "\u0000"}]}).encode(), "NUL"),
        (json.dumps({**org.payload(), "bad\u0000key": 1}).encode(), "NUL"),
    ]
    for body, fragment in cases:
        assert b"\x00" not in body
        r = await post_raw(org.http, org.url, body)
        assert_error(r, 400, 400, fragment)
    drain()
    logged = await invalid_payload_logs(org.http)
    for body, fragment in cases:
        entries = logged.get(body.decode(), [])
        assert len(entries) == 1, f"{body[:80]!r}: {len(entries)} entries"
        assert fragment.lower() in entries[0]["message"].lower()
    assert len(await all_logs(org.http)) == len(cases)


async def test_payloads_at_the_limits_are_accepted(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    at_depth = {**org.payload(), "deep": nested(MAX_DEPTH - 1)}  # exactly 32 levels
    long_string = {**org.payload(), "note": "z" * MAX_STRING}
    ids = [
        accepted(await post_json(org.http, org.url, at_depth)),
        accepted(await post_json(org.http, org.url, long_string)),
    ]
    drain()
    for rid in ids:
        assert (await log_of(org.http, rid))["status"] == "EVENT_SUCCESS"


async def test_body_over_one_mib_is_413(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    huge = json.dumps({**org.payload(), "blob": ["x" * 1000] * 2100}).encode()  # ~2 MiB
    assert len(huge) > 2 * MIB - 10_000
    just_over = b'{"a": "' + b"x" * (MIB - 8) + b'"}'
    assert len(just_over) == MIB + 1
    # exactly 1 MiB passes the size guard (and is refused for its 1 MiB string instead)
    at_limit = just_over[:7] + just_over[8:]
    assert len(at_limit) == MIB
    assert_error(await post_raw(org.http, org.url, at_limit), 400, 400, "longer than")
    for url in (org.url, f"{org.url}/batch", f"{org.url}?wait=true"):
        for body in (huge, just_over):
            assert_error(await post_raw(org.http, url, body), 413, 413)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * MIB

    r = await org.http.post(org.url, content=chunks())
    assert_error(r, 413, 413)
    drain()
    assert [e["inputRequest"] for e in await all_logs(org.http)] == [at_limit.decode()]


async def test_webhooks_take_json_or_no_content_type(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    """A body declared JSON, or not declared at all (foreign senders often send no
    Content-Type), is taken; one declared as anything else gets 415 and is not logged."""
    org = await setup_org(tenant)
    body = json.dumps(org.payload()).encode()
    ids = [
        accepted(await post_raw(org.http, org.url, body, content_type=content_type))
        for content_type in (
            None,
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.brand+json",
        )
    ]
    batch = await post_raw(
        org.http, f"{org.url}/batch", json.dumps({"events": [org.payload()]}), content_type=None
    )
    assert batch.status_code == 200, batch.text
    ids += batch.json()["requestIds"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        for url in (org.url, f"{org.url}/batch"):
            r = await post_raw(org.http, url, body, content_type=content_type)
            assert_error(r, 415, 415, "Content-Type must be application/json", content_type)
    drain()
    for rid in ids:
        assert (await log_of(org.http, rid))["status"] == "EVENT_SUCCESS"
    assert len(await all_logs(org.http)) == len(ids), "a 415 is not logged"


# -- ?wait=true ----------------------------------------------------------------------
async def test_wait_true_answers_with_the_verdict(tenant: Tenant, app: EventrailApp) -> None:
    org = await setup_org(tenant)
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        (org.payload(), SUCCESS),
        (
            org.payload(amount="lots"),
            ("EVENT_FIELD_VALIDATION_FAILED", "Invalid value for field amount: expected a number"),
        ),
        (
            {**org.payload(), "event_name": "Nope"},
            ("INVALID_EVENT_NAME", "Invalid event name Nope"),
        ),
        (
            {**org.payload(), "customer": "919000000001"},
            ("NO_CUSTOMER_DETAILS_PASSED", "Customer details not passed"),
        ),
        (
            {"customer": org.mobile},
            (
                "INVALID_META_TRANSFORMER_MAPPINGS",
                "Invalid meta transformer mappings: No transformer mapping found",
            ),
        ),
    ]
    with running_processor(app):
        for payload, (status, message) in cases:
            for flag in ("true", "True", "1"):
                r = await post_json(org.http, org.url, payload, params={"wait": flag})
                rid = accepted(r)
                assert r.json() == {
                    "status": ACK,
                    "requestId": rid,
                    "result": {"status": status, "message": message},
                }, payload
                entry = await log_of(org.http, rid)
                assert (entry.get("status"), entry["message"]) == (status, message)
        for flag in ("false", "0", "no"):
            r = await post_json(org.http, org.url, org.payload(), params={"wait": flag})
            accepted(r)
            assert "result" not in r.json()


async def test_wait_with_a_bad_value_is_400(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    for value in ("maybe", "2", "truee", "yes please", "-1", " true", "\r", "tRue", "", "on"):
        for url in (org.url, f"{org.url}/batch"):
            payload: dict[str, Any] = (
                org.payload() if not url.endswith("batch") else {"events": [org.payload()]}
            )
            r = await post_json(org.http, url, payload, params={"wait": value})
            assert_error(r, 400, 400, "'wait'")
    drain()
    assert await all_logs(org.http) == []


# -- /batch ---------------------------------------------------------------------------
async def test_batch_answers_one_request_id_per_event_in_order(
    tenant: Tenant, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    deep = {**org.payload(), "deep": nested(MAX_DEPTH)}
    events: list[tuple[Any, str, str | None]] = [
        (org.payload(amount=1), "EVENT_SUCCESS", "Event processed successfully"),
        ({**org.payload(), "event_name": "Nope"}, "INVALID_EVENT_NAME", "Invalid event name Nope"),
        (
            org.payload(amount="x"),
            "EVENT_FIELD_VALIDATION_FAILED",
            "Invalid value for field amount: expected a number",
        ),
        (42, "INVALID_PAYLOAD", "not a JSON object"),
        ("a string", "INVALID_PAYLOAD", "not a JSON object"),
        ([org.payload()], "INVALID_PAYLOAD", "not a JSON object"),
        (None, "INVALID_PAYLOAD", "not a JSON object"),
        (deep, "INVALID_PAYLOAD", "deeper than 32"),
        ({**org.payload(), "note": "x" * (70 * 1024)}, "INVALID_PAYLOAD", "longer than"),
        ({**org.payload(), "note": "\u0000"}, "INVALID_PAYLOAD", "NUL"),
        (
            {**org.payload(), "customer": "919000000002"},
            "NO_CUSTOMER_DETAILS_PASSED",
            "Customer details not passed",
        ),
        ({}, "INVALID_META_TRANSFORMER_MAPPINGS", None),
        (org.payload(amount=2), "EVENT_SUCCESS", "Event processed successfully"),
    ]
    r = await post_json(org.http, f"{org.url}/batch", {"events": [e for e, _, _ in events]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"status", "requestIds"}, body
    assert body["status"]["code"] == BATCH_CODE
    assert isinstance(body["status"]["message"], str) and body["status"]["message"]
    ids = body["requestIds"]
    assert len(ids) == len(events)
    assert len(set(ids)) == len(ids)
    assert all(is_uuid4(rid) for rid in ids)
    assert r.headers.get("x-cap-requestid")

    drain()
    logs = await all_logs(org.http)
    assert len(logs) == len(events)
    by_id = {e["id"]: e for e in logs}
    for rid, (event, status, message) in zip(ids, events, strict=True):
        entry = by_id[rid]
        assert entry["status"] == status, (event, entry)
        if message is not None:
            assert message.lower() in entry["message"].lower(), entry
        assert json.loads(entry["inputRequest"]) == event
        assert entry["webhookId"] == org.webhook_id
    stored = await customer_events(org.http, org.customer_id)
    assert sorted(e["eventId"] for e in stored) == sorted([ids[0], ids[-1]])


async def test_batch_of_1000_events(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    events = [{**org.payload(amount=i), "n": i} for i in range(1000)]
    r = await post_json(org.http, f"{org.url}/batch", {"events": events})
    assert r.status_code == 200, r.text
    ids = r.json()["requestIds"]
    assert len(ids) == len(set(ids)) == 1000
    drain()
    logs = await all_logs(org.http)
    assert len(logs) == 1000
    by_id = {e["id"]: e for e in logs}
    for n, rid in enumerate(ids):
        assert json.loads(by_id[rid]["inputRequest"])["n"] == n
        assert by_id[rid]["status"] == "EVENT_SUCCESS"


async def test_batch_with_a_bad_shape_is_400(tenant: Tenant, drain: Callable[[], int]) -> None:
    org = await setup_org(tenant)
    url = f"{org.url}/batch"
    bodies: list[Any] = [
        {"events": []},
        {"events": [org.payload()] * 1001},
        {},
        {"event": [org.payload()]},
        {"events": org.payload()},
        {"events": "[]"},
        {"events": None},
        {"events": 3},
        [org.payload()],
        org.payload(),
        "events",
        None,
    ]
    for body in bodies:
        r = await post_json(org.http, url, body)
        assert_error(r, 400, 400, "events")
    for raw in (b"", b"{", b'{"events": [', b"\xff\xfe"):
        assert_error(await post_raw(org.http, url, raw), 400, 400, "events")
    drain()
    assert [e for e in await all_logs(org.http) if e.get("status") != "INVALID_PAYLOAD"] == []
    assert await customer_events(org.http, org.customer_id) == []


async def test_batch_wait_true_adds_results_in_order(tenant: Tenant, app: EventrailApp) -> None:
    org = await setup_org(tenant)
    events: list[Any] = [
        org.payload(),
        {**org.payload(), "event_name": "Nope"},
        7,
        org.payload(amount="x"),
        org.payload(amount=3),
    ]
    expected = [
        {"status": "EVENT_SUCCESS", "message": "Event processed successfully"},
        {"status": "INVALID_EVENT_NAME", "message": "Invalid event name Nope"},
        {"status": "INVALID_PAYLOAD", "message": "Invalid payload: the event is not a JSON object"},
        {
            "status": "EVENT_FIELD_VALIDATION_FAILED",
            "message": "Invalid value for field amount: expected a number",
        },
        {"status": "EVENT_SUCCESS", "message": "Event processed successfully"},
    ]
    with running_processor(app):
        r = await post_json(org.http, f"{org.url}/batch", {"events": events}, params={"wait": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"]["code"] == BATCH_CODE
        assert len(body["requestIds"]) == len(events)
        assert body["results"] == expected
        for rid, result in zip(body["requestIds"], expected, strict=True):
            entry = await log_of(org.http, rid)
            assert {"status": entry["status"], "message": entry["message"]} == result
        plain = await post_json(org.http, f"{org.url}/batch", {"events": events[:1]})
        assert plain.status_code == 200
        assert "results" not in plain.json()


# -- auth-enabled webhooks --------------------------------------------------------------
async def _oauth_token(http: httpx.AsyncClient, tenant: Tenant) -> str:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    r = await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    body = ok(r)
    token: str = body["data"]["accessToken"]
    return token


async def _auth_org(tenant: Tenant, http: httpx.AsyncClient) -> Org:
    org = await setup_org(tenant)
    await enable_auth(org, http)
    return org


async def test_auth_enabled_webhook_refuses_bad_or_foreign_credentials(
    tenant: Tenant,
    make_tenant: TenantFactory,
    http: httpx.AsyncClient,
    drain: Callable[[], int],
) -> None:
    org = await _auth_org(tenant, http)
    other = await make_tenant()
    other_token = await _oauth_token(http, other)
    own_token = await _oauth_token(http, tenant)
    header, payload_part, signature = own_token.split(".")
    tampered = f"{header}.{payload_part}.{signature[:-4]}AAAA"
    credentials: list[dict[str, str]] = [
        {},
        basic(tenant.till_code, md5("wrong-password")),
        basic(tenant.till_code, "wrong-password"),
        basic(tenant.till_code, ""),
        basic("no-such-till", md5(tenant.password)),
        other.auth,  # another org's till, right password
        basic(other.till_code, other.password),
        {"X-CAP-API-OAUTH-TOKEN": other_token},  # another org's token
        {"X-CAP-API-OAUTH-TOKEN": tampered},
        {"X-CAP-API-OAUTH-TOKEN": "not-a-token"},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": f"Bearer {own_token}"},
    ]
    bodies = []
    for n, headers in enumerate(credentials):
        payload = org.payload(case=n)
        r = await post_json(http, org.url, payload, headers=headers)
        assert_unauthorized(r)
        r = await post_json(http, org.url, payload, headers=headers, params={"wait": "true"})
        assert_unauthorized(r)
        r = await post_json(http, f"{org.url}/batch", {"events": [payload]}, headers=headers)
        assert_unauthorized(r)
        bodies.append(payload)
    # a body that is not even JSON: still 401 first
    assert_unauthorized(await post_raw(http, org.url, b"garbage"))

    drain()
    logs = await all_logs(org.http)
    assert all(e["orgId"] == tenant.org_id for e in logs)
    refused = [e for e in logs if e["message"] == "Unauthorized"]
    assert all("status" not in e for e in refused), refused
    for n, payload in enumerate(bodies):
        mine = [
            e
            for e in refused
            if e["inputRequest"] != "garbage"
            and json.loads(e["inputRequest"]) in (payload, {"events": [payload]})
        ]
        assert len(mine) == 3, (n, mine)
        for entry in mine:
            assert "status" not in entry
            if json.loads(entry["inputRequest"]) == payload:
                assert entry["eventName"] == org.event_name
            else:  # a refused batch is logged whole; it has no event_name of its own
                assert "eventName" not in entry
            assert entry["webhookId"] == org.webhook_id
            assert entry["parentOrgId"] == -1
    garbage = [e for e in refused if e["inputRequest"] == "garbage"]
    assert len(garbage) == 1
    assert "eventName" not in garbage[0]
    assert "status" not in garbage[0]
    # nothing refused was processed as an event, and filtering finds them
    assert [e for e in logs if e.get("status") == "EVENT_SUCCESS"] == []
    assert await customer_events(org.http, org.customer_id) == []
    unauthorized = await all_logs(org.http, status="UNAUTHORIZED")
    assert sorted(e["id"] for e in unauthorized) == sorted(e["id"] for e in refused)
    # the other org sees none of it
    assert await all_logs(other.http) == []


async def test_unauthorized_log_entry_has_no_status_and_the_payload_event_name(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await _auth_org(tenant, http)
    payload = {"event_name": "Whatever_Name", "customer": org.mobile}
    assert_unauthorized(await post_json(http, org.url, payload))
    drain()
    [entry] = [e for e in await all_logs(org.http) if json.loads(e["inputRequest"]) == payload]
    assert set(entry) == set(LOG_KEYS) - {"status"}
    assert entry["message"] == "Unauthorized"
    assert entry["eventName"] == "Whatever_Name"
    assert entry["orgId"] == tenant.org_id
    assert is_uuid4(entry["id"])


async def test_auth_enabled_webhook_accepts_the_orgs_credentials(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await _auth_org(tenant, http)
    _, second_code, second_password = make_till(tenant.db, tenant.org_id)
    token = await _oauth_token(http, tenant)
    credentials: list[dict[str, str]] = [
        tenant.auth,  # md5 hex, as Capillary
        basic(tenant.till_code, md5(tenant.password).upper()),
        basic(tenant.till_code, tenant.password),  # plain password
        basic(second_code, md5(second_password)),  # another till of the same org
        {"X-CAP-API-OAUTH-TOKEN": token},
    ]
    ids = []
    for n, headers in enumerate(credentials):
        ids.append(accepted(await post_json(http, org.url, org.payload(amount=n), headers=headers)))
        r = await post_json(http, f"{org.url}/batch", {"events": [org.payload()]}, headers=headers)
        assert r.status_code == 200, r.text
        ids.extend(r.json()["requestIds"])
    drain()
    for rid in ids:
        assert (await log_of(org.http, rid))["status"] == "EVENT_SUCCESS"
    assert len(await customer_events(org.http, org.customer_id)) == len(ids)


async def test_oauth_mechanism_webhook_accepts_a_token(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await setup_org(tenant)
    await enable_auth(org, http, mechanism="OAUTH")
    token = await _oauth_token(http, tenant)
    rid = accepted(
        await post_json(http, org.url, org.payload(), headers={"X-CAP-API-OAUTH-TOKEN": token})
    )
    assert_unauthorized(await post_json(http, org.url, org.payload()))
    drain()
    assert (await log_of(org.http, rid))["status"] == "EVENT_SUCCESS"


async def test_auth_disabled_again_accepts_anonymous_posts(
    tenant: Tenant, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    org = await _auth_org(tenant, http)
    ok(
        await org.http.put(
            "/v2/events/webhook", json={"webHookId": org.webhook_id, "authEnabled": False}
        )
    )
    r = await eventually(
        lambda: post_json(http, org.url, org.payload()), lambda r: r.status_code == 200
    )
    rid = accepted(r)
    drain()
    assert (await log_of(org.http, rid))["status"] == "EVENT_SUCCESS"
