from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

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
    # extensions: several referenceTypes (entries with any), and who made the entries
    reference_types: tuple[str, ...] = ()
    request_id: str | None = None
    updated_by: int | None = None
    updated_by_mode: str | None = None
    sort_by: str = "autoUpdateTime"
    descending: bool = True
    limit: int = 10
    offset: int = 0


class AuditRepository:
    """Inserts: entries are append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_entries(self, entries: Sequence[AuditEntry]) -> None:
        self.session.add_all(entries)
        self.session.flush()

    def add_refs(self, refs: Sequence[AuditRef]) -> None:
        if refs:
            self.session.add_all(refs)
            self.session.flush()


# -- the audits API's SQL (run by the fast lane on a plain driver connection) ------------
# Every query is bounded by (org, entityType, entityId), the leading columns of
# the indexes, so its cost never grows with the org's data; the common requests
# (no filter, or a referenceType) cost what their page costs, whatever the
# entity's history.


class AuditRow(NamedTuple):
    id: int
    org_id: int
    entity_type: str
    entity_id: int
    request_id: str
    updated_by: int
    till: str | None  # JSON text, as are the four below and events
    store: str | None
    user_context: str | None
    victim_details: str | None
    survivor_details: str | None
    source: str | None
    updated_by_mode: str
    auto_update_time: int
    created_on: int
    events: str


_COLUMNS = ", ".join(f"e.{name}" for name in AuditRow._fields)


def audit_queries(q: AuditQuery) -> tuple[str, str, dict[str, Any]]:
    """(count SQL, page SQL, params) of one audits API request.

    The total of an unfiltered or ``referenceType``-only request is one row of
    ``audit_counts``; a ``referenceType`` page is read in order from an index of
    ``audit_kinds`` (one row per entry and referenceType, with the entry's sort
    times). Other filters count what they match.
    """
    params: dict[str, Any] = {
        "org_id": q.org_id,
        "entity_type": q.entity_type,
        "entity_id": q.entity_id,
        "limit": q.limit,
        "offset": q.offset,
    }
    by_kind = q.reference_type is not None
    # the table whose index gives the order: audit_kinds (k) under a referenceType
    lead = "k" if by_kind else "e"
    where = [
        f"{lead}.org_id = :org_id",
        f"{lead}.entity_type = :entity_type",
        f"{lead}.entity_id = :entity_id",
    ]
    if by_kind:
        where.append("k.reference_type = :reference_type")
        params["reference_type"] = q.reference_type
    if q.start_ms is not None:
        where.append(f"{lead}.auto_update_time >= :start_ms")
        params["start_ms"] = q.start_ms
    if q.end_ms is not None:
        where.append(f"{lead}.auto_update_time <= :end_ms")
        params["end_ms"] = q.end_ms
    if q.source is not None:
        where.append("lower(e.source) = :source")
        params["source"] = q.source.lower()
    if q.reference_types:
        names = [f"rt_{i}" for i in range(len(q.reference_types))]
        params.update(zip(names, q.reference_types, strict=True))
        where.append(
            "e.id IN (SELECT entry_id FROM audit_kinds WHERE org_id = :org_id "
            "AND entity_type = :entity_type AND entity_id = :entity_id "
            f"AND reference_type IN ({', '.join(':' + n for n in names)}))"
        )
    if q.request_id is not None:
        where.append("e.request_id = :request_id")
        params["request_id"] = q.request_id
    if q.updated_by is not None:
        where.append("e.updated_by = :updated_by")
        params["updated_by"] = q.updated_by
    if q.updated_by_mode is not None:
        where.append("lower(e.updated_by_mode) = :updated_by_mode")
        params["updated_by_mode"] = q.updated_by_mode.strip().lower()
    if q.reference_value is not None:
        refs = ["org_id = :org_id", "entity_type = :entity_type", "entity_id = :entity_id"]
        if by_kind:
            refs.append("reference_type = :reference_type")
        refs.append("updated_field = :reference_value")
        params["reference_value"] = q.reference_value
        where.append(f"e.id IN (SELECT entry_id FROM audit_refs WHERE {' AND '.join(refs)})")
    condition = " AND ".join(where)
    source = (
        "audit_kinds k JOIN audit_entries e ON e.id = k.entry_id" if by_kind else "audit_entries e"
    )
    counted = (
        q.source is None
        and q.start_ms is None
        and q.end_ms is None
        and not q.reference_types
        and q.request_id is None
        and q.updated_by is None
        and q.updated_by_mode is None
    )
    if counted and q.reference_value is None:
        params["counted_type"] = q.reference_type or ""
        count = (
            "SELECT coalesce((SELECT entries FROM audit_counts WHERE org_id = :org_id "
            "AND entity_type = :entity_type AND entity_id = :entity_id "
            "AND reference_type = :counted_type), 0)"
        )
    else:
        count = f"SELECT count(*) FROM {source} WHERE {condition}"
    column = "created_on" if q.sort_by == "createdOn" else "auto_update_time"
    key = "k.entry_id" if by_kind else "e.id"
    direction = "DESC" if q.descending else "ASC"
    page = (
        f"SELECT {_COLUMNS} FROM {source} WHERE {condition} "
        f"ORDER BY {lead}.{column} {direction}, {key} {direction} LIMIT :limit OFFSET :offset"
    )
    return count, page, params
