"""POST /v2/feed: Capillary's scan events (QR codes, menu clicks, get-promotion),
turned into a webhook post and queued like one.

The feed names its event (``eventName``) and its customer by several ids
(``customer.id``, ``mobile``, ``email``, ``externalId``). It is admitted with the
caller's credentials, then translated here into the flat payload a
``defaultTransformer`` webhook takes: ``event_name`` is the definition of that
name, the definition's customer field gets the id of the type the field wants, a
TILLCODE field gets the caller's till, ``eventTime`` becomes ``eventDateTime``
and ``scanId``, ``details``, ``sku``, ``promotionCode`` and ``openId`` are kept
under those names (a definition may declare them as fields, then they are
validated; else they are stored as extra attributes). The payload is committed to
the durable queue as a post to the org's ``defaultTransformer`` webhook, so the
processors log it, validate it, resolve the customer and store it like any other
event. docs/capillary-compatibility.md describes it for clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import orjson

from eventrail.auth.schemas import Caller
from eventrail.db import Database
from eventrail.events import fields as f
from eventrail.events.repository import EventRepository
from eventrail.events.service import DEFAULT_TRANSFORMER
from eventrail.ingest.exceptions import (
    FeedCustomerInvalid,
    FeedCustomerMissing,
    FeedEventInvalid,
    FeedEventMissing,
    FeedRefused,
    FeedSourceInvalid,
    FeedSourceMissing,
)
from eventrail.ingest.queue import VERDICT_OK
from eventrail.ingest.schemas import FeedCustomer, FeedIn
from eventrail.ingest.service import Ingestor
from eventrail.kit import ids, metrics
from eventrail.kit.dates import now_ms

FEED_SOURCES = ("INSTORE",)
FEED_ACK = {"code": 7300, "message": "Feed added successfully"}
# The feed's own keys kept in the event, under their names.
_KEPT = (
    ("scanId", "scan_id"),
    ("details", "details"),
    ("sku", "sku"),
    ("promotionCode", "promotion_code"),
    ("openId", "open_id"),
)


@dataclass(frozen=True, slots=True)
class FeedRow:
    webhook_id: str
    payload: dict[str, Any]


def check_source(source: str | None) -> str:
    if source is None or not source.strip():
        raise FeedSourceMissing()
    wanted = source.strip().upper()
    if wanted not in FEED_SOURCES:
        raise FeedSourceInvalid()
    return wanted


def _customer_value(customer: FeedCustomer | None, identifier_type: str, event: str) -> str:
    """The id of the type the definition's customer field wants, from the ids sent."""
    if customer is None:
        raise FeedCustomerMissing(
            "Missing required field 'customer' in request body (customer ID not passed)"
        )
    if customer.id is not None:
        text = customer.id.strip()
        if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
            raise FeedCustomerInvalid(
                f"Invalid value for field 'customer.id': {text!r} is not a customer id "
                "(invalid customer ID)"
            )
    offered = {
        "userId": customer.id,
        "mobile": customer.mobile,
        "email": customer.email,
        "externalId": customer.external_id,
    }
    value = offered.get(identifier_type)
    if value is None or not value.strip():
        key = "id" if identifier_type == "userId" else identifier_type
        raise FeedCustomerMissing(
            f"Missing required field 'customer.{key}' in request body: event {event} "
            f"identifies its customer by {identifier_type} "
            "(customer ID not passed)"
        )
    return value.strip()


def translate(db: Database, caller: Caller, body: FeedIn) -> FeedRow:
    """The webhook payload of a feed post, and the webhook it is queued to."""
    name = (body.event_name or "").strip()
    if not name:
        raise FeedEventMissing()
    with db.transaction(write=False) as session:
        repo = EventRepository(session)
        definition = repo.definition(caller.org_id, name)
        webhook = repo.enabled_webhook_for(caller.org_id, DEFAULT_TRANSFORMER)
    if definition is None or not definition.enabled:
        raise FeedEventInvalid(
            f"Invalid value for field 'eventName': no enabled event {name} in this org "
            "(invalid event)"
        )
    if webhook is None:
        raise FeedRefused(
            "Unable to add feed: the org has no defaultTransformer webhook (POST "
            "/v2/events/webhook); feed events are processed as its posts"
        )
    specs = [f.parse_field(field) for field in definition.fields]
    payload: dict[str, Any] = {"event_name": definition.event_name}
    for spec in specs:
        if spec.type == "CUSTOMER":
            payload[spec.name] = _customer_value(body.customer, spec.identifier_type, name)
        elif spec.type == "TILLCODE":
            payload[spec.name] = caller.till_code
    if body.event_time is not None and body.event_time.strip():
        payload["eventDateTime"] = body.event_time.strip()
    for key, attribute in _KEPT:
        value = getattr(body, attribute)
        if value is not None and value.strip() and key not in payload:
            payload[key] = value
    return FeedRow(webhook.id, payload)


async def post_feed(
    db: Database, ingestor: Ingestor, caller: Caller, source: str | None, body: FeedIn
) -> dict[str, Any]:
    """Translate, then commit to the durable queue (the webhooks' group commit):
    acknowledged only once stored."""
    check_source(source)
    row = await anyio.to_thread.run_sync(translate, db, caller, body)
    queued = {
        "request_id": ids.uuid4_str(),
        "org_id": caller.org_id,
        "webhook_id": row.webhook_id,
        "received_at": now_ms(),
        "body": orjson.dumps(row.payload).decode(),
        "verdict": VERDICT_OK,
        "detail": None,
    }
    await ingestor.committer.submit([queued])
    metrics.acknowledged()
    return {"status": FEED_ACK, "requestId": queued["request_id"]}
