"""Rows of every kind that retention prunes, with chosen ages, written as eventrail
writes them (audit refs through the database's triggers, which fill audit_kinds and
audit_counts)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from eventrail.db import Database

DAY_MS = 86_400_000


@dataclass
class Seeded:
    org_id: int
    logs: dict[str, int] = field(default_factory=dict)  # id -> age in days
    records: dict[str, int] = field(default_factory=dict)
    audits: dict[int, int] = field(default_factory=dict)


def now_ms() -> int:
    return int(time.time() * 1000)


def seed(
    db: Database,
    org_id: int,
    *,
    log_ages: list[int],
    record_ages: list[int],
    audit_ages: list[int],
    entity_id: int = 77,
) -> Seeded:
    now = now_ms()
    out = Seeded(org_id)
    with db.transaction() as session:
        for n, age in enumerate(log_ages):
            rid = str(uuid.uuid4())
            session.execute(
                sa.text(
                    "INSERT INTO event_logs (id, org_id, parent_org_id, webhook_id, start_time, "
                    "seq, response_time, status, event_name, input_request, message) VALUES "
                    "(:id, :org, -1, 'wh', :t, :seq, 1, NULL, 'Shop', '{}', 'refused')"
                ),
                {"id": rid, "org": org_id, "t": now - age * DAY_MS, "seq": n},
            )
            out.logs[rid] = age
        for n, age in enumerate(record_ages):
            rid = str(uuid.uuid4())
            session.execute(
                sa.text(
                    "INSERT INTO event_records (id, org_id, customer_id, event_name, created_at, "
                    "seq, source, attributes, psi_attributes, unique_id, is_duplicate) VALUES "
                    "(:id, :org, 5, 'Shop', :t, :seq, 'INSTORE', '{}', '[]', :u, :dup)"
                ),
                {
                    "id": rid,
                    "org": org_id,
                    "t": now - age * DAY_MS,
                    "seq": n,
                    "u": rid,
                    "dup": False,
                },
            )
            session.execute(
                sa.text(
                    "INSERT INTO event_unique_keys (org_id, unique_id, event_id) "
                    "VALUES (:org, :u, :id)"
                ),
                {"org": org_id, "u": rid, "id": rid},
            )
            out.records[rid] = age
        for age in audit_ages:
            t = now - age * DAY_MS
            entry_id = session.execute(
                sa.text(
                    "INSERT INTO audit_entries (org_id, entity_type, entity_id, request_id, "
                    "updated_by, updated_by_mode, auto_update_time, created_on, events) VALUES "
                    "(:org, 'CUSTOMER', :entity, 'r', 1, 'API', :t, :t, '[]') RETURNING id"
                ),
                {"org": org_id, "entity": entity_id, "t": t},
            ).scalar_one()
            for ref in ("Profile", "CustomField"):
                session.execute(
                    sa.text(
                        "INSERT INTO audit_refs (entry_id, org_id, entity_type, entity_id, "
                        "reference_type, updated_field) "
                        "VALUES (:e, :org, 'CUSTOMER', :entity, :ref, 'f')"
                    ),
                    {"e": entry_id, "org": org_id, "entity": entity_id, "ref": ref},
                )
            out.audits[int(entry_id)] = age
    return out


def seed_deliveries(
    db: Database, org_id: int, rows: list[tuple[int, str, int | None]]
) -> dict[str, tuple[int, str, int | None]]:
    """Notification deliveries: (age in days written, state, age in days ended or None),
    as the outbox holds them; id -> that triple."""
    now = now_ms()
    out: dict[str, tuple[int, str, int | None]] = {}
    with db.transaction() as session:
        for n, (age, state, ended_age) in enumerate(rows):
            rid = str(uuid.uuid4())
            created = now - age * DAY_MS
            ended = None if ended_age is None else now - ended_age * DAY_MS
            session.execute(
                sa.text(
                    "INSERT INTO notification_deliveries (org_id, id, webhook_id, event_id, "
                    "event_name, ref_id, request_id, source_org_id, seq, payload, state, "
                    "attempts, next_attempt_at, created_at, retry_from, started_at, ended_at, "
                    "sla_seconds, http_status, time_taken_ms) VALUES (:org, :id, 'hook', :id, "
                    "'customerUpdated', :ref, 'r', :org, :seq, '{}', :state, 1, :t, :t, :t, "
                    ":t, :ended, 60, 200, 5)"
                ),
                {
                    "org": org_id,
                    "id": rid,
                    "ref": f"{org_id}_{n}",
                    "seq": n,
                    "state": state,
                    "t": created,
                    "ended": ended,
                },
            )
            out[rid] = (age, state, ended_age)
    return out


def remaining(db: Database, org_id: int) -> dict[str, set[object]]:
    """What is left of the org's rows, and its unique keys."""
    q = {
        "logs": "SELECT id FROM event_logs WHERE org_id = :o",
        "records": "SELECT id FROM event_records WHERE org_id = :o",
        "keys": "SELECT event_id FROM event_unique_keys WHERE org_id = :o",
        "audits": "SELECT id FROM audit_entries WHERE org_id = :o",
        "refs": "SELECT DISTINCT entry_id FROM audit_refs WHERE org_id = :o",
        "kinds": "SELECT DISTINCT entry_id FROM audit_kinds WHERE org_id = :o",
        "deliveries": "SELECT id FROM notification_deliveries WHERE org_id = :o",
    }
    with db.transaction(write=False) as session:
        return {
            k: set(session.execute(sa.text(sql), {"o": org_id}).scalars()) for k, sql in q.items()
        }


def audit_counts_match(db: Database, org_id: int) -> None:
    """audit_counts says exactly what audit_entries and audit_kinds hold."""
    with db.transaction(write=False) as session:
        stored = {
            (int(e), str(r)): int(n)
            for e, r, n in session.execute(
                sa.text(
                    "SELECT entity_id, reference_type, entries FROM audit_counts "
                    "WHERE org_id = :o AND entries > 0"
                ),
                {"o": org_id},
            )
        }
        actual = {
            (int(e), ""): int(n)
            for e, n in session.execute(
                sa.text(
                    "SELECT entity_id, count(*) FROM audit_entries WHERE org_id = :o "
                    "GROUP BY entity_id"
                ),
                {"o": org_id},
            )
        }
        actual.update(
            {
                (int(e), str(r)): int(n)
                for e, r, n in session.execute(
                    sa.text(
                        "SELECT entity_id, reference_type, count(*) FROM audit_kinds "
                        "WHERE org_id = :o GROUP BY entity_id, reference_type"
                    ),
                    {"o": org_id},
                )
            }
        )
    assert stored == actual


def set_retention(db: Database, org_id: int, **days: int | None) -> None:
    with db.transaction() as session:
        for column, value in days.items():
            session.execute(
                sa.text(f"UPDATE orgs SET {column} = :v WHERE id = :o"), {"v": value, "o": org_id}
            )
