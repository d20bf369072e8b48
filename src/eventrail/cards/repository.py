from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.kit.sql import insert_unique, locked_by_key
from eventrail.models import Card, Customer, CustomerIdentifier


class CardRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_number(self, org_id: int, number: str) -> Card | None:
        stmt = sa.select(Card).where(Card.org_id == org_id, Card.card_number == number)
        return self.session.scalars(stmt).first()

    def by_id(self, org_id: int, card_id: int) -> Card | None:
        stmt = sa.select(Card).where(Card.org_id == org_id, Card.id == card_id)
        return self.session.scalars(stmt).first()

    def insert(self, card: Card) -> bool:
        """False when the number is taken in the org (checked by the unique constraint)."""
        return insert_unique(self.session, card)

    def set_holder_and_status(
        self, card: Card, holder: int | None, *, status: str, label_id: int, updated_at: int
    ) -> None:
        """The card's holder (None: nobody) and status, written at once."""
        card.customer_id = holder
        card.status = status
        card.status_label_id = label_id
        card.updated_at = updated_at
        self.session.flush()

    def save(self, card: Card, *, updated_at: int) -> None:
        """Write the card's changed attributes now, stamped ``updated_at``, so that
        what the request records next (audit entry, outbox rows) follows the change."""
        card.updated_at = updated_at
        self.session.flush()

    def of_customer(self, org_id: int, customer_id: int) -> Sequence[Card]:
        stmt = (
            sa.select(Card)
            .where(Card.org_id == org_id, Card.customer_id == customer_id)
            .order_by(Card.id)
        )
        return self.session.scalars(stmt).all()

    # -- the card's holder ---------------------------------------------------------
    # A card is issued to a customer and becomes its ``cardnumber`` identifier:
    # these read the holder and write that one identifier, so that cards need
    # nothing of the customers package (which depends on cards).
    def holder_for_update(self, org_id: int, customer_id: int) -> Customer | None:
        """The customer, row-locked until the transaction ends (PostgreSQL)."""
        return locked_by_key(self.session, Customer, org_id, customer_id)

    def insert_identifier(self, identifier: CustomerIdentifier) -> bool:
        """False when the card number already identifies someone in that source."""
        return insert_unique(self.session, identifier)

    def identifier_owner(
        self, org_id: int, source: str, account_id: str, type_: str, value: str
    ) -> int | None:
        stmt = sa.select(CustomerIdentifier.customer_id).where(
            CustomerIdentifier.org_id == org_id,
            CustomerIdentifier.source == source,
            CustomerIdentifier.account_id == account_id,
            CustomerIdentifier.type == type_,
            CustomerIdentifier.value == value,
        )
        return self.session.scalars(stmt).first()
