"""The SQL of GET /v2/events/search and its reads (:class:`SearchReads`, run by the
fast lane on a read pool: the primary's or a replica's).

Each builder returns ``(sql, params)`` with ``:name`` parameters, every query scoped
by the caller's orgs. The search itself is shaped for the indexes of
``event_records``:

- a customer (or a group's members): ``ix_event_records_customer_time``
  (org_id, customer_id, created_at, seq);
- an event name or a definition's eventId: ``ix_event_records_name_time``
  (org_id, event_name, created_at, seq);
- a stored event's eventId (requestId): the primary key;
- nothing of these (unanchored): ``ix_event_records_org_created``
  (org_id, created_at), in time order, stopping at offset + limit matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventrail.kit.fastdb import ReadPool
from eventrail.kit.sql import index_hint, json_array_holds, json_member_text
from eventrail.orgs.repository import children_query
from eventrail.processing.repository import RecordRow

_RECORD_COLUMNS = ", ".join(RecordRow._fields)


def _in(column: str, prefix: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``column = :p`` for one value, ``column IN (:p_0, ...)`` for several. The list
    is padded to a power of two (repeating its last value), so that the statements
    the read connection prepares come in a few sizes, not one per length."""
    if len(values) == 1:
        params[prefix] = values[0]
        return f"{column} = :{prefix}"
    size = 1 << (len(values) - 1).bit_length()
    padded = [*values, *[values[-1]] * (size - len(values))]
    names = [f"{prefix}_{i}" for i in range(size)]
    params.update(zip(names, padded, strict=True))
    return f"{column} IN ({', '.join(':' + n for n in names)})"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _attribute_where(
    i: int, key: str, value: str, *, exact: bool, sqlite: bool, masked: bool, params: dict[str, Any]
) -> list[str]:
    """The conditions of one attribute filter: the attribute's value as text equals
    ``value`` (exact), or holds each of its words, ignoring case. For a caller who
    reads PSI values masked, a record where the attribute is PSI never matches."""
    text = json_member_text("attributes", key, f"attr_path_{i}", params, sqlite=sqlite)
    psi = json_array_holds("psi_attributes", f"attr_key_{i}", sqlite=sqlite)
    params[f"attr_key_{i}"] = key
    where = [f"NOT {psi}"] if masked else []
    if exact:
        params[f"attr_value_{i}"] = value
        where.append(f"{text} = :attr_value_{i}")
        return where
    for j, word in enumerate(value.split()):
        params[f"attr_word_{i}_{j}"] = "%" + _like_escape(word.lower()) + "%"
        where.append(f"lower({text}) LIKE :attr_word_{i}_{j} ESCAPE '\\'")
    return where


@dataclass(frozen=True, slots=True)
class SearchFilter:
    org_ids: Sequence[int]
    customer_ids: Sequence[int] | None = None  # None: any customer
    record_id: str | None = None
    event_name: str | None = None
    is_duplicate: bool | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    # (attribute name, value): filters on the events' attributes
    attributes: Sequence[tuple[str, str]] = ()
    exact: bool = False  # allowExactMatch
    masked: bool = False  # the caller reads PSI values masked


