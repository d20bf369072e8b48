"""The benchmark harness: eventrail against its ceilings, in one run, on one machine.

    python -m bench.run [--scale N] [--quick] [--backends sqlite,postgresql] [--soak S]

For each database it loads data at scale, starts a real ``eventrail serve``
(two workers, the production settings), drives it with wrk from a separate
process, and measures in the same run the ceilings: a bare ASGI app on the
same server stack (uvicorn, uvloop, httptools) for a trivial GET and POST, the
database's own batched insert rate for the rows ingestion writes, and the
database's own time for the read queries. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from bench import loader
from eventrail.kit.fastdb import pyformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK_DIR = ROOT / "bench" / "wrk"
ADMIN_URL = os.environ.get(
    "EVENTRAIL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench-pass"
SECRET = "bench-secret-key-0123456789-0123456789-0123"


# -- processes -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_rss(pgid: int) -> int:
    """Resident memory (bytes) of every process in a process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    rss: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        while not self._stop.wait(1.0):
            self.rss.append((time.monotonic(), _group_rss(self.process.pid)))


@contextmanager
def serve(command: list[str], env: dict[str, str], ready_path: str, log: Path) -> Iterator[Server]:
    port = free_port()
    handle = log.open("w")
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 180  # a loaded machine takes half a minute
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                httpx.get(server.base + ready_path, timeout=1)
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready: {log.read_text()[-2000:]}") from exc
                time.sleep(0.2)
        sampler = threading.Thread(target=server.sample, daemon=True)
        sampler.start()
        yield server
    finally:
        server._stop.set()
        with contextlib.suppress(ProcessLookupError):  # already killed
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        handle.close()


