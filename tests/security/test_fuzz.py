"""Property-based fuzzing of every operation of the app's own OpenAPI document.

Schemathesis generates requests from the document the app serves at
``/openapi.json``: valid ones (positive mode) and ones that break the documented
schema (negative mode), sent in-process with a real tenant's Basic credentials,
on SQLite and PostgreSQL. Every answer must be:

- never a 5xx;
- a status code the document declares for that operation, with the declared
  content type and a body valid against the declared schema;
- for a 4xx, SPEC §1's error envelope, with ``X-Cap-Requestid``;
- in negative mode, never a 2xx: input the document calls invalid is refused.

The tenant has a customer, an event definition, a webhook, a processed event,
a card and a group, and about half of the generated requests name those (path
parameters and the query parameters that name an object), so that the fuzzer
reaches the code behind the lookups and not only the 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventrail.app import EventrailApp
from tests.fixtures.factories import Tenant, unique
from tests.fixtures.ingest import ok, running_processor, setup_org
from tests.security.document import DOCUMENT
from tests.security.document import OPERATIONS as ALL_OPERATIONS

# Examples per operation and mode: 46 operations x (POSITIVE + NEGATIVE) stays well
# under a minute and a half per backend on two cores.
POSITIVE_EXAMPLES = 12
NEGATIVE_EXAMPLES = 8


OPERATIONS = [(op.method, op.path) for op in ALL_OPERATIONS]


@pytest.fixture(scope="module")
async def served_document(app: EventrailApp) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/openapi.json")
    assert r.status_code == 200, r.text
    document: dict[str, Any] = r.json()
    return document


@pytest.fixture(scope="module")
def schema(served_document: dict[str, Any]) -> Any:
    # Credentials are the tenant's own (added to every request), never generated: the
    # 401 paths are tested elsewhere, and a generated header would make a case invalid.
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_dict(served_document, config=config)


@dataclass
class Seed:
    """What the fuzzed tenant has, so that generated requests can name it."""

    tenant: Tenant
    path: dict[str, Any]
    query: dict[str, Any]


@pytest.fixture
async def seed(tenant: Tenant, drain: Any) -> Seed:
    org = await setup_org(tenant, event_name=unique("Fuzz").replace("-", "_"))
    r = await tenant.http.post(
        f"/webhooks/{org.webhook_id}",
        json={"event_name": org.event_name, "customer": org.mobile, "amount": 1.5},
    )
    request_id = ok(r)["requestId"]
    assert drain() >= 1
    group = unique("grp")
    ok(
        await tenant.http.post(
            "/v2/orgs/settings/groups",
            json={"externalId": group, "name": "G", "members": [org.customer_id]},
        )
    )
    series = ok(
        await tenant.http.post(
            "/v2/orgs/settings/cardSeries", json={"name": "S", "code": unique("S")}
        )
    )["seriesId"]
    card = unique("CARD")
    ok(await tenant.http.post("/v2/card", json={"cardNumber": card, "seriesId": series}))
    return Seed(
        tenant,
        path={
            "id": org.customer_id,
            "userId": org.customer_id,
            "webhook_id": org.webhook_id,
            "externalId": group,
        },
        query={
            "entityId": org.customer_id,
            "entityType": "CUSTOMER",
            "id": request_id,
            "identifierName": "mobile",
            "identifierValue": org.mobile,
            "event_name": org.event_name,
            "eventName": org.event_name,
            "number": card,
        },
    )


def _names(operation: Any, location: str) -> set[str]:
    return {
        p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == location
    }


def _strategy(operation: Any, mode: GenerationMode, seed: Seed) -> st.SearchStrategy[Any]:
    """Cases from the document alone, or naming the tenant's own objects."""
    path = {k: v for k, v in seed.path.items() if k in _names(operation, "path")}
    query = {k: v for k, v in seed.query.items() if k in _names(operation, "query")}
    free = operation.as_strategy(generation_mode=mode)
    if not path and not query:
        return free  # type: ignore[no-any-return]
    known = operation.as_strategy(
        generation_mode=mode, path_parameters=path or None, query=query or None
    )
    return st.one_of(free, known)


