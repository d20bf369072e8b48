"""The eventrail command, as a user runs it (a real process, --json output)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import SCHEMA_HEAD, create_db_engine
from eventrail.kit.security import md5_hex, verify_secret
from tests.conftest import _require_postgres
from tests.fixtures.databases import ADMIN_URL, postgres_database
from tests.fixtures.server import cli_env, free_port, run_cli, run_human


def _env(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    if kind == "sqlite":
        yield cli_env(f"sqlite:///{tmp_path}/cli.db", tmp_path)
        return
    _require_postgres()
    with postgres_database("eventrail_cli") as url:
        yield cli_env(url, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """A database migrated once by `eventrail migrate`, shared by this module's tests."""
    for environment in _env(request.param, tmp_path_factory.mktemp("cli")):
        code, out = run_cli(["migrate"], environment)
        assert (code, out["migrated"]) == (0, True)
        assert out["applied"] == sorted(out["applied"]) and out["applied"][-1] == SCHEMA_HEAD
        yield environment


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from _env(request.param, tmp_path)


def test_provisioning_round_trip(env: dict[str, str]) -> None:
    code, org = run_cli(["org", "create", "--name", "Acme", "--timezone", "Asia/Kolkata"], env)
    assert code == 0 and isinstance(org["orgId"], int)
    code, child = run_cli(
        ["org", "create", "--name", "Acme Child", "--id", "51930", "--parent", str(org["orgId"])],
        env,
    )
    assert (code, child) == (0, {"orgId": 51930})
    code, out = run_cli(["org", "create", "--name", "Grandchild", "--parent", "51930"], env)
    assert code == 1 and "one level" in out["error"]
    code, till = run_cli(
        [
            "till",
            "create",
            "--org",
            str(org["orgId"]),
            "--code",
            "acme.till",
            "--password",
            "Pass123",
            "--name",
            "Front desk",
            "--store-code",
            "acme.store",
        ],
        env,
    )
    assert code == 0 and till["code"] == "acme.till" and isinstance(till["tillId"], int)
    code, client = run_cli(
        [
            "client",
            "create",
            "--org",
            str(org["orgId"]),
            "--till",
            "acme.till",
            "--ttl",
            "600",
            "--psi-view",
        ],
        env,
    )
    assert code == 0 and set(client) == {"key", "secret"}
    assert client["key"] and len(client["secret"]) >= 32


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["org", "create", "--name", "X", "--timezone", "Mars/Base"], "timezone"),
        (["org", "create", "--name", "X", "--parent", "999999"], "Parent org"),
        (["org", "create", "--name", " "], "name"),
        (["till", "create", "--org", "999999", "--code", "t", "--password", "p"], "org"),
        (["client", "create", "--org", "999999", "--till", "t"], "org"),
    ],
)
def test_bad_provisioning_is_reported(env: dict[str, str], args: list[str], needle: str) -> None:
    code, out = run_cli(args, env)
    assert code == 1
    assert needle.lower() in out["error"].lower()


def test_duplicates_are_reported(env: dict[str, str]) -> None:
    _, org = run_cli(["org", "create", "--name", "A", "--id", "700"], env)
    assert run_cli(["org", "create", "--name", "B", "--id", "700"], env)[0] == 1
    base = ["till", "create", "--org", "700", "--code", "t1", "--password", "p"]
    assert run_cli(base, env)[0] == 0
    code, out = run_cli(base, env)
    assert code == 1 and "already exists" in out["error"]
    code, out = run_cli(["client", "create", "--org", "700", "--till", "nope"], env)
    assert code == 1 and "nope" in out["error"]
    assert org == {"orgId": 700}


# Every command that uses the database, with arguments that are otherwise right.
DATABASE_COMMANDS = [
    ["org", "create", "--name", "X"],
    ["till", "create", "--org", "1", "--code", "t", "--password", "p"],
    ["client", "create", "--org", "1", "--till", "t"],
    ["demo"],
    ["serve", "--port", "1"],
    ["prune", "--dry-run"],
]


