"""Customer rules: registration, updates, identifiers, status, subscriptions.

Every write computes what actually changed and hands it to ``audit.record``
in the same session, so that the change and its audit entry commit together.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eventrail.audit.service import MASK, NA, AuditEvent, ChangeContext, record, value_change
from eventrail.cards import service as cards
from eventrail.customers.exceptions import (
    ConflictingCustomers,
    CustomerExists,
    InvalidChannel,
    InvalidCommChannel,
    InvalidIdentifier,
    InvalidPriority,
    InvalidStatusLabel,
    InvalidSubscriptionStatus,
    LoyaltyDowngrade,
    MergedCustomer,
    NoChangeIdentifiers,
    NoValidIdentifiers,
    OldValueInvalid,
    SameSourceOtherProfile,
)
from eventrail.customers.lookup import (
    active_customer,
    normalize_identifier_type,
    normalize_source,
)
from eventrail.customers.repository import CustomerRepository
from eventrail.customers.schemas import (
    CommChannelIn,
    CustomerCreate,
    CustomerUpdate,
    IdentifierChange,
    IdentifierIn,
    ProfileIn,
    StatusUpdate,
    SubscriptionsUpdate,
)
from eventrail.errors import BadRequest
from eventrail.kit.dates import now_ms
from eventrail.models import (
    CommChannel,
    Customer,
    CustomerIdentifier,
    StatusLabel,
    Subscription,
)
from eventrail.notifications import names as notices
from eventrail.notifications.emit import changes, emit
from eventrail.orgs import vocabulary as v
from eventrail.orgs.repository import OrgRepository
from eventrail.orgs.service import field_values_by_kind, find_label, write_fields

# Types a profile holds several of; adding another value of any other type
# replaces the current one.
MULTI_VALUED = frozenset({"cardnumber", "cardExternalId"})
# Identifiers matched across sources when a customer registers in a new source.
CROSS_SOURCE_TYPES = ("mobile", "email", "externalId")
COMM_CHANNEL_TYPES = {
    name.lower(): name
    for name in (
        "mobile",
        "email",
        "wechat",
        "ios",
        "android",
        "line",
        "mobilePush",
        "whatsapp",
    )
}
SUBSCRIPTION_CHANNELS = {
    # channel -> communication_channel_id (EMAIL=2 and ANDROID=5 as in Capillary's audit log)
    "MOBILE": 1,
    "EMAIL": 2,
    "WECHAT": 3,
    "IOS": 4,
    "ANDROID": 5,
    "LINE": 6,
    "WHATSAPP": 7,
    "MOBILEPUSH": 8,
}
CHANNEL_ALIASES = {"SMS": "MOBILE"}
PRIORITIES = ("TRANS", "BULK")
SUBSCRIPTION_STATES = ("OPTIN", "OPTOUT")
NAME_LIMIT = 100

_MOBILE = re.compile(r"^[1-9]\d{7,14}$", re.ASCII)
_EMAIL = re.compile(r"^[A-Za-z0-9._+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _warning(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "code": code, "message": message}


# -- vocabulary checks ----------------------------------------------------------
def check_identifier_value(type_: str, raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 255 or _CONTROL.search(value):
        raise InvalidIdentifier(f"{type_} must be 1 to 255 printable characters")
    if type_ == "mobile" and not _MOBILE.match(value):
        raise InvalidIdentifier(f"invalid mobile '{value}': 8 to 15 digits with country code")
    if type_ == "email" and not _EMAIL.match(value):
        raise InvalidIdentifier(f"invalid email '{value}'")
    return value


def is_psi_identifier(type_: str) -> bool:
    return type_ != "externalId"


@dataclass(frozen=True, slots=True)
class _Identifier:
    type: str
    value: str
    source: str
    account_id: str
    series_id: int | None = None
    series_code: str | None = None
    status_label: str | None = None


def _key(ident: _Identifier) -> tuple[str, str, str, str]:
    return (ident.source, ident.account_id, ident.type, ident.value)


def _identifier(item: IdentifierIn, source: str, account_id: str) -> _Identifier:
    type_ = normalize_identifier_type(item.type)
    return _Identifier(
        type=type_,
        value=check_identifier_value(type_, item.value),
        source=source,
        account_id=account_id,
        series_id=item.series_id,
        series_code=item.series_code,
        status_label=item.status_label,
    )


def _label(session: Session, org_id: int, label_name: str | None, status: str) -> StatusLabel:
    label = find_label(session, org_id, v.CUSTOMER, label_name, status)
    if label is None:
        raise InvalidStatusLabel(
            f"Status label passed is not valid: '{label_name or status}' is not a customer "
            "status label"
        )
    return label


def _status_event(previous: StatusLabel | None, current: StatusLabel) -> AuditEvent:
    return AuditEvent(
        "CustomerStatus",
        "CustomerStatus",
        {
            "previousLabelId": str(previous.id) if previous else NA,
            "previousValue": previous.status if previous else NA,
            "currentValue": current.status,
            "currentLabelId": str(current.id),
        },
    )


# -- pieces shared by add and update ------------------------------------------------
def _names(customer: Customer, profile: ProfileIn) -> list[AuditEvent | None]:
    events: list[AuditEvent | None] = []
    for attr, field, value in (
        ("first_name", "FirstName", profile.first_name),
        ("last_name", "LastName", profile.last_name),
    ):
        if value is None:
            continue
        value = value.strip()[:NAME_LIMIT]
        events.append(
            value_change("StandardField", field, getattr(customer, attr), value or None, psi=True)
        )
        setattr(customer, attr, value or None)
    return events


def _comm_channels(
    session: Session, customer: Customer, channels: list[CommChannelIn], source: str
) -> list[AuditEvent | None]:
    if not channels:
        return []
    repo = CustomerRepository(session)
    existing = {c.type: c for c in repo.comm_channels(customer.org_id, customer.id)}
    events: list[AuditEvent | None] = []
    seen: set[str] = set()
    for item in channels:
        type_ = COMM_CHANNEL_TYPES.get(item.type.strip().lower())
        if type_ is None:
            raise InvalidCommChannel(f"Invalid communication channel passed: '{item.type}'")
        if type_ in seen:
            raise BadRequest(f"Communication channel '{type_}' is given twice")
        seen.add(type_)
        value = item.value.strip()
        if not value or _CONTROL.search(value):
            raise InvalidCommChannel(f"Invalid communication channel passed: empty {type_} value")
        current = existing.get(type_)
        if current is None:
            repo.add(
                CommChannel(
                    org_id=customer.org_id,
                    customer_id=customer.id,
                    type=type_,
                    value=value,
                    primary=item.primary,
                    verified=item.verified,
                    subscribed=True if item.subscribed is None else item.subscribed,
                    meta=item.meta,
                    source=source,
                )
            )
            events.append(value_change("CommChannel", type_, None, value, psi=True))
        else:
            events.append(value_change("CommChannel", type_, current.value, value, psi=True))
            repo.update_comm_channel(
                current,
                value=value,
                primary=item.primary,
                verified=item.verified,
                subscribed=item.subscribed,
                meta=item.meta,
            )
    return events


def _fields(
    session: Session, customer: Customer, custom: dict[str, Any], extended: dict[str, Any]
) -> list[AuditEvent | None]:
    return write_fields(
        session,
        customer.org_id,
        v.CUSTOMER,
        customer.id,
        custom=custom,
        extended=extended,
        custom_key="fields",
    )


def _insert_identifier(
    session: Session, customer: Customer, ident: _Identifier, *, action: str
) -> None:
    repo = CustomerRepository(session)
    row = CustomerIdentifier(
        org_id=customer.org_id,
        customer_id=customer.id,
        source=ident.source,
        account_id=ident.account_id,
        type=ident.type,
        value=ident.value,
        created_at=now_ms(),
    )
    if not repo.insert_identifier(row):
        owner = repo.identifier(
            customer.org_id, ident.source, ident.account_id, ident.type, ident.value
        )
        raise CustomerExists(owner.customer_id if owner else customer.id, action=action)


def _add_identifier(
    session: Session, ctx: ChangeContext, customer: Customer, ident: _Identifier, *, action: str
) -> AuditEvent | None:
    """Store one new identifier; cards go through the card rules. Returns its event."""
    if ident.type == cards.CARDNUMBER:
        return cards.issue_to_customer(
            session,
            ctx,
            customer,
            number=ident.value,
            series_id=ident.series_id,
            series_code=ident.series_code,
            status_label=ident.status_label,
            source=ident.source,
            account_id=ident.account_id,
        )
    _insert_identifier(session, customer, ident, action=action)
    return value_change(
        "Identifier", ident.type, None, ident.value, psi=is_psi_identifier(ident.type)
    )


def _finish(
    session: Session,
    ctx: ChangeContext,
    customer: Customer,
    events: list[AuditEvent | None],
    source: str | None,
    notice: str | None = None,
) -> None:
    """Stamp the customer if anything changed, and hand the changes to the audit trail
    and (as ``notice``) to the notification outbox, in the same transaction."""
    changed = any(e is not None for e in events)
    CustomerRepository(session).save(customer, updated_at=now_ms() if changed else None)
    record(session, ctx, v.CUSTOMER, customer.id, events, source=source)
    if notice is not None and changed:
        emit(
            session,
            ctx.org_id,
            notice,
            customer.id,
            {"customerId": customer.id, "source": source, "changes": changes(events)},
            request_id=ctx.request_id,
        )


# -- POST /v2/customers ------------------------------------------------------------
def add_customer(
    session: Session, ctx: ChangeContext, body: CustomerCreate, query_source: str | None
) -> tuple[int, list[dict[str, Any]]]:
    """Register a customer; returns (customer id, warnings)."""
    repo = CustomerRepository(session)
    warnings: list[dict[str, Any]] = []
    profiles: list[tuple[ProfileIn, str, str, list[_Identifier]]] = []
    seen: set[tuple[str, str, str, str]] = set()
    for profile in body.profiles:
        source = normalize_source(profile.source or query_source)
        account_id = (profile.account_id or "").strip()
        idents = [_identifier(item, source, account_id) for item in profile.identifiers]
        types: set[str] = set()
        for ident in idents:
            key = (ident.source, ident.account_id, ident.type, ident.value)
            if key in seen:
                raise BadRequest(f"Identifier {ident.type} '{ident.value}' is given twice")
            seen.add(key)
            if ident.type in types and ident.type not in MULTI_VALUED:
                raise BadRequest(
                    f"Identifier type '{ident.type}' is given twice in one profile: a profile "
                    "holds one value of it"
                )
            types.add(ident.type)
        profiles.append((profile, source, account_id, idents))
    all_idents = [ident for *_, idents in profiles for ident in idents]
    if not all_idents:
        raise NoValidIdentifiers()

    # Same identifier in the same source: refused. In another source: the new
    # profile joins the customer who has it (Capillary's "Combining", 8050).
    others: set[int] = set()
    for ident in all_idents:
        if ident.type == cards.CARDNUMBER:
            continue
        owner = repo.identifier(ctx.org_id, ident.source, ident.account_id, ident.type, ident.value)
        if owner is not None:
            raise CustomerExists(owner.customer_id)
        if ident.type in CROSS_SOURCE_TYPES:
            others |= repo.owners_in_other_sources(
                ctx.org_id, ident.source, ident.account_id, ident.type, ident.value
            )
    if len(others) > 1:
        raise ConflictingCustomers()

    first_profile, first_source, first_account, _ = profiles[0]
    events: list[AuditEvent | None] = []
    if others:
        customer = active_customer(session, ctx.org_id, others.pop())
        held = {
            (row.source, row.account_id, row.type)
            for row in repo.identifiers(ctx.org_id, customer.id)
            if row.type not in MULTI_VALUED
        }
        if any((i.source, i.account_id, i.type) in held for i in all_idents):
            raise SameSourceOtherProfile()
        warnings.append(_warning(8050, "Same Customer found in other sources, Combining"))
    else:
        label = _label(session, ctx.org_id, body.status_label, "ACTIVE")
        now = now_ms()
        loyalty = body.loyalty_info.loyalty_type if body.loyalty_info else None
        customer = Customer(
            org_id=ctx.org_id,
            status=label.status,
            status_label_id=label.id,
            loyalty_type=loyalty or "loyalty",
            source=first_source,
            account_id=first_account,
            created_at=now,
            updated_at=now,
        )
        repo.add(customer)
        events.extend(_names(customer, first_profile))
        events.append(_status_event(None, label))
    repo.lock_identifiers(ctx.org_id, map(_key, all_idents))
    for profile, source, _account, idents in profiles:
        for ident in idents:
            events.append(_add_identifier(session, ctx, customer, ident, action="Add"))
        events.extend(_comm_channels(session, customer, profile.comm_channels, source))
    custom: dict[str, Any] = {}
    for profile, *_ in profiles:
        custom.update(profile.fields)
    events.extend(_fields(session, customer, custom, body.extended_fields))
    notice = notices.CUSTOMER_UPDATED if others else notices.CUSTOMER_ADDED
    _finish(session, ctx, customer, events, first_source, notice)
    return customer.id, warnings


# -- PUT /v2/customers/{id} ----------------------------------------------------------
def update_customer(
    session: Session,
    ctx: ChangeContext,
    customer: Customer,
    body: CustomerUpdate,
    query_source: str | None,
) -> list[dict[str, Any]]:
    """Update names, comm channels, custom and extended fields, loyalty type."""
    source = normalize_source(query_source, default=customer.source)
    warnings: list[dict[str, Any]] = []
    events: list[AuditEvent | None] = []
    profile = next(
        (p for p in body.profiles if p.source and p.source.strip().upper() == source),
        body.profiles[0] if body.profiles else None,
    )
    if profile is not None:
        if profile.source is not None:
            normalize_source(profile.source)
        if profile.identifiers:
            warnings.append(
                _warning(91006, "identifiers update is not allowed; use changeIdentifier")
            )
        events.extend(_names(customer, profile))
        events.extend(_comm_channels(session, customer, profile.comm_channels, source))
    loyalty = body.loyalty_info.loyalty_type if body.loyalty_info else None
    if loyalty is not None and loyalty != customer.loyalty_type:
        if loyalty == "non_loyalty":
            raise LoyaltyDowngrade()
        events.append(value_change("StandardField", "LoyaltyType", customer.loyalty_type, loyalty))
        customer.loyalty_type = loyalty
    events.extend(
        _fields(session, customer, profile.fields if profile else {}, body.extended_fields)
    )
    _finish(session, ctx, customer, events, source, notices.CUSTOMER_UPDATED)
    return warnings


# -- POST /v2/customers/{id}/changeIdentifier --------------------------------------
def change_identifiers(
    session: Session,
    ctx: ChangeContext,
    customer: Customer,
    body: IdentifierChange,
    query_source: str | None,
    query_account: str | None,
) -> list[dict[str, Any]]:
    """Add and remove identifiers; a removal and an addition of one type are a replacement."""
    if not body.add and not body.remove:
        raise NoChangeIdentifiers()
    source = normalize_source(query_source, default=customer.source)
    account_id = (query_account or "").strip()
    repo = CustomerRepository(session)
    warnings: list[dict[str, Any]] = []
    current = [
        row
        for row in repo.identifiers(ctx.org_id, customer.id)
        if row.source == source and row.account_id == account_id
    ]

    removals: list[CustomerIdentifier] = []
    for item in body.remove:
        ident = _identifier(item, source, account_id)
        row = next((r for r in current if r.type == ident.type and r.value == ident.value), None)
        if row is None:
            raise OldValueInvalid(
                f"Old value is invalid: {ident.type} '{ident.value}' is not an identifier of "
                f"customer {customer.id} in source {source}"
            )
        if row not in removals:
            removals.append(row)

    additions: list[_Identifier] = []
    for item in body.add:
        ident = _identifier(item, source, account_id)
        if any(a.type == ident.type and a.value == ident.value for a in additions):
            continue
        mine = next((r for r in current if r.type == ident.type and r.value == ident.value), None)
        if mine is not None and mine not in removals:
            warnings.append(_warning(8071, f"{ident.type} already attached with this user"))
            continue
        additions.append(ident)

    # Adding a single-valued identifier without removing the old one replaces it.
    for ident in additions:
        if ident.type in MULTI_VALUED:
            continue
        if any(r.type == ident.type for r in removals):
            continue
        removals.extend(r for r in current if r.type == ident.type)

    repo.lock_identifiers(
        ctx.org_id,
        [*map(_key, additions), *((r.source, r.account_id, r.type, r.value) for r in removals)],
    )
    removed_by_type: dict[str, list[str]] = defaultdict(list)
    for row in removals:
        removed_by_type[row.type].append(row.value)
        if row.type == cards.CARDNUMBER:
            cards.unlink_from_customer(session, ctx, customer, row.value)
        repo.delete(row)

    events: list[AuditEvent | None] = []
    added_by_type: dict[str, list[str]] = defaultdict(list)
    for ident in additions:
        if ident.type == cards.CARDNUMBER:
            event = _add_identifier(session, ctx, customer, ident, action="Update")
            if event is None:
                continue
        else:
            _insert_identifier(session, customer, ident, action="Update")
        added_by_type[ident.type].append(ident.value)

    for type_ in list(dict.fromkeys([*removed_by_type, *added_by_type])):
        old, new = removed_by_type.get(type_, []), added_by_type.get(type_, [])
        psi = is_psi_identifier(type_)
        for i in range(max(len(old), len(new))):
            events.append(
                value_change(
                    "Identifier",
                    type_,
                    old[i] if i < len(old) else None,
                    new[i] if i < len(new) else None,
                    psi=psi,
                )
            )
    _finish(session, ctx, customer, events, source, notices.CUSTOMER_IDENTIFIER_CHANGED)
    return warnings


# -- PUT /v2/customers/lookup/status ------------------------------------------------
def update_status(
    session: Session, ctx: ChangeContext, customer: Customer, body: StatusUpdate, source: str
) -> None:
    repo = OrgRepository(session)
    target = _label(session, ctx.org_id, body.label, "")
    if customer.merged_into_id is not None:
        raise MergedCustomer(customer.merged_into_id)
    if target.id == customer.status_label_id:
        return
    previous = (
        repo.label(ctx.org_id, customer.status_label_id) if customer.status_label_id else None
    )
    CustomerRepository(session).set_status(
        customer, target.status, label_id=target.id, updated_at=now_ms()
    )
    status_event = _status_event(previous, target)
    record(session, ctx, v.CUSTOMER, customer.id, [status_event], source=source)
    emit(
        session,
        ctx.org_id,
        notices.CUSTOMER_STATUS_CHANGED,
        customer.id,
        {"customerId": customer.id, "source": source, "changes": changes([status_event])},
        request_id=ctx.request_id,
    )


# -- POST /v2/customers/{id}/subscriptions -----------------------------------------
def update_subscriptions(
    session: Session, ctx: ChangeContext, customer: Customer, body: SubscriptionsUpdate
) -> None:
    repo = CustomerRepository(session)
    existing = {
        (s.channel, s.priority, s.source, s.account_id, s.ou_id): s
        for s in repo.subscriptions(ctx.org_id, customer.id)
    }
    events: list[AuditEvent | None] = []
    now = now_ms()
    for i, item in enumerate(body.subscriptions):
        channel = CHANNEL_ALIASES.get(item.channel.strip().upper(), item.channel.strip().upper())
        if channel not in SUBSCRIPTION_CHANNELS:
            raise InvalidChannel(
                f"Invalid channel type in subscriptions[{i}].channel: '{item.channel}'"
            )
        priority = item.priority.strip().upper()
        if priority not in PRIORITIES:
            raise InvalidPriority(
                f"Invalid priority type in subscriptions[{i}].priority: '{item.priority}'"
            )
        state = item.type.strip().upper()
        if state not in SUBSCRIPTION_STATES:
            raise InvalidSubscriptionStatus(
                f"Invalid subscription status passed in subscriptions[{i}].type: '{item.type}'"
            )
        source = normalize_source(item.source_name)
        account_id = (item.account_id or "").strip()
        ou_id = item.org_unit_id if item.org_unit_id is not None else -1
        key = (channel, priority, source, account_id, ou_id)
        row = existing.get(key)
        previous = row.status if row is not None else None
        if previous == state:
            continue
        if row is None:
            row = Subscription(
                org_id=ctx.org_id,
                customer_id=customer.id,
                channel=channel,
                priority=priority,
                source=source,
                account_id=account_id,
                ou_id=ou_id,
                status=state,
                updated_at=now,
            )
            repo.add(row)
            existing[key] = row
        else:
            repo.set_subscription_status(row, state, updated_at=now)
        events.append(
            AuditEvent(
                "SubscriptionStatus",
                "SubscriptionStatus",
                {
                    "org_source_id": account_id or "-1",
                    "communication_channel_type": channel,
                    "ou_id": str(ou_id),
                    "communication_channel_id": str(SUBSCRIPTION_CHANNELS[channel]),
                    "priority": priority,
                    "org_source": source,
                    "previousValue": previous or NA,
                    "currentValue": state,
                },
            )
        )
    record(session, ctx, v.CUSTOMER, customer.id, events)


# -- GET /v2/customers/{id} ---------------------------------------------------------
def _shown(value: str | None, psi: bool, mask: bool) -> str | None:
    return MASK if mask and psi and value is not None else value


def customer_view(session: Session, customer: Customer, *, mask: bool = False) -> dict[str, Any]:
    """The customer as Capillary's v2 GET shows it: one profile per (source, account).

    With ``mask`` (the org masks PSI and the caller lacks PSI_VIEW), what the audit
    trail records as PSI reads as ***** here too: identifiers other than
    externalId (card numbers included), names, communication channels, and
    custom and extended fields defined as PSI.
    """
    repo = CustomerRepository(session)
    org_repo = OrgRepository(session)
    identifiers = repo.identifiers(customer.org_id, customer.id)
    channels = repo.comm_channels(customer.org_id, customer.id)
    fields = field_values_by_kind(session, customer.org_id, v.CUSTOMER, customer.id, mask=mask)
    card_rows = {card.card_number: card for card in cards.cards_of_customer(session, customer)}
    keys: list[tuple[str, str]] = [(customer.source, customer.account_id)]
    for row in identifiers:
        if (row.source, row.account_id) not in keys:
            keys.append((row.source, row.account_id))
    profiles = []
    for source, account_id in keys:
        idents: list[dict[str, Any]] = []
        for row in identifiers:
            if (row.source, row.account_id) != (source, account_id):
                continue
            item: dict[str, Any] = {
                "type": row.type,
                "value": _shown(row.value, is_psi_identifier(row.type), mask),
            }
            card = card_rows.get(row.value) if row.type == cards.CARDNUMBER else None
            if card is not None:
                label = org_repo.label(customer.org_id, card.status_label_id)
                item["seriesId"] = card.series_id
                item["statusLabel"] = label.label if label else card.status
            idents.append(item)
        is_home = (source, account_id) == (customer.source, customer.account_id)
        profiles.append(
            {
                "firstName": _shown(customer.first_name, True, mask),
                "lastName": _shown(customer.last_name, True, mask),
                "fields": fields["custom"],
                "identifiers": idents,
                "commChannels": [
                    {
                        "type": c.type,
                        "value": _shown(c.value, True, mask),
                        "primary": c.primary,
                        "verified": c.verified,
                        "subscribed": c.subscribed,
                        "meta": c.meta or {},
                    }
                    for c in channels
                    if is_home or c.source == source
                ],
                "source": source,
                "accountId": account_id,
                "userId": customer.id,
            }
        )
    label = (
        org_repo.label(customer.org_id, customer.status_label_id)
        if customer.status_label_id
        else None
    )
    warnings: list[dict[str, Any]] = []
    if customer.merged_into_id is not None:
        warnings.append(_warning(8069, f"Merged customer found: {customer.merged_into_id}"))
    return {
        "id": customer.id,
        "profiles": profiles,
        "loyaltyInfo": {"loyaltyType": customer.loyalty_type},
        "extendedFields": fields["extended"],
        "statusLabel": label.label if label else customer.status,
        "status": {
            "status": customer.status,
            "label": label.label if label else customer.status,
            "labelId": customer.status_label_id,
        },
        "mergedInto": customer.merged_into_id,
        "warnings": warnings,
    }