def ensure_tool(command: str, package: str | None = None) -> str:
    """The path of ``command``, its Debian package (``package``, else the command's
    name) installed with apt-get first when it is missing. Daemons such as haproxy
    live in /usr/sbin, which is not on every user's PATH: it is searched too."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])
    found = shutil.which(command, path=search)
    if found:
        return found
    package = package or command
    print(f"installing {package} (Debian package)...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, capture_output=True)
    found = shutil.which(command, path=search)
    if not found:
        raise SystemExit(f"{command} is needed and could not be installed")
    return found


def ensure_wrk() -> str:
    return ensure_tool("wrk")


def backend_database(title: str) -> str | None:
    """The database of a PostgreSQL backend, read from its process title (``postgres:
    [cluster:] user database host(port) state``); None for the cluster's own
    processes (the postmaster, the checkpointer, the WAL writer, ...)."""
    parts = title.split()
    for i in range(3, len(parts)):
        if parts[i] == "[local]" or re.fullmatch(r"\S*\(\d+\)", parts[i]):
            return parts[i - 1]
    return None


class CpuClock:
    """CPU time (user + system, all threads) of the server's process group and of the
    database's processes (``postgres`` ones; SQLite runs inside the server), read
    from /proc; the load generator's comes from its rusage as a child.

    Given ``database``, the backends serving other databases of the same cluster
    (other work on a shared machine) are left out; the cluster's own processes
    still count."""

    _HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self, server_pgid: int, database: str | None = None) -> None:
        self.server_pgid = server_pgid
        self.database = database

    def _other_database(self, entry: Path) -> bool:
        if self.database is None:
            return False
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return True  # gone
        found = backend_database(title)
        return found is not None and found != self.database

    def snapshot(self) -> dict[tuple[int, str], float]:
        ticks: dict[tuple[int, str], float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.server_pgid:
                kind = "server"
            elif comm.startswith("postgres") and not self._other_database(entry):
                kind = "database"
            else:
                continue
            ticks[(int(entry.name), kind)] = (int(fields[11]) + int(fields[12])) / self._HZ
        return ticks

    @staticmethod
    def spent(
        before: dict[tuple[int, str], float], after: dict[tuple[int, str], float]
    ) -> dict[str, float]:
        """CPU seconds per kind between two snapshots."""
        total = {"server": 0.0, "database": 0.0}
        for key, seconds in after.items():
            total[key[1]] += seconds - before.get(key, 0.0)
        return total

    def mark(self) -> CpuMark:
        return self.snapshot(), _children_cpu()

    def since(self, mark: CpuMark) -> dict[str, float]:
        """CPU seconds per kind since ``mark``, the load generator's (the children
        waited for meanwhile) included."""
        before, children = mark
        return {**self.spent(before, self.snapshot()), "load generator": _children_cpu() - children}


CpuMark = tuple[dict[tuple[int, str], float], float]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_request(cpu: dict[str, float], count: int, seconds: float) -> dict[str, Any]:
    """CPU microseconds per request (or event) and cores used, by process kind."""
    return {
        "us": {kind: spent / max(count, 1) * 1e6 for kind, spent in cpu.items()},
        "cores": {kind: spent / seconds for kind, spent in cpu.items()},
    }


def wrk(
    url: str,
    script: str,
    args: list[str],
    connections: int,
    seconds: float,
    clock: CpuClock | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Run wrk (2 threads) and return its figures: rps, ok/s, p50/p99 in ms, and with
    a clock the CPU each process kind spent per request. wrk leaves an answer slower
    than ``timeout`` out of its percentiles and counts it in ``timeouts`` (as it does
    every 2 s for a request still unanswered)."""
    threads = min(2, connections)
    mark = clock.mark() if clock else None
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, int(seconds))}s",
            "--timeout",
            f"{max(1, int(timeout))}s",
            "-s",
            str(WRK_DIR / script),
            url,
            "--",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    duration = raw["duration_us"] / 1e6
    errors = raw["non2xx"] + raw["connect_errors"] + raw["read_errors"] + raw["timeouts"]
    figures = {
        "rps": raw["requests"] / duration,
        "ok_per_s": (raw["requests"] - raw["non2xx"]) / duration,
        "requests": raw["requests"],
        "errors": errors,
        "timeouts": raw["timeouts"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "seconds": duration,
    }
    if clock is not None and mark is not None:
        figures["cpu"] = per_request(clock.since(mark), raw["requests"], duration)
    return figures


# -- databases ---------------------------------------------------------------------
@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"eventrail_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def env_for(url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTRAIL_")}
    env.update(
        EVENTRAIL_DATABASE_URL=url,
        EVENTRAIL_DATA_DIR=str(workdir),
        EVENTRAIL_SECRET_KEY=SECRET,
        EVENTRAIL_LOG_LEVEL="warning",
    )
    return env


PURCHASE = {
    "eventName": "Purchase",
    "actions": ["EIConsumer"],
    "fields": [
        {
            "name": "customer",
            "type": "customer",
            "attributes": {"identifierType": {"value": "mobile"}},
        },
        {"name": "amount", "type": "double", "attributes": {"isRequired": True}},
        {"name": "orderId", "type": "string", "attributes": {"isUniqueKeyField": True}},
        {"name": "channel", "type": "enum", "attributes": {"possibleValues": "app,web,pos"}},
    ],
}


@dataclass
class Org:
    org_id: int
    till_id: int
    till: str
    webhook: str = ""
    first_customer: int = 0


def provision(
    url: str,
    workdir: Path,
    name: str,
    till: str,
    *,
    rate_limit: int | None = 10_000_000,
    admin: bool = False,
) -> Org:
    """An org and its till. ``rate_limit`` None keeps the org's default; ``admin``
    gives the till the administrative permission where the code has one."""
    sys.path.insert(0, str(ROOT / "src"))
    from eventrail.auth.service import create_till
    from eventrail.config import Settings
    from eventrail.db import Database
    from eventrail.orgs.service import create_org

    db = Database(Settings(database_url=url, data_dir=workdir, secret_key=SECRET))
    try:
        with db.transaction() as session:
            org = create_org(session, name=name)
            if rate_limit is not None:  # the benchmark measures speed, not limits
                org.rate_limit_per_minute = rate_limit
            created = create_till(session, org_id=org.id, code=till, password=PASSWORD, admin=admin)
            return Org(org.id, created.id, till)
    finally:
        db.dispose()


