"""Bodies and answers of /v3/webHooks (Capillary's v3 event-notification shape)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from eventrail.kit.schemas import Schema, StrictSchema
from eventrail.notifications.names import (
    DEFAULT_SLA_SECONDS,
    MAX_CONNECTIONS,
    MAX_SLA_SECONDS,
    repeated_header,
)


def _header_list(value: object) -> object:
    """Capillary documents the headers as ``["Name: value"]`` and shows them as an
    object: both are taken, the list turned into the object."""
    if not isinstance(value, list):
        return value
    out: dict[str, object] = {}
    for item in value:
        if not isinstance(item, str) or ":" not in item:
            raise PydanticCustomError("header_item", "each item must be 'Name: value'")
        name, _, text = item.partition(":")
        if repeated_header([*out, name.strip()]) is not None:
            raise PydanticCustomError(
                "header_twice", "'{name}' is given twice", {"name": name.strip()[:40]}
            )
        out[name.strip()] = text.strip()
    return out


class WebhookIn(StrictSchema):
    name: str = Field(min_length=1, max_length=200)
    web_hook_url: str = Field(alias="webHookUrl", min_length=1, max_length=2000)
    method_type: str = Field(alias="methodType", description="POST or PUT")
    web_hook_type: str = Field(alias="webHookType", description="HTTP")
    web_hook_headers: Annotated[dict[str, str], BeforeValidator(_header_list)] = Field(
        default_factory=dict,
        alias="webHookHeaders",
        description='Sent with every request: {"Name": "value"} or ["Name: value"]',
    )
    event_names: list[str] = Field(alias="eventNames", min_length=1, max_length=50)
    active: bool = True
    max_allowed_connections: int = Field(alias="maxAllowedConnections", ge=1, le=MAX_CONNECTIONS)
    sla_in_seconds: int = Field(
        default=DEFAULT_SLA_SECONDS, alias="slaInSeconds", ge=1, le=MAX_SLA_SECONDS
    )
    customer_identifiers_to_be_enriched: list[str] = Field(
        default_factory=list, alias="customerIdentifiersToBeEnriched", max_length=10
    )
    listen_to_child_events: bool = Field(default=False, alias="listenToChildEvents")


class AttributionActor(Schema):
    id: int
    code: str
    description: str
    name: str
    type: str


class Attribution(Schema):
    created_on: str = Field(alias="createdOn")
    last_updated_on: str = Field(alias="lastUpdatedOn")
    last_updated_by: AttributionActor = Field(alias="lastUpdatedBy")
    created_by: AttributionActor = Field(alias="createdBy")


class WebhookOut(Schema):
    attribution: Attribution
    web_hook_id: str = Field(alias="webHookId")
    name: str
    event_names: list[str] = Field(alias="eventNames")
    web_hook_url: str = Field(alias="webHookUrl")
    web_hook_type: str = Field(alias="webHookType")
    method_type: str = Field(alias="methodType")
    web_hook_headers: dict[str, str] = Field(alias="webHookHeaders")
    no_of_retry_attempts: int = Field(alias="noOfRetryAttempts")
    max_allowed_connections: int = Field(alias="maxAllowedConnections")
    active: bool
    sla_in_seconds: int = Field(alias="slaInSeconds")
    consumer_group_id: str = Field(alias="consumerGroupId")
    till_details_enrichment_enabled: bool = Field(alias="tillDetailsEnrichmentEnabled")
    store_details_enrichment_enabled: bool = Field(alias="storeDetailsEnrichmentEnabled")
    customer_identifiers_to_be_enriched: list[str] = Field(alias="customerIdentifiersToBeEnriched")
    awarded_reference_enrichment_enabled: bool = Field(alias="awardedReferenceEnrichmentEnabled")
    available_points_balance_enrichment_enabled: bool = Field(
        alias="availablePointsBalanceEnrichmentEnabled"
    )
    listen_to_child_events: bool = Field(alias="listenToChildEvents")
    disabled_reason: str | None = Field(
        default=None,
        alias="disabledReason",
        description="eventrail: why eventrail deactivated the webhook (its receiver answered "
        "410 Gone); null once it is active again",
    )
    disabled_at: str | None = Field(
        default=None,
        alias="disabledAt",
        description="eventrail: when eventrail deactivated it (null unless disabledReason is set)",
    )
    secret: str | None = Field(
        default=None,
        description="The signing secret: in the answer of the creation only (else null)",
    )


class WebhookAnswer(Schema):
    data: WebhookOut
    errors: Any = None
    warnings: Any = None


class WebhookListAnswer(Schema):
    data: list[WebhookOut]
    errors: Any = None
    warnings: Any = None


class ConsumerResponse(Schema):
    webhook_http_status: float | None = Field(alias="webhookHttpStatus")
    time_taken: float | None = Field(alias="time_taken")


class DeliveryOut(Schema):
    ref_id: str = Field(alias="refId")
    request_id: str = Field(alias="requestId")
    event_name: str = Field(alias="eventName")
    event_id: str = Field(alias="eventId")
    consumer_group_id: str = Field(alias="consumerGroupId")
    event_ingestion_timestamp: str = Field(alias="eventIngestionTimestamp")
    event_start_timestamp: str | None = Field(alias="eventStartTimestamp")
    event_end_timestamp: str | None = Field(alias="eventEndTimestamp")
    sla_breach_timestamp: str | None = Field(alias="slaBreachTimestamp")
    consumer_response: ConsumerResponse | None = Field(alias="consumerResponse")
    event_log_id: str = Field(alias="eventLogId", description="eventrail: the delivery's id")
    web_hook_id: str = Field(alias="webHookId", description="eventrail")
    status: str = Field(description="eventrail: pending, inflight, delivered or failed")
    attempts: int = Field(description="eventrail: attempts so far")
    last_error: str | None = Field(alias="lastError", description="eventrail")


class DeliveryAnswer(Schema):
    data: DeliveryOut
    errors: Any = None
    warnings: Any = None


class DeliveryListAnswer(Schema):
    data: list[DeliveryOut]
    errors: Any = None
    warnings: Any = None
