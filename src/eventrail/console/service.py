"""What the console's pages show, assembled from the API's own services (the same
org scoping and PSI masking); signing in goes through ``Admission``."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from sqlalchemy.orm import Session

from eventrail.audit.repository import AuditQuery, AuditReads
from eventrail.audit.service import audit_page
from eventrail.auth.admission import Admission
from eventrail.auth.schemas import Caller, Credentials
from eventrail.auth.service import Authenticator
from eventrail.cards import service as cards
from eventrail.customers import lookup
from eventrail.customers.exceptions import CustomerNotFound
from eventrail.customers.service import customer_view
from eventrail.db import Database
from eventrail.errors import BadRequest
from eventrail.events import service as events
from eventrail.events.fields import FieldSpec, parse_field
from eventrail.kit.dates import parse_date_range, zone
from eventrail.models import EventDefinition, NotificationDelivery, Webhook
from eventrail.notifications import names as notify_names
from eventrail.notifications import service as notifications
from eventrail.notifications.exceptions import DeliveryNotFound
from eventrail.notifications.repository import LogFilter as NotifyFilter
from eventrail.orgs import vocabulary as v
from eventrail.processing.overview import overview, webhook_last_entries
from eventrail.processing.repository import EventReads
from eventrail.processing.service import customer_events

if TYPE_CHECKING:
    from eventrail.ingest.service import Ingestor

TIMELINE_LIMIT = 100
FIND_BY = ("id", "mobile", "email", "externalId", "cardnumber")
KINDS = ("all", "event", "audit")


def _required(value: str | None, label: str) -> str:
    if value is None or not value.strip():
        raise BadRequest(f"Enter the {label}")
    return value.strip()


async def sign_in(
    db: Database,
    admission: Admission,
    *,
    kind: str,
    name: str | None,
    secret: str | None,
    source: str,
) -> tuple[Caller, str]:
    """The caller of a till code and password or an OAuth client key and secret,
    checked as the API checks them (the same lockout), and its session stamp."""
    authenticator: Authenticator = admission.authenticator
    if kind == "till":
        code = _required(name, "till code")
        password = _required(secret, "password")
        basic = base64.b64encode(f"{code}:{password}".encode()).decode()
        credentials = Credentials(None, f"Basic {basic}", source)
    elif kind == "client":
        key = _required(name, "client key")
        client_secret = _required(secret, "client secret")

        def issue() -> str:
            with db.transaction(write=False) as session:
                token, _ = authenticator.issue_token(session, key, client_secret, source)
                return token

        credentials = Credentials(await anyio.to_thread.run_sync(issue), None, source)
    else:
        raise BadRequest("Choose a till or an OAuth client")
    caller = await admission.caller(credentials)

    def stamp() -> str:
        with db.transaction(write=False) as session:
            return authenticator.session_stamp(session, caller)

    return caller, await anyio.to_thread.run_sync(stamp)


def resume(
    db: Database,
    authenticator: Authenticator,
    org_id: int,
    till_id: int,
    client_id: int | None,
    stamp: str,
) -> Caller:
    """The caller of a session, remembered for a few seconds as the API's callers are."""
    key = f"console:{org_id}:{till_id}:{client_id}:{stamp}"
    caller = authenticator.callers.get(key)
    if caller is None:
        with db.transaction(write=False) as session:
            caller = authenticator.resume(session, org_id, till_id, client_id, stamp)
        authenticator.callers.put(key, caller)
    return caller


# -- customers --------------------------------------------------------------------
def find_customer(db: Database, caller: Caller, by: str, value: str | None) -> int:
    """The id of the caller's org's customer named by an identifier, a card number or id."""
    text = _required(value, "value to look for")
    if by not in FIND_BY:
        raise BadRequest(f"Find by one of: {', '.join(FIND_BY)}")
    with db.transaction(write=False) as session:
        if by == "id":
            if not text.isdigit() or len(text) > 18:
                raise BadRequest("A customer id is a number")
            return lookup.get_customer(session, caller.org_id, int(text)).id
        if by == "cardnumber":
            card = cards.get_card(session, caller.org_id, text)
            if card.customer_id is None:
                raise CustomerNotFound("That card is not issued to a customer")
            return card.customer_id
        customer = lookup.lookup_customer(
            session,
            caller.org_id,
            source=None,
            identifier_name=by,
            identifier_value=text,
            account_id=None,
        )
        return customer.id


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _audit_items(entries: list[dict[str, Any]], tz_name: str) -> list[dict[str, Any]]:
    items = []
    for entry in entries:
        changes = []
        for ev in entry["events"]:
            extra = ev["additionalFields"] or {}
            changes.append(
                {
                    "kind": ev["eventType"],
                    "field": ev["updatedField"],
                    "before": extra.get("previousValue"),
                    "after": extra.get("currentValue"),
                    "entities": ev["associateEntities"],
                }
            )
        till = entry["till"]
        store = entry["store"]
        items.append(
            {
                "kind": "audit",
                "ms": entry["autoUpdateTime"],
                "changes": changes,
                "till": orjson.loads(orjson.dumps(till)) if till is not None else None,
                "store": orjson.loads(orjson.dumps(store)) if store is not None else None,
                "user_context": entry["userContextDetails"],
                "mode": entry["updatedByMode"],
                "request_id": entry["requestId"],
                "victim": entry["victimUserDetails"],
                "survivor": entry["survivorUserDetails"],
            }
        )
    return items


