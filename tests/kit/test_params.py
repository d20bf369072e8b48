"""kit/params.py: a parameter's one description parses what a request sends (with
the 400 naming it) and writes its OpenAPI object."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventrail.audit.endpoints import AUDITS_FILTERS, AUDITS_PARAMS
from eventrail.errors import BadRequest
from eventrail.ingest.service import WEBHOOK_PARAMS
from eventrail.kit.params import Bool, Choice, Int, Param, Params, PathId, Str
from eventrail.kit.requests import FALSE_WORDS, TRUE_WORDS
from eventrail.processing.endpoints import (
    CUSTOMER_EVENTS_PARAMS,
    CUSTOMER_PARAMS,
    LOGS_PARAMS,
    ONE_EVENT_PARAMS,
)

ROUTE_PARAMS = [
    LOGS_PARAMS,
    CUSTOMER_EVENTS_PARAMS,
    ONE_EVENT_PARAMS,
    AUDITS_PARAMS,
    AUDITS_FILTERS,
    WEBHOOK_PARAMS,
]


def refusal(params: Params, query: dict[str, str], path: dict[str, str] | None = None) -> str:
    with pytest.raises(BadRequest) as caught:
        params.parse(query, path)
    return caught.value.message


def reference_parse(params: Params, query: dict[str, str]) -> dict[str, Any]:
    """What ``parse`` must do, written as the plain loop it replaces."""
    values: dict[str, Any] = {}
    for param in params.params:
        if param.in_ == "path":
            continue
        raw = query.get(param.name)
        if raw is None:
            if param.required:
                raise BadRequest(f"Missing required query parameter '{param.name}'")
            values[param.key] = param.default
        else:
            values[param.key] = param.convert(raw)
    for param in params.params:
        if param.late and param.name in query:
            values[param.key] = param.check_late(values[param.key])
    return values


def test_defaults_when_nothing_is_sent() -> None:
    assert LOGS_PARAMS.parse({}) == {
        "event_name": None,
        "from_date": None,
        "to_date": None,
        "status": None,
        "limit": 10,
        "offset": 0,
        "cursor": None,
    }
    assert AUDITS_FILTERS.parse({})["includeUserContext"] is False
    assert WEBHOOK_PARAMS.parse({}, {"webhook_id": "a" * 32}) == {
        "webhook_id": "a" * 32,
        "wait": False,
        "dryRun": False,
    }


def test_strings_up_to_their_length_as_sent() -> None:
    assert LOGS_PARAMS.parse({"event_name": " x" * 100})["event_name"] == " x" * 100
    assert refusal(LOGS_PARAMS, {"event_name": "x" * 201}) == (
        "Invalid value for query parameter 'event_name': String should have at most 200 characters"
    )
    assert ONE_EVENT_PARAMS.parse({"id": "r" * 64}) == {"id": "r" * 64}
    for bad in ("", "r" * 65):
        assert refusal(ONE_EVENT_PARAMS, {"id": bad}) == (
            "Invalid value for query parameter 'id': 1 to 64 characters"
        )
    assert refusal(ONE_EVENT_PARAMS, {}) == "Missing required query parameter 'id'"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("1000", 1000),
        ("0001000", 1000),
        # kit.requests.query_int's rule: nothing around the digits, no sign but minus
        (" 1000 ", "a valid integer"),
        ("+5", "a valid integer"),
        ("1_000", "a valid integer"),
        ("1e3", "a valid integer"),
        ("0", "greater than or equal to 1"),
        ("-5", "greater than or equal to 1"),
        ("1001", "less than or equal to 1000"),
        ("9" * 5000, "less than or equal to 1000"),
        ("-" + "9" * 5000, "greater than or equal to 1"),
        ("1.5", "a valid integer"),
        ("", "a valid integer"),
        ("١٢", "a valid integer"),  # Arabic-Indic digits: isdigit(), not ASCII
    ],
)
def test_integers_in_their_bounds(raw: str, expected: int | str) -> None:
    if isinstance(expected, int):
        assert LOGS_PARAMS.parse({"limit": raw})["limit"] == expected
    else:
        message = refusal(LOGS_PARAMS, {"limit": raw})
        assert message.startswith("Invalid value for query parameter 'limit': Input should be")
        assert expected in message


def test_the_first_refused_parameter_in_declared_order_is_named() -> None:
    query = {"offset": "x", "limit": "x", "event_name": "x" * 300}
    assert "'event_name'" in refusal(LOGS_PARAMS, query)
    # entityType is required and declared first: missing, it is named before a bad limit.
    assert refusal(AUDITS_PARAMS, {"limit": "0"}) == (
        "Missing required query parameter 'entityType'"
    )
    assert "'entityId'" in refusal(AUDITS_PARAMS, {"entityType": "card", "limit": "0"})


def test_choices_any_case_given_on_as_listed() -> None:
    values = AUDITS_PARAMS.parse(
        {"entityType": " customer ", "entityId": "7", "sortBy": "CREATEDON", "sortOrder": "asc"}
    )
    assert (values["entityType"], values["sortBy"], values["sortOrder"]) == (
        "CUSTOMER",
        "createdOn",
        "ASC",
    )
    assert refusal(AUDITS_PARAMS, {"entityType": "user", "entityId": "7"}) == (
        "Invalid value for query parameter 'entityType': must be one of CARD, CUSTOMER"
    )
    assert refusal(AUDITS_PARAMS, {"entityType": "c" * 41, "entityId": "7"}) == (
        "Invalid value for query parameter 'entityType': String should have at most 40 characters"
    )


def test_a_late_choice_is_checked_after_the_other_parameters() -> None:
    # scope's length is checked in its place, its word after the limit.
    assert "'limit'" in refusal(CUSTOMER_EVENTS_PARAMS, {"scope": "parent", "limit": "0"})
    assert refusal(CUSTOMER_EVENTS_PARAMS, {"scope": "parent"}) == (
        "Invalid value for query parameter 'scope': the only scope is 'child'"
    )
    assert "at most 20 characters" in refusal(
        CUSTOMER_EVENTS_PARAMS, {"scope": "c" * 21, "limit": "0"}
    )
    assert CUSTOMER_EVENTS_PARAMS.parse({"scope": " CHILD"})["scope"] == "child"


def test_path_ids() -> None:
    assert CUSTOMER_PARAMS.parse({}, {"userId": "42"}) == {"userId": 42, "again": None}
    assert CUSTOMER_PARAMS.parse({"userId": "42"}, {"userId": "42"})["again"] == 42
    for bad in ("0", "-1", "1.0", " 1", "9223372036854775808", "0" * 20 + "1", "١"):
        assert refusal(CUSTOMER_PARAMS, {}, {"userId": bad}) == (
            "Invalid value for path parameter 'userId': must be a customer id (a positive "
            "64-bit integer)"
        )


def test_booleans_by_the_one_rule() -> None:
    """Every boolean, ?wait= included, takes kit.requests.query_bool's words exactly."""
    path = {"webhook_id": "a" * 32}
    for word, value in (("TRUE", True), ("Yes", True), ("0", False), ("NO", False)):
        assert AUDITS_FILTERS.parse({"includeUserContext": word})["includeUserContext"] is value
        assert WEBHOOK_PARAMS.parse({"wait": word}, path)["wait"] is value
    for bad in ("2", "", " true", "yEs", "on", "off", "t", "N"):
        assert refusal(AUDITS_FILTERS, {"includeUserContext": bad}) == (
            "Invalid value for query parameter 'includeUserContext': Input should be a valid "
            "boolean: true or false"
        )
        assert refusal(WEBHOOK_PARAMS, {"wait": bad}, path) == (
            "Invalid value for query parameter 'wait': Input should be a valid boolean: "
            "true or false"
        )


