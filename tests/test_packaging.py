"""eventrail as it is installed: every third-party module it imports is a runtime
dependency (`make run` installs without the dev tools), and the built wheel, installed
into a fresh virtualenv, migrates and serves from an empty directory."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _require_postgres
from tests.fixtures.databases import postgres_database
from tests.fixtures.server import free_port, server_process

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / "src" / "eventrail").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m != "eventrail" and m not in sys.stdlib_module_names}


def test_runtime_imports_are_declared_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        re.split(r"[<>=!~\[ ]", requirement)[0].lower().replace("_", "-")
        for requirement in project["dependencies"]
    }
    distributions = packages_distributions()
    missing = {}
    for module in _imported_modules():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    assert not missing, f"imported but not in [project.dependencies]: {missing}"


# --- The built wheel, installed into a fresh virtualenv, run from an empty directory ---

UV = ROOT / ".tools" / "bin" / "uv"


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `eventrail` command of a fresh virtualenv holding only the built wheel and its
    dependencies (at the versions of uv.lock)."""
    if not UV.exists():
        pytest.skip("uv is not installed (make install-dev installs it)")
    work = tmp_path_factory.mktemp("wheel")
    _run([str(UV), "build", "--wheel", "--quiet", "--out-dir", str(work / "dist"), str(ROOT)])
    [wheel] = (work / "dist").glob("eventrail-*.whl")
    constraints = work / "constraints.txt"
    exported = _run(
        [str(UV), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-q"],
        cwd=ROOT,
    )
    constraints.write_text(exported.stdout)
    venv = work / "venv"
    _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)])
    _run(
        [str(UV), "pip", "install", "--quiet", "--constraint", str(constraints), str(wheel)],
        env={**_clean_env(), "VIRTUAL_ENV": str(venv)},
    )
    return venv / "bin" / "eventrail"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVENTRAIL_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return {**env, **extra}


def test_the_wheel_ships_the_migrations_and_the_docs_assets(installed: Path) -> None:
    site = installed.parents[1] / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    package = site / "site-packages" / "eventrail"
    shipped = {p.name for p in (package / "_migrations" / "versions").glob("*.py")}
    assert shipped == {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert (package / "_migrations" / "env.py").is_file()
    shipped = {p.name for p in (package / "static" / "docs").iterdir()}
    assert shipped == {p.name for p in (ROOT / "src/eventrail/static/docs").iterdir()}
    assert {"swagger-ui-bundle.js", "redoc.standalone.js", "redoc.LICENSE"} <= shipped


def test_version(installed: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    done = _run([str(installed), "--version"], env=_clean_env())
    assert done.stdout.strip() == f"eventrail {project['version']}"


def test_migrate_serve_and_demo_from_an_empty_directory_on_sqlite(
    installed: Path, tmp_path: Path
) -> None:
    env = _clean_env()  # every default: ./eventrail.db, the secret key in .
    cli = str(installed)
    done = _run([cli, "migrate", "--json"], env=env, cwd=tmp_path)
    assert json.loads(done.stdout)["migrated"] is True
    assert (tmp_path / "eventrail.db").is_file()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    loaded = json.loads(
        _run([cli, "demo", "--json", "--base-url", base], env=env, cwd=tmp_path).stdout
    )
    with server_process(env, port=port, executable=cli, cwd=tmp_path):
        ready = httpx.get(f"{base}/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        logs = httpx.get(
            f"{base}/v2/events/logs?limit=5",
            auth=(loaded["till"], loaded["password"]),
            timeout=10,
        )
        assert logs.status_code == 200 and len(logs.json()["data"]) == 5


def test_migrate_and_serve_from_an_empty_directory_on_postgresql(
    installed: Path, tmp_path: Path
) -> None:
    _require_postgres()
    with postgres_database("eventrail_wheel") as url:
        env = _clean_env(EVENTRAIL_DATABASE_URL=url)
        done = _run([str(installed), "migrate", "--json"], env=env, cwd=tmp_path)
        assert json.loads(done.stdout)["migrated"] is True
        with server_process(env, executable=str(installed), cwd=tmp_path) as server:
            ready = httpx.get(f"{server.base}/ready", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["schema"] == "ok"