def _trail(
    audits: AuditReads, caller: Caller, entity_type: str, entity_id: int, bounds: Any
) -> list[dict[str, Any]]:
    start_ms, end_ms = bounds
    page = audit_page(
        audits,
        AuditQuery(
            caller.org_id,
            entity_type,
            entity_id,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=TIMELINE_LIMIT,
        ),
        include_user_context=True,
        mask=caller.masks_psi,
    )
    return _audit_items(page["data"], caller.org_timezone)


def customer_page(
    db: Database,
    events_: EventReads,
    audits: AuditReads,
    caller: Caller,
    customer_id: int,
    *,
    kind: str = "all",
    from_date: str | None = None,
    to_date: str | None = None,
) -> dict[str, Any]:
    """Profile, identifiers, cards and one timeline of events and audit entries,
    newest first (the newest ``TIMELINE_LIMIT`` of each kind in the range)."""
    if kind not in KINDS:
        raise BadRequest(f"Show one of: {', '.join(KINDS)}")
    mask = caller.masks_psi
    with db.transaction(write=False) as session:
        customer = lookup.get_customer(session, caller.org_id, customer_id)
        view = customer_view(session, customer, mask=mask)
        card_views = [
            cards.card_view(session, card, caller.org_timezone, mask=mask)
            for card in cards.cards_of_customer(session, customer)
        ]
    bounds = parse_date_range(
        from_date, to_date, start_name="from", end_name="to", tz=zone(caller.org_timezone)
    )
    timeline: list[dict[str, Any]] = []
    if kind in ("all", "event"):
        for record in customer_events(
            events_,
            caller,
            customer_id,
            scope=None,
            event_name=None,
            from_date=from_date,
            to_date=to_date,
            limit=TIMELINE_LIMIT,
        ).data:
            attributes = record["additonalAttributes"]
            if isinstance(attributes, orjson.Fragment):
                attributes = orjson.loads(orjson.dumps(attributes))
            timeline.append(
                {"kind": "event", "ms": _ms(record["date"]), "record": record, "attrs": attributes}
            )
    if kind in ("all", "audit"):
        timeline.extend(_trail(audits, caller, v.CUSTOMER, customer_id, bounds))
    timeline.sort(key=lambda item: item["ms"], reverse=True)
    return {"customer": view, "cards": card_views, "timeline": timeline}


def card_page(db: Database, audits: AuditReads, caller: Caller, card_id: int) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        card = cards.get_card_by_id(session, caller.org_id, card_id)
        view = cards.card_view(session, card, caller.org_timezone, mask=caller.masks_psi)
    return {"card": view, "trail": _trail(audits, caller, v.CARD, card_id, (None, None))}


# -- definitions and webhooks ---------------------------------------------------------
def fields_of(definition: EventDefinition) -> list[tuple[FieldSpec, dict[str, Any]]]:
    """Each field of a definition as processing reads it, with its stored attributes."""
    return [(parse_field(stored), stored.get("attributes") or {}) for stored in definition.fields]


def definitions_page(db: Database, caller: Caller, base_url: str) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        definitions = events.list_definitions(session, caller.org_id)
        hooks: list[tuple[Webhook, str]] = [
            (webhook, till.code) for webhook, till in events.list_webhooks(session, caller.org_id)
        ]
    shown = []
    for d in definitions:
        shown.append({"definition": d, "fields": fields_of(d)})
    return {
        "definitions": shown,
        "webhooks": [events.webhook_view(w, code, base_url) for w, code in hooks],
    }