def configure(base: str, org: Org, *, unique: bool) -> None:
    with httpx.Client(base_url=base, auth=(org.till, PASSWORD), timeout=30) as api:
        r = api.post("/v2/events", json=PURCHASE)
        r.raise_for_status()
        r = api.post(
            "/v2/events/webhook",
            json={
                "transformerType": "defaultTransformer",
                "tillCode": org.till,
                "uniquenessCheckEnabled": unique,
            },
        )
        r.raise_for_status()
        org.webhook = r.json()["webHookId"]


def write_bodies(path: Path, *, orders: int, seed: int) -> int:
    """Event bodies, ~400 bytes: 90% valid, 10% invalid (bad amount, unknown event,
    unknown customer); order ids drawn from ``orders`` values (repeats are duplicates
    where uniqueness is on)."""
    rng = random.Random(seed)
    size = 0
    with path.open("w") as out:
        for i in range(20_000):
            kind = i % 10
            body: dict[str, Any] = {
                "event_name": "Purchase",
                "customer": loader.mobile(rng.randrange(loader.CUSTOMERS)),
                "amount": round(rng.uniform(1, 500), 2),
                "orderId": f"O-{rng.randrange(orders)}",
                "channel": rng.choice(["app", "web", "pos"]),
                "note": "x" * 250,
            }
            if kind == 7:
                body["amount"] = "lots"
            elif kind == 8:
                body["event_name"] = "Checkout"
            elif kind == 9:
                body["customer"] = "919999999999"
            line = orjson.dumps(body).decode()
            size = max(size, len(line))
            out.write(line + "\n")
    return size


# -- the database's own figures -------------------------------------------------------
def capture_queries(org_id: int, reads: dict[str, list[str]]) -> dict[str, list[tuple[str, Any]]]:
    """The SQL each read API runs for its first path (``:name`` parameters), built by
    the same functions the API uses."""
    from eventrail.audit.repository import AuditQuery, audit_queries
    from eventrail.kit.dates import UTC, parse_date_range
    from eventrail.models.event_log_count import SLOT_MS
    from eventrail.processing.repository import (
        logs_query,
        outcome_counts_query,
        records_query,
        slot_counts_query,
    )
    from eventrail.processing.search_repository import SearchFilter, search_query

    captured: dict[str, list[tuple[str, Any]]] = {}
    for name, paths in reads.items():
        path = paths[0]
        query = (
            dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))
            if "?" in path
            else {}
        )
        if name.startswith("search"):
            start, end = parse_date_range(
                query.get("fromDate"),
                query.get("tillDate"),
                start_name="fromDate",
                end_name="tillDate",
                tz=UTC,
            )
            value = query.get("userIdentifierValue")
            sql, params = search_query(
                SearchFilter(
                    [org_id],
                    customer_ids=[int(value)] if value is not None else None,
                    event_name=query.get("eventName"),
                    start_ms=start,
                    end_ms=end,
                ),
                ascending=False,
                limit=10,
                offset=0,
            )
            captured[name] = [(sql, params)]
        elif name.startswith("event_data"):
            customer = int(path.split("/")[4].split("?")[0])
            sql, params = records_query(
                [org_id],
                customer,
                event_name=None,
                start_ms=None,
                end_ms=None,
                limit=int(query.get("limit", 1000)),
            )
            captured[name] = [(sql, params)]
        elif name.startswith("logs summary"):
            start, end = parse_date_range(
                query["from_date"],
                query["to_date"],
                start_name="from_date",
                end_name="to_date",
                tz=UTC,
            )
            assert start is not None
            assert end is not None
            lo, hi = start // SLOT_MS * SLOT_MS, end // SLOT_MS * SLOT_MS
            captured[name] = [
                build(org_id, lo, hi, event_name=None, webhook_id=None)
                for build in (slot_counts_query, outcome_counts_query)
            ]
        elif name.startswith("logs"):
            start, end = parse_date_range(
                query.get("from_date"),
                query.get("to_date"),
                start_name="from_date",
                end_name="to_date",
                tz=UTC,
            )
            sql, params = logs_query(
                org_id,
                event_name=query.get("event_name"),
                status=query.get("status"),
                start_ms=start,
                end_ms=end,
                limit=int(query.get("limit", 10)),
                offset=0,
            )
            captured[name] = [(sql, params)]
        else:
            limit = int(query.get("limit", 10))
            count_sql, page_sql, params = audit_queries(
                AuditQuery(
                    org_id=org_id,
                    entity_type="CUSTOMER",
                    entity_id=int(query["entityId"]),
                    reference_type=query.get("referenceType"),
                    limit=limit,
                    offset=int(query.get("pageNo", 0)) * limit,
                )
            )
            captured[name] = [(count_sql, params), (page_sql, params)]
    return captured


