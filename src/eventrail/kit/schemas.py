"""The shared base of request and response shapes: wire names are Capillary's aliases."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class Schema(BaseModel):
    """Python names are snake_case; wire names are Capillary's, given as aliases."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=False)


class StrictSchema(Schema):
    """A request body that refuses unknown keys, so that typos are reported, not ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


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
