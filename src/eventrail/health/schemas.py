"""Shapes of the answers of GET /health and GET /ready, for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from eventrail.kit.schemas import Schema


class Liveness(Schema):
    status: Literal["up"]


class ReadinessOut(Schema):
    status: Literal["ready"]
    checks: dict[str, str] = Field(description="What was checked, and how it stands")
    warnings: list[str]