def definition_of(
    db: Database, caller: Caller, org_id: int, name: str | None
) -> EventDefinition | None:
    """The definition an entry of ``org_id`` (one the caller sees) was checked against."""
    if name is None:
        return None
    with db.transaction(write=False) as session:
        found = events.list_definitions(session, org_id, name)
    return found[0] if found else None


# -- the overview ----------------------------------------------------------------------
CHART_WIDTH = 720
CHART_HEIGHT = 160
# The chart's stacking order, bottom up: success, then the failures.
STACK_ORDER = (
    "EVENT_SUCCESS",
    "EVENT_FIELD_VALIDATION_FAILED",
    "NO_CUSTOMER_DETAILS_PASSED",
    "INVALID_EVENT_NAME",
    "INVALID_META_TRANSFORMER_MAPPINGS",
    "INVALID_GROUP_IDENTIFIER_PASSED",
    "EMF_PROCESSOR_FAILED",
    "INVALID_PAYLOAD",
    "EVENT_PROCESSING_FAILED",
    "UNAUTHORIZED",
)


def _chart(buckets: list[Any], label: Any) -> dict[str, Any]:
    """Stacked bars (one per bucket, one rectangle per status) in SVG units."""
    peak = max((b.total for b in buckets), default=0) or 1
    slot = CHART_WIDTH / max(len(buckets), 1)
    bars = []
    for index, bucket in enumerate(buckets):
        y = float(CHART_HEIGHT)
        parts = []
        order = [s for s in STACK_ORDER if s in bucket.counts] + sorted(
            s for s in bucket.counts if s not in STACK_ORDER
        )
        for status in order:
            height = bucket.counts[status] / peak * CHART_HEIGHT
            y -= height
            parts.append(
                {"status": status, "count": bucket.counts[status], "y": y, "height": height}
            )
        bars.append(
            {
                "x": index * slot + slot * 0.1,
                "width": slot * 0.8,
                "label": label(bucket.start_ms),
                "total": bucket.total,
                "parts": parts,
            }
        )
    statuses = sorted(
        {p["status"] for bar in bars for p in bar["parts"]},
        key=lambda s: STACK_ORDER.index(s) if s in STACK_ORDER else len(STACK_ORDER),
    )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "peak": peak if any(b.total for b in buckets) else 0,
        "total": sum(b.total for b in buckets),
        "bars": bars,
        "statuses": statuses,
    }


def overview_page(db: Database, reader: EventReads, caller: Caller) -> dict[str, Any]:
    """The landing page: outcomes of the last 24 hours and 7 days, the most frequent
    failures, each webhook's last entry, the ingestion backlog."""
    data = overview(reader, caller)
    tz = zone(caller.org_timezone)
    with db.transaction(write=False) as session:
        hooks = events.list_webhooks(session, caller.org_id)
    last = webhook_last_entries(reader, caller.org_id, [w.id for w, _ in hooks])
    from_day = datetime.fromtimestamp(data["from_ms"] / 1000, tz=tz).strftime("%Y-%m-%d")
    return {
        "day": _chart(
            data["hours"],
            lambda ms: datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%H:00"),
        ),
        "week": _chart(
            data["days"],
            lambda ms: datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%a %d"),
        ),
        "failures": data["failures"],
        "from_day": from_day,
        "backlog": data["backlog"],
        "webhooks": [
            {
                "id": webhook.id,
                "transformer": webhook.transformer_type,
                "till": code,
                "enabled": webhook.enabled,
                "last_ms": last.get(webhook.id),
            }
            for webhook, code in hooks
        ],
    }


# -- replay and dry run ----------------------------------------------------------------
# What the replay service's reasons for skipping an entry mean, in plain words.
SKIP_REASONS = {
    "not_found": "The entry is not one of this org's own (a child org's entry is replayed "
    "with the child org's credentials).",
    "is_a_replay": "This entry is itself a replay: replay the original entry.",
    "not_a_failure": "The entry succeeded: there is nothing to replay.",
    "not_replayable": "Entries with this status (or a body that is not a JSON object) "
    "cannot be replayed.",
    "routed_from_parent": "The event was routed from a parent org: replay it in that org.",
    "webhook_unavailable": "The webhook it was posted to is disabled or deleted.",
    "already_succeeded": "A replay of this entry already succeeded.",
    "in_progress": "A replay of this entry is already waiting to be processed.",
}


