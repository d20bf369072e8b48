"""The tests mirror the code: each feature package's tests in their own folder, shared
fixtures and helpers in tests/fixtures, and no test module importing another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
SRC = TESTS.parent / "src" / "eventrail"


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                last = node.module.rsplit(".", 1)[-1]
                if node.module.startswith("tests") and last.startswith("test_"):
                    offenders.append(f"{path.relative_to(TESTS)} imports {node.module}")
    assert offenders == []


def test_each_feature_package_has_its_tests_folder() -> None:
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")} - {"models", "static"}
    missing = sorted(p for p in packages if not (TESTS / p).is_dir())
    assert missing == [], f"no tests/<package> folder for {missing}"
