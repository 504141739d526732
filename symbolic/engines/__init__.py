"""Engines realize a :class:`MusicPlan` as a :class:`Piece`, all through one interface and one gate.

**The registry.** An engine is a module of this package that declares itself at its top level::

    from . import EngineInfo

    ENGINE = EngineInfo(name="rule", order=0)

    def compose(plan: MusicPlan, **options) -> Piece: ...

and that is all it takes: the registry is every module here with such a declaration (found with ``pkgutil``),
and the command line's ``--engine`` choices, the plan's check of its ``engine`` field, ``--melody``'s check and
``framescore evaluate`` all read it. The declaration is read from the module's source without importing it
(the trained engines pull in numpy, torch and a checkpoint, and ``import framescore`` and ``framescore --help``
must stay instant), so it must be written as above: ``ENGINE = EngineInfo(...)`` at the start of a line, with
literal arguments only. The module is imported on first use (:func:`get_engine`).

**The gate.** :func:`compose` is the one way in for everything that composes (the pipeline, ``--melody``,
``framescore evaluate``, the benchmarks): it validates the plan, calls the engine, and checks the piece against
the plan (:func:`framescore.symbolic.contract.check_piece`: grid, tracks, notes), raising :class:`EngineError`
naming the engine and the first violation. :func:`get_engine` gives the engine's bare ``compose`` function.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from ...errors import FramescoreError

if TYPE_CHECKING:
    from ..piece import Piece
    from ..plan import MusicPlan

__all__ = ["ENGINE_NAMES", "EngineError", "EngineInfo", "compose", "engine_info", "engine_names", "get_engine", "prepare",
           "registry"]


class EngineError(FramescoreError):
    """An engine name that is unknown, an engine that this build does not ship, or a piece that breaks its plan."""


class EngineInfo(NamedTuple):
    """What an engine is and can do, declared at the top of its module as ``ENGINE = EngineInfo(...)``.

    ``name``: what a plan's ``engine`` and ``--engine`` call it. ``order``: its place in listings (the command
    line's choices, error messages); ties go by name. ``keeps_melody``: its ``compose`` takes ``melody=`` (a
    :class:`Piece`) and keeps that melody, accompanying it (``--melody``). ``checkpoint``: the folder in
    ``checkpoints/`` a trained engine loads by default; its ``compose`` then takes ``checkpoint=`` (a folder) to
    load another. ``needs``: the Python packages beyond the core it imports when composing (``torch``, ...).
    (A named tuple, not a dataclass: ``framescore --help`` reads the registry, and dataclasses cost an import.)
    """

    name: str
    order: int = 100
    keeps_melody: bool = False
    checkpoint: str | None = None
    needs: tuple[str, ...] = ()


_DECLARATION = "ENGINE = EngineInfo("


def _declared(qualified: str) -> EngineInfo | None:
    """The ``ENGINE = EngineInfo(...)`` of module ``qualified``, read from its source (not imported); None if it
    declares none (a helper module)."""
    import importlib.util

    spec = importlib.util.find_spec(qualified)
    loader = getattr(spec, "loader", None) if spec is not None else None
    try:
        source = loader.get_source(qualified) if loader is not None and hasattr(loader, "get_source") else None
    except ImportError:
        source = None
    if source is None:  # no source to read (a compiled-only install): import it and ask
        info = getattr(importlib.import_module(qualified), "ENGINE", None)
        return info if isinstance(info, EngineInfo) else None
    if source.startswith(_DECLARATION):
        start = 0
    elif (start := source.find("\n" + _DECLARATION) + 1) == 0:
        return None
    import ast

    lines = source[start:].splitlines()
    for n in range(1, min(len(lines), 40) + 1):  # the statement's lines: the first prefix that parses
        try:
            call = ast.parse("\n".join(lines[:n])).body[0].value
        except SyntaxError:
            continue
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            if "needs" in kwargs:
                kwargs["needs"] = tuple(kwargs["needs"])
            return EngineInfo(*args, **kwargs)
        except (ValueError, TypeError) as e:
            raise EngineError(f"{qualified}: ENGINE = EngineInfo(...) must have literal arguments only ({e})") from None
    raise EngineError(f"{qualified}: unreadable ENGINE = EngineInfo(...) declaration")


@functools.cache
def _modules() -> dict[str, tuple[EngineInfo, str]]:
    """name → (declaration, module), in listing order."""
    import pkgutil

    found: dict[str, tuple[EngineInfo, str]] = {}
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_"):
            continue
        qualified = f"{__name__}.{mod.name}"
        info = _declared(qualified)
        if info is None:
            continue
        if info.name in found:
            raise EngineError(f"engine {info.name!r} is declared twice ({found[info.name][1]} and {qualified})")
        found[info.name] = (info, qualified)
    return dict(sorted(found.items(), key=lambda kv: (kv[1][0].order, kv[0])))


def registry() -> dict[str, EngineInfo]:
    """Every engine, by name, in listing order (``rule`` first)."""
    return {name: info for name, (info, _) in _modules().items()}


def engine_names() -> tuple[str, ...]:
    """Every engine name a plan may ask for, in the order the command line lists them."""
    return tuple(_modules())


def engine_info(name: str) -> EngineInfo:
    """The declaration of engine ``name``; :class:`EngineError` for a name no engine has."""
    entry = _modules().get(name)
    if entry is None:
        raise EngineError(unknown_engine(name))
    return entry[0]


def unknown_engine(name: object) -> str:
    """The one message for an engine name that no engine has (a :class:`EngineError` or a plan's error)."""
    return f"unknown engine {name!r} (one of {', '.join(engine_names())})"


def __getattr__(name: str) -> Any:
    if name == "ENGINE_NAMES":  # the registry is read on first use, not when the package is imported
        return engine_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_engine(name: str) -> Callable[..., Piece]:
    """The bare ``compose`` function of engine ``name``, importing its module on first use (no gate)."""
    info = engine_info(name)
    qualified = _modules()[name][1]
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as e:
        if e.name != qualified:  # the engine exists but one of its own imports is missing: a real bug
            raise
        raise EngineError(f"engine {name!r} is not available in this build yet (the 'rule' engine always is)") from None
    if getattr(module, "ENGINE", None) != info:
        raise EngineError(f"engine {name!r}: {qualified}.ENGINE is not what its source declares")
    compose_fn = getattr(module, "compose", None)
    if not callable(compose_fn):
        raise EngineError(f"engine {name!r} has no compose(plan) function")
    return compose_fn


def prepare(name: str) -> None:
    """Import engine ``name`` and load its default checkpoint (its module's ``prepare()``, where it has one), so
    that a caller can pay those seconds early (in a thread, while it decodes a clip); ``compose`` then finds them
    done. Errors are the ones ``compose`` would raise."""
    get_engine(name)
    ready = getattr(importlib.import_module(_modules()[name][1]), "prepare", None)
    if callable(ready):
        ready()


def compose(plan: MusicPlan, engine: str | None = None, *, melody: Piece | str | os.PathLike | None = None,
            bars: range | None = None, keep: Piece | str | os.PathLike | None = None, **options: Any) -> Piece:
    """The gate: validate ``plan``, realize it with ``engine`` (default: ``plan.engine``), check the piece.

    ``melody`` (a :class:`Piece` or a MIDI file) is kept and accompanied, by an engine that declares
    ``keeps_melody``. ``options`` go to the engine's ``compose`` as they are (``checkpoint=``, sampling
    settings). Two passes make every engine honour what it was not written for (:mod:`.assembly`): a plan
    whose bars are not all of one length (not ``uniform``) is composed as a uniform proxy and mapped onto its
    own bars (a given melody moved onto the proxy's bars first), and no melody note is left in a bar whose
    ``melody`` flag is off. A third plays calm sections legato (:func:`.assembly.articulate`; a given melody is
    left as it is). A uniform plan goes to the engine as it is. The plan's layers (more instruments for a role,
    :mod:`..layers`) are added from the finished parts, and a swinging style's offbeats played late
    (:func:`..styles.swing`). With ``bars`` (a range of 0-based bars) and ``keep`` (an earlier piece of the
    plan's grid, or its MIDI file), only those bars are composed anew and every other bar keeps ``keep``'s notes
    (:func:`.assembly.splice`). The piece is then checked against the
    plan (:func:`~framescore.symbolic.contract.check_piece`); a piece that breaks it raises
    :class:`EngineError` naming the engine and the first violation.
    """
    from ..contract import check_piece
    from ..plan import TICKS_PER_QUARTER
    from .assembly import articulate, onto_proxy_bars, onto_real_bars, silence_melody, uniform_proxy

    plan.validate()
    if (bars is None) != (keep is None):
        raise EngineError("re-composing a bar range needs both the bars and the piece to keep")
    if isinstance(keep, (str, os.PathLike)):
        from ..midi_io import read_midi

        keep = read_midi(keep)
    name = engine or plan.engine
    compose_fn = get_engine(name)
    proxy = None if plan.uniform else uniform_proxy(plan)
    if melody is not None:
        if not engine_info(name).keeps_melody:
            able = " or ".join(n for n, i in registry().items() if i.keeps_melody) or "none"
            raise EngineError(f"the {name} engine cannot keep a given melody (engines that can: {able})")
        if isinstance(melody, (str, os.PathLike)):
            from ..midi_io import read_midi

            melody = read_midi(melody)
        if proxy is not None and melody.resolution == TICKS_PER_QUARTER:
            melody = onto_proxy_bars(melody, plan, proxy)
        options["melody"] = melody
    if proxy is None:
        piece = compose_fn(plan, **options)
    else:
        piece = onto_real_bars(compose_fn(proxy, **options), plan, proxy)
    piece = articulate(silence_melody(piece, plan), plan, keep_melody=melody is not None)
    if plan.layers:
        from ..layers import add_layers

        piece = add_layers(piece, plan)  # more instruments per role, from the parts just checked for
    if plan.style is not None:
        from ..styles import swing

        piece = swing(piece, plan)  # jazz, blues, lo-fi: the offbeat eighths late
    if bars is not None:
        from .assembly import splice

        piece = silence_melody(splice(piece, keep, plan, bars), plan)
    check_piece(piece, plan, name)
    return piece