def _transport_kwargs(case: Any, auth: dict[str, str]) -> dict[str, Any]:
    """The case as httpx arguments, authenticated as the tenant."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {k: str(v) for k, v in kwargs["headers"].items()}
    headers.update(auth)
    params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": params,
    }
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        out["content"] = data.encode() if isinstance(data, str) else data
    return out


def assert_contract(r: httpx.Response) -> None:
    """SPEC §1 on every answer: a request id; a failure is the error envelope."""
    assert r.status_code < 500, f"{r.status_code}: {r.text}"
    assert len(r.headers.get("x-cap-requestid", "")) >= 32, dict(r.headers)
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"warnings", "errors"}, body
        assert body["warnings"] == []
        [error] = body["errors"]
        assert set(error) == {"status", "code", "message"}, error
        assert error["status"] is False
        assert isinstance(error["code"], int) and not isinstance(error["code"], bool)
        assert isinstance(error["message"], str) and error["message"].strip()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


async def test_the_served_document_is_the_one_fuzzed(served_document: dict[str, Any]) -> None:
    assert served_document == DOCUMENT
    assert len(OPERATIONS) >= 40
    for method, path in OPERATIONS:
        responses = DOCUMENT["paths"][path][method.lower()]["responses"]
        assert "422" not in responses, (method, path)
        assert "400" in responses, (method, path)


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# Hypothesis draws the case before it runs the (async) test body: a draw inside
# the body would raise its StopTest through anyio's runner. The strategy depends
# on fixtures (the served document, the tenant), so the draw goes through this slot,
# filled by the `cases` fixture before each test.
_CURRENT: dict[str, st.SearchStrategy[Any]] = {}
CASES = st.just(None).flatmap(lambda _: _CURRENT["cases"])


async def _fuzz_one(app: EventrailApp, case: Any, seed: Seed, checks: list[Any]) -> None:
    webhook = case.operation.path.startswith("/webhooks/")
    # ?wait=true answers after processing: processors must run.
    with running_processor(app) if webhook else nullcontext():
        r = await seed.tenant.http.request(**_transport_kwargs(case, seed.tenant.auth))
    assert_contract(r)
    try:
        case.validate_response(r, checks=checks)
    except FailureGroup as exc:
        # An exception group raised through anyio's test runner kills the runner.
        raise AssertionError(str(exc)) from None


OPERATION_IDS = [f"{m} {p}" for m, p in OPERATIONS]
# Negative mode needs something to break: a parameter or a body.
NEGATABLE = [
    (m, p)
    for m, p in OPERATIONS
    if {"parameters", "requestBody"} & set(DOCUMENT["paths"][p][m.lower()])
]


@pytest.fixture
def operation(schema: Any, method: str, path: str) -> Any:
    return schema[path][method]


@pytest.fixture
def positive(operation: Any, seed: Seed) -> Iterator[None]:
    _CURRENT["cases"] = _strategy(operation, GenerationMode.POSITIVE, seed)
    yield
    _CURRENT.clear()


@pytest.fixture
def negative(operation: Any, seed: Seed) -> Iterator[None]:
    _CURRENT["cases"] = _strategy(operation, GenerationMode.NEGATIVE, seed)
    yield
    _CURRENT.clear()


@pytest.mark.usefixtures("positive")
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=OPERATION_IDS)
@_settings(POSITIVE_EXAMPLES)
@given(case=CASES)
async def test_valid_requests(app: EventrailApp, seed: Seed, case: Any) -> None:
    """Requests the document calls valid: any documented answer but a 5xx."""
    await _fuzz_one(app, case, seed, CHECKS)


@pytest.mark.usefixtures("negative")
@pytest.mark.parametrize(("method", "path"), NEGATABLE, ids=[f"{m} {p}" for m, p in NEGATABLE])
@_settings(NEGATIVE_EXAMPLES)
@given(case=CASES)
async def test_invalid_requests(app: EventrailApp, seed: Seed, case: Any) -> None:
    """Requests the document calls invalid: refused with a documented 4xx envelope."""
    await _fuzz_one(app, case, seed, [*CHECKS, negative_data_rejection])
