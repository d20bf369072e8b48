"""Processors inside the server, or in a process of their own? (bench/README.md, "Layouts")

    python -m bench.layouts [--rounds 3] [--seconds 5] [--connections 64]

On one PostgreSQL database, interleaved rounds of two layouts, each driven by
wrk posting events to one webhook:

- ``in-process``: ``eventrail serve`` (one worker) with one processor thread;
- ``split``: ``eventrail serve --no-processors`` (one worker) and
  ``eventrail process --threads 1``.

Per run: events acknowledged per second (wrk), events processed per second from
the first post until the queue is empty, the processed/acknowledged ratio during
the posting, and the CPU per event of the eventrail processes and of PostgreSQL.
Also the cost of the processors' idle poll and of the alternative, a NOTIFY in
every group commit (see ``poll_and_notify``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.run import (
    BIN,
    ROOT,
    CpuClock,
    Progress,
    configure,
    database,
    ensure_wrk,
    env_for,
    provision,
    serve,
    write_bodies,
    wrk,
)

LAYOUTS = ("in-process", "split")


@contextmanager
def processor(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    handle = log.open("w")
    process = subprocess.Popen(
        [str(BIN / "eventrail"), "process", "--threads", "1"],
        env={**env, "EVENTRAIL_LOG_LEVEL": "info"},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "processors started" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"eventrail process did not start: {log.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        handle.close()


class Clocks:
    """CPU of several process groups (the server, the processor process) and of
    PostgreSQL, summed."""

    def __init__(self, pgids: list[int]) -> None:
        self.clocks = [CpuClock(pgid) for pgid in pgids]

    def mark(self) -> list[Any]:
        return [clock.mark() for clock in self.clocks]

    def since(self, marks: list[Any]) -> dict[str, float]:
        spent = [clock.since(mark) for clock, mark in zip(self.clocks, marks, strict=True)]
        # PostgreSQL (and wrk) are counted by every clock: take them once.
        return {
            "eventrail": sum(s["server"] for s in spent),
            "database": spent[0]["database"],
        }


def one_run(
    layout: str, env: dict[str, str], workdir: Path, url: str, org: Any, args: argparse.Namespace
) -> dict[str, Any]:
    command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "1"]
    server_env = {**env, "EVENTRAIL_PROCESSOR_THREADS": "1"}
    if layout == "split":
        command.append("--no-processors")
    with ExitStack() as stack:
        server = stack.enter_context(serve(command, server_env, "/health", workdir / "server.log"))
        pgids = [server.process.pid]
        if layout == "split":
            pgids.append(stack.enter_context(processor(env, workdir / "process.log")).pid)
        if not org.webhook:
            configure(server.base, org, unique=False)
        progress = Progress(url, [org.org_id])
        progress.wait_drained(120)
        clocks = Clocks(pgids)
        mark = clocks.mark()
        start_ms = int(time.time() * 1000)
        started = time.monotonic()
        figures = wrk(
            f"{server.base}/webhooks/{org.webhook}",
            "post.lua",
            [str(workdir / "bodies.txt")],
            args.connections,
            args.seconds,
        )
        during = progress.logged_since(start_ms)
        backlog = progress.queued()
        drained = progress.wait_drained(600)
        processed = progress.logged_since(start_ms)
        cpu = clocks.since(mark)
        latency = wait_latency(server.base, org.webhook, workdir / "bodies.txt")
        return {
            "wait_true_p50_ms": latency[len(latency) // 2],
            "wait_true_p90_ms": latency[int(len(latency) * 0.9)],
            "cores": sum(cpu.values()) / (drained - started),
            "acknowledged_per_s": figures["ok_per_s"],
            "p99_ms": figures["p99_ms"],
            "errors": figures["errors"],
            "processed_per_s": processed / (drained - started),
            "processed_during_posting_per_s": during / figures["seconds"],
            "backlog_at_end": backlog,
            "cpu_us_per_event": {k: v / max(processed, 1) * 1e6 for k, v in cpu.items()},
        }


def wait_latency(base: str, webhook: str, bodies: Path, count: int = 40) -> list[float]:
    """Milliseconds to the answer of ``?wait=true`` posts sent one at a time to an
    idle server (the verdict included), sorted."""
    lines = bodies.read_text().splitlines()[:count]
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for line in lines:
            start = time.perf_counter()
            r = client.post(
                f"/webhooks/{webhook}",
                params={"wait": "true"},
                content=line,
                headers={"content-type": "application/json"},
            )
            r.raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)
    return sorted(times)


def poll_and_notify(url: str, seconds: float = 3.0) -> dict[str, float]:
    """What waking a processor process costs, two ways, on a plain connection:

    - ``poll_us``: one empty claim (BEGIN, SELECT ... FOR UPDATE SKIP LOCKED on the
      empty queue, COMMIT), what an idle processor thread runs every 0.2 s;
    - ``commit_us`` and ``commit_notify_us``: one group commit of 10 queue rows,
      without and with a ``NOTIFY`` in it, what LISTEN/NOTIFY would add to every
      acknowledgement's transaction (and PostgreSQL serialises committing
      transactions that notified on one lock).
    """
    columns = "(request_id, org_id, webhook_id, received_at, body, verdict, detail)"
    body = "x" * 400

    def timed(run: Any) -> float:
        count = 0
        deadline = time.monotonic() + seconds
        start = time.perf_counter()
        while time.monotonic() < deadline:
            run()
            count += 1
        return (time.perf_counter() - start) / count * 1e6

    with psycopg.connect(url) as conn:

        def poll() -> None:
            conn.execute(
                "SELECT id FROM ingest_requests ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED"
            ).fetchall()
            conn.commit()

        def group(notify: bool) -> None:
            now = int(time.time() * 1000)
            with conn.cursor() as cur:
                with cur.copy(f"COPY bench_queue {columns} FROM STDIN") as copy:
                    for _ in range(10):
                        copy.write_row((str(uuid.uuid4()), 1, "0" * 32, now, body, 0, None))
                if notify:
                    cur.execute("NOTIFY eventrail_queue")
            conn.commit()

        conn.execute("CREATE TABLE bench_queue (LIKE ingest_requests INCLUDING ALL)")
        conn.commit()
        poll_us = timed(poll)
        plain: list[float] = []
        notified: list[float] = []
        for _ in range(2):  # interleaved, twice
            plain.append(timed(lambda: group(False)))
            notified.append(timed(lambda: group(True)))
        conn.execute("DROP TABLE bench_queue")
        conn.commit()
    return {
        "poll_us": poll_us,
        "commit_us": statistics.median(plain),
        "commit_notify_us": statistics.median(notified),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    ensure_wrk()
    runs: dict[str, list[dict[str, Any]]] = {layout: [] for layout in LAYOUTS}
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-layouts-") as tmp,
        database("postgresql", Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = env_for(url, workdir)
        subprocess.run([str(BIN / "eventrail"), "migrate"], env=env, check=True)
        org = provision(url, workdir, "Layouts", "l.till", admin=True)
        write_bodies(workdir / "bodies.txt", orders=10**9, seed=1)
        for round_ in range(args.rounds):
            # Alternate which layout goes first, so that neither always runs warmer.
            order = LAYOUTS if round_ % 2 == 0 else LAYOUTS[::-1]
            for layout in order:
                figures = one_run(layout, env, workdir, url, org, args)
                runs[layout].append(figures)
                print(f"round {round_ + 1} {layout}: {json.dumps(figures)}", flush=True)
        wake = poll_and_notify(url)
    summary = {
        layout: {
            key: statistics.median(run[key] for run in runs[layout])
            for key in (
                "acknowledged_per_s",
                "processed_per_s",
                "processed_during_posting_per_s",
                "wait_true_p50_ms",
                "cores",
            )
        }
        for layout in LAYOUTS
    }
    print()
    print(
        f"{'layout':<12} {'acknowledged ev/s':>18} {'processed ev/s':>15} "
        f"{'during posting':>15} {'wait=true p50':>14} {'cores':>6}"
    )
    for layout, medians in summary.items():
        print(
            f"{layout:<12} {medians['acknowledged_per_s']:>18,.0f} "
            f"{medians['processed_per_s']:>15,.0f} "
            f"{medians['processed_during_posting_per_s']:>15,.0f} "
            f"{medians['wait_true_p50_ms']:>11,.0f} ms {medians['cores']:>6.2f}"
        )
    print(
        f"\nidle poll {wake['poll_us']:.0f} us; group commit of 10 rows "
        f"{wake['commit_us']:.0f} us, with NOTIFY {wake['commit_notify_us']:.0f} us"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%d-%H%M%S')}-layouts.json"
    path.write_text(
        json.dumps({"runs": runs, "medians": summary, "wake": wake, "args": vars(args)}, indent=2)
    )
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
