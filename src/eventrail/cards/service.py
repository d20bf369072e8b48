"""Card rules: creation in a series, issue to a customer, status and field changes.

Every change is audited on the CARD entity; issuing a card also records the
customer's ``Identifiers``/``cardnumber`` event, under the same request id
(Capillary's worked example of card statuses).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from eventrail.audit.service import AuditEvent, ChangeContext, record, value_change
from eventrail.cards.exceptions import (
    CardExists,
    CardLocked,
    CardNotFound,
    CardNotLinkable,
    CustomerExists,
    CustomerNotFound,
    InvalidCardLabel,
    InvalidSeries,
    MergedCustomer,
    SeriesNotFound,
)
from eventrail.cards.repository import CardRepository
from eventrail.cards.schemas import CardCreate, CardUpdate
from eventrail.errors import BadRequest
from eventrail.kit.dates import format_iso, now_ms, zone
from eventrail.models import Card, CardSeries, Customer, CustomerIdentifier, StatusLabel
from eventrail.notifications import names as notices
from eventrail.notifications.emit import changes, emit
from eventrail.orgs import vocabulary as v
from eventrail.orgs.repository import OrgRepository
from eventrail.orgs.service import field_values_by_kind, find_label, write_fields

CARDNUMBER = "cardnumber"
_CARD_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,99}$")


def _associate(customer_id: int | None) -> list[dict[str, Any]]:
    if customer_id is None:
        return [{"entityType": None, "entityId": None}]
    return [{"entityType": v.CUSTOMER, "entityId": customer_id}]


def _status_created(label: StatusLabel, customer_id: int | None) -> AuditEvent:
    return AuditEvent(
        "CardStatus",
        "CardStatus",
        {"labelId": str(label.id), "value": label.status},
        _associate(customer_id),
    )


def _status_changed(
    previous: StatusLabel, current: StatusLabel, customer_id: int | None
) -> AuditEvent:
    return AuditEvent(
        "CardStatus",
        "CardStatus",
        {
            "previousLabelId": str(previous.id),
            "previousValue": previous.status,
            "currentValue": current.status,
            "currentLabelId": str(current.id),
        },
        _associate(customer_id),
    )


def check_card_number(number: str, where: str = "cardNumber") -> str:
    number = number.strip()
    if not _CARD_NUMBER.match(number):
        raise BadRequest(
            f"Invalid value for field '{where}': a card number is 1 to 100 letters, digits, "
            "'-', '_', '.' or '/'"
        )
    return number


def resolve_series(
    session: Session, org_id: int, series_id: int | None, series_code: str | None
) -> CardSeries:
    repo = OrgRepository(session)
    if series_id is not None:
        series = repo.series(org_id, series_id)
    elif series_code is not None:
        series = repo.series_by_code(org_id, series_code)
    else:
        raise SeriesNotFound("Series does not exist: pass seriesId or seriesCode")
    if series is None:
        raise SeriesNotFound()
    return series


def resolve_label(
    session: Session, org_id: int, label_name: str | None, default_status: str
) -> StatusLabel:
    label = find_label(session, org_id, v.CARD, label_name, default_status)
    if label is None:
        raise InvalidCardLabel(
            f"Status label invalid: '{label_name or default_status}' is not a card status label"
        )
    return label


def _label(session: Session, org_id: int, label_id: int) -> StatusLabel:
    label = OrgRepository(session).label(org_id, label_id)
    assert label is not None, "a card's label belongs to its org"
    return label


def _field_events(
    session: Session, org_id: int, card: Card, custom: dict[str, Any], extended: dict[str, Any]
) -> list[AuditEvent | None]:
    return write_fields(
        session,
        org_id,
        v.CARD,
        card.id,
        custom=custom,
        extended=extended,
        custom_key="customFields",
        associate_entities=_associate(card.customer_id) if card.customer_id is not None else None,
    )


def _notify(
    session: Session, ctx: ChangeContext, name: str, card: Card, events: list[AuditEvent | None]
) -> None:
    """The card's notification (cardAdded, cardUpdated), in the change's transaction."""
    emit(
        session,
        ctx.org_id,
        name,
        card.id,
        {
            "cardId": card.id,
            "cardNumber": card.card_number,
            "customerId": card.customer_id,
            "status": card.status,
            "changes": changes(events),
        },
        request_id=ctx.request_id,
    )


def _create(
    session: Session,
    ctx: ChangeContext,
    *,
    number: str,
    series: CardSeries,
    label: StatusLabel,
    customer_id: int | None,
    mapped_entity: dict[str, Any] | None = None,
    status_reason: str | None = None,
) -> Card:
    now = now_ms()
    card = Card(
        org_id=ctx.org_id,
        series_id=series.id,
        card_number=number,
        customer_id=customer_id,
        status=label.status,
        status_label_id=label.id,
        status_reason=status_reason,
        mapped_entity=mapped_entity,
        created_at=now,
        updated_at=now,
    )
    if not CardRepository(session).insert(card):
        raise CardExists()
    created: list[AuditEvent | None] = [_status_created(label, customer_id)]
    record(session, ctx, v.CARD, card.id, created)
    _notify(session, ctx, notices.CARD_ADDED, card, created)
    return card


def _link_identifier(
    session: Session, customer: Customer, number: str, source: str, account_id: str
) -> AuditEvent | None:
    """The customer's cardnumber identifier, and its audit event."""
    identifier = CustomerIdentifier(
        org_id=customer.org_id,
        customer_id=customer.id,
        source=source,
        account_id=account_id,
        type=CARDNUMBER,
        value=number,
        created_at=now_ms(),
    )
    repo = CardRepository(session)
    if not repo.insert_identifier(identifier):
        owner = repo.identifier_owner(customer.org_id, source, account_id, CARDNUMBER, number)
        raise CustomerExists(owner if owner is not None else customer.id, action="Update")
    return value_change("Identifier", CARDNUMBER, None, number, psi=True)


