"""Type strictness as a property: no body field and no query parameter takes a value
of another type, on both transports.

For every write endpoint (every POST and PUT with a JSON body), hypothesis picks a
field anywhere in the body (nested objects and list items included) and a value
of a wrong JSON type for it: a boolean, a number, a numeric or boolean string, a
list or an object where an integer, a string or a boolean is declared. The
answer must be 400 with the envelope naming that field, and the org's rows must
be exactly what they were. For every integer and boolean query parameter of the
API document (FastAPI's routes and the fast lane's), hypothesis picks a spelling
that is not one (" 5", "+5", "1.0", "1e3", "", "on", "tRue", ...): 400 naming it.

Webhook posts are not here: their payload is checked against the event's
definition (events/fields.py), tested in tests/events.
"""

from __future__ import annotations

import copy
import types
import typing
from typing import Any, Literal

import httpx
import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from eventrail.app import EventrailApp
from eventrail.kit.requests import FALSE_WORDS, TRUE_WORDS
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import create_webhook
from tests.fixtures.snapshots import org_rows

# No shrinking: every failure message names the field and the value it is about.
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A body of each write endpoint that its schema accepts, with every optional
# object and list filled in, so that every field can be given a wrong type. The
# path's own parameters and required query parameters are valid too.
WRITES: dict[str, tuple[str, dict[str, str], Any]] = {
    "POST /v3/oauth/token/generate": (
        "/v3/oauth/token/generate",
        {},
        {"key": "k", "secret": "s"},
    ),
    "POST /v2/card": (
        "/v2/card",
        {},
        {
            "cardNumber": "C1",
            "seriesId": 1,
            "seriesCode": "S",
            "statusLabel": "ACTIVE",
            "customerId": 1,
            "customFields": {},
            "extendedFields": {},
            "mappedEntity": {"type": "TILL", "value": "t", "id": 1},
            "statusInfo": {"reason": "r"},
        },
    ),
    "PUT /v2/card": (
        "/v2/card",
        {},
        {
            "cardNumber": "C1",
            "cardId": 1,
            "seriesId": 1,
            "statusLabel": "ACTIVE",
            "statusInfo": {"reason": "r"},
            "customFields": {},
            "extendedFields": {},
            "mappedEntity": {"type": "TILL", "value": "t", "id": 1},
        },
    ),
    **{
        f"{method} {path}": (
            path.replace("{id}", "1"),
            params,
            {
                "profiles": [
                    {
                        "firstName": "A",
                        "lastName": "B",
                        "identifiers": [
                            {
                                "type": "mobile",
                                "value": "919999999999",
                                "seriesId": 1,
                                "seriesCode": "S",
                                "statusLabel": "ACTIVE",
                            }
                        ],
                        "commChannels": [
                            {
                                "type": "mobile",
                                "value": "919999999999",
                                "primary": True,
                                "verified": False,
                                "subscribed": True,
                                "meta": {},
                            }
                        ],
                        "fields": {},
                        "source": "INSTORE",
                        "accountId": "",
                    }
                ],
                "extendedFields": {},
                "loyaltyInfo": {"loyaltyType": "loyalty"},
                **({"statusLabel": "ACTIVE"} if method == "POST" else {}),
            },
        )
        for method, path, params in (
            ("POST", "/v2/customers", {}),
            ("PUT", "/v2/customers/lookup", {"identifierName": "mobile", "identifierValue": "1"}),
            ("PUT", "/v2/customers/{id}", {}),
        )
    },
    "PUT /v2/customers/lookup/status": (
        "/v2/customers/lookup/status",
        {"identifierName": "mobile", "identifierValue": "1"},
        {"reason": "r", "label": "ACTIVE", "createdOn": "2024-01-01"},
    ),
    "POST /v2/customers/{id}/changeIdentifier": (
        "/v2/customers/1/changeIdentifier",
        {},
        {
            "add": [{"type": "email", "value": "a@b.c", "seriesId": 1, "seriesCode": "S"}],
            "remove": [{"type": "mobile", "value": "1", "statusLabel": "ACTIVE"}],
        },
    ),
    "POST /v2/customers/{id}/subscriptions": (
        "/v2/customers/1/subscriptions",
        {},
        {
            "communicationId": -1,
            "campaignId": -1,
            "reason": "r",
            "scope": {"scope": "USER", "subScope": "NONE"},
            "subscriptions": [
                {
                    "channel": "SMS",
                    "priority": "BULK",
                    "type": "OPTIN",
                    "accountId": "",
                    "orgUnitId": -1,
                    "sourceName": "INSTORE",
                }
            ],
        },
    ),
    "POST /v2/requests": (
        "/v2/requests",
        {},
        {
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "customer": {"id": 1},
            "userId": 1,
            "changeIdentifiers": {
                "add": [{"type": "id", "value": "1"}],
                "remove": [{"type": "id", "value": "2"}],
            },
            "comments": "c",
        },
    ),
    "PUT /v2/requests": (
        "/v2/requests",
        {},
        [
            {
                "type": "CHANGE_IDENTIFIER",
                "baseType": "MERGE",
                "id": 1,
                "status": "APPROVED",
                "comments": "c",
            }
        ],
    ),
    **{
        f"{method} /v2/events": (
            "/v2/events",
            {},
            {
                "eventName": "e",
                "actions": ["EMFConsumer"],
                "description": "d",
                "label": "l",
                "eventType": "CUSTOM",
                "fields": [{"name": "customer", "type": "customer", "attributes": {}}],
            },
        )
        for method in ("POST", "PUT")
    },
    **{
        f"{method} /v2/events/webhook": (
            "/v2/events/webhook",
            {},
            {
                "transformerType": "defaultTransformer",
                "tillCode": "t",
                "authEnabled": False,
                "authMechanism": "BASIC",
                "uniquenessCheckEnabled": False,
                "listenToChildEvents": False,
                "webHookUri": "u",
                "webHookId": "w",
            },
        )
        for method in ("POST", "PUT")
    },
    "PUT /v2/events/webhook/disable": ("/v2/events/webhook/disable", {}, {"webHookId": "w"}),
    **{
        f"{method} /v3/webHooks{suffix}": (
            f"/v3/webHooks{suffix.replace('{webHookId}', '0' * 24)}",
            {},
            {
                "name": "n",
                "webHookUrl": "https://receiver.example.com/hook",
                "methodType": "POST",
                "webHookType": "HTTP",
                "webHookHeaders": {"X-A": "b"},
                "eventNames": ["customerAdded"],
                "active": True,
                "maxAllowedConnections": 2,
                "slaInSeconds": 30,
                "customerIdentifiersToBeEnriched": ["mobile"],
                "listenToChildEvents": False,
            },
        )
        for method, suffix in (("POST", ""), ("PUT", "/{webHookId}"))
    },
    "POST /v2/feed": (
        "/v2/feed",
        {"source": "INSTORE"},
        {
            "eventName": "GetPromotion",
            "openId": "o",
            "eventTime": "2018-09-28T15:26:45+05:30",
            "scanId": "s",
            "details": "d",
            "customer": {"id": "1", "mobile": "9", "email": "e@x.y", "externalId": "x"},
            "sku": "k",
            "promotionCode": "p",
        },
    ),
    "POST /v2/events/adapter_mapping": (
        "/v2/events/adapter_mapping",
        {},
        {
            "transformerType": "T",
            "eventsMapped": ["e"],
            "webEngageTransformerData": {
                "eventMapper": {"fieldName": "event_name", "valueMap": {}},
                "eventFieldMapper": {
                    "e": [{"eventFieldName": "a", "fieldName": "b", "eventDataType": "string"}]
                },
            },
            "transformerData": {
                "eventMapper": {"fieldName": "event_name", "valueMap": {}},
                "eventFieldMapper": {
                    "e": [{"eventFieldName": "a", "fieldName": "b", "eventDataType": "string"}]
                },
            },
        },
    ),
    "PUT /v2/orgs/settings": (
        "/v2/orgs/settings",
        {},
        {
            "timezone": "UTC",
            "psiMaskingEnabled": True,
            "rateLimitPerMinute": 100,
            "retention": {"eventLogsDays": 30, "eventDataDays": 60, "auditDays": 365},
        },
    ),
    "POST /v2/events/logs/replay": (
        "/v2/events/logs/replay",
        {},
        {
            "ids": ["0" * 32],
            "status": "EVENT_FIELD_VALIDATION_FAILED",
            "event_name": "Visit",
            "webhookId": "0" * 32,
            "from_date": "2026-01-01",
            "to_date": "2026-01-02",
            "limit": 10,
        },
    ),
    **{
        f"POST /v2/orgs/settings/{kind}StatusLabels": (
            f"/v2/orgs/settings/{kind}StatusLabels",
            {},
            {"status": "ACTIVE", "label": "L"},
        )
        for kind in ("customer", "card")
    },
    "POST /v2/orgs/settings/cardSeries": (
        "/v2/orgs/settings/cardSeries",
        {},
        {"name": "n", "code": "c"},
    ),
    "POST /v2/orgs/settings/fields": (
        "/v2/orgs/settings/fields",
        {},
        {
            "entityType": "CUSTOMER",
            "kind": "custom",
            "name": "f",
            "dataType": "string",
            "auditTrail": False,
            "psi": False,
        },
    ),
    "POST /v2/orgs/settings/groups": (
        "/v2/orgs/settings/groups",
        {},
        {"externalId": "g", "name": "n", "members": [1]},
    ),
    "PUT /v2/orgs/settings/groups/{externalId}/members": (
        "/v2/orgs/settings/groups/g/members",
        {},
        {"add": [1], "remove": [2]},
    ),
}

