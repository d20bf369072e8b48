"""Shapes of GET /api_gateway/v2/audits (Capillary's shapes), for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from eventrail.kit.schemas import Schema


class AuditEventOut(Schema):
    event_type: str = Field(alias="eventType", description="e.g. Identifiers, Card Status")
    updated_field: str = Field(alias="updatedField", description="e.g. mobile, CardStatus")
    additional_fields: dict[str, Any] = Field(
        alias="additionalFields", description="previousValue/currentValue and friends"
    )
    associate_entities: list[dict[str, Any]] | None = Field(alias="associateEntities")


class AuditEntryOut(Schema):
    updated_by_user: str | None = Field(alias="updatedByUser")
    updated_by: int = Field(alias="updatedBy", description="Till id of the writer")
    org_id: int = Field(alias="orgId")
    entity_type: str = Field(alias="entityType", description="CUSTOMER or CARD")
    entity_id: int = Field(alias="entityId")
    created_on: int = Field(alias="createdOn", description="Epoch ms the entry was written")
    request_id: str = Field(alias="requestId", description="Shared by all entries of a request")
    till: dict[str, Any] | None
    store: dict[str, Any] | None
    user_context_details: dict[str, Any] | None = Field(alias="userContextDetails")
    victim_user_details: dict[str, Any] | None = Field(alias="victimUserDetails")
    survivor_user_details: dict[str, Any] | None = Field(alias="survivorUserDetails")
    source: str | None
    updated_by_mode: str = Field(alias="updatedByMode")
    auto_update_time: int = Field(alias="autoUpdateTime", description="Epoch ms of the change")
    events: list[AuditEventOut]


class Pagination(Schema):
    total_elements: int = Field(alias="totalElements")
    total_pages: int = Field(alias="totalPages")
    number_of_elements: int = Field(alias="numberOfElements")
    number: int


class AuditPage(Schema):
    data: list[AuditEntryOut]
    pagination: Pagination


class ChainHeadOut(Schema):
    org_id: int = Field(alias="orgId")
    seq: int = Field(description="The newest entry's place in the org's chain (0: none yet)")
    hash: str = Field(description="Its SHA-256, hex: anchor it elsewhere to prove later")
    updated_at: int | None = Field(alias="updatedAt", description="Epoch ms it was written")
    pruned_seq: int = Field(
        alias="prunedSeq", description="The newest link that retention (auditDays) deleted"
    )
