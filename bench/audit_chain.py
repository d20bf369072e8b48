"""The audit hash chain's write cost: audited writes per second with and without it.

    python -m bench.audit_chain [--writes 300] [--writers 1,8] [--backends sqlite,postgresql]

For each database it migrates a fresh one, creates an org with customers, then
times ``--writes`` customer updates (``PUT /v2/customers/{id}``: one transaction
that changes the customer and writes its audit entry) through the app in process,
from 1 and from 8 concurrent writers: once with the chain switched off
(``audit.chain.link`` replaced by a function that does nothing: the write path as
it was before the chain) and once as shipped. The figures are in bench/README.md,
"Audit hash chain".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.run import PASSWORD, SECRET, database
from eventrail.app import create_app
from eventrail.audit import chain
from eventrail.auth.service import create_till
from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.kit.security import md5_hex
from eventrail.orgs.service import create_org


async def _run(app: Any, auth: httpx.BasicAuth, ids: list[int], writes: int, writers: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://b", auth=auth) as http:

        async def writer(k: int) -> None:
            for n in range(k, writes, writers):
                r = await http.put(
                    f"/v2/customers/{ids[n % len(ids)]}", json={"firstName": f"n{n}{k}"}
                )
                assert r.status_code == 200, r.text

        started = time.perf_counter()
        await asyncio.gather(*(writer(k) for k in range(writers)))
        return writes / (time.perf_counter() - started)


async def bench(kind: str, writes: int, writer_counts: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        settings = Settings(
            database_url=url, data_dir=Path(tmp), secret_key=SECRET, processor_threads=0
        )
        migrate(settings)
        db = Database(settings)
        with db.transaction() as session:
            org = create_org(session, name="bench", timezone="UTC")
            create_till(session, org_id=org.id, code="bench.till", password=PASSWORD, admin=True)
            org_id = org.id
        app = create_app(settings, db)
        auth = httpx.BasicAuth("bench.till", md5_hex(PASSWORD))
        transport = httpx.ASGITransport(app=app)
        ids = []
        async with httpx.AsyncClient(transport=transport, base_url="http://b", auth=auth) as http:
            for n in range(32):
                mobile = f"91{uuid.uuid4().int % 10**10:010d}"
                body = {"profiles": [{"identifiers": [{"type": "mobile", "value": mobile}]}]}
                r = await http.post("/v2/customers", json=body)
                assert r.status_code == 200, r.text
                ids.append(r.json()["createdId"])
                del n
        figures: dict[str, Any] = {}
        link = chain.link
        try:
            for writers in writer_counts:
                chain.link = lambda session, entries: None  # type: ignore[assignment]
                before = await _run(app, auth, ids, writes, writers)
                chain.link = link
                after = await _run(app, auth, ids, writes, writers)
                figures[f"writers={writers}"] = {
                    "before_per_s": round(before, 1),
                    "after_per_s": round(after, 1),
                    "cost_pct": round(100 * (before - after) / before, 1),
                }
        finally:
            chain.link = link
            app.state.reads.close()
            db.dispose()
        del org_id
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--writers", default="1,8")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results = {
        kind: asyncio.run(bench(kind, args.writes, [int(w) for w in args.writers.split(",")]))
        for kind in args.backends.split(",")
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
