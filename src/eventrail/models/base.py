"""The declarative base, with constraint names that migrations can refer to."""

from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint, Index, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# -- distribution by org (docs/scaling.md, docs/decisions.md) --------------------------
# Every table but these is keyed by org: its primary key and unique constraints lead
# with ``org_id``, and its foreign keys to another org-keyed table carry ``org_id``,
# so that each can be distributed by ``org_id`` (Citus) without a change. These are
# the exceptions, reference tables in Citus terms (one copy on every node): the orgs
# themselves, and the small catalogues a request is looked up in before its org is
# known (a webhook by the id in its URL, a till by its code, a client by its key).
REFERENCE_TABLES = frozenset({"orgs", "stores", "tills", "oauth_clients", "webhooks"})


def org_foreign_key(
    table: str, column: str, target: str, name: str
) -> tuple[ForeignKeyConstraint, ForeignKeyConstraint]:
    """``table.column`` points at a row of ``target``, an org-keyed table.

    On PostgreSQL the key carries the org, ``(org_id, column) -> target (org_id, id)``
    (named ``name``), as Citus requires between tables distributed by org. On
    SQLite, where ``target.id`` stays the rowid and the only key (an INTEGER PRIMARY
    KEY alone autoincrements), it is ``column -> target.id``, as the SQLite file has
    always had it. ``info["only_on"]`` tells the migrations' model check."""
    on_postgresql = ForeignKeyConstraint(
        ["org_id", column],
        [f"{target}.org_id", f"{target}.id"],
        name=name,
        info={"only_on": "postgresql"},
    )
    on_postgresql.ddl_if(dialect="postgresql")
    on_sqlite = ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", info={"only_on": "sqlite"}
    )
    on_sqlite.ddl_if(dialect="sqlite")
    return on_postgresql, on_sqlite


def sqlite_org_index(table: str) -> Index:
    """``(org_id, id)`` of ``table``, on SQLite only, where the primary key is the
    rowid alone and an org's rows need this index. On PostgreSQL the primary key
    ``(org_id, id)`` is this index already; a second copy would only cost every
    insert an index entry (bench/dbwork.py counts them)."""
    index = Index(f"ix_{table}_org_id_id", "org_id", "id", info={"only_on": "sqlite"})
    index.ddl_if(dialect="sqlite")
    return index
