"""Finding customers: the vocabulary of sources and identifier types, and the
lookups every customer or card write starts from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from eventrail.cards import service as cards_service
from eventrail.customers.exceptions import (
    CustomerNotFound,
    InvalidIdentifierName,
    InvalidSource,
)
from eventrail.customers.repository import CustomerRepository
from eventrail.errors import BadRequest
from eventrail.models import Customer

SOURCES = (
    "INSTORE",
    "FACEBOOK",
    "WEB_ENGAGE",
    "WECHAT",
    "MARTJACK",
    "TMALL",
    "TAOBAO",
    "JD",
    "ECOMMERCE",
    "WEBSITE",
    "LINE",
    "MOBILE_APP",
    "XIAOHONGSHU",
    "GLOBAL_SCANNER",
    "SUNING",
    "PINDUODUO",
    "KAOLA",
    "MAPP_SDK",
)
IDENTIFIER_TYPES = {
    name.lower(): name
    for name in (
        "mobile",
        "email",
        "externalId",
        "cardnumber",
        "cardExternalId",
        "wechat",
        "martjackId",
        "fbId",
        "tmall_uname",
        "cuid",
        "ali_uname",
        "jd_uname",
        "vip_uname",
        "line",
        "unionId",
        "fcmToken",
    )
}


def normalize_source(raw: str | None, default: str = "INSTORE") -> str:
    source = (raw or default).strip().upper()
    if source not in SOURCES:
        raise InvalidSource(f"Invalid source passed: '{raw}'")
    return source


def normalize_identifier_type(raw: str, *, lookup: bool = False) -> str:
    found = IDENTIFIER_TYPES.get(raw.strip().lower())
    if found is None:
        if lookup:
            raise InvalidIdentifierName(f"Lookup, Invalid identifier passed: '{raw}'")
        raise BadRequest(
            f"Invalid identifier type '{raw}': use one of {', '.join(IDENTIFIER_TYPES.values())}"
        )
    return found


# The customer a write changes: locked, of the org, not merged away (cards' own
# holder read, which the customers package depends on).
active_customer = cards_service.active_holder


def lookup_customer(
    session: Session,
    org_id: int,
    *,
    source: str | None,
    identifier_name: str,
    identifier_value: str,
    account_id: str | None,
) -> Customer:
    src = normalize_source(source)
    type_ = normalize_identifier_type(identifier_name, lookup=True)
    repo = CustomerRepository(session)
    found = repo.identifier(org_id, src, account_id or "", type_, identifier_value.strip())
    if found is None:
        raise CustomerNotFound()
    customer = repo.get(org_id, found.customer_id)
    if customer is None:
        raise CustomerNotFound()
    return customer


@dataclass(frozen=True, slots=True)
class ByIdentifier:
    """How lookup APIs name a customer: an identifier in a source (and account)."""

    identifier_name: str
    identifier_value: str
    source: str | None
    account_id: str | None


def find(session: Session, org_id: int, by: ByIdentifier, *, for_update: bool = False) -> Customer:
    """The customer named by ``by``; locked and refused if merged away when writing."""
    customer = lookup_customer(
        session,
        org_id,
        source=by.source,
        identifier_name=by.identifier_name,
        identifier_value=by.identifier_value,
        account_id=by.account_id,
    )
    return active_customer(session, org_id, customer.id) if for_update else customer


def get_customer(session: Session, org_id: int, customer_id: int) -> Customer:
    customer = CustomerRepository(session).get(org_id, customer_id)
    if customer is None:
        raise CustomerNotFound()
    return customer
