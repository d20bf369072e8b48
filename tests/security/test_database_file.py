"""The SQLite database holds customers' data and password hashes: only its owner
may read it (0600), its -wal and -shm files included, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database
from tests.fixtures.server import cli_env, run_cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644
    yield
    os.umask(previous)


def test_migrate_creates_the_database_readable_by_its_owner_only(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/new.db", tmp_path)
    assert run_cli(["migrate"], env)[0] == 0
    assert _mode(tmp_path / "new.db") == 0o600


def test_wal_and_shm_files_are_private_too(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "app.db"
    db = Database(Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path))
    try:
        with db.transaction() as session:
            session.execute(sa.text("CREATE TABLE t (v TEXT)"))
            session.execute(sa.text("INSERT INTO t VALUES ('x')"))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        db.dispose()


def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch()
    path.chmod(0o644)
    Database(Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path)).dispose()
    assert _mode(path) == 0o600
