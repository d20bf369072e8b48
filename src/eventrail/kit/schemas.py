"""The shared base of request and response shapes: wire names are Capillary's aliases."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Python names are snake_case; wire names are Capillary's, given as aliases."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=False)


class StrictSchema(Schema):
    """A request body that refuses unknown keys, so that typos are reported, not ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
