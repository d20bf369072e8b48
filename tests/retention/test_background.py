"""Where processors run (`eventrail serve`, `eventrail process`), expired rows are
pruned in the background, and nothing else is."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager

import pytest

from eventrail.config import Settings
from eventrail.db import Database, migrate
from tests.fixtures.factories import make_org
from tests.fixtures.server import Server, processor_process, server_process
from tests.retention.seed import audit_counts_match, remaining, seed, set_retention


@pytest.mark.parametrize("command", ["serve", "process"])
def test_a_running_process_prunes_expired_rows(env: dict[str, str], command: str) -> None:
    settings = Settings(database_url=env["EVENTRAIL_DATABASE_URL"], secret_key="s" * 40)
    migrate(settings)
    db = Database(settings)
    try:
        org = make_org(db)
        other = make_org(db)
        set_retention(db, org, event_logs_days=10, audit_days=30)
        a = seed(db, org, log_ages=[20, 5], record_ages=[400, 5], audit_ages=[40, 5])
        b = seed(db, other, log_ages=[20], record_ages=[5], audit_ages=[400], entity_id=9)
        env = {**env, "EVENTRAIL_RETENTION_INTERVAL_SECONDS": "1"}
        running: AbstractContextManager[Server] = (
            server_process(env) if command == "serve" else processor_process(env)
        )
        with running:
            deadline = time.monotonic() + 60
            while remaining(db, org)["logs"] != {i for i, age in a.logs.items() if age < 10}:
                assert time.monotonic() < deadline, "nothing was pruned in 60 s"
                time.sleep(0.5)
            while remaining(db, org)["audits"] != {i for i, age in a.audits.items() if age < 30}:
                assert time.monotonic() < deadline, "the audit entry was not pruned in 60 s"
                time.sleep(0.5)
        left = remaining(db, org)
        assert left["records"] == {i for i, age in a.records.items() if age < 365}
        assert remaining(db, other)["logs"] == set(b.logs)  # 20 days < the default 90
        assert remaining(db, other)["audits"] == set(b.audits)
        audit_counts_match(db, org)
    finally:
        db.dispose()
