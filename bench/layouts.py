"""Processors inside the server, in a process of their own, or two servers behind a
balancer? (bench/README.md, "Layouts")

    python -m bench.layouts [--rounds 3] [--seconds 5] [--connections 64]
                            [--layouts in-process,split,balanced]

On one PostgreSQL database, interleaved rounds of three layouts, each driven by
wrk posting events to one webhook:

- ``in-process``: ``eventrail serve`` (one worker) with one processor thread;
- ``split``: ``eventrail serve --no-processors`` (one worker) and
  ``eventrail process --threads 1``;
- ``balanced``: two ``eventrail serve`` (one worker and one processor thread
  each) on two ports behind haproxy (least connections, keep-alive to the
  servers, routed by their ``/ready``; the configuration docs/deploy.md shows,
  see ``haproxy_config``), wrk posting to haproxy.

Per run: events acknowledged per second (wrk) with p50/p99, events processed per
second from the first post until the queue is empty, the processed/acknowledged
ratio during the posting, the CPU per event of the eventrail processes, the
balancer, PostgreSQL and wrk, and events per second per core (events processed
over the CPU seconds of everything but wrk); the latency of ``?wait=true`` posts
one at a time; then an authenticated read (``GET /v2/events/logs``) at 16
connections through the same layout, with its CPU per request. Also the cost of
the processors' idle poll and of the alternative, a NOTIFY in every group commit
(see ``poll_and_notify``).

wrk, and haproxy for the balanced layout, are installed from Debian when missing.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
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
    Progress,
    _print_table,
    configure,
    database,
    ensure_tool,
    ensure_wrk,
    env_for,
    free_port,
    provision,
    serve,
    write_bodies,
    wrk,
)
from eventrail.errors import PayloadTooLarge, error_body
from eventrail.kit.requests import MAX_BODY_BYTES

LAYOUTS = ("in-process", "split", "balanced")
SERVERS = {"in-process": 1, "split": 1, "balanced": 2}
# CPU is counted for these, per event (and per read request); "eventrail" is every
# eventrail process: the server(s) and, split, the processor process.
KINDS = ("eventrail", "balancer", "database", "load generator")
READ_PATH = "/v2/events/logs"


# -- the balancer -----------------------------------------------------------------
def haproxy_config(bind: str, servers: list[str], *, log: bool = False) -> str:
    """haproxy's configuration for eventrail servers (``host:port`` each) behind one
    address, without its ``global`` section: the one docs/deploy.md shows ("Running
    two servers behind a balancer") and the one the balanced layout runs (``log``
    off: a log line per request would be the balancer's largest cost here).

    Least connections, keep-alive to the servers (idle ones purged within about a
    second, well before a server's own 5 s keep-alive timeout closes them), a
    refused connection retried on another server (a server that stops refuses
    new connections before its check fails), the
    client's address in ``X-Forwarded-For`` (overwritten, never appended to),
    bodies over eventrail's 1 MiB refused at the door with the server's own answer
    (the JSON error envelope), and routing by ``/ready``
    that fails open: a backlog makes every server unready at once, and then the
    ``alive`` backend (checked on ``/health``) takes the traffic.
    """
    pool = "\n".join(f"    server s{i} {address}" for i, address in enumerate(servers, start=1))

    def backend(name: str, check: str) -> str:
        return (
            f"backend {name}\n"
            "    balance leastconn\n"
            f"    option httpchk GET {check}\n"
            "    http-check expect status 200\n"
            "    default-server check inter 2s fall 2 rise 2 pool-purge-delay 1s\n"
            f"{pool}\n"
        )

    logging = "    log global\n    option httplog\n" if log else ""
    too_large = json.dumps(error_body(PayloadTooLarge()), separators=(",", ":"))
    return (
        "defaults\n"
        "    mode http\n"
        f"{logging}"
        "    option http-keep-alive\n"
        "    http-reuse safe\n"
        "    # a refused connection (a server stopping) is retried on the other one\n"
        "    retries 2\n"
        "    option redispatch\n"
        "    timeout connect 5s\n"
        "    timeout http-request 10s\n"
        "    timeout http-keep-alive 30s\n"
        "    timeout client 30s\n"
        "    timeout queue 10s\n"
        "    # above the 30 s a ?wait=true post may wait for its verdict\n"
        "    timeout server 35s\n"
        "    timeout check 5s\n"
        "\n"
        "frontend eventrail\n"
        f"    bind {bind}\n"
        "    # the server's own answer to a body over 1 MiB, before any of it is forwarded\n"
        f"    http-request return status 413 content-type application/json string '{too_large}'"
        f" if {{ req.hdr_val(content-length) gt {MAX_BODY_BYTES} }}\n"
        "    http-request set-header X-Forwarded-For %[src]\n"
        "    use_backend ready if { nbsrv(ready) gt 0 }\n"
        "    default_backend alive\n"
        "\n"
        f"{backend('ready', '/ready')}"
        "\n"
        f"{backend('alive', '/health')}"
    )


# One thread (plenty for these rates; a second would contend with the servers for
# the same cores), and a maxconn that fits the usual 20,000 file descriptors.
BENCH_GLOBAL = "global\n    maxconn 4096\n    nbthread 1\n\n"


@dataclass
class Balancer:
    base: str
    process: subprocess.Popen[bytes]


@contextmanager
def balancer(servers: list[str], workdir: Path) -> Iterator[Balancer]:
    """haproxy in the foreground, in a process group of its own, its configuration
    written into ``workdir`` (checked with ``haproxy -c`` first)."""
    haproxy = ensure_tool("haproxy")
    port = free_port()
    config = workdir / "haproxy.cfg"
    config.write_text(BENCH_GLOBAL + haproxy_config(f"127.0.0.1:{port}", servers))
    checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"haproxy refused its configuration: {checked.stdout}{checked.stderr}")
    log = workdir / "haproxy.log"
    handle = log.open("w")
    process = subprocess.Popen(
        [haproxy, "-db", "-f", str(config)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    front = Balancer(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start: {log.read_text()[-2000:]}")
            try:
                if httpx.get(front.base + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield front
    finally:
        with contextlib.suppress(ProcessLookupError):  # it did not start
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        handle.close()


def acknowledged_total(base: str) -> float:
    """The ``eventrail_events_acknowledged_total`` of one server process (its /metrics)."""
    return metric_value(
        httpx.get(base + "/metrics", timeout=10).text, "eventrail_events_acknowledged_total"
    )


def metric_value(text: str, name: str) -> float:
    """The value of an unlabelled metric in Prometheus' text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


# -- processes and their CPU ----------------------------------------------------------
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
    """CPU of several eventrail process groups (the servers, the processor process),
    of the balancer's, of PostgreSQL (the cluster's own processes and the backends of
    ``database``) and of the load generator, by kind (``KINDS``)."""

    def __init__(
        self, eventrail: list[int], balancer: int | None = None, database: str | None = None
    ) -> None:
        self.clocks = [CpuClock(pgid, database) for pgid in eventrail]
        self.balancer = CpuClock(balancer) if balancer is not None else None

    def mark(self) -> tuple[list[Any], Any]:
        return [clock.mark() for clock in self.clocks], (
            self.balancer.mark() if self.balancer is not None else None
        )

    def since(self, marks: tuple[list[Any], Any]) -> dict[str, float]:
        own, front = marks
        spent = [clock.since(mark) for clock, mark in zip(self.clocks, own, strict=True)]
        # PostgreSQL and the load generator are counted by every clock: take them once.
        return {
            "eventrail": sum(s["server"] for s in spent),
            "balancer": (
                self.balancer.since(front)["server"] if self.balancer is not None else 0.0
            ),
            "database": spent[0]["database"],
            "load generator": spent[0]["load generator"],
        }


def per_event(cpu: dict[str, float], count: int, seconds: float) -> dict[str, Any]:
    """CPU µs per event (or request) by kind, the cores the deployment used (every
    kind but the load generator, which is the clients') and the events per second
    per core: ``count`` over the deployment's CPU seconds."""
    deployment = sum(spent for kind, spent in cpu.items() if kind != "load generator")
    return {
        "cpu_us": {kind: spent / max(count, 1) * 1e6 for kind, spent in cpu.items()},
        "cores": deployment / seconds,
        "per_core_s": count / deployment if deployment > 0 else 0.0,
    }


# -- one run ------------------------------------------------------------------------
def one_run(
    layout: str, env: dict[str, str], workdir: Path, url: str, org: Any, args: argparse.Namespace
) -> dict[str, Any]:
    command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "1"]
    server_env = {**env, "EVENTRAIL_PROCESSOR_THREADS": "1"}
    if layout == "split":
        command.append("--no-processors")
    with ExitStack() as stack:
        servers = [
            stack.enter_context(serve(command, server_env, "/health", workdir / f"server{i}.log"))
            for i in range(SERVERS[layout])
        ]
        pgids = [server.process.pid for server in servers]
        if layout == "split":
            pgids.append(stack.enter_context(processor(env, workdir / "process.log")).pid)
        base, front_pgid = servers[0].base, None
        if layout == "balanced":
            front = stack.enter_context(
                balancer([s.base.removeprefix("http://") for s in servers], workdir)
            )
            base, front_pgid = front.base, front.process.pid
        if not org.webhook:
            configure(base, org, unique=False)
        progress = Progress(url, [org.org_id])
        stack.callback(progress.close)
        progress.wait_drained(120)
        acknowledged_before = [acknowledged_total(s.base) for s in servers]
        clocks = Clocks(pgids, front_pgid, database=url.rpartition("/")[2])
        mark = clocks.mark()
        start_ms = int(time.time() * 1000)
        started = time.monotonic()
        figures = wrk(
            f"{base}/webhooks/{org.webhook}",
            "post.lua",
            [str(workdir / "bodies.txt")],
            args.connections,
            args.seconds,
        )
        during = progress.logged_since(start_ms)
        backlog = progress.queued()
        drained = progress.wait_drained(600)
        processed = progress.logged_since(start_ms)
        cpu = per_event(clocks.since(mark), processed, drained - started)
        by_server = [
            acknowledged_total(s.base) - before
            for s, before in zip(servers, acknowledged_before, strict=True)
        ]
        latency = wait_latency(base, org.webhook, workdir / "bodies.txt")
        return {
            "acknowledged_per_s": figures["ok_per_s"],
            "p50_ms": figures["p50_ms"],
            "p99_ms": figures["p99_ms"],
            "errors": figures["errors"],
            "processed_per_s": processed / (drained - started),
            "processed_during_posting_per_s": during / figures["seconds"],
            "backlog_at_end": backlog,
            "cpu_us_per_event": cpu["cpu_us"],
            "cores": cpu["cores"],
            "events_per_core_s": cpu["per_core_s"],
            "acknowledged_by_server": by_server,
            "wait_true_p50_ms": latency[len(latency) // 2],
            "wait_true_p90_ms": latency[int(len(latency) * 0.9)],
            "read": read_run(base, org, workdir, clocks, args.seconds),
        }


def read_run(base: str, org: Any, workdir: Path, clocks: Clocks, seconds: float) -> dict[str, Any]:
    """wrk reading the org's processing log (``READ_PATH``, Basic auth) at 16
    connections through the layout, with the CPU per request."""
    paths = workdir / "paths.txt"
    paths.write_text(READ_PATH + "\n")
    auth = "Basic " + base64.b64encode(f"{org.till}:{PASSWORD}".encode()).decode()
    mark = clocks.mark()
    figures = wrk(base, "get.lua", [str(paths), auth], 16, seconds)
    cpu = per_event(clocks.since(mark), figures["requests"], figures["seconds"])
    return {
        "ok_per_s": figures["ok_per_s"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "errors": figures["errors"],
        "cpu_us_per_request": cpu["cpu_us"],
        "cores": cpu["cores"],
        "per_core_s": cpu["per_core_s"],
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


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over a layout's runs (CPU per kind too)."""

    def median(get: Any) -> float:
        return float(statistics.median(get(run) for run in runs))

    out: dict[str, Any] = {
        key: median(lambda run, key=key: run[key])
        for key in (
            "acknowledged_per_s",
            "p50_ms",
            "p99_ms",
            "errors",
            "processed_per_s",
            "processed_during_posting_per_s",
            "backlog_at_end",
            "cores",
            "events_per_core_s",
            "wait_true_p50_ms",
            "wait_true_p90_ms",
        )
    }
    shares = [run["acknowledged_by_server"] for run in runs]
    out["acknowledged_share"] = [
        float(statistics.median(counts[i] / max(sum(counts), 1) for counts in shares))
        for i in range(len(shares[0]))
    ]
    out["cpu_us_per_event"] = {
        kind: median(lambda run, kind=kind: run["cpu_us_per_event"][kind]) for kind in KINDS
    }
    out["read"] = {
        key: median(lambda run, key=key: run["read"][key])
        for key in ("ok_per_s", "p50_ms", "p99_ms", "errors", "cores", "per_core_s")
    }
    out["read"]["cpu_us_per_request"] = {
        kind: median(lambda run, kind=kind: run["read"]["cpu_us_per_request"][kind])
        for kind in KINDS
    }
    return out


def table(summary: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """The report: one line per figure, one column per layout (medians)."""
    layouts = list(summary)

    def line(figure: str, cell: Any) -> tuple[str, ...]:
        return (figure, *(cell(summary[layout]) for layout in layouts))

    def cpu(us: dict[str, float]) -> str:
        return " / ".join(f"{us[kind]:,.0f}" for kind in KINDS)

    return [
        line("acknowledged ev/s", lambda m: f"{m['acknowledged_per_s']:,.0f}"),
        line(
            "p50 / p99 of the acknowledgement",
            lambda m: f"{m['p50_ms']:.1f} / {m['p99_ms']:.1f} ms",
        ),
        line(
            "processed ev/s (first post to empty queue)", lambda m: f"{m['processed_per_s']:,.0f}"
        ),
        line(
            "processed ev/s during the posting",
            lambda m: f"{m['processed_during_posting_per_s']:,.0f}",
        ),
        line(
            "CPU µs per event: eventrail / balancer / db / wrk",
            lambda m: cpu(m["cpu_us_per_event"]),
        ),
        line(
            "posts acknowledged by each server",
            lambda m: " / ".join(f"{share:.0%}" for share in m["acknowledged_share"]),
        ),
        line("cores used (without wrk)", lambda m: f"{m['cores']:.2f}"),
        line("events/s per core (without wrk)", lambda m: f"{m['events_per_core_s']:,.0f}"),
        line(
            "?wait=true p50 / p90 (one at a time)",
            lambda m: f"{m['wait_true_p50_ms']:.0f} / {m['wait_true_p90_ms']:.0f} ms",
        ),
        line(f"GET {READ_PATH} @16 req/s", lambda m: f"{m['read']['ok_per_s']:,.0f}"),
        line(
            "  its p50 / p99", lambda m: f"{m['read']['p50_ms']:.1f} / {m['read']['p99_ms']:.1f} ms"
        ),
        line(
            "  CPU µs per read: eventrail / balancer / db / wrk",
            lambda m: cpu(m["read"]["cpu_us_per_request"]),
        ),
        line("  reads/s per core (without wrk)", lambda m: f"{m['read']['per_core_s']:,.0f}"),
        line(
            "errors (wrk, posts + reads)",
            lambda m: f"{m['errors']:.0f} + {m['read']['errors']:.0f}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    layouts = tuple(name.strip() for name in args.layouts.split(","))
    unknown = set(layouts) - set(LAYOUTS)
    if unknown:
        parser.error(f"unknown layouts: {', '.join(sorted(unknown))}")
    ensure_wrk()
    if "balanced" in layouts:
        ensure_tool("haproxy")
    began = time.monotonic()
    runs: dict[str, list[dict[str, Any]]] = {layout: [] for layout in layouts}
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
            # Rotate which layout goes first, so that none always runs warmer.
            order = layouts[round_ % len(layouts) :] + layouts[: round_ % len(layouts)]
            for layout in order:
                figures = one_run(layout, env, workdir, url, org, args)
                runs[layout].append(figures)
                print(f"round {round_ + 1} {layout}: {json.dumps(figures)}", flush=True)
        wake = poll_and_notify(url)
    summary = {layout: medians(runs[layout]) for layout in layouts}
    _print_table(("median", *layouts), table(summary))
    print(
        f"\nidle poll {wake['poll_us']:.0f} us; group commit of 10 rows "
        f"{wake['commit_us']:.0f} us, with NOTIFY {wake['commit_notify_us']:.0f} us"
    )
    seconds = time.monotonic() - began
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%d-%H%M%S')}-layouts.json"
    path.write_text(
        json.dumps(
            {
                "runs": runs,
                "medians": summary,
                "wake": wake,
                "args": vars(args),
                "machine": {"cpus": os.cpu_count()},
                "seconds": seconds,
            },
            indent=2,
        )
    )
    print(f"written to {path} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
