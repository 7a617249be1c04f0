"""The structure docs/architecture.md describes, checked from the code's own imports.

Any import counts, at module level or inside a function, except under ``if TYPE_CHECKING:``
(it never runs). A package's ``__init__`` importing its own modules is not a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "core", "catalog", "library", "spotify_integration", "sync")
MAX_LINES = 450
# Modules allowed past MAX_LINES: none (sync/admin.py, 516 lines, became the sync/admin/ package).
LONG_ALLOWED: set[str] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking_only(tree: ast.Module) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(sub) for stmt in node.body for sub in ast.walk(stmt)}
    return skipped


def _imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name the module imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _project_module(dotted: str) -> str | None:
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = {_project_module(n) for n in _imported_names(name, path)} - {None, name}
        if path.name == "__init__.py":
            targets = {t for t in targets if not t.startswith(name + ".")}
        graph[name] = {t for t in targets if t is not None}
    return graph


def _loops(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    loops.append(component)
    return loops


def test_the_only_import_loop_is_the_celery_idiom():
    # The job services enqueue sync.tasks, whose tasks call the runner: that loop is Celery's
    # way. Any other loop means a module reaches up a layer.
    loops = _loops(_graph())
    allowed = [
        loop
        for loop in loops
        if "sync.tasks" in loop
        and all(m == "sync.tasks" or m.startswith("sync.services.") for m in loop)
    ]
    assert [sorted(loop) for loop in loops if loop not in allowed] == []


def test_the_loop_finder_finds_a_loop():
    assert _loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_modules_stay_small():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert {p: n for p, n in long.items() if p not in LONG_ALLOWED} == {}


def test_only_the_spotify_client_imports_spotipy():
    importers = {
        name
        for name, path in MODULES.items()
        if any(n == "spotipy" or n.startswith("spotipy.") for n in _imported_names(name, path))
    }
    assert importers
    assert {n for n in importers if not n.startswith("spotify_integration.client")} == set()


@pytest.mark.parametrize(
    "package", ["spotify_integration.client", "core"], ids=["spotify-client", "core"]
)
def test_lower_layers_import_no_service(package):
    # The client is handed a token store; core is below every app.
    graph = _graph()
    reaching_up = {
        (name, target)
        for name, targets in graph.items()
        if name == package or name.startswith(package + ".")
        for target in targets
        if ".services" in target or ".selectors" in target or target.endswith(".apis")
    }
    assert reaching_up == set()


def test_code_names_only_files_inside_the_repository():
    # The repository must stand alone: no code or docstring points at files beside it.
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*MODULES.values(), *ROOT.glob("tests/**/*.py")]
        if "../shared" in path.read_text(encoding="utf-8") and path != Path(__file__)
    ]
    assert offenders == []
