"""Bulk loading at scale: customers, stored events, log entries and audit entries.

Rows go straight into the tables (COPY on PostgreSQL, large executemany
transactions on SQLite), shaped as eventrail writes them, over 100,000
customers with a Zipf skew: the busiest customers have tens of thousands of
events and audit entries, most have a handful.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg

from eventrail.models.event_log_count import SLOT_MS

CUSTOMERS = 100_000
DAY_MS = 86_400_000
EVENT_NAMES = ("Purchase", "StoreVisit", "AppOpen")
STATUSES = (
    ("EVENT_SUCCESS", "Event processed successfully"),
    ("EVENT_SUCCESS", "Event processed successfully"),
    ("EVENT_SUCCESS", "Event processed successfully"),
    ("INVALID_EVENT_NAME", "Invalid event name Checkout"),
    ("EVENT_FIELD_VALIDATION_FAILED", "Invalid value for field amount: expected a number"),
    (
        "EMF_PROCESSOR_FAILED",
        "Error while processing emfEvent: customerId not present,cant proceed further",
    ),
)


@dataclass
class Loaded:
    org_id: int
    first_customer: int
    customer_count: int
    # customer ids by size class, for the read benchmarks
    sizes: dict[str, list[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    now_ms: int = 0


class Zipf:
    """Draws customer indexes 0..n-1 with probability proportional to 1/(k+1)^s."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        weights = [1.0 / (k + 1) ** s for k in range(n)]
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]
        self.rng = rng

    def draw(self) -> int:
        return bisect.bisect_left(self.cumulative, self.rng.random() * self.total)