Path = tuple[str | int, ...]


def _api_routes(routes: list[Any]) -> list[Any]:
    """FastAPI's routes, those of included routers too (seen with their prefix)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "effective_candidates"):
            found += _api_routes(route.effective_candidates())
        elif hasattr(route, "body_field"):
            found.append(route)
    return found


def _route_bodies(app: EventrailApp) -> dict[str, Any]:
    """Every FastAPI route that takes a body -> the body's declared type."""
    found: dict[str, Any] = {}
    for route in _api_routes(app.api.routes):
        if route.body_field is not None:
            for method in route.methods:
                found[f"{method} {route.path}"] = route.body_field.field_info.annotation
    return found


def _scalar_kind(annotation: Any) -> str | None:
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is str:
        return "str"
    if typing.get_origin(annotation) is Literal:
        return "str"
    return None


def _unwrap(annotation: Any) -> Any:
    """Without Annotated[...] and without None of an optional."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            assert len(args) == 1, annotation
            annotation = args[0]
        else:
            return annotation


def typed_fields(annotation: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """(wire path, int/str/bool) of every scalar field a body of this type can hold;
    list items at index 0, dictionaries of free values left out."""
    annotation = _unwrap(annotation)
    kind = _scalar_kind(annotation)
    if kind is not None:
        return [(path, kind)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out: list[tuple[Path, str]] = []
        for name, info in annotation.model_fields.items():
            out += typed_fields(info.annotation, (*path, info.alias or name))
        return out
    if typing.get_origin(annotation) is list:
        return typed_fields(typing.get_args(annotation)[0], (*path, 0))
    if typing.get_origin(annotation) is dict:
        _key, value = typing.get_args(annotation)
        if _scalar_kind(_unwrap(value)) is None and typing.get_origin(value) is not list:
            return []  # free values: what they hold is checked by the service
        return typed_fields(value, (*path, "e"))
    return []


def _set(body: Any, path: Path, value: Any) -> Any:
    body = copy.deepcopy(body)
    node = body
    for part in path[:-1]:
        node = node[part]  # the baseline holds every parent (asserted below)
    node[path[-1]] = value
    return body


def _has_parent(body: Any, path: Path) -> bool:
    node = body
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def wire_name(path: Path) -> str:
    """The name the error message gives a field: profiles[0].identifiers[0].value."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# (no NUL character: a NUL anywhere in a body is refused before its types are looked at)
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=_CHARS, max_size=max_size)


