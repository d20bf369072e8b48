"""The console's pages at scale: each page's time on a real ``eventrail serve``.

    python -m bench.console [--scale N] [--backend postgresql|sqlite] [--rounds R]

Loads ``scale`` events, log entries (with their outcome rollup) and audit entries
with the same loader as ``bench.run``, starts one ``eventrail serve`` worker, signs
in to the console as a browser does, and requests each page ``rounds`` times, one at
a time, from this process over loopback. The time of a request, measured here, is an
upper bound of the server's time for it. The target is 150 ms per page (p95) at
1,000,000 on PostgreSQL. See bench/README.md ("The console's pages").
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import loader
from bench.run import (
    BIN,
    PASSWORD,
    ROOT,
    configure,
    database,
    env_for,
    provision,
    serve,
)

TARGET_MS = 150.0
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def _sign_in(client: httpx.Client, till: str) -> None:
    form = client.get("/console/sign-in")
    found = _CSRF.search(form.text)
    assert found is not None, form.text[:500]
    r = client.post(
        "/console/sign-in",
        data={
            "csrf": html.unescape(found.group(1)),
            "kind": "till",
            "name": till,
            "secret": PASSWORD,
        },
    )
    assert r.status_code == 303, r.text[:500]


def _sample_ids(url: str, org_id: int) -> dict[str, str]:
    """A failed entry's id and the second page's cursor, from the database."""
    if url.startswith("sqlite"):
        import sqlite3

        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        mark = "?"
    else:
        conn = psycopg.connect(url.replace("+psycopg", ""))
        mark = "%s"
    try:
        failed = conn.execute(
            f"SELECT id FROM event_logs WHERE org_id = {mark} "
            f"AND status = 'EVENT_FIELD_VALIDATION_FAILED' ORDER BY start_time DESC LIMIT 1",
            (org_id,),
        ).fetchone()[0]
        start, seq = conn.execute(
            f"SELECT start_time, seq FROM event_logs WHERE org_id = {mark} "
            "ORDER BY start_time DESC, seq DESC LIMIT 1 OFFSET 49",
            (org_id,),
        ).fetchone()
    finally:
        conn.close()
    return {"failed": str(failed), "cursor": f"{start}.{seq}"}


def pages(loaded: loader.Loaded, ids: dict[str, str]) -> dict[str, str]:
    mid_day = time.strftime(
        "%Y-%m-%d", time.gmtime((loaded.now_ms - loaded.counts["scale"] * 1000) / 1000)
    )
    return {
        "overview": "/console",
        "log (no filter)": "/console/events",
        "log (status)": "/console/events?status=EVENT_FIELD_VALIDATION_FAILED",
        "log (event name)": "/console/events?event=Purchase",
        "log (one day)": f"/console/events?from={mid_day}&to={mid_day}",
        "log (second page)": f"/console/events?cursor={ids['cursor']}",
        "log (customer)": f"/console/events?customer=id:{loaded.sizes['largest'][0]}",
        "one event": f"/console/events/{ids['failed']}",
        "customer (largest)": f"/console/customers/{loaded.sizes['largest'][0]}",
        "customer (median)": f"/console/customers/{loaded.sizes['median'][0]}",
        "definitions": "/console/definitions",
    }


def measure(client: httpx.Client, path: str, rounds: int) -> dict[str, float]:
    r = client.get(path)  # warm
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))],
        "max_ms": times[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--backend", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scale": args.scale,
        "backend": args.backend,
        "rounds": args.rounds,
        "target_ms": TARGET_MS,
    }
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-bench-console-") as tmp,
        database(args.backend, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = env_for(url, workdir)
        subprocess.run(
            [str(BIN / "eventrail"), "migrate"], env=env, check=True, capture_output=True
        )
        org = provision(url, workdir, "Console", "c.till", admin=True)
        print(f"[{args.backend}] loading {args.scale:,} events, log entries, audits...")
        loaded = loader.load(url, org.org_id, org.till_id, args.scale)
        loaded.counts["scale"] = args.scale
        ids = _sample_ids(url, org.org_id)
        command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "1"]
        with serve(command, env, "/openapi.json", workdir / "server.log") as server:
            configure(server.base, org, unique=False)
            with httpx.Client(base_url=server.base, timeout=60) as client:
                _sign_in(client, org.till)
                results["pages"] = {
                    name: measure(client, path, args.rounds)
                    for name, path in pages(loaded, ids).items()
                }
    print(f"\nconsole pages at {args.scale:,} on {args.backend} ({args.rounds} rounds each)")
    print(f"{'page':<22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, figures in results["pages"].items():
        flag = "" if figures["p95_ms"] <= TARGET_MS else f"  over {TARGET_MS:.0f} ms"
        print(
            f"{name:<22} {figures['p50_ms']:>8.1f} {figures['p95_ms']:>8.1f} "
            f"{figures['max_ms']:>8.1f}{flag}"
        )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-console-{args.backend}-{args.scale}.json"
    (out_dir / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out_dir / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
