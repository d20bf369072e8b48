from __future__ import annotations

from typing import Any

from pydantic import Field

from eventrail.kit.schemas import Id, Schema


class MappedEntity(Schema):
    type: str = Field(default="TILL", max_length=40)
    value: str | None = Field(default=None, max_length=100)
    id: Id | None = None


class StatusInfo(Schema):
    reason: str | None = Field(default=None, max_length=1000)


class CardCreate(Schema):
    card_number: str = Field(alias="cardNumber", min_length=1, max_length=100)
    series_id: Id | None = Field(default=None, alias="seriesId")
    series_code: str | None = Field(default=None, alias="seriesCode", max_length=100)
    status_label: str | None = Field(
        default=None, alias="statusLabel", max_length=100, description="Default: NOT_ISSUED"
    )
    customer_id: Id | None = Field(default=None, alias="customerId")
    custom_fields: dict[str, Any] = Field(default_factory=dict, alias="customFields")
    extended_fields: dict[str, Any] = Field(default_factory=dict, alias="extendedFields")
    mapped_entity: MappedEntity | None = Field(default=None, alias="mappedEntity")
    status_info: StatusInfo | None = Field(default=None, alias="statusInfo")


class CardUpdate(Schema):
    card_number: str | None = Field(default=None, alias="cardNumber", max_length=100)
    card_id: Id | None = Field(default=None, alias="cardId")
    series_id: Id | None = Field(default=None, alias="seriesId")
    status_label: str | None = Field(default=None, alias="statusLabel", max_length=100)
    status_info: StatusInfo | None = Field(default=None, alias="statusInfo")
    custom_fields: dict[str, Any] = Field(default_factory=dict, alias="customFields")
    extended_fields: dict[str, Any] = Field(default_factory=dict, alias="extendedFields")
    mapped_entity: MappedEntity | None = Field(default=None, alias="mappedEntity")


class CardCreated(Schema):
    entity: int = Field(description="The new card's id")
    warnings: list[dict[str, Any]] = Field(default_factory=list)


class StatusLabelInfo(Schema):
    id: int
    label: str
    status: str
    type: str = "CARD"
    default: bool


class CardStatusInfo(Schema):
    label_id: int = Field(alias="labelId")
    label: str
    status: str
    reason: str | None = None


class CardOut(Schema):
    card_id: int = Field(alias="cardId")
    id: int
    card_number: str = Field(alias="cardNumber")
    series_id: int = Field(alias="seriesId")
    series_code: str = Field(alias="seriesCode")
    series_name: str = Field(alias="seriesName")
    customer_id: int = Field(alias="customerId", description="0 when not issued to anyone")
    org_id: int = Field(alias="orgId")
    status_label: str = Field(alias="statusLabel")
    status_label_info: StatusLabelInfo = Field(alias="statusLabelInfo")
    status_info: CardStatusInfo = Field(alias="statusInfo")
    custom_fields: dict[str, str] = Field(alias="customFields")
    extended_fields: dict[str, str] = Field(alias="extendedFields")
    mapped_entity: MappedEntity | None = Field(alias="mappedEntity")
    created_date: str = Field(alias="createdDate")
    warnings: list[dict[str, Any]] = Field(default_factory=list)
