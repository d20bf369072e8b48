"""The rules of notification webhooks and the views of their delivery log."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from eventrail.audit.service import MASK, NA
from eventrail.auth.schemas import Caller
from eventrail.kit.dates import now_ms, zone
from eventrail.kit.ids import uuid4
from eventrail.models import NotificationDelivery, NotificationWebhook
from eventrail.notifications import names, signing, urls
from eventrail.notifications.emit import subscribers
from eventrail.notifications.exceptions import DeliveryNotFound, InvalidField, WebhookNotFound
from eventrail.notifications.repository import LogFilter, NotificationRepository
from eventrail.notifications.schemas import WebhookIn

IDENTIFIER_TYPES = ("mobile", "email", "externalId", "cardnumber", "cardExternalId")
# the most entries a request's or an entity's deliveries answer with
LOOKUP_LIMIT = 1000


def _headers(raw: dict[str, str]) -> dict[str, str]:
    pairs = list(raw.items())
    if len(pairs) > names.MAX_HEADERS:
        raise InvalidField("webHookHeaders", f"at most {names.MAX_HEADERS} headers")
    out: dict[str, str] = {}
    for name, value in pairs:
        if not name or len(name) > names.MAX_HEADER_NAME:
            raise InvalidField("webHookHeaders", "a header name is empty or too long")
        if not all(33 <= ord(c) <= 126 and c not in '()<>@,;:\\"/[]?={}' for c in name):
            raise InvalidField("webHookHeaders", f"'{name[:40]}' is not a valid header name")
        if len(value) > names.MAX_HEADER_VALUE:
            raise InvalidField("webHookHeaders", f"the value of '{name}' is too long")
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
            raise InvalidField(
                "webHookHeaders", f"the value of '{name}' holds a control character (CR, LF)"
            )
        if names.is_reserved_header(name):
            raise InvalidField("webHookHeaders", f"'{name}' is set by eventrail")
        if names.repeated_header([*out, name]) is not None:
            raise InvalidField("webHookHeaders", f"'{name}' is given twice")
        out[name] = value
    return out


def _checked(body: WebhookIn, allow_private: bool) -> dict[str, Any]:
    name = body.name.strip()
    if not name or any(ord(c) < 32 for c in name):
        raise InvalidField("name", "must not be blank nor hold control characters")
    url = body.web_hook_url
    why = urls.check_url(url, allow_private=allow_private)
    if why is not None:
        raise InvalidField("webHookUrl", why)
    method = body.method_type.strip().upper()
    if method not in names.METHODS:
        raise InvalidField("methodType", f"must be one of {', '.join(names.METHODS)}")
    kind = body.web_hook_type.strip().upper()
    if kind not in names.WEBHOOK_TYPES:
        raise InvalidField("webHookType", "must be HTTP")
    events: list[str] = []
    for event_name in body.event_names:
        if event_name not in names.EVENT_NAMES:
            raise InvalidField(
                "eventNames", f"unknown event name '{event_name[:60]}' (see docs/notifications.md)"
            )
        if event_name not in events:
            events.append(event_name)
    identifiers: list[str] = []
    for identifier in body.customer_identifiers_to_be_enriched:
        if identifier not in IDENTIFIER_TYPES:
            raise InvalidField(
                "customerIdentifiersToBeEnriched", f"unknown identifier '{identifier[:40]}'"
            )
        if identifier not in identifiers:
            identifiers.append(identifier)
    return {
        "name": name,
        "url": url,
        "method": method,
        "webhook_type": kind,
        "headers": orjson.dumps(_headers(body.web_hook_headers)).decode(),
        "event_names": orjson.dumps(events).decode(),
        "identifiers": orjson.dumps(identifiers).decode(),
        "active": body.active,
        "max_connections": body.max_allowed_connections,
        "sla_seconds": body.sla_in_seconds,
        "listen_to_child_events": body.listen_to_child_events,
    }


def _actor(caller: Caller) -> str:
    return orjson.dumps(
        {
            "id": caller.till_id,
            "code": caller.till_code,
            "description": "",
            "name": caller.till_name,
            "type": "TILL",
        }
    ).decode()


def create_webhook(
    session: Session, caller: Caller, body: WebhookIn, *, allow_private: bool
) -> NotificationWebhook:
    values = _checked(body, allow_private)
    now = now_ms()
    webhook = NotificationWebhook(
        org_id=caller.org_id,
        id=secrets.token_hex(12),
        consumer_group_id=str(uuid4()),
        secret=signing.new_secret(),
        deleted=False,
        created_at=now,
        updated_at=now,
        created_by=_actor(caller),
        updated_by=_actor(caller),
        **values,
    )
    NotificationRepository(session).add_webhook(webhook)
    subscribers.clear()
    return webhook


def get_webhook(session: Session, org_id: int, webhook_id: str) -> NotificationWebhook:
    found = NotificationRepository(session).webhook(org_id, webhook_id)
    if found is None:
        raise WebhookNotFound(f"Webhook '{webhook_id[:40]}' not found")
    return found


def list_webhooks(session: Session, org_id: int) -> Sequence[NotificationWebhook]:
    return NotificationRepository(session).webhooks(org_id)


def update_webhook(
    session: Session, caller: Caller, webhook_id: str, body: WebhookIn, *, allow_private: bool
) -> NotificationWebhook:
    webhook = get_webhook(session, caller.org_id, webhook_id)
    values = _checked(body, allow_private)
    if values.get("active", webhook.active):
        # made active again: why eventrail had deactivated it is history
        values.update(disabled_reason=None, disabled_at=None)
    NotificationRepository(session).update_webhook(
        webhook, values, updated_at=now_ms(), updated_by=_actor(caller)
    )
    subscribers.clear()
    return webhook


def delete_webhook(session: Session, caller: Caller, webhook_id: str) -> NotificationWebhook:
    webhook = get_webhook(session, caller.org_id, webhook_id)
    NotificationRepository(session).delete_webhook(
        webhook, now_ms(), updated_by=_actor(caller), reason="the webhook was deleted"
    )
    subscribers.clear()
    return webhook


# -- views ------------------------------------------------------------------------
def _stamp(ms: int | None, tz_name: str) -> str | None:
    """Capillary's timestamps: ``2025-03-05T15:43:43.549-0600`` in the org's zone."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=zone(tz_name))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}" + moment.strftime("%z")


