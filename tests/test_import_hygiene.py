"""The rooms of docs/DESIGN.md keep to their boundaries.

* The UI-free rooms — the engine, the debugger's session, training, scenarios — load none of
  textual, rich or typer (``tui.render`` produces rich ``Text``, so it may load rich), checked
  in a fresh interpreter per room, since this test process has them all loaded already.
* ``backprop_tui.engine`` imports nothing but numpy, the standard library and itself, checked
  statically over every import statement of its files (also those inside functions), so a lazy
  import cannot sneak past the first check.
* The package's modules import each other without a circle, so every module can be imported
  first and none sees another half-initialised.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGE = "backprop_tui"
_SPEC = importlib.util.find_spec(PACKAGE)  # finds the package without running its __init__
assert _SPEC is not None and _SPEC.submodule_search_locations
PACKAGE_DIR = Path(next(iter(_SPEC.submodule_search_locations)))

UI = ("textual", "rich", "typer")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: every module of the package: dotted name → file
MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _engine_modules() -> list[str]:
    return [m for m in MODULES if m == f"{PACKAGE}.engine" or m.startswith(f"{PACKAGE}.engine.")]


# ---------------------------------------------------------------------------------------------
# a. a fresh interpreter imports a room: which of textual, rich, typer does it load?
# ---------------------------------------------------------------------------------------------
#: room → the UI libraries it must not load
ROOMS: dict[str, tuple[str, ...]] = {
    **{m: UI for m in _engine_modules()},
    f"{PACKAGE}.tui.session": UI,
    f"{PACKAGE}.tui.formulas": UI,
    f"{PACKAGE}.tui.graphsession": UI,  # the graph debugger's numbers and chain rules
    f"{PACKAGE}.tui.exercise": UI,  # find the bug: the pick, the answers, the hints
    f"{PACKAGE}.tui.explainsession": UI,  # the explain view: entries, places, the chain
    f"{PACKAGE}.graphfile": UI,  # graph scenarios
    f"{PACKAGE}.tui.render": ("textual", "typer"),  # its job is rich Text
    f"{PACKAGE}.tui.monitor": ("textual", "typer"),  # the dashboard's numbers, as rich Text
    f"{PACKAGE}.training": UI,
    f"{PACKAGE}.scenario": UI,
    f"{PACKAGE}.layerspec": UI,
    f"{PACKAGE}.ownrun": UI,  # a network of the user's own, trained
    f"{PACKAGE}.jsontext": UI,  # the JSON writer (CLI and experiment files)
    f"{PACKAGE}.experiments": UI,  # chapter 6's experiments: engine and trainer only
    f"{PACKAGE}.experiments.result": UI,  # what an experiment measured, saved and loaded
}

# Imports the room and prints, for each forbidden library it loaded, the package's own frames
# that were importing when the library was first asked for (who pulled it in).
_PROBE = """
import importlib, sys, traceback
room, forbidden = sys.argv[1], set(sys.argv[2:])
culprits = {}

class Spy:
    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.partition(".")[0]
        if top in forbidden and top not in culprits:
            culprits[top] = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()
                             if "backprop_tui" in f.filename]
        return None

sys.meta_path.insert(0, Spy)
importlib.import_module(room)
for top in sorted(forbidden):
    if top in sys.modules:
        print(top, "<-", " <- ".join(reversed(culprits.get(top, ["?"]))))
"""


def _probe(room: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _PROBE, room, *ROOMS[room]],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def probes(request: pytest.FixtureRequest) -> Iterator[dict[str, Future]]:
    """The selected rooms' interpreters, one per core at a time (each spends ~0.3 s importing
    numpy and the package; one after the other they would take most of this file's time)."""
    selected = sorted({item.callspec.params["room"] for item in request.session.items
                       if getattr(item, "originalname", "") == "test_room_loads_no_ui_library"
                       and hasattr(item, "callspec")})
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {room: pool.submit(_probe, room) for room in selected}
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_room_loads_no_ui_library(room: str, probes: dict[str, Future]) -> None:
    forbidden = ROOMS[room]
    proc = probes[room].result()
    assert proc.returncode == 0, f"importing {room} failed:\n{proc.stderr}"
    assert proc.stdout == "", (
        f"importing {room} loads what it must not ({', '.join(forbidden)}); the package's "
        f"frames that imported it, innermost first:\n{proc.stdout}")


