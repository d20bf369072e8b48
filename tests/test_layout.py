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


# -- session work and dialects (docs/architecture.md) --------------------------------
# A service states business steps; its repositories run the statements and decide when
# the session writes (flush), opens a savepoint, or executes SQL.
SESSION_WORK = {"flush", "execute", "executemany", "exec_driver_sql", "begin_nested"}
# What the SQL of SQLite and of PostgreSQL differ by is written in kit/ (kit/sql.py);
# models/ declares dialect-specific DDL. Outside them, only the modules that set up
# the database itself may ask which one it is: config.py (the URL), db.py (the engine,
# SQLite's pragmas and BEGIN IMMEDIATE) and cli.py (`eventrail backup`, for SQLite
# files only, and the lean path's driver errors).
DIALECT_NAMES = {"postgresql", "postgres", "sqlite"}
DIALECT_ATTRIBUTES = {"dialect", "is_sqlite"}
DIALECT_ALLOWED = {"config.py", "db.py", "cli.py"}


def _session_work(source: str) -> list[str]:
    """Calls of ``.flush()``, ``.execute()`` and the like: ``name:line``."""
    return [
        f".{node.func.attr}():{node.lineno}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SESSION_WORK
    ]


def _dialect_checks(source: str) -> list[str]:
    """Where ``source`` asks which database it runs on: a ``.dialect`` or
    ``.is_sqlite`` read, or a comparison with a dialect's name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in DIALECT_ATTRIBUTES:
            found.append(f".{node.attr}:{node.lineno}")
        elif isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant) and operand.value in DIALECT_NAMES:
                    found.append(f"== {operand.value!r}:{node.lineno}")
    return found


def test_services_leave_session_work_to_their_repositories() -> None:
    offenders = [
        f"{path.relative_to(SRC)}{call}"
        for path in sorted(SRC.rglob("service.py"))
        for call in _session_work(path.read_text())
    ]
    assert offenders == [], f"move these into the repository method that needs them: {offenders}"


def test_only_repositories_run_statements() -> None:
    """Beyond the services: no module of a feature package but its repositories runs
    SQL or flushes (a runner may still open a savepoint: the processors' batches are
    theirs)."""
    offenders = []
    for path in sorted(SRC.glob("*/**/*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] in INFRASTRUCTURE or path.name.endswith("repository.py"):
            continue
        offenders += [
            f"{relative}{call}"
            for call in _session_work(path.read_text())
            if not call.startswith(".begin_nested()")
        ]
    assert offenders == [], f"move these into a repository: {offenders}"


def test_dialect_differences_live_in_kit() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] in {"kit", "models"} or str(relative) in DIALECT_ALLOWED:
            continue
        offenders += [f"{relative}{check}" for check in _dialect_checks(path.read_text())]
    assert offenders == [], f"let a kit/sql.py helper write the SQL that differs: {offenders}"


def test_the_layout_checks_find_what_they_look_for() -> None:
    service = (
        "def change(session, repo, row):\n"
        "    row.value = 1\n"
        "    session.flush()\n"
        "    repo.session.execute(statement)\n"
        "    with session.begin_nested():\n"
        "        pass\n"
        "    repo.save(row)\n"
    )
    assert _session_work(service) == [".flush():3", ".execute():4", ".begin_nested():5"]
    repository = (
        "postgres = session.get_bind().dialect.name == 'postgresql'\n"
        "if db.is_sqlite:\n"
        "    pass\n"
        "if 'sqlite' != name:\n"
        "    pass\n"
        "lock = for_update(session)\n"
    )
    assert sorted(_dialect_checks(repository)) == sorted(
        [".dialect:1", "== 'postgresql':1", ".is_sqlite:2", "== 'sqlite':4"]
    )
