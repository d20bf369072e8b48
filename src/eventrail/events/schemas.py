"""Request shapes of the definition, webhook and adapter-mapping APIs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from eventrail.kit.schemas import Schema


class EventFieldIn(Schema):
    name: str = Field(description="The payload key of the field")
    type: str = Field(description="customer, tillCode, groupId, string, double, integer, ...")
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description='e.g. {"isRequired": {"value": "true", "valueType": "BOOLEAN"}}',
    )


class EventDefinitionIn(Schema):
    event_name: str = Field(alias="eventName", max_length=200)
    actions: list[str] = Field(description="EMFConsumer and/or EIConsumer", max_length=10)
    description: str | None = Field(default=None, max_length=2000)
    label: str | None = Field(default=None, max_length=200, description="Display name")
    event_type: str | None = Field(default=None, alias="eventType", max_length=20)
    fields: list[EventFieldIn] = Field(default_factory=list, max_length=20)


class WebhookIn(Schema):
    transformer_type: str | None = Field(default=None, alias="transformerType", max_length=100)
    till_code: str | None = Field(default=None, alias="tillCode", max_length=100)
    auth_enabled: bool | None = Field(default=None, alias="authEnabled")
    auth_mechanism: str | None = Field(default=None, alias="authMechanism", max_length=10)
    uniqueness_check_enabled: bool | None = Field(default=None, alias="uniquenessCheckEnabled")
    listen_to_child_events: bool | None = Field(default=None, alias="listenToChildEvents")
    web_hook_uri: str | None = Field(default=None, alias="webHookUri", max_length=500)
    web_hook_id: str | None = Field(default=None, alias="webHookId", max_length=100)


class WebhookRef(Schema):
    web_hook_id: str = Field(alias="webHookId", min_length=1, max_length=100)


class FieldMapping(Schema):
    event_field_name: str = Field(alias="eventFieldName", min_length=1, max_length=100)
    field_name: str = Field(alias="fieldName", min_length=1, max_length=500)
    event_data_type: str | None = Field(default=None, alias="eventDataType", max_length=40)


class EventMapper(Schema):
    field_name: str = Field(default="event_name", alias="fieldName", min_length=1, max_length=200)
    value_map: dict[str, str] = Field(default_factory=dict, alias="valueMap")


class TransformerData(Schema):
    event_mapper: EventMapper | None = Field(default=None, alias="eventMapper")
    event_field_mapper: dict[str, list[FieldMapping]] = Field(
        default_factory=dict, alias="eventFieldMapper"
    )


class AdapterMappingIn(Schema):
    transformer_type: str = Field(alias="transformerType", min_length=1, max_length=100)
    events_mapped: list[str] = Field(default_factory=list, alias="eventsMapped", max_length=100)
    web_engage_transformer_data: TransformerData | None = Field(
        default=None, alias="webEngageTransformerData"
    )
    transformer_data: TransformerData | None = Field(default=None, alias="transformerData")
