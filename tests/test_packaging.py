"""Every third-party module eventrail imports is a runtime dependency: `make run`
installs without the dev tools, so a module only the tests bring would fail there."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

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
