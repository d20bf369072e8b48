"""Shapes of the log's APIs: GET /v2/events/logs and GET /v2/events/event_data
(Capillary's shapes, key by key, for the OpenAPI document: ``service.log_view`` and
``pipeline.record_view`` build the answers, tests/test_response_schemas.py checks real
answers against these), and the bodies and answers of the replay and summary APIs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from eventrail.kit.schemas import Omitted, Schema, StrictSchema, omitted
from eventrail.processing import statuses as st

MAX_REPLAY_IDS = 1000
LogId = Annotated[str, Field(min_length=1, max_length=64)]
_FILTER_KEYS = ("status", "event_name", "webhook_id", "from_date", "to_date", "limit")


class ReplayIn(StrictSchema):
    """Either ``ids``, or a filter (every key optional) with a ``limit``."""

    ids: list[LogId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REPLAY_IDS,
        description=f"Log entry ids (requestIds) to replay, 1 to {MAX_REPLAY_IDS}",
    )
    status: str | None = Field(
        default=None, max_length=40, description="Filter: one failure status"
    )
    event_name: str | None = Field(
        default=None, max_length=200, description="Filter: exact event name"
    )
    webhook_id: str | None = Field(
        default=None,
        alias="webhookId",
        pattern="^[0-9a-f]{32}$",
        description="Filter: the webhook the request was posted to",
    )
    from_date: str | None = Field(
        default=None, max_length=64, description="Filter: on startTime, inclusive"
    )
    to_date: str | None = Field(
        default=None, max_length=64, description="Filter: on startTime, inclusive"
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_REPLAY_IDS,
        description=f"Filter: at most this many entries, newest first (default and maximum "
        f"{MAX_REPLAY_IDS})",
    )

    @model_validator(mode="after")
    def _ids_or_filter(self) -> ReplayIn:
        if self.ids is not None:
            given = [k for k in _FILTER_KEYS if getattr(self, k) is not None]
            if given:
                name = "webhookId" if given[0] == "webhook_id" else given[0]
                raise ValueError(f"'{name}' is a filter key: give either 'ids' or a filter")
        return self


class Verdict(Schema):
    status: str | None = Field(description="The replay's status; null while not processed")
    message: str


class ReplayOutcome(Schema):
    id: str = Field(description="The log entry asked for")
    outcome: Literal["replayed", "skipped"]
    replay_id: str | None = Field(
        default=None,
        alias="replayId",
        description="The replay's requestId: the id of its new log entry (replayOf = id)",
    )
    reason: str | None = Field(
        default=None,
        description="Why it was skipped: not_found, not_a_failure, not_replayable, "
        "is_a_replay, routed_from_parent, webhook_unavailable, in_progress, already_succeeded",
    )
    result: Verdict | None = Field(default=None, description="With ?wait=true: the verdict")


class ReplayAnswer(Schema):
    replayed: int
    skipped: int
    results: list[ReplayOutcome] = Field(description="One per distinct id asked for, in order")
    warnings: list[Any] = Field(default_factory=list)
    errors: list[Any] = Field(default_factory=list)


class StatusCount(Schema):
    status: str | None = Field(description="null: refused for credentials (Unauthorized)")
    count: int


class SummaryBucket(Schema):
    start: str = Field(description="The bucket's start, ISO 8601 in the org's timezone")
    start_ms: int = Field(alias="startMs", description="The bucket's start, epoch ms")
    total: int
    statuses: list[StatusCount]


class OutcomeCount(Schema):
    event_name: str | None = Field(alias="eventName")
    status: str | None
    message: str
    count: int


class SummaryAnswer(Schema):
    from_ms: int = Field(alias="fromMs", description="Start of the first bucket counted")
    to_ms: int = Field(alias="toMs", description="End (exclusive) of the last bucket counted")
    bucket: Literal["hour", "day"]
    total: int
    buckets: list[SummaryBucket] = Field(description="Buckets with entries, newest first")
    outcomes: list[OutcomeCount] = Field(
        description="Per (event name, status, message) over the range, the most frequent first"
    )
    warnings: list[Any] = Field(default_factory=list)
    errors: list[Any] = Field(default_factory=list)


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
    replay_of: str | Omitted = omitted(
        "Extension, on a replay's entry only: the id of the entry it replays", "replayOf"
    )


_NEXT_CURSOR = (
    "Extension, only when the request sent a cursor: the cursor of the next page "
    "(null: this is the last)"
)


class LogList(Schema):
    data: list[LogEntryOut] = Field(description="Newest first")
    warnings: list[object]
    errors: list[object]
    next_cursor: str | None = omitted(_NEXT_CURSOR, "nextCursor")


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
    next_cursor: str | None = omitted(_NEXT_CURSOR, "nextCursor")


class SearchItemOut(EventRecordOut):
    """GET /v2/events/search: a customer events record, plus requestId and, when asked
    for, the side effects (eventrail runs no loyalty consumer: always empty)."""

    request_id: str = Field(alias="requestId", description="The post's requestId (= eventId)")
    side_effects: list[Any] | Omitted = omitted(
        "With includeSideEffects=true: the event's side effects (none in eventrail)",
        "sideEffects",
    )
    click_event_side_effects: list[Any] | Omitted = omitted(
        "With includeSideEffects=true: the same, by Capillary's other name",
        "clickEventSideEffects",
    )


class SearchAnswer(Schema):
    click_event_data_list: list[SearchItemOut] = Field(
        alias="clickEventDataList", description="By date, newest first unless sortOrder=ASC"
    )
    warnings: list[object]
    errors: list[object]
