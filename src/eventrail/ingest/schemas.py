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
