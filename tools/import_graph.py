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
import collections
import importlib.util
import sys
from pathlib import Path

PACKAGE = "framescore"


def _scanner():
    """The import scanner the layering test checks with (tests/test_architecture.py), so tool and test read
    imports the same way."""
    path = Path(__file__).resolve().parents[1] / "tests" / "test_architecture.py"
    spec = importlib.util.spec_from_file_location("_framescore_architecture", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def imports(root: Path) -> list[tuple[str, str, str, int]]:
    """``(importing module, imported module, file, line)`` for every project import."""
    scan = _scanner()
    modules = scan.package_modules(root)
    found = [(i.source, i.target, i.file, i.line)
             for module, path in modules.items() for i in scan.imports_of(module, path, modules, root)]
    return list(dict.fromkeys(found))


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
