"""Request and response shapes of the replay and summary APIs (the lane's reads answer
plain dicts, described in ``openapi.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from eventrail.kit.schemas import Schema, StrictSchema

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
