"""All SQL of pruning. Every statement is scoped to one org and reads an index that
starts with (org_id, time), so a batch costs the rows it deletes, not the table's size
(bench/README.md, "Pruning"; tests/retention/test_prune_plans.py checks the plans)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.kit.sql import database_lock, delete_first, delete_text_pairs, in_list

# What is pruned: (table, its org's time column). Audit entries take their refs and
# audit_kinds rows with them; events take their unique keys.
EVENT_LOGS = "eventLogs"
EVENT_DATA = "eventData"
AUDIT = "audit"
NOTIFICATIONS = "notifications"
KINDS = (EVENT_LOGS, EVENT_DATA, AUDIT, NOTIFICATIONS)

# How each kind's expired rows are found: the same WHERE for counting and deleting.
# A notification delivery goes once it is finished (delivered, or failed and not
# redelivered since: a redelivery makes it pending again) and both written and
# finished before the cutoff; pending and in-flight ones are work to do and stay.
# The range on created_at reads the (org_id, created_at, seq) index; a delivery ends
# after it was written, so the ended_at test only filters that range.
_EXPIRED = {
    EVENT_LOGS: "FROM event_logs WHERE org_id = :org_id AND start_time < :cutoff",
    EVENT_DATA: "FROM event_records WHERE org_id = :org_id AND created_at < :cutoff",
    AUDIT: "FROM audit_entries WHERE org_id = :org_id AND created_on < :cutoff",
    NOTIFICATIONS: (
        "FROM notification_deliveries WHERE org_id = :org_id AND created_at < :cutoff "
        "AND state IN ('delivered', 'failed') AND ended_at < :cutoff"
    ),
}
_TABLES = {
    EVENT_LOGS: "event_logs",
    EVENT_DATA: "event_records",
    NOTIFICATIONS: "notification_deliveries",
}


def count_sql(kind: str) -> str:
    return f"SELECT count(*) {_EXPIRED[kind]}"


def batch_sql(session: Session, kind: str) -> str:
    """The statement that deletes (or, for the audit trail, selects) one batch."""
    if kind == AUDIT:
        return f"SELECT id {_EXPIRED[AUDIT]} ORDER BY created_on, id LIMIT :limit"
    table = _TABLES[kind]
    returning = ("id", "unique_id") if kind == EVENT_DATA else ()
    return delete_first(session, table, "org_id = :org_id", _EXPIRED[kind], returning=returning)


class PruneRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def expired(self, kind: str, org_id: int, cutoff: int) -> int:
        params = {"org_id": org_id, "cutoff": cutoff}
        return int(self.session.execute(sa.text(count_sql(kind)), params).scalar_one())

    def delete_batch(self, kind: str, org_id: int, cutoff: int, limit: int) -> int:
        """Delete up to ``limit`` expired rows of one kind of one org; how many went."""
        params = {"org_id": org_id, "cutoff": cutoff, "limit": limit}
        statement = sa.text(batch_sql(self.session, kind))
        if kind in (EVENT_LOGS, NOTIFICATIONS):
            result = self.session.execute(statement, params)
            return int(getattr(result, "rowcount", 0))
        if kind == EVENT_DATA:
            gone = [(str(i), str(u)) for i, u in self.session.execute(statement, params)]
            self._forget_unique_keys(org_id, gone)
            return len(gone)
        ids = [int(i) for i in self.session.execute(statement, params).scalars()]
        self._move_chain_start(org_id, ids)
        self._delete_entries(org_id, ids)
        return len(ids)

    def _move_chain_start(self, org_id: int, ids: list[int]) -> None:
        """The newest hash-chain link among the entries about to go becomes the
        chain's start (``audit_chain_heads.pruned_*``): ``eventrail audit verify``
        starts after it, so pruning is not reported as a deletion."""
        if not ids:
            return
        where, params = in_list(self.session, "id", "ids", ids)
        found = self.session.execute(
            sa.text(
                f"SELECT seq, row_hash FROM audit_entries WHERE org_id = :org_id AND {where} "
                "AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
            ),
            {"org_id": org_id, **params},
        ).first()
        if found is None:
            return
        self.session.execute(
            sa.text(
                "UPDATE audit_chain_heads SET pruned_seq = :seq, pruned_hash = :hash "
                "WHERE org_id = :org_id AND pruned_seq < :seq"
            ),
            {"org_id": org_id, "seq": found[0], "hash": found[1]},
        )

    def _forget_unique_keys(self, org_id: int, events: Sequence[tuple[str, str]]) -> None:
        """The unique keys that pointed at deleted events: a later event with that
        uniqueId is new again (its first one is gone)."""
        if not events:
            return
        sql, params = delete_text_pairs(
            self.session,
            "event_unique_keys",
            "org_id = :org_id",
            ("event_id", "unique_id"),
            "events",
            events,
        )
        self.session.execute(sa.text(sql), {"org_id": org_id, **params})

    def _delete_entries(self, org_id: int, ids: list[int]) -> None:
        """Audit entries with their refs and audit_kinds rows (the triggers lower
        audit_counts, and refuse any row the org's auditDays has not expired)."""
        if not ids:
            return
        for table, column in (
            ("audit_refs", "entry_id"),
            ("audit_kinds", "entry_id"),
            ("audit_entries", "id"),
        ):
            where, params = in_list(self.session, column, "ids", ids)
            sql = f"DELETE FROM {table} WHERE org_id = :org_id AND {where}"
            self.session.execute(sa.text(sql), {"org_id": org_id, **params})

    def orgs(self) -> list[tuple[int, int | None, int | None, int | None]]:
        sql = "SELECT id, event_logs_days, event_data_days, audit_days FROM orgs ORDER BY id"
        return [(row[0], row[1], row[2], row[3]) for row in self.session.execute(sa.text(sql))]


# One lock for every pruner of a database (PostgreSQL advisory lock).
_PRUNER_LOCK = 7285101453


def pruner_lock(engine: sa.Engine, *, wait: bool) -> AbstractContextManager[bool]:
    """True while this process is the database's one pruner (always on SQLite, where
    the write lock serialises batches); False when another holds it and not ``wait``."""
    return database_lock(engine, _PRUNER_LOCK, wait=wait)
