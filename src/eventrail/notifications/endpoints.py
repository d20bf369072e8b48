"""``/v3/webHooks``: outbound notification webhooks and their delivery log.

Reads are open to every till and client of the org; writes (creating, changing,
deleting a webhook, asking for a redelivery) need the admin permission. Every
query is scoped by the caller's org: another org's webhook or delivery is simply
not found (404).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from eventrail.deps import AdminCaller, CurrentCaller, Session, answers
from eventrail.kit.dates import parse_date_param, zone
from eventrail.kit.schemas import QUERY_INT
from eventrail.notifications import names, service
from eventrail.notifications.exceptions import InvalidField
from eventrail.notifications.schemas import (
    DeliveryAnswer,
    DeliveryListAnswer,
    WebhookAnswer,
    WebhookIn,
    WebhookListAnswer,
)

router = APIRouter(prefix="/v3", tags=["notification webhooks"])

WebhookId = Annotated[str, Path(alias="webHookId", min_length=1, max_length=24)]
EventLogId = Annotated[str, Path(alias="eventLogId", min_length=1, max_length=36)]


def _envelope(data: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": data, "errors": None, "warnings": None}


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.notify_allow_private)


class _Members(list[tuple[str, Any]]):
    """A JSON object's members as given, a repeated key kept."""


async def _no_repeated_header(request: Request, caller: AdminCaller) -> None:
    """A JSON object may repeat a key, and the body's parser keeps the last value:
    ``webHookHeaders`` given as an object is read again from the raw body, so that a
    header name given twice (in any case of letters) is a 400, not silently replaced.
    (Given as a list, the schema checks it.) A body that is not JSON is left to the
    body's own validation. After the caller's admission (``caller``): a 401 or 403
    comes first."""
    try:
        document = json.loads(await request.body(), object_pairs_hook=_Members)
    except (ValueError, RecursionError):
        return
    if not isinstance(document, _Members):
        return
    for key, value in document:
        if key == "webHookHeaders" and isinstance(value, _Members):
            repeated = names.repeated_header(str(name) for name, _ in value)
            if repeated is not None:
                raise InvalidField("webHookHeaders", f"'{repeated[:40]}' is given twice")


NoRepeatedHeader = Depends(_no_repeated_header)


@router.post(
    "/webHooks",
    summary="Add a notification webhook (its signing secret is shown in this answer only)",
    dependencies=[NoRepeatedHeader],
    **answers(WebhookAnswer, admin_only=True),
)
def add_webhook(body: WebhookIn, caller: AdminCaller, session: Session, request: Request) -> Any:
    webhook = service.create_webhook(session, caller, body, allow_private=_allow_private(request))
    return _envelope(service.webhook_view(webhook, caller.org_timezone, secret=True))


@router.get("/webHooks", summary="The org's notification webhooks", **answers(WebhookListAnswer))
def list_webhooks(caller: CurrentCaller, session: Session) -> Any:
    return _envelope(
        [
            service.webhook_view(w, caller.org_timezone)
            for w in service.list_webhooks(session, caller.org_id)
        ]
    )


@router.put(
    "/webHooks/{webHookId}",
    summary="Replace a notification webhook's settings",
    dependencies=[NoRepeatedHeader],
    **answers(WebhookAnswer, admin_only=True),
)
def update_webhook(
    webhook_id: WebhookId,
    body: WebhookIn,
    caller: AdminCaller,
    session: Session,
    request: Request,
) -> Any:
    webhook = service.update_webhook(
        session, caller, webhook_id, body, allow_private=_allow_private(request)
    )
    return _envelope(service.webhook_view(webhook, caller.org_timezone))


@router.delete(
    "/webHooks/{webHookId}",
    summary="Delete a notification webhook (its undelivered notifications end as failed)",
    **answers(WebhookAnswer, admin_only=True),
)
def delete_webhook(webhook_id: WebhookId, caller: AdminCaller, session: Session) -> Any:
    webhook = service.delete_webhook(session, caller, webhook_id)
    return _envelope(service.webhook_view(webhook, caller.org_timezone))


# -- the delivery log ---------------------------------------------------------------
@router.get(
    "/webHooks/eventLog/requestId/{requestId}",
    summary="Deliveries of the notifications caused by one API request",
    **answers(DeliveryListAnswer),
)
def log_by_request(
    request_id: Annotated[str, Path(alias="requestId", min_length=1, max_length=64)],
    caller: CurrentCaller,
    session: Session,
) -> Any:
    return _envelope(service.delivery_log(session, caller, request_id=request_id))


@router.get(
    "/webHooks/eventLog/refId/{refId}",
    summary="Deliveries about one entity (refId = orgId_entityId), newest first",
    **answers(DeliveryListAnswer),
)
def log_by_ref(
    ref_id: Annotated[str, Path(alias="refId", min_length=1, max_length=60)],
    caller: CurrentCaller,
    session: Session,
) -> Any:
    return _envelope(service.delivery_log(session, caller, ref_id=ref_id))


@router.get(
    "/webhooks/eventLog/{eventLogId}",
    summary="One delivery",
    **answers(DeliveryAnswer),
)
def log_by_id(event_log_id: EventLogId, caller: CurrentCaller, session: Session) -> Any:
    return _envelope(service.delivery_entry(session, caller, event_log_id))


@router.get(
    "/webHooks/eventLog",
    summary="Deliveries by status, webhook, name and time, newest first (eventrail extension)",
    **answers(DeliveryListAnswer),
)
def search_log(
    caller: CurrentCaller,
    session: Session,
    status: str | None = Query(
        default=None, max_length=20, description="pending, inflight, delivered, failed"
    ),
    webhook_id: str | None = Query(default=None, alias="webHookId", max_length=24),
    event_name: str | None = Query(default=None, alias="eventName", max_length=40),
    start_date: str | None = Query(default=None, alias="startDate", max_length=40),
    end_date: str | None = Query(default=None, alias="endDate", max_length=40),
    limit: Annotated[int, Field(ge=1, le=1000), QUERY_INT, Query()] = 100,
    offset: Annotated[int, Field(ge=0, le=1_000_000), QUERY_INT, Query()] = 0,
) -> Any:
    tz = zone(caller.org_timezone)
    found = service.delivery_log(
        session,
        caller,
        status=status,
        webhook_id=webhook_id,
        event_name=event_name,
        start=parse_date_param(start_date, name="startDate", tz=tz)
        if start_date is not None
        else None,
        end=parse_date_param(end_date, name="endDate", tz=tz, end=True)
        if end_date is not None
        else None,
        limit=limit,
        offset=offset,
    )
    return _envelope(found)


@router.post(
    "/webHooks/eventLog/{eventLogId}/redeliver",
    summary="Send a delivered or failed notification again",
    **answers(DeliveryAnswer, admin_only=True),
)
def redeliver(event_log_id: EventLogId, caller: AdminCaller, session: Session) -> Any:
    return _envelope(service.redeliver(session, caller, event_log_id))


# After the eventLog routes, so that "/webHooks/eventLog" is not taken for an id.
@router.get(
    "/webHooks/{webHookId}",
    summary="One notification webhook (eventrail extension)",
    **answers(WebhookAnswer),
)
def get_webhook(webhook_id: WebhookId, caller: CurrentCaller, session: Session) -> Any:
    webhook = service.get_webhook(session, caller.org_id, webhook_id)
    return _envelope(service.webhook_view(webhook, caller.org_timezone))
