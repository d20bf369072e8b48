"""Load and checks for the tests that run servers and `eventrail process` apart
(test_processes, test_shutdown, security/test_two_processes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa


def visit(n: int) -> dict[str, Any]:
    """A Visit event (tests.events.test_durability.DEFINITION) of its own customer."""
    return {"event_name": "Visit", "customer": f"9190{n:08d}", "ref": uuid.uuid4().hex}


@dataclass
class Load:
    """Posts to one or more servers from ``clients`` concurrent clients, until told to
    stop or every server refuses connections."""

    bases: list[str]
    webhook_id: str
    clients: int = 16
    wait_every: int = 0  # every Nth post asks ?wait=true (0: none)
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    verdicts: dict[str, Any] = field(default_factory=dict)  # requestId -> result (wait=true)
    statuses: dict[int, int] = field(default_factory=dict)  # status code -> count
    refused_connections: int = 0
    stopping: bool = False
    _next: int = 0

    async def _client(self, client: httpx.AsyncClient, limit: int | None) -> None:
        failures = 0
        while not self.stopping and (limit is None or self._next < limit):
            n = self._next
            self._next += 1
            body = visit(n)
            base = self.bases[n % len(self.bases)]
            wait = self.wait_every > 0 and n % self.wait_every == 0
            try:
                r = await client.post(
                    f"{base}/webhooks/{self.webhook_id}",
                    params={"wait": "true"} if wait else None,
                    json=body,
                )
            except httpx.TransportError:
                # The server stopped accepting (or died): not acknowledged.
                self.refused_connections += 1
                failures += 1
                if failures >= 20:
                    return
                await asyncio.sleep(0.05)
                continue
            failures = 0
            self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
            if r.status_code == 200:
                answer = r.json()
                self.acked[answer["requestId"]] = body
                if wait:
                    self.verdicts[answer["requestId"]] = answer["result"]

    async def run(
        self,
        *,
        limit: int | None = None,
        during: Callable[[Load], Any] | None = None,
    ) -> None:
        """Post ``limit`` events (or until stopped); ``during(load)``, a coroutine
        function, runs beside the clients and may stop them."""
        limits = httpx.Limits(max_connections=self.clients)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            tasks = [asyncio.create_task(self._client(client, limit)) for _ in range(self.clients)]
            if during is not None:
                await during(self)
            await asyncio.gather(*tasks)


def queued(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM ingest_requests")).scalar_one())


def stored(engine: sa.Engine, request_ids: set[str]) -> set[str]:
    """Which of these requests are in the database (queued, or logged once processed)."""
    with engine.connect() as conn:
        waiting = conn.execute(sa.text("SELECT request_id FROM ingest_requests")).scalars()
        logged = conn.execute(sa.text("SELECT id FROM event_logs")).scalars()
        return request_ids & ({str(r) for r in waiting} | {str(r) for r in logged})


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
