from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.models import (
    CardSeries,
    Customer,
    FieldDefinition,
    FieldValue,
    GroupMember,
    Org,
    SettingsChange,
    StatusLabel,
    UserGroup,
)


class OrgRepository:
    """All SQL about orgs and their configuration. Every query names its org."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)
        self.session.flush()

    def save_settings(self, org: Org, history: SettingsChange | None) -> None:
        """Write the org's changed settings now, with the row of its settings history
        that records the change (None: nothing changed)."""
        if history is not None:
            self.session.add(history)
        self.session.flush()

    def org(self, org_id: int) -> Org | None:
        return self.session.get(Org, org_id)

    def any_org(self) -> bool:
        return self.session.scalar(sa.select(Org.id).limit(1)) is not None

    def settings_changes(self, org_id: int, limit: int, offset: int) -> Sequence[SettingsChange]:
        """The org's settings changes, newest first."""
        stmt = (
            sa.select(SettingsChange)
            .where(SettingsChange.org_id == org_id)
            .order_by(SettingsChange.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return self.session.scalars(stmt).all()

    # -- labels -------------------------------------------------------------
    def labels(self, org_id: int, entity_type: str) -> Sequence[StatusLabel]:
        stmt = (
            sa.select(StatusLabel)
            .where(StatusLabel.org_id == org_id, StatusLabel.entity_type == entity_type)
            .order_by(StatusLabel.id)
        )
        return self.session.scalars(stmt).all()

    def label_by_name(self, org_id: int, entity_type: str, label: str) -> StatusLabel | None:
        base = sa.select(StatusLabel).where(
            StatusLabel.org_id == org_id, StatusLabel.entity_type == entity_type
        )
        exact = self.session.scalars(base.where(StatusLabel.label == label)).first()
        if exact is not None:
            return exact
        folded = base.where(sa.func.lower(StatusLabel.label) == label.lower())
        return self.session.scalars(folded.order_by(StatusLabel.id)).first()

    def label(self, org_id: int, label_id: int) -> StatusLabel | None:
        stmt = sa.select(StatusLabel).where(
            StatusLabel.org_id == org_id, StatusLabel.id == label_id
        )
        return self.session.scalars(stmt).first()

    def default_label(self, org_id: int, entity_type: str, status: str) -> StatusLabel | None:
        stmt = (
            sa.select(StatusLabel)
            .where(
                StatusLabel.org_id == org_id,
                StatusLabel.entity_type == entity_type,
                StatusLabel.status == status,
            )
            .order_by(StatusLabel.is_default.desc(), StatusLabel.id)
        )
        return self.session.scalars(stmt).first()

    # -- card series ----------------------------------------------------------
    def series_list(self, org_id: int) -> Sequence[CardSeries]:
        stmt = sa.select(CardSeries).where(CardSeries.org_id == org_id).order_by(CardSeries.id)
        return self.session.scalars(stmt).all()

    def series(self, org_id: int, series_id: int) -> CardSeries | None:
        stmt = sa.select(CardSeries).where(CardSeries.org_id == org_id, CardSeries.id == series_id)
        return self.session.scalars(stmt).first()

    def series_by_code(self, org_id: int, code: str) -> CardSeries | None:
        stmt = sa.select(CardSeries).where(CardSeries.org_id == org_id, CardSeries.code == code)
        return self.session.scalars(stmt).first()

    # -- fields ---------------------------------------------------------------
    def fields(self, org_id: int, entity_type: str | None = None) -> Sequence[FieldDefinition]:
        stmt = sa.select(FieldDefinition).where(FieldDefinition.org_id == org_id)
        if entity_type is not None:
            stmt = stmt.where(FieldDefinition.entity_type == entity_type)
        return self.session.scalars(stmt.order_by(FieldDefinition.id)).all()

    def field(self, org_id: int, entity_type: str, kind: str, name: str) -> FieldDefinition | None:
        stmt = sa.select(FieldDefinition).where(
            FieldDefinition.org_id == org_id,
            FieldDefinition.entity_type == entity_type,
            FieldDefinition.kind == kind,
            FieldDefinition.name == name,
        )
        return self.session.scalars(stmt).first()

    def audited_field_count(self, org_id: int, entity_type: str, kind: str) -> int:
        stmt = sa.select(sa.func.count()).where(
            FieldDefinition.org_id == org_id,
            FieldDefinition.entity_type == entity_type,
            FieldDefinition.kind == kind,
            FieldDefinition.audit_trail.is_(True),
        )
        return int(self.session.scalar(stmt) or 0)

    # -- groups ---------------------------------------------------------------
    def groups(self, org_id: int) -> Sequence[UserGroup]:
        stmt = sa.select(UserGroup).where(UserGroup.org_id == org_id).order_by(UserGroup.id)
        return self.session.scalars(stmt).all()

    def group_by_external_id(self, org_id: int, external_id: str) -> UserGroup | None:
        stmt = sa.select(UserGroup).where(
            UserGroup.org_id == org_id, UserGroup.external_id == external_id
        )
        return self.session.scalars(stmt).first()

    def group_member_ids(self, org_id: int, group_ids: Iterable[int]) -> dict[int, list[int]]:
        ids = list(group_ids)
        out: dict[int, list[int]] = {gid: [] for gid in ids}
        if not ids:
            return out
        stmt = (
            sa.select(GroupMember.group_id, GroupMember.customer_id)
            .where(GroupMember.org_id == org_id, GroupMember.group_id.in_(ids))
            .order_by(GroupMember.group_id, GroupMember.customer_id)
        )
        for group_id, customer_id in self.session.execute(stmt):
            out[group_id].append(customer_id)
        return out

    def existing_customer_ids(self, org_id: int, ids: Iterable[int]) -> set[int]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        stmt = sa.select(Customer.id).where(Customer.org_id == org_id, Customer.id.in_(wanted))
        return set(self.session.scalars(stmt).all())

    def add_members(self, org_id: int, group_id: int, customer_ids: Iterable[int]) -> None:
        current = set(self.group_member_ids(org_id, [group_id])[group_id])
        for customer_id in sorted(set(customer_ids) - current):
            self.session.add(GroupMember(group_id=group_id, customer_id=customer_id, org_id=org_id))
        self.session.flush()

    def remove_members(self, org_id: int, group_id: int, customer_ids: Iterable[int]) -> None:
        ids = list(set(customer_ids))
        if ids:
            self.session.execute(
                sa.delete(GroupMember).where(
                    GroupMember.org_id == org_id,
                    GroupMember.group_id == group_id,
                    GroupMember.customer_id.in_(ids),
                )
            )


class FieldValueRepository:
    """Values of custom/extended fields of one org's customers or cards."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def values(self, org_id: int, entity_type: str, entity_id: int) -> Sequence[FieldValue]:
        stmt = sa.select(FieldValue).where(
            FieldValue.org_id == org_id,
            FieldValue.entity_type == entity_type,
            FieldValue.entity_id == entity_id,
        )
        return self.session.scalars(stmt).all()

    def store(self, added: Sequence[FieldValue], changed: Sequence[tuple[FieldValue, str]]) -> None:
        """Write new values (``added``, in order) and new values of stored ones
        (``changed``: the row and its value), at once."""
        for new in added:
            self.session.add(new)
        for row, text in changed:
            row.value = text
        self.session.flush()


def children_query(org_id: int) -> tuple[str, dict[str, Any]]:
    """The child orgs of an org, with their timezones (raw SQL, for the fast lane)."""
    return "SELECT id, timezone FROM orgs WHERE parent_org_id = :org_id ORDER BY id", {
        "org_id": org_id
    }
