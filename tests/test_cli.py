"""The eventrail command, as a user runs it (a real process, --json output)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventrail.db import SCHEMA_HEAD
from tests.conftest import _require_postgres
from tests.fixtures.databases import ADMIN_URL, postgres_database
from tests.fixtures.server import EVENTRAIL, cli_env, free_port, run_cli


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
]


def run_human(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run `eventrail <args>` without --json: (exit code, stdout, stderr)."""
    done = subprocess.run([EVENTRAIL, *args], env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


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
    code, out, _ = run_human(["migrate"], env)
    assert code == 0 and "applied 4 migration(s)" in out and SCHEMA_HEAD in out
    assert "up to date" in out and "nothing to apply" not in out
    code, out, _ = run_human(["migrate"], env)
    assert code == 0 and "nothing to apply" in out and "applied 4" not in out
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
    assert "sqlalchemy" in loaded
    assert not loaded & WEB_STACK


def test_serve_answers_a_bad_secret_key_file_or_data_dir_in_one_line(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/k.db", tmp_path)
    assert run_cli(["migrate"], env)[0] == 0
    (tmp_path / ".eventrail-secret").write_text("short")
    assert_one_line_error(*run_human(["serve", "--port", "1"], env), "too short")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a directory")
    env = {**env, "EVENTRAIL_DATA_DIR": str(blocked / "data")}
    assert_one_line_error(*run_human(["serve", "--port", "1"], env), str(blocked))
