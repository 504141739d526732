"""The package's layers, as DESIGN.md draws them, checked on every module's source (AST only: nothing imported).

From the bottom:

- base modules beside the packages: ``errors`` (nothing), ``lifecycle`` (errors), ``media`` (errors, lifecycle);
- ``symbolic/``: the music and everything needed to compose at run time; only ``errors`` from outside itself;
- ``vision/``, ``render/``, ``datasets/``: ``symbolic/`` and the base modules, never one another;
- the top level (``pipeline``, ``cli``, ``evaluate``, ``outputs``, ``api``, ``__init__``, ...) ties them together
  and may import anything.

Every import counts: at module top, inside functions, under ``TYPE_CHECKING``, relative ones resolved, and
``importlib.import_module("framescore....")`` with a literal name. No module may import another module's private
(``_name``) attributes either. A failure names each offending ``file:line``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the repository root is the package ``framescore``
PACKAGE = "framescore"

#: What each layer may import from the project outside itself. The top level is free.
BASE = {"errors": set(), "lifecycle": {"errors"}, "media": {"errors", "lifecycle"}}
SIDE = {"symbolic", "errors", "lifecycle", "media"}
ALLOWED: dict[str, set[str]] = {
    **BASE,
    "symbolic": {"errors"},
    "vision": SIDE,
    "render": SIDE,
    "datasets": SIDE,
    # the studio is a front end like the command line: it ties the layers together through the pipeline
    "studio": {"top", "symbolic", "vision", "render", "errors", "lifecycle", "media"},
}


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository
    line: int
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (``framescore`` itself for the package's own names)
    name: str | None = None  # the attribute taken from ``target`` (``from target import name``), if not a module


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


def imports_of(module: str, path: Path, modules: dict[str, Path], root: Path) -> list[Import]:
    """Every project import in one module's source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = str(path.relative_to(root))
    is_package = path.name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    out: list[Import] = []

    def add(node: ast.AST, dotted: str, names: list[str] | None) -> None:
        if dotted != PACKAGE and not dotted.startswith(PACKAGE + "."):
            return
        if names is None:
            out.append(Import(rel, node.lineno, module, dotted))
            return
        for name in names:
            sub = f"{dotted}.{name}"
            if sub in modules:  # ``from pkg import module``
                out.append(Import(rel, node.lineno, module, sub))
            else:
                out.append(Import(rel, node.lineno, module, dotted, None if name == "*" else name))

    for node in ast.walk(tree):
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
              and (getattr(node.func, "attr", None) == "import_module" or getattr(node.func, "id", None) in
                   ("import_module", "__import__"))):
            add(node, node.args[0].value, None)
    return out


def layer(module: str) -> str:
    """``symbolic``, ``vision``, ... for a module inside a sub-package or a base module; ``top`` otherwise."""
    parts = module.split(".")
    if len(parts) == 1:
        return "top"  # the package itself: framescore/__init__.py
    return parts[1] if parts[1] in ALLOWED else "top"


def violations(root: Path = REPO) -> list[str]:
    modules = package_modules(root)
    found = []
    for module, path in modules.items():
        src = layer(module)
        for imp in imports_of(module, path, modules, root):
            dst = layer(imp.target)
            if imp.name and imp.name.startswith("_") and not imp.name.startswith("__") and imp.target != module:
                found.append(f"{imp.file}:{imp.line}: imports the private name {imp.name} of {imp.target}")
            if src == "top" or dst == src:
                continue
            if dst not in ALLOWED[src]:
                found.append(f"{imp.file}:{imp.line}: {src} imports {imp.target}, of layer {dst}; {src} may import "
                             f"{', '.join(sorted(ALLOWED[src])) or 'nothing of the project'}")
    return list(dict.fromkeys(found))  # one line per offence, not per name imported


def test_every_import_keeps_to_its_layer():
    found = violations()
    assert not found, "imports that break the layering (see tests/test_architecture.py):\n" + "\n".join(found)


def test_every_sub_package_has_a_layer():
    """A new folder of the package must be given its row in ALLOWED (it is checked only then)."""
    new = [d.name for d in REPO.iterdir() if (d / "__init__.py").is_file() and d.name not in ALLOWED]
    assert not new, f"sub-packages without a layer in tests/test_architecture.py: {', '.join(new)}"
    assert {m.split(".")[1] for m in package_modules(REPO) if m.count(".") >= 1} >= {"symbolic", "vision", "render",
                                                                                      "datasets", "errors"}


def test_the_check_sees_every_kind_of_import(tmp_path):
    """The checker on a tree made up for it: each kind of import that breaks a layer is caught, with its line."""
    files = {
        "__init__.py": "",
        "errors.py": "class FramescoreError(ValueError): ...\n",
        "pipeline.py": "from .vision import video\nfrom .symbolic.plan import _hidden\n",
        "symbolic/__init__.py": "",
        "symbolic/plan.py": "from ..errors import FramescoreError\n_hidden = 1\n",
        "symbolic/ok.py": "from . import plan\nfrom .plan import FramescoreError\n",
        "symbolic/bad.py": ("import framescore.vision.video\n"
                            "def f():\n    from ..datasets import pop909\n"
                            "def g():\n    import importlib\n    importlib.import_module('framescore.render.mux')\n"
                            "from .. import pipeline\n"),
        "vision/__init__.py": "",
        "vision/video.py": "from ..symbolic.plan import _hidden\nfrom ..render import mux\n",
        "render/__init__.py": "",
        "render/mux.py": "from ..symbolic import plan\nfrom framescore import errors\n",
        "datasets/__init__.py": "",
        "datasets/pop909.py": "from ..symbolic.plan import FramescoreError\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = violations(tmp_path)
    assert sorted(found) == sorted([
        "pipeline.py:2: imports the private name _hidden of framescore.symbolic.plan",
        "symbolic/bad.py:1: symbolic imports framescore.vision.video, of layer vision; symbolic may import errors",
        "symbolic/bad.py:3: symbolic imports framescore.datasets.pop909, of layer datasets; symbolic may import errors",
        "symbolic/bad.py:6: symbolic imports framescore.render.mux, of layer render; symbolic may import errors",
        "symbolic/bad.py:7: symbolic imports framescore.pipeline, of layer top; symbolic may import errors",
        "vision/video.py:1: imports the private name _hidden of framescore.symbolic.plan",
        "vision/video.py:2: vision imports framescore.render.mux, of layer render; vision may import errors, "
        "lifecycle, media, symbolic",
    ]), found