def time_queries(url: str, statements: list[tuple[str, Any]], seconds: float) -> dict[str, float]:
    """p50/p99 (ms) of running these statements (one API request's worth) directly."""
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                for statement, params in statements:
                    conn.execute(statement, params).fetchall()
                samples.append(time.perf_counter() - start)
        finally:
            conn.close()
    else:
        with psycopg.connect(url, prepare_threshold=0) as conn:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                for statement, params in statements:
                    conn.execute(pyformat(statement), params).fetchall()
                samples.append(time.perf_counter() - start)
                conn.rollback()
    samples.sort()
    return {
        "p50_ms": samples[len(samples) // 2] * 1000,
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
        "qps": len(samples) / seconds,
    }


def insert_ceiling(url: str, rows: int, body_size: int) -> float:
    """The database's own batched insert rate (rows/s) for the rows ingestion writes,
    in transactions of 1000, into a scratch copy of the ingest table."""
    body = "x" * body_size
    now = int(time.time() * 1000)
    data = [(str(uuid.uuid4()), 1, "0" * 32, now, body, 0, None) for _ in range(rows)]
    columns = "(request_id, org_id, webhook_id, received_at, body, verdict, detail)"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE bench_ingest AS SELECT * FROM ingest_requests WHERE 0")
        conn.execute("CREATE UNIQUE INDEX bench_ingest_rid ON bench_ingest (request_id)")
        start = time.perf_counter()
        for i in range(0, rows, 1000):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT INTO bench_ingest {columns} VALUES (?,?,?,?,?,?,?)", data[i : i + 1000]
            )
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_ingest")
        conn.close()
        return rows / elapsed
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_ingest (LIKE ingest_requests INCLUDING ALL)")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(0, rows, 1000):
                cur.executemany(
                    f"INSERT INTO bench_ingest {columns} VALUES (%s,%s,%s,%s,%s,%s,%s)",
                    data[i : i + 1000],
                )
                conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_ingest")
        conn.commit()
    return rows / elapsed


