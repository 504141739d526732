"""Print framescore's import graph (who imports whom), read from the source's AST: nothing is imported.

Nodes are the sub-packages (``symbolic``, ``vision``, ``render``, ``datasets``) and the top-level modules
(``errors``, ``lifecycle``, ``media``, ``pipeline``, ``cli``, ...; ``__init__`` is the package itself). Every import
counts: at module top, inside functions, under ``TYPE_CHECKING``, relative ones resolved, and
``importlib.import_module`` with a literal name. The allowed layering is checked by tests/test_architecture.py.

    python tools/import_graph.py [ROOT] [-v] [--modules] [--dot]

``-v`` lists the importing files (with line numbers) under each edge; ``--modules`` draws the graph between
modules instead of packages; ``--dot`` writes Graphviz instead of text.
"""

from __future__ import annotations

import argparse
import ast
import collections
from pathlib import Path

PACKAGE = "framescore"


def package_modules(root: Path) -> dict[str, Path]:
    """Dotted name → file of every module of the package: top-level ``*.py`` and the sub-packages (folders with an
    ``__init__.py``, recursively). Tests, benchmarks and tools are not part of it."""
    mods = {PACKAGE: root / "__init__.py"}
    for f in sorted(root.glob("*.py")):
        if f.name != "__init__.py":
            mods[f"{PACKAGE}.{f.stem}"] = f

    def walk(folder: Path, dotted: str) -> None:
        mods[dotted] = folder / "__init__.py"
        for f in sorted(folder.iterdir()):
            if f.is_dir() and (f / "__init__.py").is_file():
                walk(f, f"{dotted}.{f.name}")
            elif f.suffix == ".py" and f.name != "__init__.py":
                mods[f"{dotted}.{f.stem}"] = f

    for d in sorted(root.iterdir()):
        if d.is_dir() and (d / "__init__.py").is_file() and not d.name.startswith("."):
            walk(d, f"{PACKAGE}.{d.name}")
    return mods


def imports(root: Path) -> list[tuple[str, str, str, int]]:
    """``(importing module, imported module, file, line)`` for every project import."""
    modules = package_modules(root)
    out = []
    for module, path in modules.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        rel = str(path.relative_to(root))

        def add(node: ast.AST, dotted: str, names: list[str] | None) -> None:
            if dotted != PACKAGE and not dotted.startswith(PACKAGE + "."):
                return
            targets = [dotted] if names is None else [f"{dotted}.{n}" if f"{dotted}.{n}" in modules else dotted
                                                      for n in names]
            for t in dict.fromkeys(targets):
                out.append((module, t, rel, node.lineno))

        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(node, alias.name, None)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - (node.level - 1)]
                    dotted = ".".join(base + (node.module.split(".") if node.module else []))
                else:
                    dotted = node.module or ""
                add(node, dotted, [a.name for a in node.names])
            elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)
                  and (getattr(node.func, "attr", None) == "import_module"
                       or getattr(node.func, "id", None) in ("import_module", "__import__"))):
                add(node, node.args[0].value, None)
    return out


def node(module: str, modules: bool) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "__init__"
    if modules:
        return ".".join(parts)
    return parts[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parents[1],
                    help="the package folder (default: this repository)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the importing files under each edge")
    ap.add_argument("--modules", action="store_true", help="a graph between modules, not packages")
    ap.add_argument("--dot", action="store_true", help="Graphviz output")
    args = ap.parse_args(argv)
    edges: dict[str, set[str]] = collections.defaultdict(set)
    where: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for src, dst, file, line in imports(args.root):
        a, b = node(src, args.modules), node(dst, args.modules)
        if a != b:
            edges[a].add(b)
            where[(a, b)].add(f"{file}:{line}")
    if args.dot:
        print("digraph framescore {\n  rankdir=BT;")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    width = max((len(a) for a in edges), default=0)
    for a in sorted(edges):
        print(f"{a:{width}s} -> {', '.join(sorted(edges[a]))}")
    if args.verbose:
        for (a, b), files in sorted(where.items()):
            print(f"  {a}->{b}: {', '.join(sorted(files, key=_file_line))}")
    return 0


def _file_line(s: str) -> tuple[str, int]:
    file, line = s.rsplit(":", 1)
    return file, int(line)


if __name__ == "__main__":
    raise SystemExit(main())
