"""One registry: each engine declares itself in its own module, and every list of engines reads the registry
(the command line's choices, the plan's check, ``--melody``'s check, ``evaluate``), without importing any engine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from framescore.errors import FramescoreError
from framescore.symbolic import engines
from framescore.symbolic.engines import EngineError, EngineInfo, compose, engine_info, get_engine, registry
from framescore.symbolic.plan import PlanError, simple_plan


def test_the_engines_declare_themselves():
    assert list(registry()) == ["rule", "transformer", "diffusion"]  # the order the CLI lists them
    assert engines.ENGINE_NAMES == ("rule", "transformer", "diffusion")
    assert [n for n, i in registry().items() if i.keeps_melody] == ["diffusion"]
    assert engine_info("rule").checkpoint is None and engine_info("diffusion").checkpoint == "diffusion"
    assert "torch" in engine_info("diffusion").needs
    for name, info in registry().items():  # what the source says is what the module holds
        module = sys.modules[get_engine(name).__module__]
        assert module.ENGINE == info and info.name == name


def test_an_unknown_engine_is_one_message_everywhere():
    from framescore.symbolic import plan as plan_module

    expected = "unknown engine 'magic' (one of rule, transformer, diffusion)"
    with pytest.raises(EngineError) as e:
        get_engine("magic")
    assert str(e.value) == expected and isinstance(e.value, FramescoreError)
    plan = simple_plan(4.0)
    plan.engine = "magic"
    with pytest.raises(PlanError) as e:
        plan.validate()
    assert str(e.value) == expected
    assert plan_module.ENGINES == ("rule", "transformer", "diffusion")  # the old name, read from the registry


def test_a_melody_goes_only_to_an_engine_that_keeps_one(tmp_path):
    with pytest.raises(EngineError, match="the rule engine cannot keep a given melody .*diffusion"):
        compose(simple_plan(4.0), "rule", melody=tmp_path / "tune.mid")


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_reading_the_registry_imports_no_engine():
    out = _python("import sys\n"
                  "from framescore.symbolic.engines import registry\n"
                  "from framescore.cli import build_parser\n"
                  "registry(); build_parser()\n"
                  "heavy = ('numpy', 'torch', 'miditok', 'framescore.symbolic.engines.rule',\n"
                  "         'framescore.symbolic.engines.transformer', 'framescore.symbolic.engines.diffusion')\n"
                  "print(sorted(m for m in heavy if m in sys.modules))")
    assert out == "[]"


NEW_ENGINE = '''"""A toy engine: the rule engine's piece, to show that an engine's own file is all it takes."""

from . import EngineInfo

ENGINE = EngineInfo(
    name="toy",
    keeps_melody=True,
)


def compose(plan, melody=None):
    from .rule import compose as rule

    return rule(plan)
'''


@pytest.fixture()
def toy_engine(tmp_path, monkeypatch):
    """A new engine module in the package (a second folder on its path), found with nothing else touched."""
    (tmp_path / "toy.py").write_text(NEW_ENGINE)
    monkeypatch.setattr(engines, "__path__", [*engines.__path__, str(tmp_path)])
    engines._modules.cache_clear()
    yield
    sys.modules.pop("framescore.symbolic.engines.toy", None)
    monkeypatch.undo()
    engines._modules.cache_clear()


def test_a_new_engine_is_its_own_file_and_nothing_else(toy_engine, tmp_path):
    from framescore import pipeline
    from framescore.cli import build_parser

    assert engines.ENGINE_NAMES == ("rule", "transformer", "diffusion", "toy")  # order 100: after
    assert "framescore.symbolic.engines.toy" not in sys.modules  # declared, not imported
    assert engine_info("toy") == EngineInfo("toy", keeps_melody=True)
    args = build_parser().parse_args(["compose", "plan.json", "-o", "out", "--engine", "toy"])
    assert args.engine == "toy"
    plan = simple_plan(4.0, engine="toy")  # the plan's check reads the registry
    piece = compose(plan)  # through the gate
    assert [t.name for t in piece.tracks] == ["melody", "harmony", "bass", "drums"]
    pipeline._check_melody_engine("toy")  # it says it keeps a melody
    with pytest.raises(pipeline.InputError, match="--melody needs --engine diffusion or toy"):
        pipeline._check_melody_engine("rule")


def test_a_declaration_must_be_literal(tmp_path, monkeypatch):
    (tmp_path / "odd.py").write_text('from . import EngineInfo\n\nNAME = "odd"\nENGINE = EngineInfo(name=NAME)\n')
    monkeypatch.setattr(engines, "__path__", [*engines.__path__, str(tmp_path)])
    engines._modules.cache_clear()
    try:
        with pytest.raises(EngineError, match="engines.odd: ENGINE = EngineInfo.* literal arguments"):
            registry()
    finally:
        monkeypatch.undo()
        engines._modules.cache_clear()