# -- progress of processing ------------------------------------------------------------
class Progress:
    """Queue length and log entries written since a moment, read straight from the DB."""

    def __init__(self, url: str, org_ids: list[int]) -> None:
        self.url = url
        self.org_ids = org_ids
        if url.startswith("sqlite"):
            self.lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        else:
            self.pg = psycopg.connect(url, autocommit=True)

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        if self.url.startswith("sqlite"):
            return int(self.lite.execute(sql.replace("%s", "?"), params).fetchone()[0])
        return int(self.pg.execute(sql, params).fetchone()[0])  # type: ignore[index]

    def queued(self) -> int:
        return self._one("SELECT count(*) FROM ingest_requests")

    def logged_since(self, ms: int) -> int:
        return sum(
            self._one(
                "SELECT count(*) FROM event_logs WHERE org_id = %s AND start_time >= %s", (org, ms)
            )
            for org in self.org_ids
        )

    def delete_queued(self, org_id: int) -> int:
        """Delete an org's queued requests (what an operator does by hand); how many."""
        sql = "DELETE FROM ingest_requests WHERE org_id = %s"
        if self.url.startswith("sqlite"):
            with self.lite:
                return self.lite.execute(sql.replace("%s", "?"), (org_id,)).rowcount
        return self.pg.execute(sql, (org_id,)).rowcount

    def close(self) -> None:
        if self.url.startswith("sqlite"):
            self.lite.close()
        else:
            self.pg.close()

    def wait_drained(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queued() == 0:
                return time.monotonic()
            time.sleep(0.1)
        raise RuntimeError("the processors did not catch up in time")


# -- one database -----------------------------------------------------------------------
def bench_backend(kind: str, scale: int, quick: bool, soak: float, results: dict[str, Any]) -> None:
    # quick: 2 s windows (tens of thousands of requests each) and a 10 s burst,
    # so that make bench-quick on both databases stays under three minutes
    seconds = 2.0 if quick else 10.0
    burst = 10.0 if quick else 60.0
    out: dict[str, Any] = {"scale": scale}
    results[kind] = out
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-bench-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = env_for(url, workdir)
        subprocess.run(
            [str(BIN / "eventrail"), "migrate"], env=env, check=True, capture_output=True
        )
        plain = provision(url, workdir, "Bench", "b.till", admin=True)
        unique = provision(url, workdir, "Bench unique", "u.till", admin=True)
        print(f"[{kind}] loading {scale:,} events, log entries and audit entries...", flush=True)
        loaded = loader.load(url, plain.org_id, plain.till_id, scale)
        unique.first_customer = loader.load_customers(url, unique.org_id)
        out["load_seconds"] = loaded.seconds
        out["largest_customer_events"] = loaded.counts["largest_customer_events"]
        body_size = write_bodies(workdir / "bodies.txt", orders=10**9, seed=1)
        write_bodies(workdir / "unique-bodies.txt", orders=2000, seed=2)
        auth = "Basic " + __import__("base64").b64encode(f"b.till:{PASSWORD}".encode()).decode()
        mid_day = time.strftime("%Y-%m-%d", time.gmtime((loaded.now_ms - scale * 1000) / 1000))
        reads = {
            "event_data (largest customers)": [
                f"/v2/events/event_data/{c}?limit=50" for c in loaded.sizes["largest"]
            ],
            "event_data (median customers)": [
                f"/v2/events/event_data/{c}?limit=50" for c in loaded.sizes["median"]
            ],
            "event_data (smallest customers)": [
                f"/v2/events/event_data/{c}?limit=50" for c in loaded.sizes["smallest"]
            ],
            "search (largest customers, by userId)": [
                f"/v2/events/search?userIdentifierType=userId&userIdentifierValue={c}"
                for c in loaded.sizes["largest"]
            ],
            "search (event name, one day)": [
                f"/v2/events/search?eventName=StoreVisit&fromDate={mid_day}&tillDate={mid_day}"
            ],
            "search (no filter)": ["/v2/events/search"],
            "logs (no filter)": ["/v2/events/logs"],
            "logs (event_name)": ["/v2/events/logs?event_name=StoreVisit"],
            "logs (status)": ["/v2/events/logs?status=EMF_PROCESSOR_FAILED"],
            "logs (one day)": [f"/v2/events/logs?from_date={mid_day}&to_date={mid_day}"],
            "logs summary (one day, by hour)": [
                f"/v2/events/logs/summary?from_date={mid_day}&to_date={mid_day}&bucket=hour"
            ],
            "audits (largest customer)": [
                f"/api_gateway/v2/audits?entityType=CUSTOMER&entityId={c}"
                for c in loaded.sizes["largest"]
            ],
            "audits (referenceType)": [
                f"/api_gateway/v2/audits?entityType=CUSTOMER&entityId={c}&referenceType=Identifier"
                for c in loaded.sizes["largest"]
            ],
            "audits (deep page)": [
                f"/api_gateway/v2/audits?entityType=CUSTOMER&entityId={c}&pageNo=150"
                for c in loaded.sizes["largest"]
            ],
        }
        print(f"[{kind}] the database's own figures...", flush=True)
        captured = capture_queries(plain.org_id, reads)
        out["db_reads"] = {
            name: time_queries(url, captured[name], 1.0 if quick else 5.0) for name in reads
        }
        out["db_insert_rows_per_s"] = insert_ceiling(url, 20_000, body_size)
        command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "2"]
        with serve(command, env, "/openapi.json", workdir / "server.log") as server:
            configure(server.base, plain, unique=False)
            configure(server.base, unique, unique=True)
            progress = Progress(url, [plain.org_id, unique.org_id])
            clock = CpuClock(server.process.pid)
            print(f"[{kind}] reads at 16 connections...", flush=True)
            out["reads"] = {}
            for name, paths in reads.items():
                paths_file = workdir / "paths.txt"
                paths_file.write_text("\n".join(paths) + "\n")
                out["reads"][name] = wrk(
                    server.base, "get.lua", [str(paths_file), auth], 16, seconds, clock
                )
            print(f"[{kind}] ingestion...", flush=True)
            out["ingest"] = {}
            for label, org, bodies, connections in (
                *(("plain", plain, "bodies.txt", c) for c in (1, 16, 64, 256)),
                ("unique", unique, "unique-bodies.txt", 64),
            ):
                start_ms = int(time.time() * 1000)
                started = time.monotonic()
                mark = clock.mark()
                figures = wrk(
                    f"{server.base}/webhooks/{org.webhook}",
                    "post.lua",
                    [str(workdir / bodies)],
                    connections,
                    seconds,
                )
                drained = progress.wait_drained(300)
                processed = progress.logged_since(start_ms)
                figures["processed_per_s"] = processed / (drained - started)
                figures["processed"] = processed
                # the whole life of the events: acknowledged, then processed
                figures["cpu"] = per_request(clock.since(mark), processed, drained - started)
                out["ingest"][f"{label}@{connections}"] = figures
            print(f"[{kind}] a {burst:.0f} s burst at 64 connections...", flush=True)
            start_ms = int(time.time() * 1000)
            figures = wrk(
                f"{server.base}/webhooks/{plain.webhook}",
                "post.lua",
                [str(workdir / "bodies.txt")],
                64,
                burst,
            )
            figures["backlog_at_end"] = progress.queued()
            figures["processed_during_burst_per_s"] = (
                progress.logged_since(start_ms) / figures["seconds"]
            )
            drained = progress.wait_drained(600)
            out["burst"] = figures
            if soak > 0:
                print(f"[{kind}] memory over a {soak:.0f} s burst...", flush=True)
                soak_start = time.monotonic()
                wrk(
                    f"{server.base}/webhooks/{plain.webhook}",
                    "post.lua",
                    [str(workdir / "bodies.txt")],
                    16,
                    soak,
                )
                progress.wait_drained(600)
                samples = [(t - soak_start, rss) for t, rss in server.rss if t >= soak_start]
                warm = [rss for t, rss in samples if 60 <= t <= 120] or [samples[0][1]]
                late = [rss for t, rss in samples if t >= soak - 60] or [samples[-1][1]]
                out["soak"] = {
                    "seconds": soak,
                    "rss_after_warmup_mb": statistics.median(warm) / 2**20,
                    "rss_at_end_mb": statistics.median(late) / 2**20,
                    "growth": statistics.median(late) / statistics.median(warm) - 1,
                }
            out["peak_rss_mb"] = max(rss for _, rss in server.rss) / 2**20 if server.rss else 0.0


