"""Audited writes: eventrail against a Django + DRF + django-auditlog peer, side by side.

    python -m bench.writes [--rounds 3] [--seconds 10] [--connections 16]
                           [--customers 1000] [--scenarios update,register,...]

On fresh PostgreSQL databases (one per side, created and dropped by the run),
each side gets ``--customers`` customers and a Basic-auth user, then wrk
(``bench/wrk/write.lua``) drives every scenario at ``--connections``
connections, eventrail and the peer one after the other, in interleaved rounds
(the side that goes first alternates). Every request is a real change with its
audit entry in the same transaction. Per run: writes/s, p50/p99, and the CPU
per write of the server's process group and of the PostgreSQL processes
serving its database (plus PostgreSQL's own background processes), from
/proc. The table gives the median of the rounds and, for the scenarios both
sides have, eventrail's server + database CPU over the peer's.

The peer (``bench/django_peer``) is installed on first use into its own
git-ignored virtual environment by the repository's uv, from its uv.lock.
See bench/README.md, "Audited writes against Django".
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.run import (
    BIN,
    PASSWORD,
    ROOT,
    CpuClock,
    database,
    ensure_wrk,
    env_for,
    provision,
    serve,
    wrk,
)
from eventrail.kit.security import md5_hex

PEER_DIR = ROOT / "bench" / "django_peer"
PEER_VENV = PEER_DIR / ".venv"
UV = ROOT / ".tools" / "bin" / "uv"
TILL = "w.till"
# Both sides get the md5 hex of the password, as Capillary's Basic auth sends it.
SECRET = md5_hex(PASSWORD)
AUTH = "Basic " + base64.b64encode(f"{TILL}:{SECRET}".encode()).decode()

# scenario -> the peer's scenario of the same change, if it has one
SCENARIOS: dict[str, str | None] = {
    "update": "peer-update",
    "register": "peer-register",
    "change-identifier": None,
    "status": None,
    "subscriptions": None,
    "card-issue": None,
    "card-update": None,
}
SUBSCRIPTION_CHANNELS = ("EMAIL", "MOBILE", "WECHAT", "IOS", "ANDROID", "LINE", "WHATSAPP")
WRK_THREADS = 2


# -- what is measured ---------------------------------------------------------------
class DatabaseClock(CpuClock):
    """CPU of a server's process group and of the PostgreSQL processes that serve
    its databases: their backends (named by database in the process title) and
    PostgreSQL's own background processes (WAL writer, checkpointer, ...). Other
    databases' backends, such as other work on a shared PostgreSQL, are left out."""

    def __init__(self, server_pgid: int, databases: set[str]) -> None:
        super().__init__(server_pgid)
        self.databases = databases

    def snapshot(self) -> dict[tuple[int, str], float]:
        ticks: dict[tuple[int, str], float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                comm = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[2]) == self.server_pgid:
                    kind = "server"
                elif comm.startswith("postgres") and counts_for(
                    (entry / "cmdline").read_bytes(), self.databases
                ):
                    kind = "database"
                else:
                    continue
            except (OSError, ValueError, IndexError):
                continue
            ticks[(int(entry.name), kind)] = (int(fields[11]) + int(fields[12])) / self._HZ
        return ticks


def counts_for(cmdline: bytes, databases: set[str]) -> bool:
    """Whether a postgres process's CPU belongs to a run on ``databases``: a backend
    (title ``postgres: [cluster:] user database host(port) state``) only if it serves
    one of them, an autovacuum worker likewise; the postmaster and the background
    processes (WAL writer, checkpointer, ...) always."""
    title = cmdline.replace(b"\x00", b" ").decode(errors="replace").split()
    if not title or title[0] != "postgres:":
        return True  # the postmaster: its command line, not a title
    words = title[1:]
    if words and words[0].endswith(":"):
        words = words[1:]  # the cluster's name (Debian: "15/main:")
    if words[:2] == ["autovacuum", "worker"]:
        return len(words) > 2 and words[2] in databases
    if len(words) >= 3 and ("(" in words[2] or words[2] == "[local]"):
        return words[1] in databases
    return True


