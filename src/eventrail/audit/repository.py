from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.kit.fastdb import ReadPool
from eventrail.kit.keyset import Keyset
from eventrail.kit.sql import for_update
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


@dataclass(frozen=True, slots=True)
class AuditExport:
    """What an export holds: an entity's entries (as the audits read filters them),
    or with ``entity`` None every entry of the org in the date range."""

    org_id: int
    entity: tuple[str, int] | None
    start_ms: int | None = None
    end_ms: int | None = None
    source: str | None = None
    reference_type: str | None = None
    reference_value: str | None = None
    include_user_context: bool = False


_ENTRIES = cast(sa.Table, AuditEntry.__table__)
_REFS = cast(sa.Table, AuditRef.__table__)
_ENTRY_KEYS = tuple(column.key for column in _ENTRIES.columns if column.key != "id")
_REF_KEYS = tuple(column.key for column in _REFS.columns if column.key != "id")


class AuditRepository:
    """Inserts: entries are append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Core inserts, not the ORM's unit of work: entries are written once and never
    # loaded or changed in the writing session, so tracking them buys nothing, and
    # the flush was an eighth of an audited update's Python (bench/README.md,
    # "Audited writes against Django"). The same columns and values as the ORM
    # would insert (a JSON column's None is JSON null either way).
    def add_entries(self, entries: Sequence[AuditEntry]) -> None:
        """Insert the entries, giving each its ``id``."""
        insert = sa.insert(_ENTRIES).returning(_ENTRIES.c.id)
        for entry in entries:
            values = {key: getattr(entry, key) for key in _ENTRY_KEYS}
            entry.id = int(self.session.execute(insert, values).scalar_one())

    def add_refs(self, refs: Sequence[AuditRef]) -> None:
        if refs:
            self.session.execute(
                sa.insert(_REFS), [{key: getattr(ref, key) for key in _REF_KEYS} for ref in refs]
            )


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


_ENTRY_COLUMNS = [f"e.{name}" for name in AuditRow._fields]
_COLUMNS = ", ".join(_ENTRY_COLUMNS)


def counts_matches(q: AuditQuery) -> bool:
    """Whether the total is a count of what the filters match (``source``, the dates,
    ``referenceValue``), whose cost grows with the entity's history; otherwise it
    is one row of ``audit_counts``."""
    return not (
        q.source is None
        and q.start_ms is None
        and q.end_ms is None
        and q.reference_value is None
        and not q.reference_types
        and q.request_id is None
        and q.updated_by is None
        and q.updated_by_mode is None
    )


def _filters(
    params: dict[str, Any],
    lead: str,
    *,
    org_id: int,
    entity: tuple[str, int] | None,
    start_ms: int | None,
    end_ms: int | None,
    source: str | None,
    reference_type: str | None,
    reference_value: str | None,
    by_kind: bool,
    reference_types: tuple[str, ...] = (),
    request_id: str | None = None,
    updated_by: int | None = None,
    updated_by_mode: str | None = None,
) -> list[str]:
    """The WHERE terms of the audits read and of its export (``params`` filled in);
    ``entity`` None: the whole org (the export's extension). With ``by_kind`` the
    referenceType is matched on ``audit_kinds`` (``k``), else through ``audit_refs``."""
    params["org_id"] = org_id
    where = [f"{lead}.org_id = :org_id"]
    refs = ["org_id = :org_id"]
    if entity is not None:
        params.update(entity_type=entity[0], entity_id=entity[1])
        where += [f"{lead}.entity_type = :entity_type", f"{lead}.entity_id = :entity_id"]
        refs += ["entity_type = :entity_type", "entity_id = :entity_id"]
    if reference_type is not None:
        params["reference_type"] = reference_type
        refs.append("reference_type = :reference_type")
        if by_kind:
            where.append("k.reference_type = :reference_type")
    if start_ms is not None:
        where.append(f"{lead}.auto_update_time >= :start_ms")
        params["start_ms"] = start_ms
    if end_ms is not None:
        where.append(f"{lead}.auto_update_time <= :end_ms")
        params["end_ms"] = end_ms
    if source is not None:
        where.append("lower(e.source) = :source")
        params["source"] = source.lower()
    if reference_value is not None:
        refs.append("updated_field = :reference_value")
        params["reference_value"] = reference_value
    if reference_value is not None or (reference_type is not None and not by_kind):
        where.append(f"e.id IN (SELECT entry_id FROM audit_refs WHERE {' AND '.join(refs)})")
    if reference_types:  # the extension: entries with any of several referenceTypes
        names = [f"rt_{i}" for i in range(len(reference_types))]
        params.update(zip(names, reference_types, strict=True))
        kinds = ["org_id = :org_id"]
        if entity is not None:
            kinds += ["entity_type = :entity_type", "entity_id = :entity_id"]
        kinds.append(f"reference_type IN ({', '.join(':' + n for n in names)})")
        where.append(f"e.id IN (SELECT entry_id FROM audit_kinds WHERE {' AND '.join(kinds)})")
    if request_id is not None:
        where.append("e.request_id = :request_id")
        params["request_id"] = request_id
    if updated_by is not None:
        where.append("e.updated_by = :updated_by")
        params["updated_by"] = updated_by
    if updated_by_mode is not None:
        where.append("lower(e.updated_by_mode) = :updated_by_mode")
        params["updated_by_mode"] = updated_by_mode.strip().lower()
    return where


def audit_export_keyset(x: AuditExport) -> Keyset:
    """The audits export: oldest first by ``(created_on, id)`` (an index of an entity's
    entries, or of the org's); the rows are ``_LINK_COLUMNS``."""
    params: dict[str, Any] = {}
    where = _filters(
        params,
        "e",
        org_id=x.org_id,
        entity=x.entity,
        start_ms=x.start_ms,
        end_ms=x.end_ms,
        source=x.source,
        reference_type=x.reference_type,
        reference_value=x.reference_value,
        by_kind=False,
    )
    # created_on >= auto_update_time (an entry is written after its change) and less
    # than a day after it: bounds on created_on let the org-wide export read a range
    # of ix_audit_entries_org_created_on instead of the org's whole trail.
    if x.start_ms is not None:
        where.append("e.created_on >= :start_ms")
    if x.end_ms is not None:
        where.append("e.created_on <= :end_ms + 86400000")
    return Keyset(_LINK_COLUMNS, "audit_entries e", ("e.created_on", "e.id"), where, params)


def audit_queries(q: AuditQuery) -> tuple[str, str, dict[str, Any]]:
    """(count SQL, page SQL, params) of one audits API request.

    The total of an unfiltered or ``referenceType``-only request is one row of
    ``audit_counts``; a ``referenceType`` page is read in order from an index of
    ``audit_kinds`` (one row per entry and referenceType, with the entry's sort
    times). Other filters count what they match.
    """
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    by_kind = q.reference_type is not None
    # the table whose index gives the order: audit_kinds (k) under a referenceType
    lead = "k" if by_kind else "e"
    where = _filters(
        params,
        lead,
        org_id=q.org_id,
        entity=(q.entity_type, q.entity_id),
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        source=q.source,
        reference_type=q.reference_type,
        reference_value=q.reference_value,
        by_kind=by_kind,
        reference_types=q.reference_types,
        request_id=q.request_id,
        updated_by=q.updated_by,
        updated_by_mode=q.updated_by_mode,
    )
    condition = " AND ".join(where)
    source = (
        "audit_kinds k JOIN audit_entries e ON e.org_id = k.org_id AND e.id = k.entry_id"
        if by_kind
        else "audit_entries e"
    )
    if not counts_matches(q):
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
    order = f"{lead}.{column} {direction}, {key} {direction}"
    if q.offset and not by_kind:
        # A page past the first: the rows skipped are read from the index alone
        # (their ids), and only the page's own rows from the table. Reading the
        # skipped rows whole cost the deep pages most of their time (bench/README.md).
        page = (
            f"SELECT {_COLUMNS} FROM audit_entries e JOIN (SELECT e.id, e.{column} "
            f"FROM audit_entries e WHERE {condition} ORDER BY {order} "
            "LIMIT :limit OFFSET :offset) p ON e.org_id = :org_id AND e.id = p.id "
            f"ORDER BY p.{column} {direction}, p.id {direction}"
        )
    else:
        page = (
            f"SELECT {_COLUMNS} FROM {source} WHERE {condition} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"
        )
    return count, page, params


class AuditReads:
    """The audits API's reads, on a :class:`~eventrail.kit.fastdb.ReadPool` (the
    primary's, or a replica's)."""

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool

    def page(self, q: AuditQuery) -> tuple[int, list[AuditRow]]:
        """(the total the filters match, the rows of the page)."""
        count_sql, page_sql, params = audit_queries(q)
        found = self.pool.one(count_sql, params)
        total = int(found[0]) if found else 0
        rows = self.pool.rows(page_sql, params) if total > q.offset else []
        # tuple.__new__: the SQL selects AuditRow's fields in order (a named tuple's
        # own __new__ costs four times as much a row)
        new = tuple.__new__
        return total, [new(AuditRow, row) for row in rows]

    async def page_soon(self, q: AuditQuery) -> tuple[int, list[AuditRow]]:
        """``page`` from an event loop: on the loop when its total is one row of
        ``audit_counts`` (as cheap as its page), else in the pool's threads, so
        that counting a long history never holds up the loop's other requests."""
        if counts_matches(q):
            return await self.pool.off_loop(self.page, q)
        return self.page(q)

    def export(
        self, x: AuditExport, *, after: tuple[int, int] | None, batch: int
    ) -> Iterator[list[ChainRow]]:
        """The export, a keyset batch at a time after the key ``after`` (``(created_on,
        id)``): each entry with its link."""
        keyset = audit_export_keyset(x)
        for rows in keyset.batches(self.pool.rows, after=after, size=batch):
            yield _links(rows)

    # -- the hash chain's verification (audit/chain.py, ``eventrail audit verify``) -----
    def chain_head(self, org_id: int) -> ChainHead | None:
        """The org's chain head (``audit_chain_heads``), None before its first entry."""
        found = self.pool.one(*chain_head_query(org_id))
        return None if found is None else ChainHead(*found)

    def chained_orgs(self) -> list[int]:
        """Every org that has a chain, or entries (hashed or not), in id order."""
        return [int(row[0]) for row in self.pool.rows(*chained_orgs_query())]

    def count_links(self, org_id: int, from_ms: int | None = None) -> int:
        """How many of the org's entries are linked (written from ``from_ms``)."""
        found = self.pool.one(*chain_count_query(org_id, from_ms))
        return int(found[0]) if found else 0

    def links(
        self, org_id: int, *, after_seq: int, from_ms: int | None = None, batch: int
    ) -> Iterator[list[ChainRow]]:
        """The org's links after ``after_seq`` (written from ``from_ms``), in chain
        order, a keyset batch at a time."""
        keyset = chain_keyset(org_id, from_ms)
        for rows in keyset.batches(self.pool.rows, after=(after_seq,), size=batch):
            yield _links(rows)

    def unchained(self, org_id: int) -> tuple[int, int, int | None]:
        """(entries without a link, how many of them came after the org's first linked
        entry, the first of those): see ``unchained_query``."""
        found = self.pool.one(*unchained_query(org_id))
        total, late, first_late = found if found is not None else (0, 0, None)
        return (
            int(total or 0),
            int(late or 0),
            None if first_late is None else int(first_late),
        )


# -- the hash chain's SQL (audit/chain.py) ----------------------------------------------


class ChainRepository:
    """The chain head of an org, locked by the writer for the rest of its transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_head(self, org_id: int, now: int, genesis: str) -> tuple[int, str]:
        """(seq, hash) of the org's newest link, the row locked until the transaction
        ends (created on the org's first entry). SQLite: the transaction holds the
        database's write lock already (``BEGIN IMMEDIATE``)."""
        lock = for_update(self.session)
        select = sa.text(f"SELECT seq, head_hash FROM audit_chain_heads WHERE org_id = :org{lock}")
        found = self.session.execute(select, {"org": org_id}).first()
        if found is None:
            self.session.execute(
                sa.text(
                    "INSERT INTO audit_chain_heads "
                    "(org_id, seq, head_hash, updated_at, pruned_seq, pruned_hash) "
                    "VALUES (:org, 0, :genesis, :now, 0, :genesis) ON CONFLICT DO NOTHING"
                ),
                {"org": org_id, "genesis": genesis, "now": now},
            )
            found = self.session.execute(select, {"org": org_id}).one()
        return int(found[0]), str(found[1])

    def set_head(self, org_id: int, seq: int, head_hash: str, now: int) -> None:
        self.session.execute(
            sa.text(
                "UPDATE audit_chain_heads SET seq = :seq, head_hash = :hash, updated_at = :now "
                "WHERE org_id = :org"
            ),
            {"org": org_id, "seq": seq, "hash": head_hash, "now": now},
        )


class ChainHead(NamedTuple):
    org_id: int
    seq: int
    head_hash: str
    updated_at: int
    pruned_seq: int
    pruned_hash: str


class ChainRow(NamedTuple):
    """An entry with its link of the hash chain (None on entries written before it)."""

    entry: AuditRow
    seq: int | None
    prev_hash: str | None
    row_hash: str | None


_LINK_COLUMNS = [*_ENTRY_COLUMNS, "e.seq", "e.prev_hash", "e.row_hash"]


def _links(rows: list[tuple[Any, ...]]) -> list[ChainRow]:
    """Rows of ``_LINK_COLUMNS`` as ``ChainRow``s."""
    return [ChainRow(AuditRow(*row[:-3]), row[-3], row[-2], row[-1]) for row in rows]


def chain_head_query(org_id: int) -> tuple[str, dict[str, Any]]:
    return (
        f"SELECT {', '.join(ChainHead._fields)} FROM audit_chain_heads WHERE org_id = :org_id",
        {"org_id": org_id},
    )


def chained_orgs_query() -> tuple[str, dict[str, Any]]:
    """Every org that has a chain, or entries (hashed or not)."""
    return (
        "SELECT org_id FROM audit_chain_heads UNION SELECT DISTINCT org_id FROM audit_entries "
        "ORDER BY 1",
        {},
    )


def chain_keyset(org_id: int, from_ms: int | None = None) -> Keyset:
    """An org's links in chain order (index ``uq_audit_entries_org_seq``), those written
    from ``from_ms``; the rows are ``_LINK_COLUMNS``."""
    params: dict[str, Any] = {"org_id": org_id}
    where = ["e.org_id = :org_id"]
    if from_ms is not None:
        where.append("e.created_on >= :from_ms")
        params["from_ms"] = from_ms
    return Keyset(_LINK_COLUMNS, "audit_entries e", ("e.seq",), where, params)


def chain_count_query(org_id: int, from_ms: int | None = None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"org_id": org_id}
    since = ""
    if from_ms is not None:
        since = " AND created_on >= :from_ms"
        params["from_ms"] = from_ms
    return (
        f"SELECT count(*), min(seq) FROM audit_entries WHERE org_id = :org_id "
        f"AND seq IS NOT NULL{since}",
        params,
    )


def unchained_query(org_id: int) -> tuple[str, dict[str, Any]]:
    """Entries without a link, and how many of them came after the org's first linked
    entry (by id): those were inserted outside eventrail; the first of them."""
    return (
        "SELECT count(*), "
        "sum(CASE WHEN id > coalesce(f.first_id, id + 1) THEN 1 ELSE 0 END), "
        "min(CASE WHEN id > coalesce(f.first_id, id + 1) THEN id END) "
        "FROM audit_entries, (SELECT min(id) AS first_id FROM audit_entries "
        "WHERE org_id = :org_id AND seq IS NOT NULL) f "
        "WHERE org_id = :org_id AND seq IS NULL",
        {"org_id": org_id},
    )