async def try_payload(
    ingestor: Ingestor, caller: Caller, webhook_id: str | None, payload: str
) -> dict[str, Any]:
    """The dry run of a payload posted to one of the caller's org's webhooks."""
    chosen = _required(webhook_id, "webhook")
    if not payload.strip():
        raise BadRequest("Paste a JSON payload to try")
    answer = await ingestor.try_payload(chosen, caller.org_id, payload.encode())
    result: dict[str, Any] = answer["result"]
    return result


# -- notification deliveries -------------------------------------------------------------
# A page of the delivery log starts after the (created_at, seq, id) of the last row of
# the page before: "created.seq.id", the text of the console's links.
_DELIVERY_ID = 36


def _delivery_cursor(text: str | None) -> tuple[int, int, str] | None:
    if text is None:
        return None
    created, _, rest = text.partition(".")
    seq, _, delivery_id = rest.partition(".")
    numbers_ok = all(
        part.isascii() and part.isdigit() and len(part) <= 18 for part in (created, seq)
    )
    id_ok = 0 < len(delivery_id) <= _DELIVERY_ID and all(
        c.isascii() and (c.isalnum() or c == "-") for c in delivery_id
    )
    if not (numbers_ok and id_ok):
        raise BadRequest("Invalid value for 'cursor': use the link of the page")
    return int(created), int(seq), delivery_id


def _webhook_names(session: Session, org_id: int) -> dict[str, str]:
    return {w.id: w.name for w in notifications.list_webhooks(session, org_id)}


def notification_webhooks(db: Database, caller: Caller) -> list[dict[str, Any]]:
    """The org's notification webhooks as ``GET /v3/webHooks`` shows them."""
    with db.transaction(write=False) as session:
        return [
            notifications.webhook_view(w, caller.org_timezone)
            for w in notifications.list_webhooks(session, caller.org_id)
        ]


def _delivery_row(row: NotificationDelivery, view: dict[str, Any]) -> dict[str, Any]:
    """A delivery as the console lists it: the API's view, and when it is due again."""
    return {
        **view,
        "createdMs": row.created_at,
        "nextAttemptMs": row.next_attempt_at if row.state == notify_names.PENDING else None,
    }


def deliveries_page(
    db: Database,
    caller: Caller,
    *,
    status: str | None,
    webhook_id: str | None,
    event_name: str | None,
    from_date: str | None,
    to_date: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A page of the org's delivery log, newest first, read by the API's own search
    (``GET /v3/webHooks/eventLog``: the same filters and their checks)."""
    if webhook_id is not None and len(webhook_id) > 24:
        raise BadRequest("Invalid value for 'webhook': not a webhook of this org")
    start, end = parse_date_range(
        from_date, to_date, start_name="from", end_name="to", tz=zone(caller.org_timezone)
    )
    query = NotifyFilter(
        org_id=caller.org_id,
        status=status,
        webhook_id=webhook_id,
        event_name=event_name,
        start=start,
        end=end,
        limit=limit + 1,
        before=_delivery_cursor(cursor),
    )
    with db.transaction(write=False) as session:
        rows = list(notifications.deliveries(session, query))
        shown = rows[:limit]
        views = notifications.delivery_views(session, caller, shown)
    next_cursor = None
    if len(rows) > limit:
        last = shown[-1]
        next_cursor = f"{last.created_at}.{last.seq}.{last.id}"
    return {
        "deliveries": [_delivery_row(r, v) for r, v in zip(shown, views, strict=True)],
        "next_cursor": next_cursor,
    }


def delivery_page(db: Database, caller: Caller, delivery_id: str) -> dict[str, Any]:
    """One delivery of the org (``DeliveryNotFound`` for any other's): the API's view,
    the body as sent (PSI masked as the caller's other reads are), its webhook."""
    if len(delivery_id) > _DELIVERY_ID:
        raise DeliveryNotFound()
    with db.transaction(write=False) as session:
        row = notifications.get_delivery(session, caller.org_id, delivery_id)
        [view] = notifications.delivery_views(session, caller, [row])
        names = _webhook_names(session, caller.org_id)
        payload = notifications.payload_view(row, mask=caller.masks_psi)
        return {
            "delivery": _delivery_row(row, view),
            "payload": payload,
            "webhook_name": names.get(row.webhook_id),
            "redeliverable": row.state in (notify_names.DELIVERED, notify_names.FAILED),
        }


def redeliver(db: Database, caller: Caller, delivery_id: str) -> None:
    """``POST /v3/webHooks/eventLog/{id}/redeliver``'s service, in the caller's org."""
    if len(delivery_id) > _DELIVERY_ID:
        raise DeliveryNotFound()
    with db.transaction(write=True) as session:
        notifications.redeliver(session, caller, delivery_id)
