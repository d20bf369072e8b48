"""docs/deploy.md and deploy/: the systemd units are valid and run commands that
exist, with the stop timeouts the graceful stop needs; the example environment
holds valid settings only; every `eventrail` command the page shows parses, and
its pg_dump lines make a dump that pg_restore reads."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from eventrail.cli import _parser
from eventrail.config import Settings
from tests.conftest import _require_postgres
from tests.fixtures.databases import postgres_database
from tests.fixtures.docs import bash, sh_blocks
from tests.fixtures.server import EVENTRAIL, cli_env, run_cli

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"
DEPLOY = ROOT / "docs" / "deploy.md"
INSTALLED = "/opt/eventrail/venv/bin/eventrail"  # where docs/deploy.md installs it
# unit -> (its command, the bound of its graceful stop in seconds, from "Stopping")
GRACEFUL = {"eventrail-serve.service": ("serve", 30), "eventrail-process.service": ("process", 10)}


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> values (a key may be given more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (the other tests still check the units)")
    # verify also checks that ExecStart's program exists: this test's own eventrail
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED, EVENTRAIL))
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # it exits 0 on unknown keys and bad values, but says so on stderr
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_the_units_run_eventrail_as_a_service_should() -> None:
    stopping = DEPLOY.read_text().split("## Stopping", 1)[1]
    assert "exits within **30 s**" in stopping and "for up to **10 s**, then exits 0" in stopping
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(GRACEFUL)
    for name, (command, bound) in GRACEFUL.items():
        service = unit(UNITS / name)["Service"]
        one = {key: values[-1] for key, values in service.items()}
        assert one["User"] not in ("", "root") and one["Group"] == one["User"]
        assert one["EnvironmentFile"] == "/etc/eventrail/eventrail.env"
        assert one["Restart"] == "on-failure"
        assert one["KillSignal"] == "SIGTERM"
        # after the graceful stop, not before it; and not long after
        assert bound < int(one["TimeoutStopSec"]) <= bound + 10, name
        assert one["NoNewPrivileges"] == "yes" and one["ProtectSystem"] == "strict"
        assert one["CapabilityBoundingSet"] == "" and one["PrivateTmp"] == "yes"
        assert (
            one["WorkingDirectory"] == "/var/lib/eventrail" == f"/var/lib/{one['StateDirectory']}"
        )
        program, *args = shlex.split(one["ExecStart"])
        assert program == INSTALLED
        assert args[0] == command
        _parser().parse_args(args)  # argparse exits 2 on anything it does not take
        assert "WantedBy" in unit(UNITS / name)["Install"]


def test_the_units_commands_are_listed_by_eventrail_help() -> None:
    done = subprocess.run([EVENTRAIL, "--help"], capture_output=True, text=True, timeout=60)
    listed = set(re.search(r"\{([a-z,]+)\}", done.stdout)[1].split(","))  # type: ignore[index]
    assert {"serve", "process", "migrate", "backup"} <= listed


def test_the_example_environment_holds_valid_settings_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {}
    for line in (UNITS / "eventrail.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    known = {f"EVENTRAIL_{field.upper()}" for field in Settings.model_fields}
    assert set(values) <= known | {"FORWARDED_ALLOW_IPS"}
    assert "EVENTRAIL_DATABASE_URL" in values and "EVENTRAIL_LOG_FORMAT" in values
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.log_format == values["EVENTRAIL_LOG_FORMAT"]


OPERATORS = {"&&", "||", ";", "|", "&"}


def invocations(line: str) -> list[list[str]]:
    """The arguments of each `eventrail` run by a shell line (inside `sh -c '...'` too)."""
    lexer = shlex.shlex(
        line.replace("$(date +%F)", "2026-12-03"), posix=True, punctuation_chars=True
    )
    lexer.whitespace_split = True
    tokens = list(lexer)
    found: list[list[str]] = []
    at_command = True
    for index, token in enumerate(tokens):
        if at_command and (token == "eventrail" or token.endswith("/bin/eventrail")):
            args = []
            for arg in tokens[index + 1 :]:
                if arg in OPERATORS:
                    break
                args.append(arg)
            found.append(args)
        elif " " in token:  # a script given to sh -c
            found.extend(invocations(token))
        assignment = at_command and re.match(r"[A-Z_][A-Z0-9_]*=", token) is not None
        at_command = assignment or token in OPERATORS or token in {"exec", "sudo"}
    return found


def test_every_eventrail_command_of_the_deploy_page_parses() -> None:
    commands = [
        args
        for block in sh_blocks(DEPLOY, "# Deploying")
        for line in block.splitlines()
        for args in invocations(line)
    ]
    assert {args[0] for args in commands} >= {"--version", "migrate", "backup", "serve"}
    for args in commands:
        if args[0] in ("--version", "--help"):
            with pytest.raises(SystemExit) as exited:
                _parser().parse_args(args)
            assert exited.value.code == 0
        else:
            _parser().parse_args(args)  # argparse exits 2 on anything it does not take


def test_the_pg_dump_lines_make_a_dump_pg_restore_reads(tmp_path: Path) -> None:
    _require_postgres()
    [block] = [b for b in sh_blocks(DEPLOY, "## Backups", "## Upgrading") if "pg_dump" in b]
    with postgres_database("eventrail_dump") as url:
        env = cli_env(url, tmp_path)
        assert run_cli(["migrate"], env)[0] == 0
        listed = bash(block, env, tmp_path)
        [dump] = tmp_path.glob("eventrail-*.dump")
        assert dump.stat().st_size > 0
        for table in ("event_logs", "ingest_requests", "audit_entries", "alembic_version"):
            assert f"TABLE DATA public {table} " in listed, listed
