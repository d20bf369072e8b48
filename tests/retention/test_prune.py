"""`eventrail prune [--dry-run]`: each org's expired rows go, by that org's retention
(or the defaults); other orgs' rows, recent rows, unfinished notification deliveries
and the audit trail of orgs without auditDays stay; audit counts stay exact. Real
commands on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database, migrate
from tests.fixtures.factories import make_org
from tests.fixtures.server import run_cli, run_human
from tests.retention.seed import (
    audit_counts_match,
    remaining,
    seed,
    seed_deliveries,
    set_retention,
)


@pytest.fixture
def db_of(env: dict[str, str]) -> Iterator[Database]:
    settings = Settings(database_url=env["EVENTRAIL_DATABASE_URL"], secret_key="s" * 40)
    migrate(settings)
    db = Database(settings)
    yield db
    db.dispose()


def test_prune_deletes_what_each_orgs_retention_expired(
    env: dict[str, str], db_of: Database
) -> None:
    db = db_of
    short = make_org(db)  # its own days: logs 30, events 200, audit 100
    plain = make_org(db)  # the defaults: logs 90, events 365, audit kept
    set_retention(db, short, event_logs_days=30, event_data_days=200, audit_days=100)
    a = seed(db, short, log_ages=[60, 40, 1], record_ages=[300, 100], audit_ages=[400, 150, 1])
    b = seed(db, plain, log_ages=[100, 60], record_ages=[400, 300], audit_ages=[4000], entity_id=78)
    # Deliveries (days since written, state, days since finished) follow eventLogsDays:
    # finished before the cutoff go; unfinished ones and recent outcomes stay.
    a_sent = seed_deliveries(
        db,
        short,
        [
            (60, "delivered", 60),  # goes
            (60, "failed", 59),  # goes
            (40, "pending", None),  # waiting for a retry or redelivered: stays
            (40, "inflight", None),  # being sent: stays
            (60, "delivered", 10),  # redelivered 10 days ago: stays
            (10, "failed", 5),
        ],
    )
    b_sent = seed_deliveries(
        db, plain, [(100, "delivered", 100), (60, "failed", 60), (200, "pending", None)]
    )
    before = {short: remaining(db, short), plain: remaining(db, plain)}

    code, out = run_cli(["prune", "--dry-run"], env)
    assert code == 0, out
    assert out["dryRun"] is True and out["total"] == 2 + 1 + 2 + 2 + 1 + 1 + 1
    by_org = {o["orgId"]: o for o in out["orgs"]}
    assert by_org[short] == {
        "orgId": short,
        "eventLogs": 2,
        "eventData": 1,
        "audit": 2,
        "notifications": 2,
    }
    assert by_org[plain] == {
        "orgId": plain,
        "eventLogs": 1,
        "eventData": 1,
        "audit": 0,
        "notifications": 1,
    }
    assert remaining(db, short) == before[short] and remaining(db, plain) == before[plain]

    code, stdout, stderr = run_human(["prune"], env)
    assert code == 0, stderr
    assert "100%  10/10 rows" in stderr  # the progress bar's last state
    assert "2 notification deliveries" in stdout
    assert "deleted 10 expired row(s)" in stdout and "Traceback" not in stderr

    left = remaining(db, short)
    assert left["logs"] == {i for i, age in a.logs.items() if age < 30}
    assert left["records"] == {i for i, age in a.records.items() if age < 200}
    assert left["keys"] == left["records"]  # the unique keys went with their events
    assert left["audits"] == {i for i, age in a.audits.items() if age < 100}
    assert left["refs"] == left["kinds"] == left["audits"]
    left = remaining(db, plain)
    assert left["logs"] == {i for i, age in b.logs.items() if age < 90}
    assert left["records"] == {i for i, age in b.records.items() if age < 365}
    assert left["audits"] == set(b.audits)  # no auditDays: kept however old
    assert left["deliveries"] == {i for i, (age, _, _) in b_sent.items() if age != 100}
    assert remaining(db, short)["deliveries"] == {
        i
        for i, (_, state, ended) in a_sent.items()
        if state in ("pending", "inflight") or (ended is not None and ended < 30)
    }
    for org in (short, plain):
        audit_counts_match(db, org)

    code, out = run_cli(["prune"], env)
    assert code == 0 and out["total"] == 0


def test_the_database_refuses_to_delete_audit_entries_not_expired(db_of: Database) -> None:
    org = make_org(db_of)
    set_retention(db_of, org, audit_days=100)
    seeded = seed(db_of, org, log_ages=[], record_ages=[], audit_ages=[10])
    [entry] = seeded.audits
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db_of.transaction() as session:
        session.execute(sa.text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry})
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db_of.transaction() as session:
        session.execute(
            sa.text("UPDATE audit_entries SET events = '[]' WHERE id = :i"), {"i": entry}
        )
    assert remaining(db_of, org)["audits"] == {entry}


def test_prune_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    # not migrated (a fresh database of each kind)
    code, stdout, stderr = run_human(["prune", "--dry-run"], env)
    assert code == 1 and stdout == ""
    assert stderr.count("\n") == 1 and "eventrail migrate" in stderr, stderr
    # a database that is not there
    if env["EVENTRAIL_DATABASE_URL"].startswith("sqlite"):
        missing = {**env, "EVENTRAIL_DATABASE_URL": f"sqlite:///{tmp_path}/none/x.db"}
    else:
        missing = {**env, "EVENTRAIL_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    code, stdout, stderr = run_human(["prune"], missing)
    assert code == 1 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    # bad arguments
    code, stdout, stderr = run_human(["prune", "--dry-run=yes"], env)
    assert code == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr


def test_one_pruner_at_a_time(db: Database) -> None:
    """On PostgreSQL the pruners of every process share one lock; SQLite's write lock
    serialises their batches instead."""
    from eventrail.retention.service import pruner_lock

    with pruner_lock(db, wait=False) as first, pruner_lock(db, wait=False) as second:
        assert first is True
        assert second is db.is_sqlite
    with pruner_lock(db, wait=False) as again:
        assert again is True  # released


def test_finished_deliveries_go_in_batches_and_unfinished_ones_stay(
    env: dict[str, str], db_of: Database
) -> None:
    from eventrail.retention.service import NOTIFICATIONS, prune, targets

    org = make_org(db_of)
    other = make_org(db_of)
    set_retention(db_of, org, event_logs_days=7)
    sent = seed_deliveries(
        db_of,
        org,
        [(30, "delivered", 30)] * 4
        + [(30, "failed", 29), (30, "pending", None), (30, "inflight", None), (9, "failed", 3)],
    )
    theirs = seed_deliveries(db_of, other, [(30, "delivered", 30)])  # the default 90 days
    settings = Settings(database_url=env["EVENTRAIL_DATABASE_URL"], secret_key="s" * 40)
    with db_of.transaction(write=False) as session:
        [target] = [
            t for t in targets(session, settings) if t.org_id == org and t.kind == NOTIFICATIONS
        ]
    batches: list[int] = []
    assert prune(db_of, target, 2, progress=batches.append) == 5
    assert batches == [2, 2, 1]  # at most 2 rows per transaction
    assert remaining(db_of, org)["deliveries"] == {
        i for i, (_, state, ended) in sent.items() if state in ("pending", "inflight") or ended == 3
    }
    assert remaining(db_of, other)["deliveries"] == set(theirs)