def assert_one_line_error(code: int, stdout: str, stderr: str, *needles: str) -> None:
    assert code != 0
    assert "Traceback" not in stderr and stdout == "", (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("eventrail")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_migrate_says_what_it_applied(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/m.db", tmp_path)
    revisions = sorted(
        p.name.split("_", 2)[0] + "_" + p.name.split("_", 2)[1]
        for p in (Path(__file__).parents[1] / "migrations" / "versions").glob("2*.py")
    )
    code, out, _ = run_human(["migrate"], env)
    assert code == 0 and f"applied {len(revisions)} migration(s): {', '.join(revisions)}" in out
    assert revisions[-1] == SCHEMA_HEAD
    assert "up to date" in out and "nothing to apply" not in out
    code, out, _ = run_human(["migrate"], env)
    assert code == 0 and "nothing to apply" in out and "applied" not in out
    assert run_cli(["migrate"], env) == (0, {"migrated": True, "applied": []})


@pytest.mark.parametrize("args", DATABASE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_commands_refuse_an_unmigrated_database(empty_env: dict[str, str], args: list[str]) -> None:
    code, out = run_cli(args, empty_env)
    assert code == 1
    assert "eventrail migrate" in out["error"]
    assert_one_line_error(*run_human(args, empty_env), "eventrail migrate")


def _unusable_databases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Database URLs that cannot be used, and a word the one-line answer must contain."""
    base, _, _ = ADMIN_URL.rpartition("/")
    return {
        "sqlite-missing-directory": (f"sqlite:///{tmp_path}/no/such/dir/e.db", "e.db"),
        "postgresql-closed-port": (
            f"postgresql://postgres:hunter2hunter2@127.0.0.1:{free_port()}/x",
            "refused",
        ),
        "postgresql-no-such-database": (f"{base}/eventrail_no_such_db", "does not exist"),
    }


@pytest.mark.parametrize("args", [["migrate"], *DATABASE_COMMANDS], ids=lambda a: a[0])
def test_commands_answer_an_unusable_database_in_one_line(tmp_path: Path, args: list[str]) -> None:
    for url, needle in _unusable_databases(tmp_path).values():
        if url.startswith("postgresql"):
            _require_postgres()
        env = cli_env(url, tmp_path)
        code, stdout, stderr = run_human(args, env)
        assert_one_line_error(code, stdout, stderr, needle)
        assert "hunter2" not in stderr  # the password is not printed
        if args[0] == "org":
            code, out = run_cli(args, env)
            assert code == 1 and needle in out["error"]


def test_a_missing_sqlite_file_is_not_created_by_other_commands(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/absent.db", tmp_path)
    assert_one_line_error(
        *run_human(["org", "create", "--name", "X"], env), "no database", "eventrail migrate"
    )
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--port", "0"], "--port"),
        (["serve", "--port", "-1"], "--port"),
        (["serve", "--port", "http"], "--port"),
        (["serve", "--workers", "0"], "--workers"),
        (["serve", "--workers", "-2"], "--workers"),
        (["org", "create"], "--name"),
        (["till", "create", "--org", "x", "--code", "c", "--password", "p"], "--org"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/a.db", tmp_path)
    code, stdout, stderr = run_human(args, env)
    assert code == 2
    assert_one_line_error(code, stdout, stderr, needle)
    code, out = run_cli(args, env)
    assert code == 2 and needle in out["error"]
    assert not (tmp_path / "a.db").exists()


def test_invalid_settings_are_reported(tmp_path: Path) -> None:
    env = cli_env("mysql://nope", tmp_path)
    code, out = run_cli(["migrate"], env)
    assert code == 1 and "EVENTRAIL_DATABASE_URL" in out["error"]


# -- credentials: passwords off the command line, disable, admin, revoke, rotate ----------
def _row(env: dict[str, str], sql: str, **params: Any) -> Any:
    engine = create_db_engine(
        Settings(database_url=env["EVENTRAIL_DATABASE_URL"], secret_key="s" * 40)
    )
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).one()
    finally:
        engine.dispose()


def _till(env: dict[str, str], till_id: int) -> Any:
    return _row(
        env, "SELECT password_hash, admin, disabled_at FROM tills WHERE id = :id", id=till_id
    )


def _client(env: dict[str, str], key: str) -> Any:
    return _row(
        env,
        "SELECT secret_hash, admin, token_version, revoked_at FROM oauth_clients WHERE key = :k",
        k=key,
    )


def test_till_credentials_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    _, org = run_cli(["org", "create", "--name", "Creds"], env)
    org_id = str(org["orgId"])
    till = ["--org", org_id, "--code", "c.till"]
    code, created = run_cli(
        ["till", "create", *till, "--password-stdin", "--admin"], env, stdin="from stdin\n"
    )
    assert code == 0 and created["code"] == "c.till"
    stored = _till(env, created["tillId"])
    assert verify_secret(stored.password_hash, md5_hex("from stdin"))
    assert stored.admin and stored.disabled_at is None

    secret_file = tmp_path / "password"
    secret_file.write_text("from a file\nignored second line\n", encoding="utf-8")
    code, out = run_cli(["till", "password", *till, "--password-file", str(secret_file)], env)
    assert (code, out) == (
        0,
        {"tillId": created["tillId"], "code": "c.till", "enabled": True, "admin": True},
    )
    stored = _till(env, created["tillId"])
    assert verify_secret(stored.password_hash, md5_hex("from a file"))
    assert not verify_secret(stored.password_hash, md5_hex("from stdin"))

    code, out = run_cli(["till", "disable", *till], env)
    assert code == 0 and out["enabled"] is False
    assert _till(env, created["tillId"]).disabled_at is not None
    code, out = run_cli(["till", "enable", *till], env)
    assert code == 0 and out["enabled"] is True
    assert _till(env, created["tillId"]).disabled_at is None

    code, out = run_cli(["till", "admin", *till, "--off"], env)
    assert code == 0 and out["admin"] is False and not _till(env, created["tillId"]).admin
    code, out = run_cli(["till", "admin", *till], env)
    assert code == 0 and out["admin"] is True and _till(env, created["tillId"]).admin
    # an ordinary till by default
    code, plain = run_cli(
        ["till", "create", "--org", org_id, "--code", "p.till", "--password-stdin"],
        env,
        stdin="pw",
    )
    assert code == 0 and not _till(env, plain["tillId"]).admin


def test_client_revoke_and_rotate(env: dict[str, str]) -> None:
    _, org = run_cli(["org", "create", "--name", "Clients"], env)
    org_id = str(org["orgId"])
    run_cli(["till", "create", "--org", org_id, "--code", "k.till", "--password", "p"], env)
    code, admin = run_cli(["client", "create", "--org", org_id, "--till", "k.till", "--admin"], env)
    assert code == 0 and _client(env, admin["key"]).admin
    code, client = run_cli(["client", "create", "--org", org_id, "--till", "k.till"], env)
    assert code == 0 and not _client(env, client["key"]).admin

    code, rotated = run_cli(["client", "rotate", "--org", org_id, "--key", client["key"]], env)
    assert code == 0 and rotated["key"] == client["key"]
    assert rotated["secret"] != client["secret"] and len(rotated["secret"]) >= 32
    stored = _client(env, client["key"])
    assert verify_secret(stored.secret_hash, rotated["secret"])
    assert not verify_secret(stored.secret_hash, client["secret"])
    assert stored.token_version == 1

    code, out = run_cli(["client", "revoke", "--org", org_id, "--key", client["key"]], env)
    assert (code, out) == (0, {"key": client["key"], "revoked": True})
    assert _client(env, client["key"]).revoked_at is not None
    code, out = run_cli(["client", "rotate", "--org", org_id, "--key", client["key"]], env)
    assert code == 1 and "revoked" in out["error"]
    assert _client(env, admin["key"]).revoked_at is None  # the other client is untouched


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (["till", "password", "--org", "999999", "--code", "t", "--password-stdin"], "x", "org"),
        (["till", "disable", "--org", "999999", "--code", "t"], None, "no org 999999"),
        (["till", "enable", "--org", "999999", "--code", "t"], None, "no org 999999"),
        (["till", "admin", "--org", "999999", "--code", "t"], None, "no org 999999"),
        (["client", "revoke", "--org", "999999", "--key", "k"], None, "no org 999999"),
        (["client", "rotate", "--org", "999999", "--key", "k"], None, "no org 999999"),
        (["till", "disable", "--org", "{org}", "--code", "nope"], None, "no till 'nope'"),
        (["till", "password", "--org", "{org}", "--code", "nope", "--password-stdin"], "x", "nope"),
        (["client", "revoke", "--org", "{org}", "--key", "nope"], None, "no oauth client 'nope'"),
        (["client", "rotate", "--org", "{org}", "--key", "nope"], None, "no oauth client"),
        (
            ["till", "password", "--org", "{org}", "--code", "b.till", "--password-stdin"],
            "\n",
            "empty",
        ),
        (["till", "password", "--org", "{org}", "--code", "b.till"], None, "no password given"),
        (["till", "create", "--org", "{org}", "--code", "n.till"], None, "no password given"),
        (["till", "create", "--org", "{org}", "--code", "e.till", "--password-stdin"], "", "empty"),
        (
            ["till", "password", "--org", "{org}", "--code", "b.till", "--password-file", "/nope"],
            None,
            "cannot read the password file",
        ),
        (["client", "create", "--org", "{org}", "--till", "off.till"], None, "disabled"),
    ],
)
def test_bad_credential_commands_are_reported(
    env: dict[str, str], bad_org: int, args: list[str], stdin: str | None, needle: str
) -> None:
    before = _till_hash(env, bad_org)
    code, out = run_cli([a.replace("{org}", str(bad_org)) for a in args], env, stdin=stdin)
    assert code == 1
    assert set(out) == {"error"} and "\n" not in out["error"]
    assert needle.lower() in out["error"].lower(), out
    assert _till_hash(env, bad_org) == before  # nothing changed


@pytest.fixture(scope="module")
def bad_org(env: dict[str, str]) -> int:
    """An org with the till b.till and the disabled till off.till."""
    _, org = run_cli(["org", "create", "--name", "Bad"], env)
    org_id: int = org["orgId"]
    for code in ("b.till", "off.till"):
        run_cli(["till", "create", "--org", str(org_id), "--code", code, "--password", "p"], env)
    assert run_cli(["till", "disable", "--org", str(org_id), "--code", "off.till"], env)[0] == 0
    return org_id


def _till_hash(env: dict[str, str], org_id: int) -> Any:
    return _row(
        env,
        "SELECT password_hash FROM tills WHERE org_id = :org AND code = 'b.till'",
        org=org_id,
    )


def test_each_invalid_setting_gets_one_line_without_links(tmp_path: Path) -> None:
    env = cli_env(
        "mysql://nope",
        tmp_path,
        EVENTRAIL_DB_POOL_SIZE="0",
        EVENTRAIL_PROCESSOR_THREADS="many",
        EVENTRAIL_LOG_LEVEL="loud",
    )
    code, stdout, stderr = run_human(["org", "create", "--name", "X"], env)
    assert code == 1 and stdout == "" and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 4, stderr
    for line, name in zip(
        sorted(lines),
        sorted(
            [
                "EVENTRAIL_DATABASE_URL",
                "EVENTRAIL_DB_POOL_SIZE",
                "EVENTRAIL_PROCESSOR_THREADS",
                "EVENTRAIL_LOG_LEVEL",
            ]
        ),
        strict=True,
    ):
        assert line.startswith("eventrail: invalid setting: ") and name in line, line
    assert "http" not in stderr and "pydantic" not in stderr
    assert "many" not in stderr and "loud" not in stderr  # values are not echoed


def _modules_loaded(argv: list[str], env: dict[str, str]) -> set[str]:
    """The top-level packages that `eventrail <argv>` imports."""
    script = (
        "import sys\n"
        "from eventrail import cli\n"
        "try:\n"
        f"    code = cli.main({argv!r})\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "assert not code, code\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


WEB_STACK = {"fastapi", "starlette", "uvicorn", "httpx", "alembic", "psycopg"}


def test_help_and_version_load_neither_the_web_nor_the_database_stack(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/h.db", tmp_path)
    for argv in (["--help"], ["--version"], ["serve", "--help"]):
        loaded = _modules_loaded(argv, env)
        assert "eventrail" in loaded
        assert not loaded & {*WEB_STACK, "sqlalchemy", "pydantic", "redis", "orjson"}, argv


def test_org_create_loads_no_web_stack(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/o.db", tmp_path)
    assert run_cli(["migrate"], env)[0] == 0
    loaded = _modules_loaded(["org", "create", "--name", "Fast"], env)
    # a plain driver connection (tests/kit/test_plainsql.py): not even SQLAlchemy
    assert not loaded & {*WEB_STACK, "sqlalchemy"}


def test_serve_answers_a_bad_secret_key_file_or_data_dir_in_one_line(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/k.db", tmp_path)
    assert run_cli(["migrate"], env)[0] == 0
    (tmp_path / ".eventrail-secret").write_text("short")
    assert_one_line_error(*run_human(["serve", "--port", "1"], env), "too short")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a directory")
    env = {**env, "EVENTRAIL_DATA_DIR": str(blocked / "data")}
    assert_one_line_error(*run_human(["serve", "--port", "1"], env), str(blocked))
