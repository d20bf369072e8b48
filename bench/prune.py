"""Pruning at scale: does a batch cost the same on a table of 1M rows as of 10M?

    python -m bench.prune [--scales 1000000,10000000] [--backends postgresql,sqlite]
                          [--batches 40] [--sqlite-max 1000000]

For each database and scale it migrates a fresh database, loads ``scale`` processing
log entries and ``scale / 4`` stored events (COPY on PostgreSQL, executemany on
SQLite) for 20 orgs over 400 days, analyses, then deletes the oldest rows of one
org the way the pruner does (eventrail.retention: one transaction per batch of
``EVENTRAIL_RETENTION_BATCH_ROWS`` rows, found by the (org_id, time) index) and
reports the milliseconds per batch (median, p95) and microseconds per deleted row.
The figures are in bench/README.md, "Pruning".
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from bench.run import SECRET, database
from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.retention.repository import EVENT_DATA, EVENT_LOGS, PruneRepository

ORGS = 20
DAYS = 400
DAY_MS = 86_400_000
BATCH = 500
_LOG = (
    "id, org_id, parent_org_id, webhook_id, start_time, seq, response_time, status, "
    "event_name, input_request, message"
)
_RECORD = (
    "id, org_id, customer_id, event_name, created_at, seq, source, attributes, "
    "psi_attributes, unique_id, is_duplicate"
)
_BODY = '{"event_name":"Purchase","customer":{"mobile":"9190000000"},"amount":12.5}'


def _logs(n: int, now: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for seq in range(n):
        yield (
            str(uuid.UUID(int=rng.getrandbits(128))),
            1 + seq % ORGS,
            -1,
            "wh",
            now - rng.randrange(DAYS * DAY_MS),
            seq,
            12,
            "EVENT_SUCCESS",
            "Purchase",
            _BODY,
            "Event processed successfully",
        )


def _records(n: int, now: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for seq in range(n):
        yield (
            str(uuid.UUID(int=rng.getrandbits(128))),
            1 + seq % ORGS,
            1 + rng.randrange(100_000),
            "Purchase",
            now - rng.randrange(DAYS * DAY_MS),
            seq,
            "INSTORE",
            '{"amount":12.5}',
            "[]",
            f"u{seq}",
            False,
        )


def load(url: str, scale: int, now: int) -> float:
    rng = random.Random(7)
    started = time.perf_counter()
    tables = (("event_logs", _LOG, _logs(scale, now, rng)),)
    tables += (("event_records", _RECORD, _records(scale // 4, now, rng)),)
    if url.startswith("postgresql"):
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO orgs (id, name, timezone, created_at, psi_masking_enabled, "
                "rate_limit_per_minute) SELECT g, 'org', 'UTC', 0, false, 1000 "
                f"FROM generate_series(1, {ORGS}) g"
            )
            for table, columns, rows in tables:
                with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE event_logs")
            conn.execute("VACUUM ANALYZE event_records")
    else:
        lite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=OFF")
        lite.execute("BEGIN")
        lite.executemany(
            "INSERT INTO orgs (id, name, timezone, created_at, psi_masking_enabled, "
            "rate_limit_per_minute) VALUES (?, 'org', 'UTC', 0, 0, 1000)",
            [(i,) for i in range(1, ORGS + 1)],
        )
        for table, columns, rows in tables:
            marks = ", ".join("?" * len(columns.split(",")))
            lite.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        lite.execute("COMMIT")
        lite.execute("ANALYZE")
        lite.close()
    return time.perf_counter() - started


def measure(db: Database, kind: str, batches: int, now: int) -> dict[str, float]:
    """Delete ``batches`` batches of org 1's oldest rows (older than 300 days)."""
    cutoff = now - 300 * DAY_MS
    times: list[float] = []
    deleted = 0
    for _ in range(batches):
        started = time.perf_counter()
        with db.transaction(write=True) as session:
            n = PruneRepository(session).delete_batch(kind, 1, cutoff, BATCH)
        times.append(time.perf_counter() - started)
        deleted += n
        if n < BATCH:
            break
    return {
        "batches": len(times),
        "rows": deleted,
        "batch_ms_median": round(statistics.median(times) * 1000, 2),
        "batch_ms_p95": round(sorted(times)[int(len(times) * 0.95) - 1] * 1000, 2),
        "us_per_row": round(sum(times) / max(deleted, 1) * 1e6, 1),
    }


def run(kind: str, scale: int, batches: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        settings = Settings(database_url=url, secret_key=SECRET)
        migrate(settings)
        now = int(time.time() * 1000)
        seconds = load(url, scale, now)
        db = Database(settings)
        try:
            result = {
                "backend": kind,
                "scale": scale,
                "load_s": round(seconds, 1),
                "event_logs": measure(db, EVENT_LOGS, batches, now),
                "event_records": measure(db, EVENT_DATA, batches, now),
            }
        finally:
            db.dispose()
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1000000,10000000")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--sqlite-max", dest="sqlite_max", type=int, default=1_000_000)
    args = parser.parse_args()
    for kind in args.backends.split(","):
        for scale in (int(s) for s in args.scales.split(",")):
            if kind == "sqlite" and scale > args.sqlite_max:
                continue
            run(kind, scale, args.batches)


if __name__ == "__main__":
    main()
