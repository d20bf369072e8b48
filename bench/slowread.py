"""A slow read must not hold up the other requests of its process.

    python -m bench.slowread [--scale 200000] [--seconds 3] [--rounds 3] [--base SRC]

One PostgreSQL database loaded by bench/loader.py, one ``eventrail serve`` with a
single worker (the effect is per process). wrk reads ``GET /v2/events/logs`` at 16
connections in windows of ``--seconds``: alone, then while two clients of their
own repeat an audits read whose total is a count over what its filter matches
(``source``, the largest customer's whole trail), alternating, ``--rounds`` times.
With ``--base SRC`` a second server runs the code under SRC (a ``src`` directory
of another checkout, e.g. the one before a change) on the same database, and its
windows are interleaved with this checkout's: the table then compares the two.

Each round also reads event_data (median customers) and audits (the largest
customer, no filter) alone, to compare the cost of the fast reads. The table:
per server and window, the medians over the rounds of req/s, p50 and p99, the
server's CPU per read, and the slow audits reads answered per second and their
median latency. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench import loader
from bench.run import (
    BIN,
    PASSWORD,
    CpuClock,
    _print_table,
    database,
    ensure_wrk,
    env_for,
    provision,
    serve,
    wrk,
)

SLOW_CLIENTS = 2


def _slow_reads(
    base: str, path: str, stop: threading.Event, latencies: list[float], statuses: list[int]
) -> None:
    with httpx.Client(base_url=base, auth=("b.till", PASSWORD), timeout=60) as api:
        while not stop.is_set():
            started = time.perf_counter()
            r = api.get(path)
            latencies.append(time.perf_counter() - started)
            statuses.append(r.status_code)


def window(
    server: Any, paths_file: Path, auth: str, seconds: float, slow_path: str | None
) -> dict[str, Any]:
    stop = threading.Event()
    latencies: list[float] = []
    statuses: list[int] = []
    clients = [
        threading.Thread(
            target=_slow_reads, args=(server.base, slow_path, stop, latencies, statuses)
        )
        for _ in range(SLOW_CLIENTS if slow_path else 0)
    ]
    for client in clients:
        client.start()
    if clients:
        time.sleep(0.5)  # the slow reads are under way before wrk starts
    try:
        figures = wrk(
            server.base,
            "get.lua",
            [str(paths_file), auth],
            16,
            seconds,
            CpuClock(server.process.pid),
        )
    finally:
        stop.set()
        for client in clients:
            client.join()
    if slow_path:
        figures["slow_per_s"] = len(latencies) / (seconds + 0.5)
        figures["slow_p50_ms"] = statistics.median(latencies) * 1000 if latencies else 0.0
        assert set(statuses) <= {200}, statuses
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default=None, help="src directory of the code to compare")
    args = parser.parse_args(argv)
    ensure_wrk()
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-slowread-") as tmp,
        database("postgresql", Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = env_for(url, workdir)
        subprocess.run([str(BIN / "eventrail"), "migrate"], env=env, check=True)
        org = provision(url, workdir, "Bench", "b.till")
        print(f"loading {args.scale:,} events, log entries and audit entries...", flush=True)
        loaded = loader.load(url, org.org_id, org.till_id, args.scale)
        largest = loaded.sizes["largest"][0]
        slow_path = f"/api_gateway/v2/audits?entityType=CUSTOMER&entityId={largest}&source=INSTORE"
        auth = "Basic " + __import__("base64").b64encode(f"b.till:{PASSWORD}".encode()).decode()
        paths_file = workdir / "paths.txt"
        paths_file.write_text("/v2/events/logs\n")
        # the other fast reads, alone, for the comparison of their cost
        others: dict[str, Path] = {}
        for label, paths in (
            (
                "event_data (median customers)",
                [f"/v2/events/event_data/{c}?limit=50" for c in loaded.sizes["median"]],
            ),
            (
                "audits (largest customer)",
                [
                    f"/api_gateway/v2/audits?entityType=CUSTOMER&entityId={c}"
                    for c in loaded.sizes["largest"]
                ],
            ),
        ):
            others[label] = workdir / f"paths-{len(others)}.txt"
            others[label].write_text("\n".join(paths) + "\n")
        command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "1"]
        codes = {"this": env}
        if args.base:
            codes = {"base": {**env, "PYTHONPATH": str(Path(args.base).resolve())}, **codes}
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        servers: dict[str, Any] = {}
        with contextlib.ExitStack() as stack:
            for name, code_env in codes.items():
                servers[name] = stack.enter_context(
                    serve(command, code_env, "/openapi.json", workdir / f"server-{name}.log")
                )
            for round_ in range(args.rounds):
                print(f"round {round_ + 1}/{args.rounds}", flush=True)
                for name, server in servers.items():
                    for label, slow in (("alone", None), ("with slow audits", slow_path)):
                        figures = window(server, paths_file, auth, args.seconds, slow)
                        results.setdefault((name, f"logs, {label}"), []).append(figures)
                    for label, other in others.items():
                        figures = window(server, other, auth, args.seconds, None)
                        results.setdefault((name, label), []).append(figures)
    table = []
    for (name, label), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):

        def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        cpu = statistics.median(r["cpu"]["us"]["server"] for r in runs)
        table.append(
            (
                name,
                label,
                f"{med('rps'):,.0f}",
                f"{med('p50_ms'):.1f}",
                f"{med('p99_ms'):.1f}",
                f"{cpu:.0f}",
                f"{med('slow_per_s'):.1f}" if "slow_per_s" in runs[0] else "",
                f"{med('slow_p50_ms'):.0f}" if "slow_p50_ms" in runs[0] else "",
            )
        )
    _print_table(
        (
            "code",
            "read",
            "req/s",
            "p50 ms",
            "p99 ms",
            "server µs/read",
            "slow audits/s",
            "slow p50 ms",
        ),
        table,
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