def webhook_view(
    webhook: NotificationWebhook, tz_name: str, *, secret: bool = False
) -> dict[str, Any]:
    return {
        "attribution": {
            "createdOn": _stamp(webhook.created_at, tz_name),
            "lastUpdatedOn": _stamp(webhook.updated_at, tz_name),
            "lastUpdatedBy": orjson.loads(webhook.updated_by),
            "createdBy": orjson.loads(webhook.created_by),
        },
        "webHookId": webhook.id,
        "name": webhook.name,
        "eventNames": orjson.loads(webhook.event_names),
        "webHookUrl": webhook.url,
        "webHookType": webhook.webhook_type,
        "methodType": webhook.method,
        "webHookHeaders": orjson.loads(webhook.headers),
        "noOfRetryAttempts": 0,
        "maxAllowedConnections": webhook.max_connections,
        "active": webhook.active,
        "slaInSeconds": webhook.sla_seconds,
        "consumerGroupId": webhook.consumer_group_id,
        "tillDetailsEnrichmentEnabled": False,
        "storeDetailsEnrichmentEnabled": False,
        "customerIdentifiersToBeEnriched": orjson.loads(webhook.identifiers),
        "awardedReferenceEnrichmentEnabled": False,
        "availablePointsBalanceEnrichmentEnabled": False,
        "listenToChildEvents": webhook.listen_to_child_events,
        "disabledReason": webhook.disabled_reason,
        "disabledAt": _stamp(webhook.disabled_at, tz_name),
        "secret": webhook.secret if secret else None,
    }


