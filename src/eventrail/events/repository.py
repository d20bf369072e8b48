from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eventrail.kit.sql import insert_unique
from eventrail.models import EventDefinition, Org, Till, TransformerMapping, Webhook


class EventRepository:
    """All SQL about definitions, webhooks and transformer mappings. Scoped by org."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)
        self.session.flush()

    def insert(self, obj: object) -> bool:
        """False when a unique constraint refuses it (a concurrent twin won)."""
        return insert_unique(self.session, obj)

    # -- definitions ------------------------------------------------------------
    def update_definition(
        self,
        definition: EventDefinition,
        *,
        actions: list[str],
        fields: list[dict[str, Any]],
        description: str | None,
        label: str | None,
        event_type: str | None,
        updated_at: int,
    ) -> None:
        definition.actions = actions
        definition.fields = fields
        definition.description = description
        definition.label = label
        definition.event_type = event_type
        definition.updated_at = updated_at
        self.session.flush()

    def disable_definition(self, definition: EventDefinition, at: int) -> None:
        definition.enabled = False
        definition.updated_at = at
        self.session.flush()

    def definitions(self, org_id: int, name: str | None = None) -> Sequence[EventDefinition]:
        stmt = sa.select(EventDefinition).where(EventDefinition.org_id == org_id)
        if name is not None:
            stmt = stmt.where(EventDefinition.event_name == name)
        return self.session.scalars(stmt.order_by(EventDefinition.id)).all()

    def definition(self, org_id: int, name: str) -> EventDefinition | None:
        stmt = sa.select(EventDefinition).where(
            EventDefinition.org_id == org_id, EventDefinition.event_name == name
        )
        return self.session.scalars(stmt).first()

    def enabled_definition_count(self, org_id: int) -> int:
        stmt = sa.select(sa.func.count()).where(
            EventDefinition.org_id == org_id, EventDefinition.enabled.is_(True)
        )
        return int(self.session.scalar(stmt) or 0)

    # -- webhooks ---------------------------------------------------------------
    def webhooks(self, org_id: int) -> Sequence[tuple[Webhook, Till]]:
        stmt = (
            sa.select(Webhook, Till)
            .join(Till, (Till.id == Webhook.till_id) & (Till.org_id == Webhook.org_id))
            .where(Webhook.org_id == org_id)
            .order_by(Webhook.created_at, Webhook.id)
        )
        return [(webhook, till) for webhook, till in self.session.execute(stmt)]

    def webhook(self, org_id: int, webhook_id: str) -> Webhook | None:
        stmt = sa.select(Webhook).where(Webhook.org_id == org_id, Webhook.id == webhook_id)
        return self.session.scalars(stmt).first()

    def webhook_by_id(self, webhook_id: str) -> Webhook | None:
        """Any org's webhook: ingestion knows the org only from the webhook."""
        return self.session.get(Webhook, webhook_id)

    def webhook_with_org(self, webhook_id: str) -> tuple[Webhook, Org] | None:
        stmt = (
            sa.select(Webhook, Org)
            .join(Org, Org.id == Webhook.org_id)
            .where(Webhook.id == webhook_id)
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row is not None else None

    def enabled_webhook_for(self, org_id: int, transformer_type: str) -> Webhook | None:
        stmt = sa.select(Webhook).where(
            Webhook.org_id == org_id,
            Webhook.enabled.is_(True),
            Webhook.transformer_key == transformer_type.lower(),
        )
        return self.session.scalars(stmt).first()

    def save_webhook(self, webhook: Webhook, *, updated_at: int) -> bool:
        """Write the webhook's changed attributes, stamped ``updated_at``; False when
        a unique constraint refuses them (another enabled webhook of the org has its
        transformer)."""
        webhook.updated_at = updated_at
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def disable_webhook(self, webhook: Webhook, at: int) -> None:
        webhook.enabled = False
        webhook.updated_at = at
        self.session.flush()

    def till_by_code(self, org_id: int, code: str) -> Till | None:
        stmt = sa.select(Till).where(Till.org_id == org_id, Till.code == code)
        return self.session.scalars(stmt).first()

    def till(self, org_id: int, till_id: int) -> Till | None:
        stmt = sa.select(Till).where(Till.org_id == org_id, Till.id == till_id)
        return self.session.scalars(stmt).first()

    # -- transformer mappings ---------------------------------------------------
    def mappings(self, org_id: int) -> Sequence[TransformerMapping]:
        stmt = (
            sa.select(TransformerMapping)
            .where(TransformerMapping.org_id == org_id)
            .order_by(TransformerMapping.id)
        )
        return self.session.scalars(stmt).all()

    def mapping(
        self, org_id: int, transformer_type: str, *, for_update: bool = False
    ) -> TransformerMapping | None:
        stmt = sa.select(TransformerMapping).where(
            TransformerMapping.org_id == org_id,
            sa.func.lower(TransformerMapping.transformer_type) == transformer_type.lower(),
        )
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def update_mapping(
        self,
        mapping: TransformerMapping,
        *,
        name_path: str,
        value_map: dict[str, str],
        field_mappings: dict[str, list[dict[str, Any]]],
        events_mapped: list[str],
        updated_at: int,
    ) -> None:
        mapping.name_path = name_path
        mapping.value_map = value_map
        mapping.field_mappings = field_mappings
        mapping.events_mapped = events_mapped
        mapping.updated_at = updated_at
        self.session.flush()
