"""kit.values: the one rule for typed values held as text (custom fields, events' fields)."""

from __future__ import annotations

from typing import Any

import pytest

from eventrail.kit.values import (
    ValueRefused,
    boolean_text,
    double_text,
    integer_text,
    string_text,
)


@pytest.mark.parametrize(("raw", "text"), [(42, "42"), (-7, "-7"), ("42", "42"), (" +7 ", "7")])
def test_integers(raw: Any, text: str) -> None:
    assert integer_text(raw) == text


@pytest.mark.parametrize("raw", [True, False, 1.0, 1.5, "1.0", "abc", "", "1" * 19, None, [1]])
def test_a_boolean_or_a_fraction_is_never_an_integer(raw: Any) -> None:
    with pytest.raises(ValueRefused, match="expected an integer"):
        integer_text(raw)


@pytest.mark.parametrize(("raw", "text"), [(20, "20.0"), (1.5, "1.5"), ("2.25", "2.25")])
def test_doubles(raw: Any, text: str) -> None:
    assert double_text(raw) == text


@pytest.mark.parametrize("raw", [True, False, "abc", None, [1.0]])
def test_a_boolean_is_never_a_number(raw: Any) -> None:
    with pytest.raises(ValueRefused, match="expected a number"):
        double_text(raw)


@pytest.mark.parametrize(("raw", "text"), [(True, "true"), (False, "false"), (" TRUE ", "true")])
def test_booleans(raw: Any, text: str) -> None:
    assert boolean_text(raw) == text


@pytest.mark.parametrize("raw", [1, 0, 1.0, "1", "yes", "Y", None])
def test_a_number_is_never_a_boolean(raw: Any) -> None:
    with pytest.raises(ValueRefused, match="expected true or false"):
        boolean_text(raw)


def test_strings_keep_the_json_text_of_numbers_and_booleans() -> None:
    assert [string_text(v) for v in ("a", 5, 1.5, True)] == ["a", "5", "1.5", "true"]