def test_each_parameter_documents_what_it_enforces() -> None:
    spec = Params(
        Str("name", 5, "A name", min_length=2),
        Int("n", -3, 3, "A number", default=0),
        Bool("flag", "A flag", default=True),
        Choice("kind", ("A", "B"), "A kind", required=True),
        PathId("id", "an id", "The id"),
    )
    assert spec.openapi() == [
        {
            "name": "name",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 5, "minLength": 2},
            "description": "A name",
        },
        {
            "name": "n",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": -3, "maximum": 3, "default": 0},
            "description": "A number",
        },
        {
            "name": "flag",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": [*TRUE_WORDS, *FALSE_WORDS], "default": "true"},
            "description": "A flag",
        },
        {
            "name": "kind",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": ["A", "B"]},
            "description": "A kind",
        },
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            "description": "The id",
        },
    ]


_NAMES = sorted({p.name for params in ROUTE_PARAMS for p in params.params if p.in_ == "query"})


def _edges(param: Param) -> list[str]:
    """Values on each side of the parameter's bounds."""
    if isinstance(param, Int):
        return [str(n) for n in (param.low - 1, param.low, param.high, param.high + 1)]
    if isinstance(param, Str | Choice):
        top = param.max_length
        return ["y" * top, "y" * (top + 1), ""]
    return []


_EDGES = sorted({edge for params in ROUTE_PARAMS for p in params.params for edge in _edges(p)})
_VALUES = st.one_of(
    st.sampled_from(_EDGES),
    st.sampled_from(["", " ", "0", "1", "10", "1000", "-1", "true", "no", "child", "CARD"]),
    st.sampled_from(["customer", "DESC", "createdOn", "x" * 40, "x" * 41, "x" * 64, "x" * 65]),
    st.sampled_from([" 5", "05", "-0", "9" * 18, "9" * 19, "1" + "0" * 20, "١", "TRUE ", "Yes"]),
    st.sampled_from(["+5", "1_000", "1.0", "1e3", "on", "off", "t", "tRue", "YES", "No"]),
    st.integers(-(2**64), 2**64).map(str),
    st.text(max_size=210),
)


def _outcome(params: Params, query: dict[str, str], written: bool) -> Any:
    path = {"webhook_id": "f" * 32}
    try:
        if written:
            return params.parse(query, path)
        expected = reference_parse(params, query)
        return {"webhook_id": "f" * 32, **expected} if params is WEBHOOK_PARAMS else expected
    except BadRequest as exc:
        return exc.message


def test_the_written_out_parse_at_every_bound() -> None:
    """Each parameter alone (and with the route's required ones) at each side of its
    bounds: the inline fast paths decide as ``convert`` does."""
    checked = 0
    for params in ROUTE_PARAMS:
        required = {
            p.name: "CARD" if isinstance(p, Choice) else "7"
            for p in params.params
            if p.required and p.in_ == "query"
        }
        for param in params.params:
            if param.in_ != "query":
                continue
            for edge in [*_EDGES, *_edges(param)]:
                query = {**required, param.name: edge}
                assert _outcome(params, query, True) == _outcome(params, query, False), query
                checked += 1
    assert checked > 500


@settings(max_examples=300, deadline=None, database=None)
@given(
    index=st.integers(0, len(ROUTE_PARAMS) - 1),
    query=st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=8),
)
def test_the_written_out_parse_is_the_plain_loop(index: int, query: dict[str, str]) -> None:
    """``parse`` is generated source, with each kind's inline fast path; it answers as
    the plain loop over the declarations' ``convert`` does."""
    params = ROUTE_PARAMS[index]
    assert _outcome(params, query, True) == _outcome(params, query, False)
