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


# -- dependencies between packages (docs/architecture.md) -----------------------------
# Infrastructure every package may use; the rest are feature packages, whose imports
# must go one way.
INFRASTRUCTURE = {"kit", "models", "static"}


def _imported_modules(path: Path) -> list[str]:
    """Every eventrail module ``path`` imports (TYPE_CHECKING imports included: a
    type-only import still ties the two packages together)."""
    package = ["eventrail", *path.relative_to(SRC).with_suffix("").parts[:-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                found.append(node.module)
    return [name for name in found if name.startswith("eventrail.")]


def _package_graph() -> dict[str, dict[str, list[str]]]:
    """Feature package -> the feature packages it imports -> where (file:line)."""
    features = {p.parent.name for p in SRC.glob("*/__init__.py")} - INFRASTRUCTURE
    graph: dict[str, dict[str, list[str]]] = {name: {} for name in features}
    for name in features:
        for path in sorted((SRC / name).rglob("*.py")):
            for module in _imported_modules(path):
                target = module.split(".")[1]
                if target in features and target != name:
                    graph[name].setdefault(target, []).append(str(path.relative_to(SRC)))
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_feature_packages() -> None:
    graph = _package_graph()
    cycles = _cycles(graph)
    detail = [
        f"{a} -> {b}: {graph[a][b][:3]}"
        for cycle in cycles
        for a in cycle
        for b in cycle
        if b in graph[a]
    ]
    assert cycles == [], f"import cycles between packages: {cycles}; {detail}"


def test_ingest_does_not_import_processing() -> None:
    """ingest owns ingest_requests and its verdicts; processing depends on ingest."""
    graph = _package_graph()
    assert "processing" not in graph["ingest"], graph["ingest"].get("processing")
    assert "ingest" in graph["processing"]  # the direction the check is about


def test_the_cycle_check_finds_a_cycle() -> None:
    graph: dict[str, dict[str, list[str]]] = {
        "a": {"b": []},
        "b": {"c": []},
        "c": {"a": []},
        "d": {"a": []},
    }
    assert _cycles(graph) == [["a", "b", "c"]]
