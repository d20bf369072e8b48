"""kit/json: the byte-level shortcut never lets through what the walk refuses."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from eventrail.kit.json import MAX_DEPTH, payload_problem, plainly_acceptable

_TEXT = st.text(alphabet=st.sampled_from(["a", "é", "\x00", "[", "{", "\\", '"', "0"]), max_size=8)
_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=40,
)


def _nested(depth: int) -> Any:
    document: Any = "x"
    for level in range(depth):
        document = [document] if level % 2 else {"k": document}
    return document


@given(_DOCUMENTS)
def test_what_the_bytes_let_through_the_walk_accepts(document: Any) -> None:
    raw = orjson.dumps(document)
    if plainly_acceptable(raw):
        assert payload_problem(orjson.loads(raw)) is None


@given(st.integers(min_value=1, max_value=MAX_DEPTH + 8))
def test_depth_and_nul_are_never_let_through(depth: int) -> None:
    for document in (_nested(depth), {"a": _nested(depth), "b": "\x00"}):
        raw = orjson.dumps(document)
        if payload_problem(orjson.loads(raw)) is not None:
            assert not plainly_acceptable(raw)


def test_a_long_string_is_walked() -> None:
    raw = orjson.dumps({"a": "x" * (64 * 1024 + 1)})
    assert not plainly_acceptable(raw)
    assert payload_problem(orjson.loads(raw)) is not None