def summarize(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The median of each figure over the rounds of one scenario on one side."""
    keys = ("ok_per_s", "p50_ms", "p99_ms", "server_us", "database_us", "total_us", "cores")
    out = {key: statistics.median(run[key] for run in runs) for key in keys}
    out["errors"] = sum(run["errors"] for run in runs)
    out["audited_per_write"] = min(run.get("audited_per_write", 1.0) for run in runs)
    out["rounds"] = len(runs)
    return out


def figures_of(raw: dict[str, Any]) -> dict[str, Any]:
    """A wrk run's figures, with CPU per request: server, database, their sum."""
    us, cores = raw["cpu"]["us"], raw["cpu"]["cores"]
    return {
        "ok_per_s": raw["ok_per_s"],
        "p50_ms": raw["p50_ms"],
        "p99_ms": raw["p99_ms"],
        "requests": raw["requests"],
        "errors": raw["errors"],
        "server_us": us["server"],
        "database_us": us["database"],
        "total_us": us["server"] + us["database"],
        "load_generator_us": us["load generator"],
        "cores": sum(cores.values()),
    }


def table(medians: dict[str, dict[str, dict[str, float]]]) -> list[tuple[str, ...]]:
    """Rows of the report: one per (scenario, side), then the ratio of total CPU."""
    rows: list[tuple[str, ...]] = []
    for scenario, sides in medians.items():
        for side, m in sides.items():
            rows.append(
                (
                    scenario,
                    side,
                    f"{m['ok_per_s']:,.0f}",
                    f"{m['p50_ms']:.1f}",
                    f"{m['p99_ms']:.1f}",
                    f"{m['server_us']:,.0f}",
                    f"{m['database_us']:,.0f}",
                    f"{m['total_us']:,.0f}",
                    f"{m['cores']:.2f}",
                    f"{m['errors']:.0f}",
                    f"{m['audited_per_write']:.2f}",
                )
            )
        if "eventrail" in sides and "django" in sides:
            ratio = sides["eventrail"]["total_us"] / sides["django"]["total_us"]
            rows.append((scenario, "ratio", "", "", "", "", "", f"{ratio:.2f}", "", "", ""))
    return rows


HEADER = (
    "scenario",
    "side",
    "writes/s",
    "p50 ms",
    "p99 ms",
    "server us",
    "db us",
    "total us",
    "cores",
    "errors",
    "audited",
)


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(HEADER)]
    print()
    for line in (HEADER, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


# -- the peer -----------------------------------------------------------------------
def ensure_peer() -> Path:
    """The peer's Python, installed from its lock file on first use."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print("installing the Django peer (bench/django_peer/uv.lock)...", flush=True)
        subprocess.run(
            [
                str(UV),
                "sync",
                "--frozen",
                "--project",
                str(PEER_DIR),
                "--python",
                str(BIN / "python"),
            ],
            check=True,
            env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(PEER_VENV)},
        )
    return python


def peer_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTRAIL_", "PYTHON"))}
    env.update(
        PEER_DATABASE_URL=url, PYTHONPATH=str(PEER_DIR), DJANGO_SETTINGS_MODULE="peer.settings"
    )
    return env


# -- the sides ----------------------------------------------------------------------
@dataclass
class Side:
    name: str
    base: str
    pgid: int
    database: str
    customers_file: Path
    reset: Any = None  # callable(scenario) run before each run, or None
    series: int = 0  # eventrail: the card series of card-issue
    url: str = ""
    audit_table: str = ""

    def audit_rows(self) -> int:
        with psycopg.connect(self.url) as conn:
            found = conn.execute(f"SELECT count(*) FROM {self.audit_table}").fetchone()
        return int(found[0]) if found else 0


def _post_all(base: str, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """POST each (path, body) with the bench's credential, four at a time; the answers."""
    with httpx.Client(base_url=base, headers={"Authorization": AUTH}, timeout=60) as http:

        def one(item: tuple[str, dict[str, Any]]) -> dict[str, Any]:
            r = http.post(item[0], json=item[1])
            if r.status_code != 200:
                raise RuntimeError(f"{item[0]}: {r.status_code} {r.text[:500]}")
            answer: dict[str, Any] = r.json()
            return answer

        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, requests))


@contextmanager
def eventrail_side(workdir: Path, customers: int) -> Iterator[Side]:
    with ExitStack() as stack:
        url = stack.enter_context(database("postgresql", workdir))
        env = env_for(url, workdir)
        subprocess.run(
            [str(BIN / "eventrail"), "migrate"], env=env, check=True, capture_output=True
        )
        org = provision(url, workdir, "Writes", TILL, admin=True)
        command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "2"]
        server = stack.enter_context(serve(command, env, "/openapi.json", workdir / "server.log"))
        print(f"[eventrail] {customers:,} customers and their cards...", flush=True)
        mobiles = [f"91{n:010d}" for n in range(1, customers + 1)]
        created = _post_all(
            server.base,
            [
                (
                    "/v2/customers",
                    {
                        "profiles": [
                            {
                                "firstName": "First",
                                "lastName": f"Last{n}",
                                "identifiers": [{"type": "mobile", "value": m}],
                            }
                        ]
                    },
                )
                for n, m in enumerate(mobiles, 1)
            ],
        )
        ids = [int(c["createdId"]) for c in created]
        with httpx.Client(base_url=server.base, headers={"Authorization": AUTH}) as http:
            r = http.post("/v2/orgs/settings/cardSeries", json={"name": "Bench", "code": "BENCH"})
            r.raise_for_status()
            series = int(r.json()["seriesId"])
        _post_all(
            server.base,
            [
                ("/v2/card", {"cardNumber": f"K{i}", "seriesId": series, "customerId": i})
                for i in ids
            ],
        )
        customers_file = workdir / "eventrail-customers.txt"
        customers_file.write_text("".join(f"{i} {m}\n" for i, m in zip(ids, mobiles, strict=True)))

        def reset(scenario: str) -> None:
            """Every seeded customer ACTIVE (status), every K card ACTIVE (card-update):
            the state write.lua assumes before its first toggle."""
            with psycopg.connect(url, autocommit=True) as conn:
                if scenario == "status":
                    conn.execute(
                        "UPDATE customers SET status = 'ACTIVE', status_label_id = ("
                        "SELECT id FROM status_labels WHERE org_id = %(org)s"
                        " AND entity_type = 'CUSTOMER' AND label = 'ACTIVE')"
                        " WHERE org_id = %(org)s AND id = ANY(%(ids)s)",
                        {"org": org.org_id, "ids": ids},
                    )
                if scenario == "card-update":
                    conn.execute(
                        "UPDATE cards SET status = 'ACTIVE', status_label_id = ("
                        "SELECT id FROM status_labels WHERE org_id = %(org)s"
                        " AND entity_type = 'CARD' AND label = 'ACTIVE')"
                        " WHERE org_id = %(org)s AND card_number LIKE 'K%%'",
                        {"org": org.org_id},
                    )

        yield Side(
            "eventrail",
            server.base,
            server.process.pid,
            url.rsplit("/", 1)[1],
            customers_file,
            reset,
            series,
            url,
            "audit_entries",
        )


