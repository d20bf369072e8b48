"""The eventrail command, as a user runs it (a real process, --json output)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _require_postgres
from tests.fixtures.databases import postgres_database
from tests.fixtures.server import cli_env, run_cli


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
        assert run_cli(["migrate"], environment) == (0, {"migrated": True})
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


def test_commands_refuse_an_unmigrated_database(empty_env: dict[str, str]) -> None:
    code, out = run_cli(["org", "create", "--name", "X"], empty_env)
    assert code == 1
    assert "eventrail migrate" in out["error"]


def test_invalid_settings_are_reported(tmp_path: Path) -> None:
    env = cli_env("mysql://nope", tmp_path)
    code, out = run_cli(["migrate"], env)
    assert code == 1 and "EVENTRAIL_DATABASE_URL" in out["error"]