def delivery_view(row: NotificationDelivery, consumer_group: str, tz_name: str) -> dict[str, Any]:
    due = row.created_at + row.sla_seconds * 1000
    breached = (row.ended_at if row.state == names.DELIVERED else now_ms()) or 0
    response = None
    if row.http_status is not None or row.time_taken_ms is not None:
        response = {
            "webhookHttpStatus": float(row.http_status) if row.http_status is not None else None,
            "time_taken": float(row.time_taken_ms) if row.time_taken_ms is not None else None,
        }
    return {
        "refId": row.ref_id,
        "requestId": row.request_id,
        "eventName": row.event_name,
        "eventId": row.event_id,
        "consumerGroupId": consumer_group,
        "eventIngestionTimestamp": _stamp(row.created_at, tz_name),
        "eventStartTimestamp": _stamp(row.started_at, tz_name),
        "eventEndTimestamp": _stamp(row.ended_at, tz_name),
        "slaBreachTimestamp": _stamp(due, tz_name) if breached > due else None,
        "consumerResponse": response,
        "eventLogId": row.id,
        "webHookId": row.webhook_id,
        "status": row.state,
        "attempts": row.attempts,
        "lastError": row.last_error,
    }


def delivery_views(
    session: Session, caller: Caller, rows: Sequence[NotificationDelivery]
) -> list[dict[str, Any]]:
    """The log's entries as the API shows them (in the caller's org's timezone)."""
    groups = NotificationRepository(session).consumer_groups(
        caller.org_id, {r.webhook_id for r in rows}
    )
    return [delivery_view(row, groups[row.webhook_id], caller.org_timezone) for row in rows]


def get_delivery(session: Session, org_id: int, delivery_id: str) -> NotificationDelivery:
    found = NotificationRepository(session).delivery(org_id, delivery_id)
    if found is None:
        raise DeliveryNotFound(f"Event log '{delivery_id[:40]}' not found")
    return found


def delivery_entry(session: Session, caller: Caller, delivery_id: str) -> dict[str, Any]:
    """One entry of the caller's org's log (404 when the org has none of that id)."""
    return delivery_views(session, caller, [get_delivery(session, caller.org_id, delivery_id)])[0]


def delivery_log(
    session: Session,
    caller: Caller,
    *,
    request_id: str | None = None,
    ref_id: str | None = None,
    status: str | None = None,
    webhook_id: str | None = None,
    event_name: str | None = None,
    start: int | None = None,
    end: int | None = None,
    limit: int = LOOKUP_LIMIT,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The entries of the caller's org's log that the filters select (``LogFilter``:
    a request's, an entity's, or the org's), as the API shows them."""
    query = LogFilter(
        caller.org_id,
        request_id=request_id,
        ref_id=ref_id,
        status=status,
        webhook_id=webhook_id,
        event_name=event_name,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    return delivery_views(session, caller, deliveries(session, query))


def deliveries(session: Session, query: LogFilter) -> Sequence[NotificationDelivery]:
    """The rows of the log ``query`` selects (its status and event name checked)."""
    if query.status is not None and query.status not in names.STATES:
        raise InvalidField("status", f"must be one of {', '.join(names.STATES)}")
    if query.event_name is not None and query.event_name not in names.EVENT_NAMES:
        raise InvalidField("eventName", "unknown event name")
    return NotificationRepository(session).deliveries(query)


_MASKED_VALUE_KEYS = ("previousValue", "currentValue")


def _masked(value: Any) -> Any:
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _masked(item) for key, item in value.items()}
    fields = value.get("additionalFields")
    if value.get("psi") is True and isinstance(fields, dict):
        out["additionalFields"] = {
            key: (MASK if key in _MASKED_VALUE_KEYS and item not in (None, NA) else item)
            for key, item in fields.items()
        }
    return out


def payload_view(row: NotificationDelivery, *, mask: bool) -> Any:
    """The body as it was sent; with ``mask`` (a reader the org masks PSI for), the
    values of change items marked ``psi`` read as ***** (the audits API's rule). A
    ``behaviouralEventProcessed`` body already holds the masked ``inputRequest``."""
    body = orjson.loads(row.payload)
    return _masked(body) if mask else body


def redeliver(session: Session, caller: Caller, delivery_id: str) -> dict[str, Any]:
    """Send a delivered or failed notification again (a pending one is left as it is);
    the entry as it now is."""
    row = get_delivery(session, caller.org_id, delivery_id)
    if row.state in (names.DELIVERED, names.FAILED):
        NotificationRepository(session).redeliver(row, now_ms())
    return delivery_views(session, caller, [row])[0]
