"""The eventrail command, as a user runs it (a real process, --json output)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import create_db_engine
from eventrail.kit.security import md5_hex, verify_secret
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
