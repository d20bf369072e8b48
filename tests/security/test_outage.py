"""A PostgreSQL outage under load, against a real `eventrail serve`.

The test's own cluster is stopped while clients post events (webhook), read
the event log (fast lane), look customers up and register them (FastAPI
routes) and ask ``/ready``; then started again. Every answer is a 200 or a 503 with
``Retry-After`` and the error envelope (never a 500, never a reset
connection); the server recovers without a restart; every acknowledged event
is processed exactly once; the server's log says "unavailable" and "available
again" a bounded number of times, with no traceback and no personal data.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.fixtures.durability import wait_until_drained
from tests.fixtures.server import cli_env, server_process
from tests.security.cluster import (
    PrivateCluster,
    engine_for,
    make_webhook,
    migrate_and_make_till,
    private_postgres,
)

BEFORE, OUTAGE, AFTER = 1.5, 3.0, 3.0  # seconds of load in each phase


@dataclass
class Load:
    phase: str = "before"
    answers: list[tuple[str, str, int]] = field(default_factory=list)  # (phase, kind, status)
    refusals: list[str] = field(default_factory=list)  # what was wrong with a non-200
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    mobiles: list[str] = field(default_factory=list)  # registered
    sent: list[str] = field(default_factory=list)  # sent to be registered
    stop: bool = False


def _check(load: Load, kind: str, r: httpx.Response) -> None:
    load.answers.append((load.phase, kind, r.status_code))
    if r.status_code == 200:
        return
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    errors = body.get("errors") or [{}]
    if (
        r.status_code != 503
        or not r.headers.get("retry-after", "").isdigit()
        or body.get("warnings") != []
        or errors[0].get("code") != 503
        or errors[0].get("status") is not False
    ):
        load.refusals.append(f"{kind}: {r.status_code} {r.headers} {r.text[:300]}")


async def _client(load: Load, kind: str, base: str, auth: dict[str, str], webhook_id: str) -> None:
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
        while not load.stop:
            mobile = "9173" + str(uuid.uuid4().int)[:8]
            try:
                if kind == "webhook":
                    body = {"event_name": "Visit", "customer": mobile, "ref": uuid.uuid4().hex}
                    r = await client.post(f"/webhooks/{webhook_id}", json=body)
                    if r.status_code == 200:
                        load.acked[r.json()["requestId"]] = body
                elif kind == "logs":
                    r = await client.get("/v2/events/logs", params={"limit": 5})
                elif kind == "ready":
                    r = await client.get("/ready")
                elif kind == "register":
                    profile = {
                        "firstName": "Outage",
                        "identifiers": [{"type": "mobile", "value": mobile}],
                    }
                    r = await client.post("/v2/customers", json={"profiles": [profile]})
                    load.sent.append(mobile)
                    if r.status_code == 200:
                        load.mobiles.append(mobile)
                else:
                    registered = bool(load.mobiles)  # before the request: another may end
                    known = load.mobiles[0] if registered else mobile
                    params = {"identifierName": "mobile", "identifierValue": known}
                    r = await client.get("/v2/customers/lookup", params=params)
                    if r.status_code == 404 and not registered:
                        r.status_code = 200  # nothing registered yet: a real answer
            except httpx.TransportError as exc:
                load.answers.append((load.phase, kind, 0))
                load.refusals.append(f"{kind}: {type(exc).__name__}")
                await asyncio.sleep(0.05)
                continue
            _check(load, kind, r)
            await asyncio.sleep(0.01)


KINDS = ("webhook", "webhook", "webhook", "logs", "register", "lookup", "ready")


async def _run(load: Load, pg: PrivateCluster, base: str, auth: dict[str, str], wh: str) -> None:
    clients = [asyncio.create_task(_client(load, kind, base, auth, wh)) for kind in KINDS]
    await asyncio.sleep(BEFORE)
    load.phase = "stopping"
    await asyncio.to_thread(pg.stop)
    load.phase = "outage"
    await asyncio.sleep(OUTAGE)
    load.phase = "starting"
    await asyncio.to_thread(pg.start)
    load.phase = "after"
    await asyncio.sleep(AFTER)
    load.stop = True
    await asyncio.gather(*clients)


def test_a_database_outage_answers_503_and_recovers_without_a_restart(tmp_path: Path) -> None:
    with private_postgres() as pg:
        env = cli_env(pg.url, tmp_path)
        auth, till_code = migrate_and_make_till(env)
        load = Load()
        with server_process(env) as server:
            webhook_id = make_webhook(server.base, auth, till_code, unique=False)
            asyncio.run(_run(load, pg, server.base, auth, webhook_id))
            engine = engine_for(env)
            try:
                wait_until_drained(engine, timeout=30)
                with engine.connect() as conn:
                    logs = dict(conn.execute(sa.text("SELECT id, status FROM event_logs")).all())
                    records = Counter(
                        conn.execute(sa.text("SELECT id FROM event_records")).scalars()
                    )
            finally:
                engine.dispose()
        logged = server.log.read_text()

    assert not load.refusals, load.refusals[:5]
    by_phase = Counter((phase, status) for phase, _, status in load.answers)
    assert by_phase[("outage", 503)] > 20, by_phase  # the outage was met...
    assert by_phase[("outage", 200)] == 0, by_phase  # ...and nothing pretended otherwise
    for kind in set(KINDS):  # every kind of route met it, and recovered
        statuses = [s for phase, k, s in load.answers if k == kind and phase == "outage"]
        assert 503 in statuses, kind
        last = [s for phase, k, s in load.answers if k == kind and phase == "after"][-3:]
        assert last == [200] * len(last) and last, (kind, last)

    # Every acknowledged event processed exactly once.
    assert len(load.acked) > 20
    assert set(load.acked) <= set(logs), "an acknowledged event has no log entry"
    assert {logs[rid] for rid in load.acked} == {"EVENT_SUCCESS"}
    assert set(records) == set(logs) and set(records.values()) == {1}

    # The log: one line per outage and per recovery (a few at most, as the
    # cluster stops), no traceback, no request's data.
    # The access lines (one per request) aside: the server's own lines.
    access = re.compile(r"^INFO:\s+[A-Z]+ \S+ (\d{3}|None) [\d.]+ms request ")
    lines = [line for line in logged.splitlines() if not access.match(line)]
    assert len(lines) < len(logged.splitlines()), "every request has an access line"
    down = [line for line in lines if "database unavailable" in line]
    up = [line for line in lines if "database available again" in line]
    assert 1 <= len(down) <= 3 and 1 <= len(up) <= 3, (down, up)
    assert "Traceback" not in logged
    assert len(lines) < 40, logged[-3000:]
    assert not [m for m in load.sent if m in logged]
