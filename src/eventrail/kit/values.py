"""Typed values held as text: one rule for the org's custom and extended fields
(orgs.service) and for the fields of posted events (events.fields).

Such a value comes from a foreign sender's JSON, so text spelling the value is
taken (``"42"`` for an integer, ``"true"`` for a boolean, as Capillary's senders
send them); but a boolean is never a number (``true`` is not ``1``), a number is
never a boolean (``1`` is not ``true``), and a fraction is never an integer
(``1.5`` nor ``1.0``). Each function returns the stored text or raises
:class:`ValueRefused` saying what was expected.
"""

from __future__ import annotations

import math
import re
from typing import Any

_INTEGER = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_BOOLEANS = ("true", "false")


class ValueRefused(ValueError):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.reason = expected


def format_double(value: float) -> str:
    """A double the way Capillary (Java) prints it: ``20`` -> ``"20.0"``."""
    if value == int(value) and abs(value) < 1e16:
        return f"{int(value)}.0"
    return repr(value)


def integer_text(raw: Any) -> str:
    """A JSON integer, or text of at most 18 digits with an optional sign."""
    if isinstance(raw, bool):
        raise ValueRefused("expected an integer")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return str(int(raw))
    raise ValueRefused("expected an integer")


def double_text(raw: Any) -> str:
    """A JSON number, or text of one; finite."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueRefused("expected a number")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ValueRefused("expected a number") from None
    if not math.isfinite(number):
        raise ValueRefused("expected a finite number")
    return format_double(number)


def boolean_text(raw: Any) -> str:
    """A JSON boolean, or the text true or false (any case)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str) and raw.strip().lower() in _BOOLEANS:
        return raw.strip().lower()
    raise ValueRefused("expected true or false")


def string_text(raw: Any) -> str:
    """A string; a number or a boolean sent for a text field is kept as its JSON text."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)
