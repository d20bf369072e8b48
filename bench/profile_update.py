"""Where an audited update's CPU goes, in process: ``PUT /v2/customers/{id}`` through
the app (httpx's ASGI transport, no server), under cProfile, with the SQL it sends.

    python -m bench.profile_update [--writes 500] [--backend postgresql] [--top 40]

Prints the statements of one update (with their count), the Python time per
update, and cProfile's top functions by cumulative and by own time. The server's
layers (uvicorn, httptools) are not in it: ``py-spy`` on a served worker shows
those (bench/README.md, "Audited writes against Django").
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.run import PASSWORD, SECRET, database
from eventrail.app import create_app
from eventrail.auth.service import create_till
from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.kit.security import md5_hex
from eventrail.orgs.service import create_org


async def _updates(http: httpx.AsyncClient, ids: list[int], writes: int, tag: str) -> None:
    for n in range(writes):
        r = await http.put(
            f"/v2/customers/{ids[n % len(ids)]}", json={"profiles": [{"lastName": f"{tag}{n}"}]}
        )
        assert r.status_code == 200, r.text


async def profile(kind: str, writes: int, top: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        settings = Settings(
            database_url=url, data_dir=Path(tmp), secret_key=SECRET, processor_threads=0
        )
        migrate(settings)
        db = Database(settings)
        with db.transaction() as session:
            org = create_org(session, name="bench", timezone="UTC")
            create_till(session, org_id=org.id, code="bench.till", password=PASSWORD, admin=True)
        app = create_app(settings, db)
        auth = httpx.BasicAuth("bench.till", md5_hex(PASSWORD))
        transport = httpx.ASGITransport(app=app)
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        async with httpx.AsyncClient(transport=transport, base_url="http://b", auth=auth) as http:
            ids = []
            for _ in range(50):
                mobile = f"91{uuid.uuid4().int % 10**10:010d}"
                body = {"profiles": [{"identifiers": [{"type": "mobile", "value": mobile}]}]}
                r = await http.post("/v2/customers", json=body)
                assert r.status_code == 200, r.text
                ids.append(r.json()["createdId"])
            await _updates(http, ids, 50, "warm")  # caches, prepared statements
            event.listen(db.engine, "before_cursor_execute", seen)
            await _updates(http, ids, 1, "one")
            event.remove(db.engine, "before_cursor_execute", seen)
            print(f"statements of one update ({len(statements)}):")
            for statement in statements:
                print("  " + " ".join(statement.split())[:160])
            profiler = cProfile.Profile()
            started = time.perf_counter()
            cpu = time.process_time()
            profiler.enable()
            await _updates(http, ids, writes, "p")
            profiler.disable()
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
        print(
            f"\n{writes} updates: {wall / writes * 1e6:,.0f} us wall, "
            f"{cpu / writes * 1e6:,.0f} us CPU of this process per update (under cProfile)"
        )
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        app.state.reads.close()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(profile(args.backend, args.writes, args.top))


if __name__ == "__main__":
    main()
