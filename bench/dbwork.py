"""What the database does for one event: rows and index entries written, WAL bytes.

``python -m bench.dbwork`` (about a minute) starts a real ``eventrail serve`` on a
fresh PostgreSQL database, posts the bench's event mix (90% valid, 10% refused
by validation; bench/run.py's bodies) to a plain webhook and to one with a unique
key, waits until every event is processed, and reads PostgreSQL's own counters
(``pg_stat_user_tables``, ``pg_stat_user_indexes``, the WAL position) before and
after. Divided by the events posted it prints, per table: rows inserted, updated
(HOT or not) and deleted, and the index entries those writes added; then WAL
bytes and the database's CPU per event.

The floor is what an event must leave behind: its log entry (every event) and its
stored record (the valid ones), with their indexes. Everything else in the table
is what eventrail adds (bench/README.md, "Database work per event").
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench import loader
from bench.run import (
    BIN,
    CpuClock,
    Progress,
    configure,
    database,
    env_for,
    provision,
    serve,
    write_bodies,
    wrk,
)

COUNTERS = "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables"
INDEXES = "SELECT tablename, count(*) FROM pg_indexes WHERE schemaname = 'public' GROUP BY 1"


def snapshot(url: str) -> tuple[dict[str, tuple[int, ...]], int]:
    """Every table's write counters and the WAL position (bytes)."""
    time.sleep(11)  # an idle backend flushes its counters after 10 s (PostgreSQL 15)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        tables = {row[0]: tuple(row[1:]) for row in conn.execute(COUNTERS)}
        wal = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
        return tables, int(wal[0]) if wal else 0


def index_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {name: int(n) for name, n in conn.execute(INDEXES)}


def per_event(
    before: dict[str, tuple[int, ...]],
    after: dict[str, tuple[int, ...]],
    indexes: dict[str, int],
    events: int,
) -> list[tuple[str, float, float, float, float, float]]:
    """Per table with writes: inserted, updated, of which HOT, deleted, and index
    entries added (an insert or a non-HOT update adds one to every index of the
    table; a HOT update and a delete add none), each per event."""
    out = []
    for table, now in sorted(after.items()):
        was = before.get(table, (0, 0, 0, 0))
        ins, upd, hot, dele = (a - b for a, b in zip(now, was, strict=True))
        if not (ins or upd or dele):
            continue
        entries = (ins + upd - hot) * indexes.get(table, 0)
        out.append(
            (
                table,
                ins / events,
                upd / events,
                hot / events,
                dele / events,
                entries / events,
            )
        )
    return out


def run(seconds: float, connections: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-dbwork-") as tmp,
        database("postgresql", Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = env_for(url, workdir)
        subprocess.run(
            [str(BIN / "eventrail"), "migrate"], env=env, check=True, capture_output=True
        )
        plain = provision(url, workdir, "Work", "w.till", admin=True)
        unique = provision(url, workdir, "Work unique", "wu.till", admin=True)
        loader.load_customers(url, plain.org_id)
        loader.load_customers(url, unique.org_id)
        write_bodies(workdir / "bodies.txt", orders=10**9, seed=1)
        write_bodies(workdir / "unique-bodies.txt", orders=10**9, seed=2)
        indexes = index_counts(url)
        command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "2"]
        with serve(command, env, "/openapi.json", workdir / "server.log") as server:
            configure(server.base, plain, unique=False)
            configure(server.base, unique, unique=True)
            progress = Progress(url, [plain.org_id, unique.org_id])
            clock = CpuClock(server.process.pid)
            for label, org, bodies in (
                ("plain", plain, "bodies.txt"),
                ("unique key", unique, "unique-bodies.txt"),
            ):
                counters, wal = snapshot(url)
                start_ms = int(time.time() * 1000)
                mark = clock.mark()
                wrk(
                    f"{server.base}/webhooks/{org.webhook}",
                    "post.lua",
                    [str(workdir / bodies)],
                    connections,
                    seconds,
                )
                progress.wait_drained(300)
                cpu = clock.since(mark)
                events = progress.logged_since(start_ms)
                counters_after, wal_after = snapshot(url)
                results[label] = {
                    "events": events,
                    "tables": per_event(counters, counters_after, indexes, events),
                    "wal_bytes": (wal_after - wal) / events,
                    "database_cpu_us": cpu["database"] / events * 1e6,
                    "server_cpu_us": cpu["server"] / events * 1e6,
                }
    return results


def report(results: dict[str, Any]) -> None:
    for label, figures in results.items():
        print(
            f"\n{label}: {figures['events']:,} events; per event: "
            f"{figures['wal_bytes']:,.0f} WAL bytes, "
            f"database CPU {figures['database_cpu_us']:.0f} µs, "
            f"server CPU {figures['server_cpu_us']:.0f} µs"
        )
        print(
            f"{'table':<28}{'inserted':>10}{'updated':>10}{'(HOT)':>8}"
            f"{'deleted':>10}{'index +':>10}"
        )
        totals = [0.0] * 5
        for table, *values in figures["tables"]:
            totals = [t + v for t, v in zip(totals, values, strict=True)]
            print(
                f"{table:<28}"
                + "".join(f"{v:>10.3f}" if i != 2 else f"{v:>8.3f}" for i, v in enumerate(values))
            )
        print(
            f"{'all':<28}"
            + "".join(f"{v:>10.3f}" if i != 2 else f"{v:>8.3f}" for i, v in enumerate(totals))
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="posting time per webhook")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    report(run(args.seconds, args.connections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
