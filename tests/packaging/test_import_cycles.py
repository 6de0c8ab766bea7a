"""No module of the package imports another in a cycle.

The graph is built from the source: every ``import``/``from … import`` of a package module, at the
top, deferred inside a function or under ``if TYPE_CHECKING:`` (the last two are how a cycle
usually hides: they still tie the two modules' designs together). A package's ``__init__`` is a
module like the others: ``from .console import ConsoleApp`` depends on ``console/__init__``, which
depends on ``console/app``, so a cycle through a package's re-exports is found too.

Not seen: imports by a name in a string (``importlib.import_module``, gunicorn's
``module:factory``). The package keeps those to two kinds that only reach down: ``ocpp_soap.cli``
routing to each sub-command's module, and the lazy public names of a package (PEP 562, an
``_EXPORTS`` table of name → submodule), which the package also imports under ``TYPE_CHECKING``,
so the graph has those edges (checked below).

A failure lists each strongly connected component with, for each of its modules, the modules of
the component it imports: cutting one of those edges is how the cycle is broken.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "ocpp_soap"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The package modules that ``name`` (at ``path``) imports when it runs."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(target: str) -> None:
        # "a.b.c" may be a module or a name in module "a.b"; take the longest module.
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        resolve(alias.name)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    module = ".".join([*base, child.module] if child.module else base)
                else:
                    module = child.module or ""
                if module.split(".")[0] != PACKAGE:
                    continue
                for alias in child.names:
                    resolve(f"{module}.{alias.name}")
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module name → the package modules it imports (``root`` is the package's folder)."""
    paths = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(paths)
    # Python also runs a.b.c's parent packages first; those implicit edges are not drawn (they
    # would tie every module to its package), only what the source names.
    return {name: _imports(path, name, modules) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_the_graph_sees_imports_of_every_kind(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .a import thing\n"
        "import ocpp_soap.x.b\n"
        "if TYPE_CHECKING:\n"
        "    from .d import Never\n"
        "def later():\n"
        "    from ..x import c\n"
    )
    modules = {f"ocpp_soap.x.{n}" for n in "abcdm"}
    found = _imports(source, "ocpp_soap.x.m", modules)
    assert found == {"ocpp_soap.x.a", "ocpp_soap.x.b", "ocpp_soap.x.c", "ocpp_soap.x.d"}
    assert "ocpp_soap.central.domain" in import_graph()["ocpp_soap.central.handlers"]


def test_a_cycle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def describe(graph: dict[str, set[str]], component: list[str]) -> str:
    """``a -> [b, c]; b -> [a]``: each module of the cycle and what it imports inside it."""
    inside = set(component)
    return "; ".join(f"{m} -> [{', '.join(sorted(graph[m] & inside))}]" for m in component)


def test_a_cycle_through_a_package_reexport_is_found(tmp_path):
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .impl import Thing\n")
    (package / "sub" / "impl.py").write_text("from ..user import use\n")
    (package / "user.py").write_text("from .sub import Thing\n")
    assert cycles(import_graph(package)) == [
        [f"{PACKAGE}.sub", f"{PACKAGE}.sub.impl", f"{PACKAGE}.user"]]


def _lazy_export_modules(path: Path, package: str) -> set[str]:
    """The submodules named in a package's ``_EXPORTS = {name: submodule}`` table, if any."""
    for node in ast.parse(path.read_text(), str(path)).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)):
            return {f"{package}.{v.value}" for v in node.value.values
                    if isinstance(v, ast.Constant)}
    return set()


def test_lazy_public_names_are_edges_of_the_graph():
    """A package's lazily loaded names come from modules it also imports where the graph sees
    them (under ``TYPE_CHECKING``), so a cycle through them is found too."""
    graph = import_graph()
    tables = {}
    for path in sorted(ROOT.rglob("__init__.py")):
        name = _module_name(path, ROOT)
        modules = _lazy_export_modules(path, name)
        if modules:
            tables[name] = modules
            assert modules <= graph[name], (name, sorted(modules - graph[name]))
    assert {"ocpp_soap.central", "ocpp_soap.messages"} <= set(tables)


def test_no_import_cycles_in_the_package():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(graph, c) for c in found)
