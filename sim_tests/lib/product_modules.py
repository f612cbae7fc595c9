"""The product's Python modules (``hw``, ``emu``, ``firmware``) and the imports between them, read from the source.

Used by the layering tests (``sim_tests/test_layering.py``, ``sim_tests/test_product_imports.py``). Imports are
read with :mod:`ast`, so every import counts: module level, inside functions (lazy imports) and under
``if TYPE_CHECKING:``; nothing is executed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO", "PRODUCT_PACKAGES", "Import", "product_modules", "imports_of", "import_graph", "import_circles",
           "long_functions"]

REPO = Path(__file__).resolve().parents[2]

#: The top-level packages that make up the installed product (pyproject.toml ``[tool.setuptools.packages.find]``).
PRODUCT_PACKAGES = ("hw", "emu", "firmware")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as an absolute dotted name."""
    module: str     # the importing module
    path: Path
    line: int
    target: str     # e.g. "emu.harness.build" or "numpy"


def product_modules(repo: Path = REPO) -> dict[str, Path]:
    """Dotted module name -> source file of every module of the product packages (a package is its
    ``__init__.py``)."""
    mods = {}
    for top in PRODUCT_PACKAGES:
        for path in sorted((repo / top).rglob("*.py")):
            parts = path.relative_to(repo).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name a ``from ... import`` statement of ``module`` imports from."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of ``module`` (file ``path``); ``from pkg import name`` targets ``pkg.name`` when that is a
    module of ``modules``, else ``pkg``. ``importlib.import_module("...")`` with a constant name counts too."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [Import(module, path, node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            stem = _absolute(module, is_package, node)
            for a in node.names:
                sub = f"{stem}.{a.name}"
                out.append(Import(module, path, node.lineno, sub if sub in modules else stem))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            out.append(Import(module, path, node.lineno, node.args[0].value))
    return out


def _owner(target: str, modules) -> str | None:
    """The product module a dotted import target names (``hw.lib.csr.Register`` -> ``hw.lib.csr``)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the product modules it imports (explicit imports only: the parent packages Python initialises
    on the way are not edges, so a package's ``__init__`` importing its submodules is no circle)."""
    graph = {}
    for name, path in modules.items():
        deps = {_owner(imp.target, modules) for imp in imports_of(name, path, modules)}
        graph[name] = {d for d in deps if d is not None and d != name}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, circles = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    return circles


def long_functions(modules: dict[str, Path], top: str, max_lines: int) -> list[str]:
    """``path:line name is N lines`` for every function of package ``top`` longer than ``max_lines`` (nested
    functions count in their enclosing function too)."""
    out = []
    for name, path in modules.items():
        if name.split(".")[0] != top:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > max_lines:
                    out.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} is {n} lines")
    return out
