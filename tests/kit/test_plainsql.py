"""The lean path of `eventrail org create`, `till create` and `client create`
(kit/plainsql.py, orgs/provision.py, auth/provision.py): plain SQL on a plain
driver connection, on tables the models own.

Nothing here is timed. What makes those commands fast is what they do not load,
so the test runs each one in a fresh interpreter and asserts that neither
FastAPI nor SQLAlchemy (its ORM included) was imported. The rows they write are
checked against the models' own defaults, so that a column added to a model
with a default cannot be forgotten by the SQL here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from eventrail.db import SCHEMA_HEAD, Database
from eventrail.kit.plainsql import newest_revision
from eventrail.models import OAuthClient, Org, StatusLabel, Store, Till
from tests.fixtures.server import run_cli, run_human
from tests.security.cluster import settings_for


def test_the_newest_migration_file_is_the_schema_head() -> None:
    assert newest_revision() == SCHEMA_HEAD


def _modules_after(argv: list[str], env: dict[str, str], stdin: str = "") -> set[str]:
    """Every module `eventrail <argv>` imported, from a fresh interpreter."""
    script = (
        "import sys\n"
        "from eventrail import cli\n"
        f"code = cli.main({argv!r})\n"
        "assert code == 0, code\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split("\n")[-2].split())


HEAVY = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "alembic", "jwt", "eventrail.models")


def test_org_till_and_client_create_load_neither_sqlalchemy_nor_the_web_stack(
    env: dict[str, str],
) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    commands = [
        ["org", "create", "--name", "Lean"],
        ["till", "create", "--org", "1", "--code", "lean", "--password-stdin", "--admin"],
        ["client", "create", "--org", "1", "--till", "lean"],
    ]
    for argv in commands:
        loaded = _modules_after(argv, env, stdin="Secret123\n")
        heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
        assert not heavy, (argv, heavy[:10])
        assert "eventrail.kit.plainsql" in loaded
    # what they made works through the API's own code
    code, out = run_cli(["till", "admin", "--org", "1", "--code", "lean", "--off"], env)
    assert code == 0 and out["admin"] is False, out


def _row(db: Database, table: sa.Table, **where: Any) -> dict[str, Any]:
    with db.engine.connect() as conn:
        stmt = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        return dict(conn.execute(stmt).mappings().one())


def _assert_model_defaults(row: dict[str, Any], table: sa.Table, given: set[str]) -> None:
    """Every column not given by the command holds the model's default (or NULL)."""
    for column in table.columns:
        if column.name in given or column.primary_key:
            continue
        if column.default is not None and column.default.is_scalar:
            expected = column.default.arg  # type: ignore[attr-defined]
        elif column.server_default is not None:
            expected = column.server_default.arg  # type: ignore[attr-defined]
            expected = int(expected) if str(expected).isdigit() else expected
        else:
            expected = None
        value = row[column.name]
        if isinstance(expected, bool) or isinstance(value, bool):
            assert bool(value) == bool(expected), (table.name, column.name, value)
        else:
            assert value == expected, (table.name, column.name, value)


def test_the_rows_written_hold_the_models_defaults(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    code, org = run_cli(["org", "create", "--name", "Defaults"], env)
    assert code == 0, org
    code, till = run_cli(
        [
            *("till", "create", "--org", str(org["orgId"])),
            *("--code", "t1", "--password", "p", "--store-code", "s1"),
        ],
        env,
    )
    assert code == 0, till
    code, client = run_cli(["client", "create", "--org", str(org["orgId"]), "--till", "t1"], env)
    assert code == 0, client
    db = Database(settings_for(env))
    try:
        org_row = _row(db, Org.__table__, id=org["orgId"])
        _assert_model_defaults(org_row, Org.__table__, {"name", "created_at"})
        till_row = _row(db, Till.__table__, id=till["tillId"])
        _assert_model_defaults(
            till_row,
            Till.__table__,
            {"org_id", "code", "name", "store_id", "password_hash"} | {"created_at"},
        )
        store_row = _row(db, Store.__table__, id=till_row["store_id"])
        _assert_model_defaults(store_row, Store.__table__, {"org_id", "code", "name"})
        client_row = _row(db, OAuthClient.__table__, key=client["key"])
        _assert_model_defaults(
            client_row,
            OAuthClient.__table__,
            {"org_id", "key", "secret_hash", "till_id", "ttl_seconds", "created_at"},
        )
        with db.engine.connect() as conn:
            labels = conn.execute(
                sa.select(sa.func.count()).where(StatusLabel.org_id == org["orgId"])
            ).scalar_one()
        assert labels > 0
    finally:
        db.dispose()


def test_a_missing_or_unmigrated_database_is_one_line(env: dict[str, str]) -> None:
    for argv in (
        ["org", "create", "--name", "x"],
        ["till", "create", "--org", "1", "--code", "t", "--password", "p"],
        ["client", "create", "--org", "1", "--till", "t"],
    ):
        code, out, err = run_human(argv, env)
        assert code == 1, (argv, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "eventrail migrate" in lines[0], err
