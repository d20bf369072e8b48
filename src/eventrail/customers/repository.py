from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.kit.sql import insert_unique, lock_names, locked_by_key
from eventrail.models import (
    Card,
    CommChannel,
    Customer,
    CustomerIdentifier,
    MergeRequest,
    Subscription,
)


class CustomerRepository:
    """All SQL about customers. Every query names its org."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)
        self.session.flush()

    def save(self, customer: Customer, *, updated_at: int | None) -> None:
        """Write the customer's changed attributes now, stamped ``updated_at`` (None:
        nothing of it changed, its ``updated_at`` stays), so that what the request
        records next (audit entry, outbox rows) follows the change."""
        if updated_at is not None:
            customer.updated_at = updated_at
        self.session.flush()

    def set_status(
        self, customer: Customer, status: str, *, label_id: int, updated_at: int
    ) -> None:
        customer.status = status
        customer.status_label_id = label_id
        customer.updated_at = updated_at
        self.session.flush()

    def get(self, org_id: int, customer_id: int) -> Customer | None:
        stmt = sa.select(Customer).where(Customer.org_id == org_id, Customer.id == customer_id)
        return self.session.scalars(stmt).first()

    def get_for_update(self, org_id: int, customer_id: int) -> Customer | None:
        """The customer, row-locked until the transaction ends (PostgreSQL; SQLite
        writers are serialised by BEGIN IMMEDIATE already)."""
        return locked_by_key(self.session, Customer, org_id, customer_id)

    # -- identifiers ------------------------------------------------------------
    def identifiers(self, org_id: int, customer_id: int) -> Sequence[CustomerIdentifier]:
        stmt = (
            sa.select(CustomerIdentifier)
            .where(
                CustomerIdentifier.org_id == org_id,
                CustomerIdentifier.customer_id == customer_id,
            )
            .order_by(CustomerIdentifier.id)
        )
        return self.session.scalars(stmt).all()

    def identifier(
        self, org_id: int, source: str, account_id: str, type_: str, value: str
    ) -> CustomerIdentifier | None:
        stmt = sa.select(CustomerIdentifier).where(
            CustomerIdentifier.org_id == org_id,
            CustomerIdentifier.source == source,
            CustomerIdentifier.account_id == account_id,
            CustomerIdentifier.type == type_,
            CustomerIdentifier.value == value,
        )
        return self.session.scalars(stmt).first()

    def owners_in_other_sources(
        self, org_id: int, source: str, account_id: str, type_: str, value: str
    ) -> set[int]:
        stmt = sa.select(CustomerIdentifier.customer_id).where(
            CustomerIdentifier.org_id == org_id,
            CustomerIdentifier.type == type_,
            CustomerIdentifier.value == value,
            sa.or_(
                CustomerIdentifier.source != source,
                CustomerIdentifier.account_id != account_id,
            ),
        )
        return set(self.session.scalars(stmt).all())

    def lock_identifiers(self, org_id: int, keys: Iterable[tuple[str, str, str, str]]) -> None:
        """Lock these (source, account, type, value) identifiers until the transaction
        ends, before inserting or deleting them.

        Two requests writing the same identifiers in different orders would each
        hold one unique-index entry while waiting for the other's: a deadlock,
        which PostgreSQL ends with an error. Locked first in one global order,
        the second waits for the first, then meets the unique constraint.
        """
        lock_names(
            self.session,
            (f"identifier:{org_id}:{s}:{a}:{t}:{v}" for s, a, t, v in keys),
        )

    def insert_identifier(self, identifier: CustomerIdentifier) -> bool:
        """False when the identifier already belongs to someone in that source."""
        return insert_unique(self.session, identifier)

    def delete(self, obj: object) -> None:
        self.session.delete(obj)
        self.session.flush()

    # -- comm channels ---------------------------------------------------------
    def comm_channels(self, org_id: int, customer_id: int) -> Sequence[CommChannel]:
        stmt = (
            sa.select(CommChannel)
            .where(CommChannel.org_id == org_id, CommChannel.customer_id == customer_id)
            .order_by(CommChannel.id)
        )
        return self.session.scalars(stmt).all()

    def update_comm_channel(
        self,
        channel: CommChannel,
        *,
        value: str,
        primary: bool,
        verified: bool,
        subscribed: bool | None,
        meta: dict[str, Any] | None,
    ) -> None:
        """New values of an existing channel; ``subscribed`` and ``meta`` stay as they
        are when None."""
        channel.value = value
        channel.primary = primary
        channel.verified = verified
        if subscribed is not None:
            channel.subscribed = subscribed
        if meta is not None:
            channel.meta = meta
        self.session.flush()

    # -- subscriptions ---------------------------------------------------------
    def set_subscription_status(
        self, subscription: Subscription, status: str, *, updated_at: int
    ) -> None:
        subscription.status = status
        subscription.updated_at = updated_at
        self.session.flush()

    def subscriptions(self, org_id: int, customer_id: int) -> Sequence[Subscription]:
        stmt = (
            sa.select(Subscription)
            .where(Subscription.org_id == org_id, Subscription.customer_id == customer_id)
            .order_by(Subscription.id)
        )
        return self.session.scalars(stmt).all()

    # -- merge requests ----------------------------------------------------------
    def merge_request(self, org_id: int, request_id: int) -> MergeRequest | None:
        stmt = sa.select(MergeRequest).where(
            MergeRequest.org_id == org_id, MergeRequest.id == request_id
        )
        return self.session.scalars(stmt).first()

    def pending_merge_involving(self, org_id: int, customer_id: int) -> MergeRequest | None:
        stmt = sa.select(MergeRequest).where(
            MergeRequest.org_id == org_id,
            MergeRequest.status == "PENDING",
            sa.or_(
                MergeRequest.victim_id == customer_id,
                MergeRequest.survivor_id == customer_id,
            ),
        )
        return self.session.scalars(stmt).first()

    def set_merge_status(self, request: MergeRequest, status: str) -> None:
        request.status = status
        self.session.flush()

    def decide_merge(
        self,
        request: MergeRequest,
        status: str,
        *,
        till_id: int,
        comments: str | None,
        updated_at: int,
    ) -> None:
        """A decision on a pending request: its status, who decided, their comments."""
        request.status = status
        request.modified_by_till_id = till_id
        request.comments = comments
        request.updated_at = updated_at
        self.session.flush()

    def merge_into(
        self, victim: Customer, survivor: Customer, cards: Sequence[Card], at: int
    ) -> None:
        """The victim's cards go to the survivor, the victim is marked merged into it,
        and both are stamped ``at``."""
        for card in cards:
            card.customer_id = survivor.id
        victim.merged_into_id = survivor.id
        victim.updated_at = survivor.updated_at = at
        self.session.flush()

    def move_identifier(self, identifier: CustomerIdentifier, customer_id: int) -> None:
        identifier.customer_id = customer_id
        self.session.flush()
