"""Exports run in constant memory: a real `eventrail serve` streams a large log and
audit export while its resident memory is sampled; the peak stays within a fixed
margin of what it was before, however many rows go out.

CI exports EXPORT_ROWS (200,000 by default: a 140 MB NDJSON download) on each
database; `EVENTRAIL_TEST_EXPORT_ROWS=1000000` runs the same test at 1M rows
(docs/decisions.md, "Exports"). Rows are bulk-loaded with one INSERT ... SELECT.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx

from eventrail.config import Settings
from eventrail.db import Database, migrate
from tests.conftest import TEST_SECRET
from tests.fixtures.exports import load
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.server import cli_env, server_process

EXPORT_ROWS = int(os.environ.get("EVENTRAIL_TEST_EXPORT_ROWS", "200000"))
MARGIN_KIB = 48 * 1024  # a buffered export would hold the whole download


def test_exports_stream_in_constant_memory(env: dict[str, str], tmp_path: Path) -> None:
    url = env["EVENTRAIL_DATABASE_URL"]
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET)
    migrate(settings)
    db = Database(settings)
    try:
        org_id = make_org(db)
        _, code, password = make_till(db, org_id)
        load(db, org_id, EXPORT_ROWS)
    finally:
        db.dispose()
    headers = basic(code, md5(password))
    # The rows date from 2023, long past the log's retention: the server's pruner
    # (first round after EVENTRAIL_RETENTION_INTERVAL_SECONDS, 300 s) would delete
    # them under an export still running (a long run at 1M rows on a loaded machine
    # did: the export then rightly ended at the rows still there). It is off here.
    served = cli_env(
        url, tmp_path, EVENTRAIL_SECRET_KEY=TEST_SECRET, EVENTRAIL_RETENTION_INTERVAL_SECONDS="0"
    )
    with (
        server_process(served) as server,
        httpx.Client(base_url=server.base, headers=headers, timeout=120) as client,
    ):
        # warm: the first export of each kind loads what every later one uses
        client.get("/v2/events/logs/export", params={"to_date": "1700000000100"})
        before = server.rss_kib()
        peak = before
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, server.rss_kib())
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            for path, expected in (
                ("/v2/events/logs/export", EXPORT_ROWS),
                ("/api_gateway/v2/audits/export", EXPORT_ROWS // 4),
            ):
                for fmt in ("ndjson", "csv"):
                    lines = size = 0
                    with client.stream("GET", path, params={"format": fmt}) as r:
                        assert r.status_code == 200
                        for chunk in r.iter_bytes():
                            size += len(chunk)
                            lines += chunk.count(b"\n")
                    # a row a line (+ the NDJSON trailer or the CSV header)
                    assert lines == expected + 1, (path, fmt, lines)
                    if path.startswith("/v2/events"):
                        assert size > EXPORT_ROWS * 400
        finally:
            done.set()
            sampler.join()
    assert peak - before < MARGIN_KIB, f"RSS grew {(peak - before) // 1024} MiB"
