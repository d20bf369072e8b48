"""parse_query and read_body: what the fast lane and the guard both refuse."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventrail.errors import BadRequest, PayloadTooLarge
from eventrail.kit.requests import (
    FALSE_WORDS,
    MAX_BODY_BYTES,
    TRUE_WORDS,
    QueryValueError,
    parse_query,
    query_bool,
    query_int,
    read_body,
)

pytestmark = pytest.mark.anyio


def refusal(raw: bytes) -> str:
    with pytest.raises(BadRequest) as caught:
        parse_query(raw)
    return caught.value.message


def test_a_query_parses_to_single_values() -> None:
    assert parse_query(b"") == {}
    assert parse_query(b"a=1&b=&c=%C3%A9+x") == {"a": "1", "b": "", "c": "é x"}


def test_each_refusal_names_the_parameter() -> None:
    assert refusal(b"a=1&b=2&a=3") == "Invalid value for query parameter 'a': given more than once"
    assert refusal(b"a=1&b=x%00y") == (
        "Invalid value for query parameter 'b': contains a NUL character"
    )
    assert refusal(b"a=\x00") == "Invalid value for query parameter 'a': contains a NUL character"
    assert refusal(b"a=1&name=\xff\xfe") == (
        "Invalid value for query parameter 'name': not valid UTF-8"
    )
    # a NUL where no parameter name holds it is still refused
    assert "NUL" in refusal(b"&&\x00")


def test_the_first_problem_in_the_query_is_the_one_named() -> None:
    assert "'x'" in refusal(b"x=1&x=2&y=%00")
    assert "'y'" in refusal(b"y=%00&x=1&x=2")


def receiver(*chunks: bytes, disconnect: bool = False) -> Any:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        messages[-1]["more_body"] = True
        messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


async def test_read_body_joins_chunks() -> None:
    assert await read_body(receiver(b'{"a"', b": 1}"), None) == b'{"a": 1}'
    assert await read_body(receiver(b"{}"), "2") == b"{}"


async def test_read_body_refuses_oversized_bodies_declared_or_sent() -> None:
    for length in (str(MAX_BODY_BYTES + 1), "9" * 4400, "-1", "1e6", b"12x"):
        with pytest.raises(PayloadTooLarge):
            await read_body(receiver(b"{}"), length)
    half = b"x" * (MAX_BODY_BYTES // 2 + 1)
    with pytest.raises(PayloadTooLarge):
        await read_body(receiver(half, half), None)


async def test_read_body_is_none_when_the_client_goes_away() -> None:
    assert await read_body(receiver(b'{"a"', disconnect=True), None) is None


# -- the one reading of integer and boolean query values ---------------------------------
@pytest.mark.parametrize(
    ("raw", "value"), [("0", 0), ("42", 42), ("-1", -1), ("007", 7), ("0" * 30 + "5", 5)]
)
def test_query_int_reads_digits_only(raw: str, value: int) -> None:
    assert query_int(raw, -10, 100) == value


@pytest.mark.parametrize(
    "raw", ["", " 5", "5 ", "+5", "1.0", "1e3", "0x5", "1_000", "５", "--1", "-", "true"]
)
def test_query_int_refuses_every_other_spelling(raw: str) -> None:
    with pytest.raises(QueryValueError, match="valid integer"):
        query_int(raw, -10, 100)


@pytest.mark.parametrize(
    ("raw", "bound"), [("101", "less"), ("9" * 5000, "less"), ("-11", "greater")]
)
def test_query_int_bounds(raw: str, bound: str) -> None:
    with pytest.raises(QueryValueError, match=bound):
        query_int(raw, -10, 100)


def test_query_bool_takes_the_documented_words_and_nothing_else() -> None:
    assert all(query_bool(w) for w in TRUE_WORDS)
    assert not any(query_bool(w) for w in FALSE_WORDS)
    for raw in ["", " true", "tRue", "on", "off", "t", "f", "y", "n", "2", "-1", "yes please"]:
        with pytest.raises(QueryValueError, match="true or false"):
            query_bool(raw)


@given(st.lists(st.sampled_from(["a", "b", "=", "&", "x", "1", ";", " ", "é"]), max_size=12))
def test_a_query_without_escapes_reads_as_parse_qsl_reads_it(parts: list[str]) -> None:
    """The fast path (no % and no +) gives parse_qsl's pairs."""
    from urllib.parse import parse_qsl

    text = "".join(parts)
    raw = text.encode()
    expected: dict[str, str] | Exception
    try:
        expected = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name in expected:
                raise BadRequest("repeated")
            expected[name] = value
    except BadRequest as exc:
        expected = exc
    if not raw.isascii():
        return  # refused or decoded by the other path
    if isinstance(expected, Exception):
        with pytest.raises(BadRequest):
            parse_query(raw)
    else:
        assert parse_query(raw) == expected
