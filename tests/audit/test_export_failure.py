"""An export that fails part way does not look complete: a real `eventrail serve`
streams a log export, its table is dropped under it after the first rows, and the
client sees an incomplete body (the chunked body's terminating chunk never comes),
without the NDJSON end line, whichever the format."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database, migrate
from eventrail.kit.exports import TRAILER_KEY
from tests.conftest import TEST_SECRET
from tests.fixtures.exports import load
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.server import cli_env, server_process

# Far more than the sockets' buffers hold (~25 MB): the server is still reading
# batches when the table goes.
ROWS = 50_000


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_export_failing_part_way_ends_incomplete(
    env: dict[str, str], tmp_path: Path, fmt: str
) -> None:
    url = env["EVENTRAIL_DATABASE_URL"]
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET)
    migrate(settings)
    db = Database(settings)
    try:
        org_id = make_org(db)
        _, code, password = make_till(db, org_id)
        load(db, org_id, ROWS)
        served = cli_env(url, tmp_path, EVENTRAIL_SECRET_KEY=TEST_SECRET)
        received = bytearray()
        with (
            server_process(served, args=["--no-processors"]) as server,
            httpx.Client(
                base_url=server.base, headers=basic(code, md5(password)), timeout=60
            ) as client,
        ):

            def download() -> None:
                with client.stream("GET", "/v2/events/logs/export", params={"format": fmt}) as r:
                    assert r.status_code == 200
                    chunks = r.iter_bytes()
                    while received.count(b"\n") < 2000:  # some batches first
                        received.extend(next(chunks))
                    with db.engine.begin() as conn:  # the export's next batch fails
                        conn.execute(sa.text("DROP TABLE event_logs"))
                    for chunk in chunks:
                        received.extend(chunk)

            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                download()
            assert "Exception in ASGI application" in server.output()
    finally:
        db.dispose()
    rows = received.count(b"\n") - (fmt == "csv")  # the CSV header
    assert 2000 <= rows < ROWS
    assert TRAILER_KEY.encode() not in received