_NOT_INT = st.one_of(
    st.booleans(),
    st.from_regex(r"-?[0-9]{1,6}", fullmatch=True),  # a number as a string
    _text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),  # 1.0 included: not an integer
    st.lists(st.integers(1, 9), max_size=2),
    st.dictionaries(_text(max_size=3), st.integers(), max_size=1),
)
_NOT_STR = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(_text(max_size=3), max_size=2),
    st.dictionaries(_text(max_size=3), _text(max_size=3), max_size=1),
)
_NOT_BOOL = st.one_of(
    st.integers(-2, 2),  # 0 and 1 included: not booleans
    st.sampled_from(["true", "false", "True", "1", "0", "yes", ""]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.booleans(), max_size=2),
    st.dictionaries(_text(max_size=3), st.booleans(), max_size=1),
)


# Endpoints whose refusals carry a code of their own (documented): the search's 1850.
_CODES = {"/v2/events/search": 1850}


def assert_names(r: httpx.Response, name: str, what: str, code: int = 400) -> None:
    assert r.status_code == 400, f"{what}: {r.status_code} {r.text}"
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    [error] = body["errors"]
    assert error["code"] == code and error["status"] is False, body
    assert f"'{name}'" in error["message"], f"{what}: {error['message']}"


def test_every_write_endpoint_has_a_body_here(app: EventrailApp) -> None:
    """A new endpoint with a body fails here until its fields are part of the property;
    every field of every body can be reached from its baseline."""
    routes = _route_bodies(app)
    assert routes.keys() == WRITES.keys()
    for op, annotation in routes.items():
        fields = typed_fields(annotation)
        assert fields, op
        missing = [p for p, _ in fields if not _has_parent(WRITES[op][2], p)]
        assert missing == [], f"{op}: the baseline lacks the parents of {missing}"