def active_holder(session: Session, org_id: int, customer_id: int) -> Customer:
    """The customer, row-locked until the transaction ends, of the org and not merged
    away (``CustomerNotFound``, ``MergedCustomer``): the holder a card is issued to,
    and the customer every customer write changes (``customers.lookup``)."""
    customer = CardRepository(session).holder_for_update(org_id, customer_id)
    if customer is None:
        raise CustomerNotFound()
    if customer.merged_into_id is not None:
        raise MergedCustomer(customer.merged_into_id)
    return customer


def add_card(session: Session, ctx: ChangeContext, body: CardCreate) -> Card:
    """POST /v2/card: a card in a series, optionally issued to a customer at once.

    With ``customerId`` the card is created NOT_ISSUED and issued as by
    changeIdentifier: linked, made ACTIVE (or ``statusLabel``), and the
    customer gets its ``cardnumber`` identifier.
    """
    number = check_card_number(body.card_number)
    series = resolve_series(session, ctx.org_id, body.series_id, body.series_code)
    customer = (
        active_holder(session, ctx.org_id, body.customer_id)
        if body.customer_id is not None
        else None
    )
    label = resolve_label(
        session,
        ctx.org_id,
        body.status_label if customer is None else None,
        "NOT_ISSUED",
    )
    if customer is not None and body.status_label is not None:
        resolve_label(session, ctx.org_id, body.status_label, "")  # refuse a bad label first
    if CardRepository(session).by_number(ctx.org_id, number) is not None:
        raise CardExists()
    card = _create(
        session,
        ctx,
        number=number,
        series=series,
        label=label,
        customer_id=None,
        mapped_entity=body.mapped_entity.model_dump() if body.mapped_entity else None,
        status_reason=body.status_info.reason if body.status_info else None,
    )
    if customer is not None:
        event = issue_to_customer(
            session,
            ctx,
            customer,
            number=number,
            series_id=series.id,
            series_code=None,
            status_label=body.status_label,
            source=customer.source,
            account_id=customer.account_id,
        )
        record(session, ctx, v.CUSTOMER, customer.id, [event], source=customer.source)
    record(
        session,
        ctx,
        v.CARD,
        card.id,
        _field_events(session, ctx.org_id, card, body.custom_fields, body.extended_fields),
    )
    return card


def issue_to_customer(
    session: Session,
    ctx: ChangeContext,
    customer: Customer,
    *,
    number: str,
    series_id: int | None,
    series_code: str | None,
    status_label: str | None,
    source: str,
    account_id: str,
) -> AuditEvent | None:
    """Create or link the card, activate it; return the customer's Identifiers event.

    The card's own Card Status events are recorded here, on the card.
    """
    number = check_card_number(number, "cardnumber")
    repo = CardRepository(session)
    card = repo.by_number(ctx.org_id, number)
    if card is None:
        series = resolve_series(session, ctx.org_id, series_id, series_code)
        not_issued = resolve_label(session, ctx.org_id, None, "NOT_ISSUED")
        card = _create(
            session, ctx, number=number, series=series, label=not_issued, customer_id=None
        )
    elif series_id is not None and card.series_id != series_id:
        raise InvalidSeries(f"Invalid card series: card {number} is not in series {series_id}")
    if card.customer_id == customer.id:
        return None
    if card.customer_id is not None:
        raise CardNotLinkable(f"Card is not linkable: {number} is issued to another customer")
    if card.status == "DELETED":
        raise CardLocked(card.status)
    previous = _label(session, ctx.org_id, card.status_label_id)
    target = (
        resolve_label(session, ctx.org_id, status_label, "ACTIVE")
        if status_label is not None or previous.status == "NOT_ISSUED"
        else previous
    )
    _set_status(session, ctx, card, previous, target, holder=customer.id, associate=customer.id)
    return _link_identifier(session, customer, number, source, account_id)