@contextmanager
def django_side(workdir: Path, customers: int) -> Iterator[Side]:
    python = ensure_peer()
    with ExitStack() as stack:
        url = stack.enter_context(database("postgresql", workdir))
        env = peer_env(url)
        manage = [str(python), str(PEER_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=PEER_DIR)
        print(f"[django] {customers:,} customers...", flush=True)
        subprocess.run(
            [*manage, "seed", "--customers", str(customers), "--user", TILL, "--password", SECRET],
            env=env,
            check=True,
            cwd=PEER_DIR,
        )
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT id, mobile FROM peer_customer ORDER BY id").fetchall()
        customers_file = workdir / "django-customers.txt"
        customers_file.write_text("".join(f"{i} {m}\n" for i, m in rows))
        server = stack.enter_context(
            serve([str(python), "-m", "peer.serve"], env, "/health", workdir / "django.log")
        )
        yield Side(
            "django",
            server.base,
            server.process.pid,
            url.rsplit("/", 1)[1],
            customers_file,
            url=url,
            audit_table="auditlog_logentry",
        )


def run_one(side: Side, scenario: str, salt: int, args: argparse.Namespace) -> dict[str, Any]:
    extra = ""
    if scenario in ("status", "card-update"):
        extra = "ACTIVE,SUSPENDED"
    elif scenario == "subscriptions":
        extra = SUBSCRIPTION_CHANNELS[salt % len(SUBSCRIPTION_CHANNELS)]
    elif scenario == "card-issue":
        extra = str(side.series)
    if side.reset is not None:
        side.reset(scenario)
    clock = DatabaseClock(side.pgid, {side.database})
    audits = side.audit_rows()
    raw = wrk(
        side.base,
        "write.lua",
        [scenario, str(side.customers_file), AUTH, str(salt), extra, str(WRK_THREADS)],
        args.connections,
        args.seconds,
        clock,
    )
    figures = figures_of(raw)
    # wrk counts the answers it read; a write answered after its end is audited too
    figures["audited_per_write"] = (side.audit_rows() - audits) / max(raw["requests"], 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    ensure_wrk()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {s: {} for s in scenarios}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-writes-") as tmp,
        ExitStack() as stack,
    ):
        workdir = Path(tmp)
        (workdir / "e").mkdir()
        (workdir / "d").mkdir()
        sides = {
            "eventrail": stack.enter_context(eventrail_side(workdir / "e", args.customers)),
            "django": stack.enter_context(django_side(workdir / "d", args.customers)),
        }
        salt = 10
        for round_ in range(args.rounds):
            order = ["eventrail", "django"] if round_ % 2 == 0 else ["django", "eventrail"]
            for scenario in scenarios:
                for name in order:
                    peer_scenario = SCENARIOS[scenario]
                    if name == "django" and peer_scenario is None:
                        continue
                    salt += 1
                    run = run_one(
                        sides[name],
                        scenario if name == "eventrail" else str(peer_scenario),
                        salt,
                        args,
                    )
                    runs[scenario].setdefault(name, []).append(run)
                    print(
                        f"round {round_ + 1} {scenario} {name}: {run['ok_per_s']:,.0f}/s "
                        f"server {run['server_us']:,.0f} us db {run['database_us']:,.0f} us "
                        f"cores {run['cores']:.2f} errors {run['errors']} "
                        f"audited {run['audited_per_write']:.2f}",
                        flush=True,
                    )
    medians = {
        scenario: {name: summarize(side_runs) for name, side_runs in sides_runs.items()}
        for scenario, sides_runs in runs.items()
    }
    print_table(table(medians))
    print(
        f"\nmedians of {args.rounds} interleaved rounds of {args.seconds:.0f} s at "
        f"{args.connections} connections; CPU us per write (server: its process group; "
        f"db: PostgreSQL's processes for its database); ratio: eventrail's server + db "
        f"over the peer's; audited: audit rows written per write (the lowest round). "
        f"{time.monotonic() - started:.0f} s"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%d-%H%M%S')}-writes.json"
    path.write_text(json.dumps({"runs": runs, "medians": medians, "args": vars(args)}, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