# Drawn before the test's coroutine runs (hypothesis cannot stop a draw inside it):
# a field by its index among the body's fields, and a wrong value for each type.
PICK = st.integers(0, 10_000)


@pytest.mark.parametrize("op", sorted(WRITES))
@PROPERTY
@given(pick=PICK, not_int=_NOT_INT, not_str=_NOT_STR, not_bool=_NOT_BOOL)
async def test_a_wrong_typed_field_is_400_naming_it_and_changes_nothing(
    app: EventrailApp, tenant: Tenant, op: str, pick: int, not_int: Any, not_str: Any, not_bool: Any
) -> None:
    method = op.split(" ", 1)[0]
    url, params, baseline = WRITES[op]
    fields = typed_fields(_route_bodies(app)[op])
    path, kind = fields[pick % len(fields)]
    value = {"int": not_int, "str": not_str, "bool": not_bool}[kind]
    before = org_rows(tenant.db, tenant.org_id)
    r = await tenant.http.request(method, url, params=params, json=_set(baseline, path, value))
    assert_names(r, wire_name(path), f"{op} {wire_name(path)}={value!r}")
    assert org_rows(tenant.db, tenant.org_id) == before


# -- query parameters ----------------------------------------------------------------------
_NOT_INT_TEXT = st.one_of(
    st.sampled_from([" 5", "5 ", "+5", "1.0", "1e3", "0x5", "1_000", "", "５", "true", "-"]),
    st.from_regex(r"[ +]?[0-9]{1,4}[.eE_ ][0-9]{0,3}", fullmatch=True),
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs",), blacklist_characters="0123456789-\x00"
        ),
        min_size=1,
        max_size=5,
    ),
)
_NOT_BOOL_TEXT = st.one_of(
    st.sampled_from(["", " true", "true ", "tRue", "on", "off", "t", "f", "y", "n", "2", "-1"]),
    _text(6).filter(lambda t: t not in TRUE_WORDS and t not in FALSE_WORDS),
)


def _is_boolean(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "boolean" or set(schema.get("enum", ())) == {
        *TRUE_WORDS,
        *FALSE_WORDS,
    }


def _valid(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return str(max(1, schema.get("minimum", 1)))
    return "x"


async def query_cases(tenant: Tenant) -> list[tuple[str, str, dict[str, str], str, str]]:
    """(method, url, valid required parameters, parameter, int/bool) of every integer
    and boolean query parameter of the API document; webhooks are the tenant's own."""
    if "webhook" not in tenant.extra:
        tenant.extra["webhook"] = await create_webhook(tenant)
    document = (await tenant.http.get("/openapi.json")).json()
    cases = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            parameters = op.get("parameters", [])
            url = path
            for p in parameters:
                if p["in"] == "path":
                    value = _valid(p.get("schema", {}))
                    if "webhook" in p["name"].lower():
                        value = tenant.extra["webhook"]
                    url = url.replace("{" + p["name"] + "}", value)
            required = {
                p["name"]: _valid(p.get("schema", {}))
                for p in parameters
                if p["in"] == "query" and p.get("required")
            }
            for p in parameters:
                schema = p.get("schema", {})
                if p["in"] != "query":
                    continue
                kind = (
                    "int"
                    if schema.get("type") == "integer"
                    else "bool"
                    if _is_boolean(schema)
                    else None
                )
                if kind is not None:
                    cases.append((method.upper(), url, required, p["name"], kind))
    return cases


@settings(PROPERTY, max_examples=40)
@given(pick=PICK, not_int=_NOT_INT_TEXT, not_bool=_NOT_BOOL_TEXT)
async def test_every_integer_and_boolean_query_parameter_refuses_other_spellings(
    tenant: Tenant, pick: int, not_int: str, not_bool: str
) -> None:
    cases = await query_cases(tenant)
    names = {name for _, _, _, name, _ in cases}
    # both transports are here: FastAPI's routes and the fast lane's
    assert {"limit", "offset", "client_auto_approve", "includeUserContext", "wait"} <= names
    method, url, required, name, kind = cases[pick % len(cases)]
    text = not_int if kind == "int" else not_bool
    before = org_rows(tenant.db, tenant.org_id)
    body = {} if method in {"POST", "PUT"} else None
    r = await tenant.http.request(method, url, params={**required, name: text}, json=body)
    assert_names(r, name, f"{method} {url} {name}={text!r}", _CODES.get(url, 400))
    assert org_rows(tenant.db, tenant.org_id) == before
