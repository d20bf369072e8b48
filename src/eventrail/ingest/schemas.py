"""Shapes of the answers of POST /webhooks/{webhook_id} and /batch, for the OpenAPI
document (``service.Ingestor`` builds them)."""

from __future__ import annotations

from pydantic import Field

from eventrail.kit.schemas import Omitted, Schema, omitted


class AckStatus(Schema):
    code: int = Field(description="1100: stored, to be processed")
    message: str


class Verdict(Schema):
    status: str | None = Field(description="The log's status; null: not processed yet")
    message: str


class Ack(Schema):
    status: AckStatus
    request_id: str = Field(alias="requestId", description="The log entry's id")
    result: Verdict | Omitted = omitted("With wait=true only")


class BatchAck(Schema):
    status: AckStatus
    request_ids: list[str] = Field(alias="requestIds", description="One per event, in order")
    results: list[Verdict] | Omitted = omitted("With wait=true only: one per event")


class DryRunVerdict(Schema):
    status: str | None = Field(description="The status the event would get")
    message: str
    step: str | None = Field(description="The pipeline step that failed; null on success")


class DryRunAnswer(Schema):
    dry_run: bool = Field(alias="dryRun", description="Always true: nothing was stored")
    result: DryRunVerdict


# -- POST /v2/feed (scan events) ---------------------------------------------------------
class FeedCustomer(Schema):
    id: str | None = Field(default=None, max_length=40, description="The customer's id (userId)")
    mobile: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    external_id: str | None = Field(default=None, alias="externalId", max_length=200)


class FeedIn(Schema):
    """A scan event, in the shape of Capillary's sample (other keys are ignored)."""

    event_name: str | None = Field(
        default=None, alias="eventName", max_length=100, description="An event definition's name"
    )
    event_time: str | None = Field(
        default=None, alias="eventTime", max_length=64, description="The event's eventDateTime"
    )
    customer: FeedCustomer | None = None
    open_id: str | None = Field(default=None, alias="openId", max_length=200)
    scan_id: str | None = Field(default=None, alias="scanId", max_length=200)
    details: str | None = Field(default=None, max_length=2000)
    sku: str | None = Field(default=None, max_length=200)
    promotion_code: str | None = Field(default=None, alias="promotionCode", max_length=200)


class FeedStatus(Schema):
    code: int = Field(description="7300: stored, to be processed like a webhook's event")
    message: str


class FeedAck(Schema):
    status: FeedStatus
    request_id: str = Field(alias="requestId", description="The log entry's id")
