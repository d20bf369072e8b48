"""A 20-second PostgreSQL outage under load, in the recommended layout
(``eventrail serve --no-processors`` and a separate ``eventrail process``).

The suite's test (tests/security/test_outage.py) stops its cluster for 3 s with
the processors inside the server; this is the longer run of docs/deploy.md,
kept out of the suite so that CI stays fast (about a minute)::

    .venv/bin/python -m bench.outage [--outage 20] [--clients 8]

A private cluster (initdb/pg_ctl in a temporary directory, on a free port; the
machine's server is never touched) is started; the schema migrated, an org with
a till made, its rate limit raised so that the load is not refused with 429.
Clients post events continuously; after ``--before`` seconds the cluster is
stopped for ``--outage`` seconds and started again; the load goes on for
``--after`` seconds. Then the script checks: every answer a 200 or a 503 (with
Retry-After and the envelope), and every acknowledged event logged and stored
exactly once. It prints the counts of 200 and 503 by phase and the time from the
cluster's restart to the first 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from tests.fixtures.durability import wait_until_drained
from tests.fixtures.server import cli_env, processor_process, server_process
from tests.security.cluster import (
    PrivateCluster,
    engine_for,
    make_webhook,
    migrate_and_make_till,
    private_postgres,
)


@dataclass
class Load:
    phase: str = "before"
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # anything but a 200 or a proper 503
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    restarted_at: float | None = None
    first_200_after: float | None = None
    stop: bool = False


def _proper_503(r: httpx.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    errors = body.get("errors") or [{}]
    return (
        r.headers.get("retry-after", "").isdigit()
        and body.get("warnings") == []
        and errors[0].get("code") == 503
    )


async def _client(load: Load, base: str, webhook_id: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not load.stop:
            body = {"event_name": "Visit", "customer": f"9173{uuid.uuid4().int % 10**8:08d}"}
            body["ref"] = uuid.uuid4().hex
            try:
                r = await client.post(f"/webhooks/{webhook_id}", json=body)
            except httpx.TransportError as exc:
                load.answers[(load.phase, 0)] += 1
                load.wrong.append(type(exc).__name__)
                await asyncio.sleep(0.05)
                continue
            load.answers[(load.phase, r.status_code)] += 1
            if r.status_code == 200:
                load.acked[r.json()["requestId"]] = body
                if load.restarted_at is not None and load.first_200_after is None:
                    load.first_200_after = time.monotonic() - load.restarted_at
            elif r.status_code != 503 or not _proper_503(r):
                load.wrong.append(f"{r.status_code} {r.text[:200]}")
            await asyncio.sleep(0.005)


async def _run(
    load: Load, pg: PrivateCluster, base: str, webhook_id: str, args: argparse.Namespace
) -> None:
    clients = [asyncio.create_task(_client(load, base, webhook_id)) for _ in range(args.clients)]
    await asyncio.sleep(args.before)
    load.phase = "stopping"
    await asyncio.to_thread(pg.stop)
    load.phase = "outage"
    stopped = time.monotonic()
    await asyncio.sleep(args.outage)
    load.phase = "starting"
    await asyncio.to_thread(pg.start)
    load.restarted_at = time.monotonic()
    load.phase = "after"
    print(f"the cluster was down for {load.restarted_at - stopped:.1f} s", file=sys.stderr)
    await asyncio.sleep(args.after)
    load.stop = True
    await asyncio.gather(*clients)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.outage", description=__doc__)
    parser.add_argument("--outage", type=float, default=20.0, help="seconds stopped")
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, private_postgres() as pg:
        env = cli_env(pg.url, Path(tmp))
        auth, till_code = migrate_and_make_till(env)
        load = Load()
        with (
            server_process(env, args=["--no-processors"]) as server,
            processor_process(env, threads=1) as processor,
        ):
            webhook_id = make_webhook(server.base, auth, till_code, unique=False)
            asyncio.run(_run(load, pg, server.base, webhook_id, args))
            engine = engine_for(env)
            try:
                load_ended = time.monotonic()
                with engine.connect() as conn:
                    backlog = conn.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar()
                wait_until_drained(engine, timeout=300)
                drained = time.monotonic() - load_ended
                with engine.connect() as conn:
                    logs = dict(conn.execute(sa.text("SELECT id, status FROM event_logs")).all())
                    records = Counter(
                        conn.execute(sa.text("SELECT id FROM event_records")).scalars()
                    )
            finally:
                engine.dispose()
            processor_alive = processor.process.poll() is None
            server_alive = server.process.poll() is None
    missing = [rid for rid in load.acked if rid not in logs]
    not_success = [rid for rid in load.acked if rid in logs and logs[rid] != "EVENT_SUCCESS"]
    doubled = [rid for rid, n in records.items() if n != 1]
    unlogged_records = set(records) - set(logs)
    report = {
        "outageSeconds": args.outage,
        "answers": {f"{phase} {status}": n for (phase, status), n in sorted(load.answers.items())},
        "totals": dict(
            Counter(status for (_, status), n in load.answers.items() for _ in range(n))
        ),
        "acknowledged": len(load.acked),
        "logged": len(logs),
        "stored": len(records),
        "ackedMissing": len(missing),
        "ackedNotSuccess": len(not_success),
        "storedTwice": len(doubled),
        "storedWithoutLog": len(unlogged_records),
        "wrongAnswers": load.wrong[:5],
        "wrongAnswerCount": len(load.wrong),
        "firstAckAfterRestartSeconds": load.first_200_after,
        "backlogWhenTheLoadStopped": backlog,
        "queueEmptyAfterTheLoadStoppedSeconds": round(drained, 1),
        "serverAlive": server_alive,
        "processorAlive": processor_alive,
    }
    print(json.dumps(report, indent=2))
    ok = (
        not load.wrong
        and not missing
        and not not_success
        and not doubled
        and not unlogged_records
        and load.answers[("outage", 503)] > 0
        and server_alive
        and processor_alive
    )
    print("OK" if ok else "FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
