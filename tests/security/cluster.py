"""Set-up shared by the tests that run real `eventrail serve` processes on one
database (test_kill_customers, test_two_processes), and a PostgreSQL cluster of
a test's own that it can stop and start (test_outage).

The schema, the org and its till are made in-process rather than with the CLI:
the same code the CLI runs, without a Python start-up per command, which keeps
these tests fast on a busy machine. Definitions and webhooks go through the API.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database, create_db_engine, migrate
from tests.fixtures.durability import DEFINITION
from tests.fixtures.factories import basic, make_org, make_till, md5
from tests.fixtures.server import free_port


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(
        database_url=env["EVENTRAIL_DATABASE_URL"],
        data_dir=Path(env["EVENTRAIL_DATA_DIR"]),
        secret_key="s" * 40,
    )


def engine_for(env: dict[str, str]) -> sa.Engine:
    return create_db_engine(settings_for(env))


def migrate_and_make_till(env: dict[str, str]) -> tuple[dict[str, str], str]:
    """Bring the schema to head, create an org with one till; its Basic auth and code."""
    settings = settings_for(env)
    migrate(settings)
    db = Database(settings)
    try:
        org_id = make_org(db)
        _, code, password = make_till(db, org_id)
    finally:
        db.dispose()
    return basic(code, md5(password)), code


def make_webhook(base: str, auth: dict[str, str], till_code: str, *, unique: bool) -> str:
    """The Visit definition and a default-transformer webhook for it; the webhook id.

    The org's rate limit is lifted first: these tests measure what the load does
    to the data, and a 429 would only cut the load short.
    """
    with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
        r = api.put("/v2/orgs/settings", json={"rateLimitPerMinute": 1_000_000})
        assert r.status_code == 200, r.text
        r = api.post("/v2/events", json=DEFINITION)
        assert r.status_code == 200, r.text
        r = api.post(
            "/v2/events/webhook",
            json={
                "transformerType": "defaultTransformer",
                "tillCode": till_code,
                "uniquenessCheckEnabled": unique,
            },
        )
        assert r.status_code == 200, r.text
        webhook_id: str = r.json()["webHookId"]
        return webhook_id


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, in a temporary directory on a free
    port, that the test may stop and start (the shared server is never touched).
    Run as the ``postgres`` user when the tests run as root (initdb refuses root)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip("PostgreSQL 15 binaries not installed")
        self.root = Path(tempfile.mkdtemp(prefix="eventrail-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_user, str(PG_BIN / tool), *args], check=True, capture_output=True, timeout=60
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
