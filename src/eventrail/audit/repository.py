from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.models import AuditEntry, AuditRef


@dataclass(frozen=True, slots=True)
class AuditQuery:
    org_id: int
    entity_type: str
    entity_id: int
    source: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    reference_type: str | None = None
    reference_value: str | None = None
    sort_by: str = "autoUpdateTime"
    descending: bool = True
    limit: int = 10
    offset: int = 0


class AuditRepository:
    """Inserts (append-only) and the audits API's page query.

    Every query is bounded by (org, entityType, entityId), the leading columns
    of the indexes, so its cost grows with the entity's history, never with
    the org's.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_entries(self, entries: Sequence[AuditEntry]) -> None:
        self.session.add_all(entries)
        self.session.flush()

    def add_refs(self, refs: Sequence[AuditRef]) -> None:
        if refs:
            self.session.add_all(refs)
            self.session.flush()

    def _where(self, q: AuditQuery) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = [
            AuditEntry.org_id == q.org_id,
            AuditEntry.entity_type == q.entity_type,
            AuditEntry.entity_id == q.entity_id,
        ]
        if q.start_ms is not None:
            clauses.append(AuditEntry.auto_update_time >= q.start_ms)
        if q.end_ms is not None:
            clauses.append(AuditEntry.auto_update_time <= q.end_ms)
        if q.source is not None:
            clauses.append(sa.func.lower(AuditEntry.source) == q.source.lower())
        if q.reference_type is not None or q.reference_value is not None:
            refs = sa.select(AuditRef.entry_id).where(
                AuditRef.org_id == q.org_id,
                AuditRef.entity_type == q.entity_type,
                AuditRef.entity_id == q.entity_id,
            )
            if q.reference_type is not None:
                refs = refs.where(AuditRef.reference_type == q.reference_type)
            if q.reference_value is not None:
                refs = refs.where(AuditRef.updated_field == q.reference_value)
            clauses.append(AuditEntry.id.in_(refs))
        return clauses

    def count(self, q: AuditQuery) -> int:
        stmt = sa.select(sa.func.count()).select_from(AuditEntry).where(*self._where(q))
        return int(self.session.scalar(stmt) or 0)

    def page(self, q: AuditQuery) -> Sequence[AuditEntry]:
        column = AuditEntry.created_on if q.sort_by == "createdOn" else AuditEntry.auto_update_time
        order = (
            (column.desc(), AuditEntry.id.desc())
            if q.descending
            else (
                column.asc(),
                AuditEntry.id.asc(),
            )
        )
        stmt = (
            sa.select(AuditEntry)
            .where(*self._where(q))
            .order_by(*order)
            .limit(q.limit)
            .offset(q.offset)
        )
        return self.session.scalars(stmt).all()