def _set_status(
    session: Session,
    ctx: ChangeContext,
    card: Card,
    previous: StatusLabel,
    target: StatusLabel,
    *,
    holder: int | None,
    associate: int | None,
) -> None:
    """Give the card to ``holder`` (None: to nobody), move it to ``target`` and
    record the Card Status change, if any."""
    CardRepository(session).set_holder_and_status(
        card, holder, status=target.status, label_id=target.id, updated_at=now_ms()
    )
    if target.id != previous.id:
        changed: list[AuditEvent | None] = [_status_changed(previous, target, associate)]
        record(session, ctx, v.CARD, card.id, changed)
        _notify(session, ctx, notices.CARD_UPDATED, card, changed)


def unlink_from_customer(
    session: Session, ctx: ChangeContext, customer: Customer, number: str
) -> None:
    """Taking the cardnumber away from a customer returns the card to NOT_ISSUED."""
    repo = CardRepository(session)
    card = repo.by_number(ctx.org_id, number)
    if card is None or card.customer_id != customer.id:
        return
    previous = _label(session, ctx.org_id, card.status_label_id)
    target = resolve_label(session, ctx.org_id, None, "NOT_ISSUED")
    _set_status(session, ctx, card, previous, target, holder=None, associate=customer.id)


def update_card(
    session: Session, ctx: ChangeContext, body: CardUpdate
) -> tuple[Card, list[dict[str, Any]]]:
    """PUT /v2/card: status label, card fields, mapped entity."""
    repo = CardRepository(session)
    if body.card_number is not None:
        card = repo.by_number(ctx.org_id, body.card_number.strip())
    elif body.card_id is not None:
        card = repo.by_id(ctx.org_id, body.card_id)
    else:
        raise BadRequest("Missing required field 'cardNumber' in request body")
    if card is None:
        raise CardNotFound()
    if card.status == "DELETED":
        raise CardLocked(card.status)
    if body.series_id is not None and body.series_id != card.series_id:
        raise InvalidSeries(f"Invalid card series: the card is not in series {body.series_id}")
    warnings: list[dict[str, Any]] = []
    events: list[AuditEvent | None] = []
    if body.status_label is not None:
        previous = _label(session, ctx.org_id, card.status_label_id)
        target = resolve_label(session, ctx.org_id, body.status_label, "")
        if target.id == previous.id:
            warnings.append({"status": False, "code": 3039, "message": "No update in status label"})
        else:
            card.status = target.status
            card.status_label_id = target.id
            card.status_reason = body.status_info.reason if body.status_info else None
            events.append(_status_changed(previous, target, card.customer_id))
    if body.mapped_entity is not None:
        card.mapped_entity = body.mapped_entity.model_dump()
    events.extend(
        _field_events(session, ctx.org_id, card, body.custom_fields, body.extended_fields)
    )
    repo.save(card, updated_at=now_ms())
    record(session, ctx, v.CARD, card.id, events)
    if any(e is not None for e in events):
        _notify(session, ctx, notices.CARD_UPDATED, card, events)
    return card, warnings


def get_card(session: Session, org_id: int, number: str) -> Card:
    card = CardRepository(session).by_number(org_id, number.strip())
    if card is None:
        raise CardNotFound()
    return card


def card_view(
    session: Session,
    card: Card,
    tz_name: str,
    warnings: list[dict[str, Any]] | None = None,
    *,
    mask: bool = False,
) -> dict[str, Any]:
    """The card as GET/PUT /v2/card show it; with ``mask``, fields defined as PSI
    read as ***** (the card number is what the caller named, so it shows)."""
    series = OrgRepository(session).series(card.org_id, card.series_id)
    label = _label(session, card.org_id, card.status_label_id)
    fields = field_values_by_kind(session, card.org_id, v.CARD, card.id, mask=mask)
    assert series is not None
    return {
        "cardId": card.id,
        "id": card.id,
        "cardNumber": card.card_number,
        "seriesId": series.id,
        "seriesCode": series.code,
        "seriesName": series.name,
        "customerId": card.customer_id or 0,
        "orgId": card.org_id,
        "statusLabel": label.label,
        "statusLabelInfo": {
            "id": label.id,
            "label": label.label,
            "status": label.status,
            "type": v.CARD,
            "default": label.is_default,
        },
        "statusInfo": {
            "labelId": label.id,
            "label": label.label,
            "status": label.status,
            "reason": card.status_reason,
        },
        "customFields": fields["custom"],
        "extendedFields": fields["extended"],
        "mappedEntity": card.mapped_entity,
        "createdDate": format_iso(card.created_at, zone(tz_name))[:10],
        "warnings": warnings or [],
    }


def cards_of_customer(session: Session, customer: Customer) -> list[Card]:
    return list(CardRepository(session).of_customer(customer.org_id, customer.id))


def get_card_by_id(session: Session, org_id: int, card_id: int) -> Card:
    card = CardRepository(session).by_id(org_id, card_id)
    if card is None:
        raise CardNotFound()
    return card