def search_query(
    f: SearchFilter, *, ascending: bool, limit: int, offset: int, sqlite: bool = False
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    where = [_in("org_id", "org", f.org_ids, params)]
    if f.customer_ids is not None:
        where.append(_in("customer_id", "customer", f.customer_ids, params))
    if f.record_id is not None:
        where.append("id = :record_id")
        params["record_id"] = f.record_id
    if f.event_name is not None:
        where.append("event_name = :event_name")
        params["event_name"] = f.event_name
    if f.is_duplicate is not None:
        where.append("is_duplicate = :is_duplicate")
        params["is_duplicate"] = f.is_duplicate
    if f.start_ms is not None:
        where.append("created_at >= :start_ms")
        params["start_ms"] = f.start_ms
    if f.end_ms is not None:
        where.append("created_at <= :end_ms")
        params["end_ms"] = f.end_ms
    for i, (key, value) in enumerate(f.attributes):
        where += _attribute_where(
            i, key, value, exact=f.exact, sqlite=sqlite, masked=f.masked, params=params
        )
    order = "ASC" if ascending else "DESC"
    table = "event_records"
    if f.record_id is None:
        # SQLite's planner may prefer walking (org_id, created_at) in the order asked
        # for to reading a few customers' events and sorting them; at scale that walk
        # crosses the org's events. The anchor's index is named there (always usable:
        # the WHERE constrains its leading columns); PostgreSQL's planner needs no hint.
        if f.customer_ids is not None:
            table += index_hint("ix_event_records_customer_time", sqlite=sqlite)
        elif f.event_name is not None:
            table += index_hint("ix_event_records_name_time", sqlite=sqlite)
    sql = (
        f"SELECT {_RECORD_COLUMNS} FROM {table} WHERE {' AND '.join(where)} "
        f"ORDER BY created_at {order}, seq {order} LIMIT :limit OFFSET :offset"
    )
    return sql, params


def definition_names_query(org_ids: Sequence[int], event_id: str) -> tuple[str, dict[str, Any]]:
    """The event name of the definition with this eventId (unique: one at most)."""
    params: dict[str, Any] = {"event_id": event_id}
    where = _in("org_id", "org", org_ids, params)
    return (
        f"SELECT event_name FROM event_definitions WHERE {where} AND event_id = :event_id",
        params,
    )


def identifier_customers_query(
    org_ids: Sequence[int], source: str, account_id: str, type_: str, value: str
) -> tuple[str, dict[str, Any]]:
    """The customers with this identifier in this source (and account), in the orgs."""
    params: dict[str, Any] = {
        "source": source,
        "account_id": account_id,
        "type": type_,
        "value": value,
    }
    where = _in("org_id", "org", org_ids, params)
    sql = (
        f"SELECT customer_id FROM customer_identifiers WHERE {where} AND source = :source "
        "AND account_id = :account_id AND type = :type AND value = :value"
    )
    return sql, params


def groups_query(
    org_ids: Sequence[int], *, group_id: int | None = None, external_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The user group with this id, or with this external id, in the orgs."""
    params: dict[str, Any] = {}
    where = _in("org_id", "org", org_ids, params)
    if group_id is not None:
        params["group_id"] = group_id
        return f"SELECT id FROM user_groups WHERE {where} AND id = :group_id", params
    params["external_id"] = external_id
    return f"SELECT id FROM user_groups WHERE {where} AND external_id = :external_id", params


def customer_groups_query(
    org_ids: Sequence[int], customer_ids: Sequence[int]
) -> tuple[str, dict[str, Any]]:
    """The groups these customers belong to (``ix_group_members_org_customer``)."""
    params: dict[str, Any] = {}
    where = [_in("org_id", "org", org_ids, params), _in("customer_id", "c", customer_ids, params)]
    return f"SELECT DISTINCT group_id FROM group_members WHERE {' AND '.join(where)}", params


def group_members_query(
    org_ids: Sequence[int], group_ids: Sequence[int], limit: int
) -> tuple[str, dict[str, Any]]:
    """Up to ``limit`` members of these groups (the primary key leads with group_id)."""
    params: dict[str, Any] = {"limit": limit}
    where = [_in("group_id", "g", group_ids, params), _in("org_id", "org", org_ids, params)]
    sql = (
        f"SELECT DISTINCT customer_id FROM group_members WHERE {' AND '.join(where)} "
        "ORDER BY customer_id LIMIT :limit"
    )
    return sql, params


class SearchReads:
    """The search's reads, on a :class:`~eventrail.kit.fastdb.ReadPool` (the
    primary's, or a replica's), answering values."""

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool
        self.sqlite = pool.sqlite  # which SQL the pool's database reads (kit/sql.py)

    def child_orgs(self, org_id: int) -> dict[int, str]:
        """The org's child orgs, with their timezones."""
        return {int(i): str(tz) for i, tz in self.pool.rows(*children_query(org_id))}

    def identifier_customers(
        self, org_ids: Sequence[int], source: str, account_id: str, type_: str, value: str
    ) -> list[int]:
        sql, params = identifier_customers_query(org_ids, source, account_id, type_, value)
        return sorted({int(row[0]) for row in self.pool.rows(sql, params)})

    def group_ids(
        self, org_ids: Sequence[int], *, group_id: int | None = None, external_id: str | None = None
    ) -> list[int]:
        found = self.pool.rows(*groups_query(org_ids, group_id=group_id, external_id=external_id))
        return [int(row[0]) for row in found]

    def customer_groups(self, org_ids: Sequence[int], customer_ids: Sequence[int]) -> list[int]:
        found = self.pool.rows(*customer_groups_query(org_ids, customer_ids))
        return sorted({int(row[0]) for row in found})

    def group_members(
        self, org_ids: Sequence[int], group_ids: Sequence[int], limit: int
    ) -> list[int]:
        return [
            int(row[0]) for row in self.pool.rows(*group_members_query(org_ids, group_ids, limit))
        ]

    def definition_name(self, org_ids: Sequence[int], event_id: str) -> str | None:
        found = self.pool.one(*definition_names_query(org_ids, event_id))
        return None if found is None else str(found[0])

    def search(
        self, f: SearchFilter, *, ascending: bool, limit: int, offset: int
    ) -> list[RecordRow]:
        sql, params = search_query(
            f, ascending=ascending, limit=limit, offset=offset, sqlite=self.sqlite
        )
        return [RecordRow(*row) for row in self.pool.rows(sql, params)]
