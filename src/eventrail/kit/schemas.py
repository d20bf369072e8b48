"""The shared base of request and response shapes: wire names are Capillary's aliases."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


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
