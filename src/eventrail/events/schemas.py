"""Request and answer shapes of the definition, webhook and adapter-mapping APIs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from eventrail.kit.schemas import Omitted, Schema, omitted


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


# -- answers (documented; ``service.*_view`` build them) ------------------------------
class Done(Schema):
    """A change made: nothing to show but the empty lists."""

    warnings: list[object]
    errors: list[object]


class EventCreated(Done):
    event_id: str = Field(alias="eventId")


class ConnectedOrgContext(Schema):
    org_type: str = Field(alias="orgType", description="STANDARD_ORG or CHILD_ORG")


class EventMetaOut(Schema):
    event_id: str = Field(alias="eventId")
    event_name: str = Field(alias="eventName")
    label: str | Omitted = omitted("Absent when none")
    description: str | Omitted = omitted("Absent when none")
    event_type: str | Omitted = omitted("Absent when none", "eventType")
    actions: list[str]
    fields: list[dict[str, Any]] = Field(description="As defined: name, type, attributes")
    org_id: int = Field(alias="orgId")
    status: str = Field(description="PUBLISHED or DISABLED")
    test_status: str = Field(alias="testStatus", description="VERIFIED or NOT_VERIFIED")
    connected_org_context: ConnectedOrgContext = Field(alias="connectedOrgContext")
    date: int = Field(description="Epoch ms the event was defined")
    standard_event: bool = Field(alias="standardEvent")


class EventNameMapping(Schema):
    value_map: dict[str, str] = Field(alias="valueMap")


class EventTransformerMapping(Schema):
    event_name_mapping: EventNameMapping = Field(alias="eventNameMapping")
    event_field_mappings: list[dict[str, Any]] = Field(alias="eventFieldMappings")


class DefinitionOut(Schema):
    click_events_meta: EventMetaOut = Field(alias="clickEventsMeta")
    transformer_mappings: dict[str, EventTransformerMapping | None] = Field(
        alias="transformerMappings",
        description="By transformer (defaultTransformerMapping, webEngageTransformerMapping, "
        "...): how its payloads name this event; null when they do not",
    )


class DefinitionList(Schema):
    data: list[DefinitionOut]
    warnings: list[object]
    errors: list[object]


class WebhookOut(Schema):
    transformer_type: str = Field(alias="transformerType")
    web_hook_id: str = Field(alias="webHookId")
    uniqueness_check_enabled: bool = Field(alias="uniquenessCheckEnabled")
    till_code: str = Field(alias="tillCode")
    web_hook_uri: str = Field(alias="webHookUri", description="Where to post the events")
    auth_enabled: bool = Field(alias="authEnabled")
    auth_mechanism: str | None = Field(alias="authMechanism")
    listen_to_child_events: bool = Field(alias="listenToChildEvents")
    enabled: bool


class WebhookCreated(WebhookOut):
    warnings: list[object]


class WebhookList(Schema):
    data: list[WebhookOut]
    warnings: list[object]
    errors: list[object]


class EventMapperOut(Schema):
    field_name: str = Field(alias="fieldName")
    value_map: dict[str, str] = Field(alias="valueMap")


class MappingOut(Schema):
    transformer_type: str = Field(alias="transformerType")
    events_mapped: list[str] = Field(alias="eventsMapped")
    event_mapper: EventMapperOut = Field(alias="eventMapper")
    event_field_mapper: dict[str, list[dict[str, Any]]] = Field(alias="eventFieldMapper")


class MappingList(Schema):
    data: list[MappingOut]
    warnings: list[object]
    errors: list[object]


# -- the catalogues (GET /v2/events/meta_fields, adapters_meta, standard_events_meta) -----
class FieldAttributeMeta(Schema):
    name: str = Field(description="The attribute, as a field's attributes name it")
    value_type: str = Field(alias="valueType", description="BOOLEAN, STRING or ENUM")
    default_value: str | None = Field(
        alias="defaultValue", description="What a field without the attribute gets; null: none"
    )
    possible_values: list[str] = Field(
        alias="possibleValues", description="The values it may take (any case); empty: any text"
    )
    description: str


class FieldTypeMeta(Schema):
    type: str = Field(description="The type's spelling in a definition request")
    stored_type: str = Field(alias="storedType", description="Its spelling in GET /v2/events")
    label: str
    description: str
    attributes: list[FieldAttributeMeta] = Field(
        description="The attributes a field of the type takes; any other is refused (1802)"
    )


class MetaFieldsList(Schema):
    data: list[FieldTypeMeta]
    warnings: list[object]
    errors: list[object]


class StandardAdapterMapping(Schema):
    transformer_type: str = Field(alias="transformerType")
    event_mapper: EventMapperOut = Field(alias="eventMapper")
    event_field_mappings: list[dict[str, str]] = Field(
        alias="eventFieldMappings", description="eventFieldName <- fieldName (a dotted path)"
    )


class StandardEventMeta(Schema):
    event_name: str = Field(alias="eventName")
    label: str
    category: str = Field(description="Cart, Product, Coupon, Customer or App")
    event_type: str = Field(alias="eventType")
    description: str
    actions: list[str]
    fields: list[dict[str, Any]] = Field(description="As GET /v2/events shows them once enabled")
    standard_adapter_mapping: StandardAdapterMapping = Field(
        alias="standardAdapterMapping",
        description="Set up by enabling with use_standard_adapter_mappings=true",
    )
    enabled: bool = Field(description="Whether the org has enabled it")


class StandardEventsList(Schema):
    data: list[StandardEventMeta]
    warnings: list[object]
    errors: list[object]


class AdapterMeta(Schema):
    transformer_type: str = Field(alias="transformerType")
    description: str
    custom: bool = Field(description="The org's own transformer (not built in)")
    mapping: MappingOut | None = Field(description="The org's mapping; null when it has none")


class AdaptersList(Schema):
    data: list[AdapterMeta]
    warnings: list[object]
    errors: list[object]
