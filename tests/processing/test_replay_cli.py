"""`eventrail replay`: the org's failed entries replayed from the command line (a real
process on each database), in chunks, with a progress bar; --dry-run changes nothing."""

from __future__ import annotations

import subprocess
import uuid

import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database
from eventrail.models import EventLog, Webhook
from tests.fixtures.factories import make_org, make_till
from tests.fixtures.server import EVENTRAIL, run_cli

T0 = 1_780_000_000_000  # 2026-05-28


def _seed(env: dict[str, str], failed: int) -> tuple[Database, int, list[str]]:
    """An org with a webhook, ``failed`` INVALID_EVENT_NAME entries (one a day back from
    T0), a success and an Unauthorized entry."""
    assert run_cli(["migrate"], env)[0] == 0
    db = Database(Settings(database_url=env["EVENTRAIL_DATABASE_URL"], secret_key="s" * 40))
    org_id = make_org(db)
    till_id, _, _ = make_till(db, org_id)
    webhook_id = uuid.uuid4().hex
    rows = []
    for i in range(failed + 2):
        status = "INVALID_EVENT_NAME" if i < failed else ("EVENT_SUCCESS" if i == failed else None)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "org_id": org_id,
                "parent_org_id": -1,
                "webhook_id": webhook_id,
                "start_time": T0 - i * 86_400_000,
                "seq": i,
                "response_time": 1,
                "status": status,
                "event_name": "Nope",
                "input_request": '{"event_name": "Nope"}',
                "message": "m",
            }
        )
    with db.transaction() as session:
        session.execute(
            sa.insert(Webhook),
            [
                {
                    "id": webhook_id,
                    "org_id": org_id,
                    "transformer_type": "defaultTransformer",
                    "transformer_key": "defaulttransformer",
                    "till_id": till_id,
                    "created_at": 1,
                    "updated_at": 1,
                }
            ],
        )
        session.execute(sa.insert(EventLog), rows)
    return db, org_id, [r["id"] for r in rows[:failed]]


def _count(db: Database, sql: str, **params: object) -> int:
    with db.transaction(write=False) as session:
        return int(session.execute(sa.text(sql), params).scalar_one())


def test_replay_dry_run_then_for_real(env: dict[str, str]) -> None:
    db, org_id, failed = _seed(env, 1203)
    try:
        queued = "SELECT count(*) FROM ingest_requests WHERE replay_of IS NOT NULL"
        code, out = run_cli(["replay", "--org", str(org_id), "--dry-run"], env)
        assert code == 0, out
        assert out == {
            "orgId": org_id,
            "dryRun": True,
            "matched": 1203,
            "replayed": 1203,
            "skipped": 0,
            "reasons": {},
        }
        assert _count(db, queued) == 0
        assert _count(db, "SELECT count(*) FROM event_replays") == 0

        # Since a date: the entries of the last 10 days (the org's timezone is UTC).
        code, out = run_cli(
            ["replay", "--org", str(org_id), "--since", "2026-05-19", "--dry-run"], env
        )
        assert (code, out["matched"]) == (0, 10)

        done = subprocess.run(
            [EVENTRAIL, "replay", "--org", str(org_id), "--status", "invalid_event_name"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"replayed 1203 of 1203 failed entries of org {org_id}"
        bars = done.stderr.splitlines()
        assert bars[0] == f"replaying [{'.' * 30}] 0/1203"
        assert bars[-1] == f"replaying [{'#' * 30}] 1203/1203"
        assert len(bars) == 3  # 0, 1000, 1203
        assert _count(db, queued) == 1203
        replayed = _count(
            db, "SELECT count(DISTINCT replay_of) FROM ingest_requests WHERE org_id = :o", o=org_id
        )
        assert replayed == len(failed)

        # Pending replays are not taken again.
        code, out = run_cli(["replay", "--org", str(org_id)], env)
        assert (code, out["matched"], out["replayed"]) == (0, 0, 0)
    finally:
        db.dispose()


def test_bad_arguments_are_one_line(env: dict[str, str]) -> None:
    db, org_id, _ = _seed(env, 1)
    db.dispose()
    for args, fragment in (
        (["--org", str(org_id), "--status", "EVENT_SUCCESS"], "--status"),
        (["--org", str(org_id), "--since", "yesterday"], "--since"),
        (["--org", "999999"], "no org 999999"),
        (["--org", "x"], "--org"),
    ):
        code, out = run_cli(["replay", *args], env)
        assert code != 0, out
        assert fragment in out["error"], out