def ceilings(seconds: float, body_file: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        str(BIN / "uvicorn"),
        "bench.ceiling_app:app",
        "--host",
        "127.0.0.1",
        "--workers",
        "2",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(command, env, "/", Path(tmp) / "ceiling.log") as server,
    ):
        paths = Path(tmp) / "paths.txt"
        paths.write_text("/\n")
        clock = CpuClock(server.process.pid)
        return {
            "get@16": wrk(server.base, "get.lua", [str(paths), ""], 16, seconds, clock),
            "post@64": wrk(server.base, "post.lua", [str(body_file)], 64, seconds, clock),
        }


# -- the report ---------------------------------------------------------------------
def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(figure, value, ceiling, ratio, target) lines of the report."""
    ceiling = results["ceilings"]
    get_rps, post_rps = ceiling["get@16"]["rps"], ceiling["post@64"]["rps"]
    table: list[tuple[str, str, str, str, str]] = [
        ("ceiling: trivial GET @16 (req/s)", f"{get_rps:,.0f}", "", "", ""),
        ("ceiling: trivial POST @64 (req/s)", f"{post_rps:,.0f}", "", "", ""),
    ]
    for kind in ("postgresql", "sqlite"):
        out = results.get(kind)
        if not out:
            continue
        target = 0.4 if kind == "postgresql" else 0.3
        for key, figures in out["ingest"].items():
            ratio = figures["ok_per_s"] / post_rps
            table.append(
                (
                    f"[{kind}] acknowledged ev/s {key}",
                    f"{figures['ok_per_s']:,.0f} "
                    f"(p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms)",
                    f"{post_rps:,.0f}",
                    f"{ratio:.2f}",
                    f">= {target}" if key == "plain@64" else "",
                )
            )
            table.append(
                (
                    f"[{kind}] processed ev/s {key}",
                    f"{figures['processed_per_s']:,.0f}",
                    f"{out['db_insert_rows_per_s']:,.0f} (db inserts)",
                    f"{figures['processed_per_s'] / out['db_insert_rows_per_s']:.2f}",
                    "",
                )
            )
        burst = out["burst"]
        table.append(
            (
                f"[{kind}] burst: processed / acknowledged ev/s",
                f"{burst['processed_during_burst_per_s']:,.0f} / {burst['ok_per_s']:,.0f} "
                f"(backlog {burst['backlog_at_end']})",
                "",
                f"{burst['processed_during_burst_per_s'] / burst['ok_per_s']:.2f}",
                ">= 1.0" + (", >= 10,000 ev/s" if kind == "postgresql" else ""),
            )
        )
        for name, figures in out["reads"].items():
            own = out["db_reads"][name]
            table.append(
                (
                    f"[{kind}] {name} req/s @16",
                    f"{figures['ok_per_s']:,.0f} (p99 {figures['p99_ms']:.1f} ms)",
                    f"{get_rps:,.0f}",
                    f"{figures['ok_per_s'] / get_rps:.2f}",
                    ">= 0.3",
                )
            )
            table.append(
                (
                    f"[{kind}] {name} p99 vs the db's own p99",
                    f"{figures['p99_ms']:.2f} ms",
                    f"{own['p99_ms']:.2f} ms",
                    f"{figures['p99_ms'] / own['p99_ms']:.1f}x",
                    "<= 3x",
                )
            )
        if "soak" in out:
            soak = out["soak"]
            table.append(
                (
                    f"[{kind}] RSS growth over {soak['seconds']:.0f} s",
                    f"{soak['rss_after_warmup_mb']:.0f} -> {soak['rss_at_end_mb']:.0f} MB",
                    "",
                    f"{soak['growth'] * 100:+.1f}%",
                    "<= +10%",
                )
            )
        table.append(
            (f"[{kind}] peak RSS of the server (MB)", f"{out['peak_rss_mb']:.0f}", "", "", "")
        )
    return table


def _bare_us(figures: dict[str, Any]) -> float:
    """CPU per request of the bare stack: its server and the load generator."""
    us = figures["cpu"]["us"]
    return float(us["server"] + us["load generator"])


def cpu_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """Where the CPU went, per request (or per event, over its whole life), and the
    ratio a server that added nothing to the bare stack could reach with the
    database's CPU of the same request: bare / (bare + database)."""
    ceiling = results["ceilings"]
    if "cpu" not in ceiling["get@16"]:
        return []
    table: list[tuple[str, ...]] = []

    def line(
        figure: str, cpu: dict[str, Any], db_us: float | None, bare: float, own: bool = False
    ) -> None:
        """``own``: ``db_us`` is the database's own time for the query, not CPU
        measured during the run (SQLite), and is shown in brackets."""
        us, cores = cpu["us"], cpu["cores"]
        bound = f"{bare / (bare + db_us):.2f}" if db_us is not None else ""
        table.append(
            (
                figure,
                f"{us['server']:,.0f}",
                f"({db_us:,.0f})" if own and db_us is not None else f"{us['database']:,.0f}",
                f"{us['load generator']:,.0f}",
                f"{sum(cores.values()):.2f}",
                bound,
            )
        )

    get_bare, post_bare = _bare_us(ceiling["get@16"]), _bare_us(ceiling["post@64"])
    line("ceiling: trivial GET @16", ceiling["get@16"]["cpu"], None, get_bare)
    line("ceiling: trivial POST @64", ceiling["post@64"]["cpu"], None, post_bare)
    for kind in ("postgresql", "sqlite"):
        out = results.get(kind)
        if not out or "cpu" not in out["ingest"].get("plain@64", {}):
            continue
        sqlite = kind == "sqlite"
        for key in ("plain@64", "unique@64"):
            cpu = out["ingest"][key]["cpu"]
            # SQLite works inside the server: its share cannot be told apart
            line(
                f"[{kind}] event, acknowledged and processed, {key}",
                cpu,
                None if sqlite else cpu["us"]["database"],
                post_bare,
            )
        for name, figures in out["reads"].items():
            own_us = out["db_reads"][name]["p50_ms"] * 1000
            db_us = own_us if sqlite else figures["cpu"]["us"]["database"]
            line(f"[{kind}] {name}", figures["cpu"], db_us, get_bare, own=sqlite)
    return table


