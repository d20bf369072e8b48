"""`eventrail backup PATH`: an online, consistent copy of a SQLite database taken
while a real server writes events; one-line refusals; PostgreSQL points to pg_dump."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.fixtures.durability import provision
from tests.fixtures.server import EVENTRAIL, cli_env, run_cli, server_process


def _visit(n: int) -> dict[str, str]:
    return {"event_name": "Visit", "customer": f"9171{n:08d}", "ref": uuid.uuid4().hex}


def test_a_backup_while_the_server_writes_holds_every_acknowledged_event(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/live.db", tmp_path)
    assert run_cli(["migrate"], env)[0] == 0
    copy = tmp_path / "copies" / "live-copy.db"
    copy.parent.mkdir()
    acked: list[tuple[float, str]] = []  # (when, requestId) of every 200
    stop = threading.Event()
    with server_process(env) as server:
        _, webhook_id = provision(env, server.base, unique=False)
        url = f"{server.base}/webhooks/{webhook_id}"

        def write() -> None:
            with httpx.Client(timeout=30) as client:
                n = 0
                while not stop.is_set():
                    r = client.post(url, json=_visit(n))
                    assert r.status_code == 200, r.text
                    acked.append((time.monotonic(), r.json()["requestId"]))
                    n += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while len(acked) < 100:
                time.sleep(0.05)
            started = time.monotonic()
            code, answer = run_cli(["backup", str(copy)], env)
            finished = time.monotonic()
            time.sleep(0.3)
        finally:
            stop.set()
            writer.join()
    assert code == 0, answer
    assert answer == {"backup": str(copy), "bytes": copy.stat().st_size}
    # the server was writing before, during and after the copy
    assert any(when > finished for when, _ in acked)
    before = {rid for when, rid in acked if when < started}
    assert len(before) >= 100
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = {row[0] for row in db.execute("SELECT id FROM event_logs")}
        kept |= {row[0] for row in db.execute("SELECT request_id FROM ingest_requests")}
    db.close()
    assert before <= kept, f"{len(before - kept)} acknowledged events missing from the copy"
    copied = cli_env(f"sqlite:///{copy}", tmp_path)
    assert run_cli(["migrate"], copied) == (0, {"migrated": True, "applied": []})


def _one_line(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([EVENTRAIL, *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_backup_refuses_to_overwrite_and_says_why_in_one_line(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/e.db", tmp_path)
    assert run_cli(["migrate"], env)[0] == 0
    target = tmp_path / "copy.db"
    target.write_text("precious")
    assert "copy.db exists: use --force" in _one_line(["backup", str(target)], env)
    assert target.read_text() == "precious"
    code, answer = run_cli(["backup", str(target), "--force"], env)
    assert code == 0 and answer["bytes"] == target.stat().st_size > 1000
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*) FROM orgs").fetchone() == (0,)
    db.close()
    assert "is a directory" in _one_line(["backup", str(tmp_path)], env)
    assert "is the database itself" in _one_line(["backup", str(tmp_path / "e.db"), "--force"], env)
    assert "no directory" in _one_line(["backup", str(tmp_path / "no" / "c.db")], env)
    missing = cli_env(f"sqlite:///{tmp_path}/none.db", tmp_path)
    assert "no SQLite database file" in _one_line(["backup", str(tmp_path / "n.db")], missing)
    assert not (tmp_path / "none.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_backup_on_postgresql_says_to_use_pg_dump(tmp_path: Path) -> None:
    # no connection is made: the URL alone says which database it is
    env = cli_env("postgresql://nobody@127.0.0.1:1/none", tmp_path)
    line = _one_line(["backup", str(tmp_path / "x.db")], env)
    assert "use pg_dump" in line
    assert not (tmp_path / "x.db").exists()


def test_backup_errors_with_json_are_one_object(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/none.db", tmp_path)
    code, answer = run_cli(["backup", str(tmp_path / "c.db")], env)
    assert code == 1 and "no SQLite database file" in answer["error"]
