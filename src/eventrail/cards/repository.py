from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.kit.sql import insert_unique
from eventrail.models import Card


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

    def flush(self) -> None:
        self.session.flush()

    def of_customer(self, org_id: int, customer_id: int) -> Sequence[Card]:
        stmt = (
            sa.select(Card)
            .where(Card.org_id == org_id, Card.customer_id == customer_id)
            .order_by(Card.id)
        )
        return self.session.scalars(stmt).all()