class Writer:
    """Table writer for one database: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            self.pg = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        else:
            self.lite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.lite.execute("PRAGMA journal_mode=WAL")
            self.lite.execute("PRAGMA synchronous=OFF")
            self.lite.execute("PRAGMA cache_size=-262144")

    def write(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterator[tuple[Any, ...]],
        chunk: int = 50_000,
    ) -> int:
        total = 0
        if self.postgres:
            names = ", ".join(columns)
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= chunk:
                    total += self._copy(table, names, batch)
                    batch = []
            if batch:
                total += self._copy(table, names, batch)
            return total
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                total += self._insert(sql, batch)
                batch = []
        if batch:
            total += self._insert(sql, batch)
        return total

    def _copy(self, table: str, names: str, batch: list[tuple[Any, ...]]) -> int:
        with self.pg.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
        self.pg.commit()
        return len(batch)

    def _insert(self, sql: str, batch: list[tuple[Any, ...]]) -> int:
        self.lite.execute("BEGIN")
        self.lite.executemany(sql, batch)
        self.lite.execute("COMMIT")
        return len(batch)

    def scalar(self, sql: str) -> Any:
        if self.postgres:
            with self.pg.cursor() as cur:
                cur.execute(sql)
                row = cur.fetchone()
            self.pg.commit()
            return row[0] if row else None
        row = self.lite.execute(sql).fetchone()
        return row[0] if row else None

    def fix_sequences(self, tables: Sequence[str]) -> None:
        """Rows were loaded with explicit ids: move the sequences past them (PostgreSQL)."""
        if not self.postgres:
            return
        with self.pg.cursor() as cur:
            for table in tables:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        self.pg.commit()

    def analyze(self) -> None:
        if self.postgres:
            self.pg.autocommit = True
            with self.pg.cursor() as cur:
                cur.execute("VACUUM ANALYZE")
            self.pg.autocommit = False
        else:
            self.lite.execute("ANALYZE")

    def close(self) -> None:
        if self.postgres:
            self.pg.close()
        else:
            self.lite.close()


def _timed(loaded: Loaded, name: str, work: Callable[[], int]) -> None:
    start = time.monotonic()
    loaded.counts[name] = work()
    loaded.seconds[name] = time.monotonic() - start


def load_customers(url: str, org_id: int) -> int:
    """Only customers (with their mobile), e.g. for a second org; the first id."""
    writer = Writer(url)
    now = int(time.time() * 1000)
    try:
        first = int(writer.scalar("SELECT coalesce(max(id), 0) FROM customers") or 0) + 1
        ids = range(first, first + CUSTOMERS)
        writer.write(
            "customers",
            (
                "id",
                "org_id",
                "first_name",
                "last_name",
                "status",
                "loyalty_type",
                "source",
                "account_id",
                "created_at",
                "updated_at",
            ),
            (
                (cid, org_id, f"F{cid}", f"L{cid}", "ACTIVE", "loyalty", "INSTORE", "", now, now)
                for cid in ids
            ),
        )
        writer.write(
            "customer_identifiers",
            ("org_id", "customer_id", "source", "account_id", "type", "value", "created_at"),
            ((org_id, cid, "INSTORE", "", "mobile", mobile(cid - first), now) for cid in ids),
        )
        writer.fix_sequences(("customers",))
        writer.analyze()  # as autovacuum would, soon after a load this size
        return first
    finally:
        writer.close()


def load(url: str, org_id: int, till_id: int, scale: int, *, seed: int = 5) -> Loaded:
    """Load ``scale`` events, log entries and audit entries over CUSTOMERS customers."""
    rng = random.Random(seed)
    writer = Writer(url)
    now = int(time.time() * 1000)
    try:
        first = int(writer.scalar("SELECT coalesce(max(id), 0) FROM customers") or 0) + 1
        loaded = Loaded(org_id=org_id, first_customer=first, customer_count=CUSTOMERS, now_ms=now)
        ids = range(first, first + CUSTOMERS)
        _timed(
            loaded,
            "customers",
            lambda: writer.write(
                "customers",
                (
                    "id",
                    "org_id",
                    "first_name",
                    "last_name",
                    "status",
                    "loyalty_type",
                    "source",
                    "account_id",
                    "created_at",
                    "updated_at",
                ),
                (
                    (
                        cid,
                        org_id,
                        f"F{cid}",
                        f"L{cid}",
                        "ACTIVE",
                        "loyalty",
                        "INSTORE",
                        "",
                        now,
                        now,
                    )
                    for cid in ids
                ),
            ),
        )
        _timed(
            loaded,
            "customer_identifiers",
            lambda: writer.write(
                "customer_identifiers",
                ("org_id", "customer_id", "source", "account_id", "type", "value", "created_at"),
                ((org_id, cid, "INSTORE", "", "mobile", mobile(cid - first), now) for cid in ids),
            ),
        )
        zipf = Zipf(CUSTOMERS, 1.0, rng)
        owners = [first + zipf.draw() for _ in range(scale)]
        _timed(
            loaded,
            "event_records",
            lambda: writer.write(
                "event_records",
                (
                    "id",
                    "org_id",
                    "customer_id",
                    "event_name",
                    "created_at",
                    "seq",
                    "source",
                    "till_code",
                    "display_name",
                    "attributes",
                    "psi_attributes",
                    "unique_id",
                    "is_duplicate",
                ),
                _records(owners, org_id, till_id, now, rng, scale),
            ),
        )
        _timed(
            loaded,
            "event_logs",
            lambda: writer.write(
                "event_logs",
                (
                    "id",
                    "org_id",
                    "parent_org_id",
                    "webhook_id",
                    "start_time",
                    "seq",
                    "response_time",
                    "status",
                    "event_name",
                    "input_request",
                    "input_request_masked",
                    "message",
                ),
                _logs(org_id, now, rng, scale, first),
            ),
        )
        _timed(
            loaded,
            "event_log_counts",
            lambda: writer.write(
                "event_log_counts",
                (
                    "org_id",
                    "slot",
                    "webhook_id",
                    "event_name",
                    "status",
                    "message_hash",
                    "message",
                    "count",
                ),
                _log_counts(org_id, now, scale),
            ),
        )
        audit_owners = [first + zipf.draw() for _ in range(scale)]
        first_entry = int(writer.scalar("SELECT coalesce(max(id), 0) FROM audit_entries") or 0) + 1
        _timed(
            loaded,
            "audit_entries",
            lambda: writer.write(
                "audit_entries",
                (
                    "id",
                    "org_id",
                    "entity_type",
                    "entity_id",
                    "request_id",
                    "updated_by",
                    "till",
                    "store",
                    "user_context",
                    "victim_details",
                    "survivor_details",
                    "source",
                    "updated_by_mode",
                    "auto_update_time",
                    "created_on",
                    "events",
                ),
                _audits(audit_owners, org_id, till_id, now, first_entry),
            ),
        )
        _timed(
            loaded,
            "audit_refs",
            lambda: writer.write(
                "audit_refs",
                (
                    "entry_id",
                    "org_id",
                    "entity_type",
                    "entity_id",
                    "reference_type",
                    "updated_field",
                ),
                (
                    (first_entry + i, org_id, "CUSTOMER", owner, *_REFERENCES[i % len(_REFERENCES)])
                    for i, owner in enumerate(audit_owners)
                ),
            ),
        )
        writer.fix_sequences(("customers", "audit_entries"))
        start = time.monotonic()
        writer.analyze()
        loaded.seconds["analyze"] = time.monotonic() - start
        # size classes for the read benchmarks, by event count
        per_customer: dict[int, int] = {}
        for owner in owners:
            per_customer[owner] = per_customer.get(owner, 0) + 1
        ranked = sorted(per_customer.items(), key=lambda item: -item[1])
        loaded.sizes = {
            "largest": [cid for cid, _ in ranked[:3]],
            "median": [cid for cid, _ in ranked[len(ranked) // 2 : len(ranked) // 2 + 50]],
            "smallest": [cid for cid, _ in ranked[-50:]],
        }
        loaded.counts["largest_customer_events"] = ranked[0][1]
        return loaded
    finally:
        writer.close()


def mobile(index: int) -> str:
    return f"9190{index:08d}"


def _records(
    owners: list[int], org_id: int, till_id: int, now: int, rng: random.Random, scale: int
) -> Iterator[tuple[Any, ...]]:
    for i, owner in enumerate(owners):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = now - (scale - i) * 2000  # oldest first, 2 s apart
        name = EVENT_NAMES[i % 3]
        attributes = {
            "accountId": None,
            "amount": f"{(i % 500) + 0.5}",
            "autoUpdateTimeStamp": at,
            "customerId": str(owner),
            "displayName": None,
            "eventDateTime": str(at // 1000 * 1000),
            "eventName": name,
            "isDuplicate": False,
            "is_mongo_push": True,
            "orgId": org_id,
            "requestId": rid,
            "source": "INSTORE",
            "source_till_id": till_id,
            "source_user_id": owner,
            "uniqueId": rid,
            "x-cap-lineage-id": rid,
            "x-cap-lineage-start": str(at - 5),
        }
        yield (
            rid,
            org_id,
            owner,
            name,
            at,
            i,
            "INSTORE",
            "b.till",
            None,
            orjson.dumps(attributes).decode(),
            "[]",
            rid,
            False,
        )


def _logs(
    org_id: int, now: int, rng: random.Random, scale: int, first: int
) -> Iterator[tuple[Any, ...]]:
    for i in range(scale):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status, message = STATUSES[i % len(STATUSES)]
        name = EVENT_NAMES[i % 3]
        body = orjson.dumps(
            {"event_name": name, "customer": mobile(i % CUSTOMERS), "amount": i % 500}
        ).decode()
        yield (
            rid,
            org_id,
            -1,
            "0" * 32,
            now - (scale - i) * 2000,
            i,
            3,
            status,
            name,
            body,
            None,
            message,
        )


def _log_counts(org_id: int, now: int, scale: int) -> Iterator[tuple[Any, ...]]:
    """The outcome rollup of the entries ``_logs`` writes (the processors keep it as they
    write entries; a bulk load writes both)."""
    counts: dict[tuple[int, str, int], int] = {}
    for i in range(scale):
        slot = (now - (scale - i) * 2000) // SLOT_MS * SLOT_MS
        key = (slot, EVENT_NAMES[i % 3], i % len(STATUSES))
        counts[key] = counts.get(key, 0) + 1
    for (slot, name, status_index), count in counts.items():
        status, message = STATUSES[status_index]
        digest = hashlib.md5(message.encode(), usedforsecurity=False).hexdigest()
        yield (org_id, slot, "0" * 32, name, status, digest, message, count)


_REFERENCES = (
    ("Identifier", "mobile"),
    ("StandardField", "LastName"),
    ("CommChannel", "ios"),
    ("CustomerStatus", "CustomerStatus"),
)
_EVENT_TYPES = {
    "Identifier": "Identifiers",
    "StandardField": "Standard Fields",
    "CommChannel": "Communication Channels",
    "CustomerStatus": "Customer Status",
}


def _audits(
    owners: list[int], org_id: int, till_id: int, now: int, first_entry: int
) -> Iterator[tuple[Any, ...]]:
    till = orjson.dumps({"code": "b.till", "name": "b.till", "id": till_id}).decode()
    n = len(owners)
    for i, owner in enumerate(owners):
        reference, updated = _REFERENCES[i % len(_REFERENCES)]
        event = {
            "referenceType": reference,
            "eventType": _EVENT_TYPES[reference],
            "updatedField": updated,
            "additionalFields": {"previousValue": f"v{i}", "currentValue": f"v{i + 1}"},
            "associateEntities": None,
            "psi": reference != "CustomerStatus",
        }
        at = now - (n - i) * 2000
        yield (
            first_entry + i,
            org_id,
            "CUSTOMER",
            owner,
            uuid.uuid4().hex,
            till_id,
            till,
            None,
            None,
            None,
            None,
            "INSTORE",
            "API",
            at,
            at + 3,
            orjson.dumps([event]).decode(),
        )
