"""Shapes of GET /v2/events/logs and GET /v2/events/event_data (Capillary's shapes,
key by key), for the OpenAPI document. ``service.log_view`` and
``pipeline.record_view`` build the answers; tests/test_response_schemas.py checks
real answers against these."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from eventrail.kit.schemas import Omitted, Schema, omitted
from eventrail.processing import statuses as st


def _a_status(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    schema["enum"] = list(st.ALL)


class LogEntryOut(Schema):
    start_time: int = Field(alias="startTime", description="Epoch ms the post was received")
    response_time: int = Field(alias="responseTime", description="Epoch ms of the verdict")
    org_id: int = Field(alias="orgId")
    status: str | Omitted = Field(
        None,
        description="The verdict; absent for a post refused for its credentials",
        json_schema_extra=_a_status,
    )
    event_name: str | Omitted = omitted("Absent when the post named no event", "eventName")
    input_request: str = Field(
        alias="inputRequest", description="The body as received (PSI values masked for some)"
    )
    id: str = Field(description="The post's requestId")
    webhook_id: str = Field(
        alias="webhookId", description="Empty for an event routed from the parent org"
    )
    parent_org_id: int = Field(alias="parentOrgId", description="The org it was routed from, or -1")
    message: str


class LogList(Schema):
    data: list[LogEntryOut] = Field(description="Newest first")
    warnings: list[object]
    errors: list[object]


class EventRecordOut(Schema):
    org_id: int = Field(alias="orgId")
    user_id: int = Field(alias="userId", description="Customer id")
    date: str = Field(description="ISO 8601 in the org's timezone, to the second")
    event_name: str = Field(alias="eventName")
    event_id: str = Field(alias="eventId", description="The post's requestId")
    source: str
    till_code: str | Omitted = omitted("Absent when none", "tillCode")
    display_name: str | Omitted = omitted("Absent when none", "displayName")
    additional_attributes: dict[str, Any] = Field(
        alias="additonalAttributes",
        description="The event's attributes (Capillary's spelling of the key)",
    )
    psi_attributes: list[str] = Field(
        alias="psiAttributes", description="Which attributes hold personal data"
    )
    unique_id: str = Field(alias="uniqueId")


class EventDataList(Schema):
    data: list[EventRecordOut] = Field(description="Newest first")
    warnings: list[object]
    errors: list[object]
