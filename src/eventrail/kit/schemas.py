"""The shared base of request and response shapes: wire names are Capillary's aliases.

Every body is validated strictly (``strict=True``): a JSON value must already be
of the declared type. A boolean is never an integer (``true`` is not ``1``), a
number is never a string, a string is never a number or a boolean (``"5"`` is
not ``5``, ``"true"`` is not ``true``) and ``5.0`` is not an integer. Such a
value is a 400 naming the field. No body field takes another spelling; the
values of custom fields and of events' fields, typed by the org's own
definitions, follow ``kit.values`` instead (docs/decisions.md, "Types are strict").
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from eventrail.kit.requests import (
    FALSE_WORDS,
    TRUE_WORDS,
    QueryValueError,
    integer_text,
    query_bool,
)


class Schema(BaseModel):
    """Python names are snake_case; wire names are Capillary's, given as aliases."""

    model_config = ConfigDict(
        populate_by_name=True, extra="ignore", str_strip_whitespace=False, strict=True
    )


class StrictSchema(Schema):
    """A request body that refuses unknown keys, so that typos are reported, not ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=True)


# Ids on the wire: positive 64-bit (Capillary's Long). Anything bigger would
# overflow the database's BIGINT, so it is refused as a 400 naming the field.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
# Integers that Capillary lets be -1 (org unit, campaign, communication ids).
SignedLong = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


# In an answer's shape, a key that is left out (never null) when there is no value:
# ``x: T | Omitted = omitted("...")`` documents it as T, not required.
Omitted = SkipJsonSchema[None]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omitted(description: str, alias: str | None = None) -> Any:
    return Field(None, alias=alias, description=description, json_schema_extra=_no_default)


def _int_text(value: object) -> object:
    if isinstance(value, str):
        try:
            return integer_text(value)
        except QueryValueError as exc:
            raise PydanticCustomError("int_parsing", exc.reason) from None
    return value


def _bool_text(value: object) -> object:
    if isinstance(value, str):
        try:
            return query_bool(value)
        except QueryValueError as exc:
            raise PydanticCustomError("bool_parsing", exc.reason) from None
    return value


# Query and path parameters of FastAPI's routes, read by the same rule as the fast
# lane's (kit.requests.query_int / query_bool). Declare them in Annotated (FastAPI
# drops the rule from a parameter declared as a default) with the bounds before
# QUERY_INT, so that /openapi.json shows them as minimum and maximum:
#     limit: Annotated[int, Field(ge=1, le=100), QUERY_INT, Query(...)] = 50
QUERY_INT = BeforeValidator(_int_text)
QueryId = Annotated[int, Field(ge=1, le=2**63 - 1), QUERY_INT]
QueryBool = Annotated[
    bool,
    BeforeValidator(_bool_text),
    WithJsonSchema({"type": "string", "enum": [*TRUE_WORDS, *FALSE_WORDS]}),
]