def _print_table(header: tuple[str, ...], table: list[tuple[str, ...]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in table)]) for i, h in enumerate(header)]
    print()
    for line in (header, tuple("-" * w for w in widths), *table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def print_report(results: dict[str, Any]) -> None:
    _print_table(("figure", "value", "ceiling", "ratio", "target"), rows(results))
    cpu = cpu_rows(results)
    if cpu:
        header = (
            "CPU per request (us)",
            "server",
            "database",
            "load generator",
            "cores",
            "at most",
        )
        _print_table(header, cpu)
        print(
            "\nat most: the ratio to the ceiling a server that added nothing to the bare "
            "stack would reach,\ngiven the database's CPU per request (SQLite: its own time, "
            "in brackets). bench/README.md"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="short runs (make bench-quick)")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of the memory burst")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    ensure_wrk()
    started = time.monotonic()
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scale": args.scale,
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "bodies.txt"
        write_bodies(body_file, orders=10**9, seed=1)
        print("ceilings: a bare ASGI app on the same server stack...", flush=True)
        results["ceilings"] = ceilings(3.0 if args.quick else 10.0, body_file)
    for kind in args.backends.split(","):
        bench_backend(kind.strip(), args.scale, args.quick, args.soak, results)
    results["seconds"] = time.monotonic() - started
    print_report(results)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{args.scale}{'-quick' if args.quick else ''}.json"
    (out_dir / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out_dir / name} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