# ---------------------------------------------------------------------------------------------
# import statements, resolved to absolute module names
# ---------------------------------------------------------------------------------------------
def _resolve(importer: str, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import …`` written in ``importer``."""
    if level == 0:
        return module or ""
    base = importer if _is_package(importer) else importer.rpartition(".")[0]
    for _ in range(level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{module}" if module else base


def _imports(importer: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """``(imported, name)`` for each name of the statement: ``imported`` is the absolute module
    the statement imports from (``import a.b`` → ``a.b``), ``name`` what it takes from it (``""``
    for a plain ``import``)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, ""
    else:
        base = _resolve(importer, node.level, node.module)
        for alias in node.names:
            yield base, alias.name


def _all_import_statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_import_statements(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported: not those inside functions
    (they run when called) nor under ``if TYPE_CHECKING:`` (they never run). Class bodies,
    ``try``/``with`` blocks and other ``if`` branches do run."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:  # `else:` of `if TYPE_CHECKING:` does run
                yield from _module_level_import_statements(ast.Module([stmt], []))
        else:
            yield from _module_level_import_statements(child)


def _parse(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"), filename=str(MODULES[name]))


# ---------------------------------------------------------------------------------------------
# b. the engine: numpy, the standard library and itself
# ---------------------------------------------------------------------------------------------
def _engine_may_import(module: str) -> bool:
    top = module.partition(".")[0]
    engine = f"{PACKAGE}.engine"
    return (top == "numpy" or top in sys.stdlib_module_names
            or module == engine or module.startswith(engine + "."))


def test_engine_imports_only_numpy_the_standard_library_and_itself() -> None:
    bad = []
    for name in _engine_modules():
        for node in _all_import_statements(_parse(name)):
            for module, _ in _imports(name, node):
                if not _engine_may_import(module):
                    bad.append(f"{MODULES[name].relative_to(PACKAGE_DIR.parent)}:{node.lineno}: "
                               f"imports {module}")
    assert not bad, "the engine must import only numpy, the standard library and "\
                    "backprop_tui.engine.*:\n" + "\n".join(bad)


def test_the_engine_check_sees_every_kind_of_import() -> None:
    """The resolver the two static checks rely on: relative imports from modules and from
    package ``__init__`` files, at any depth."""
    engine, layers = f"{PACKAGE}.engine", f"{PACKAGE}.engine.layers"
    assert _resolve(layers, 1, "network") == f"{PACKAGE}.engine.network"
    assert _resolve(layers, 2, "errors") == f"{PACKAGE}.errors"
    assert _resolve(layers, 2, None) == PACKAGE
    assert _resolve(engine, 1, "layers") == layers
    assert _resolve(engine, 2, "scenario") == f"{PACKAGE}.scenario"
    assert not _engine_may_import(f"{PACKAGE}.errors")
    assert not _engine_may_import("rich.text") and _engine_may_import("numpy.lib.stride_tricks")
    tree = ast.parse("import a\ndef f():\n    import b\nclass C:\n    import c\n"
                     "if TYPE_CHECKING:\n    import d\nelse:\n    import e\n"
                     "try:\n    import f\nexcept ImportError:\n    import g\n")
    assert sorted(n.names[0].name for n in _all_import_statements(tree)) == list("abcdefg")
    assert sorted(n.names[0].name for n in _module_level_import_statements(tree)) == list("acefg")


# ---------------------------------------------------------------------------------------------
# c. no import circles
# ---------------------------------------------------------------------------------------------
def _edges(importer: str) -> dict[str, int]:
    """The package's modules that importing ``importer`` runs first (→ line of the import).

    ``import a.b.c`` and ``from a.b.c import x`` run ``a``, ``a.b`` and ``a.b.c`` — except the
    packages that contain ``importer``, which are already being imported when it runs — and
    ``from a.b import c`` also runs the submodule ``a.b.c`` if there is one. ``from . import x``
    where ``x`` is not a submodule needs the package's ``__init__`` to have defined ``x``
    already: an edge to the package even though it contains the importer.
    """
    ancestors = {importer.rsplit(".", k)[0] for k in range(1, importer.count(".") + 1)}
    out: dict[str, int] = {}
    for node in _module_level_import_statements(_parse(importer)):
        for module, name in _imports(importer, node):
            parts = module.split(".")
            targets = {".".join(parts[:i]) for i in range(1, len(parts) + 1)} - ancestors
            if name and f"{module}.{name}" in MODULES:
                targets.add(f"{module}.{name}")
            elif name and name != "*" and module in ancestors:
                targets.add(module)
            for target in targets & MODULES.keys() - {importer}:
                out.setdefault(target, node.lineno)
    return out


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (first node repeated at the end) per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for v in sorted(graph):
        if v not in index:
            connect(v)

    cycles = []
    for component in components:
        start, members = min(component), set(component)
        # shortest path start → … → start inside the component (breadth first)
        parent: dict[str, str] = {}
        frontier = [start]
        while start not in parent:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w in members and w not in parent:
                        parent[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(parent[path[-1]])
        cycles.append(path[::-1])
    return cycles


def test_no_import_cycles() -> None:
    graph = {name: _edges(name) for name in MODULES}
    cycles = _cycles(graph)

    def show(cycle: list[str]) -> str:
        steps = [f"{MODULES[a].relative_to(PACKAGE_DIR.parent)}:{graph[a][b]} imports {b}"
                 for a, b in itertools.pairwise(cycle)]
        return " → ".join(cycle) + "\n    " + "\n    ".join(steps)

    assert not cycles, "import circles (module-level imports):\n" + "\n".join(map(show, cycles))


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"e": 1}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]  # a self-import is not a circle
    assert _cycles({"x": {"y": 1}, "y": {}}) == []
