"""Engines realize a :class:`MusicPlan` as a :class:`Piece`, all through one interface: ``compose(plan) -> Piece``.

An engine is the module of the same name in this package with a ``compose`` function; the names are the ones
a plan may carry (``plan.ENGINES``: rule, transformer, diffusion). Modules are imported only when asked for,
because the trained engines pull in torch and a checkpoint and ``import framescore`` must stay fast. A trained
engine slots in by adding its module here: no registry edit is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from ...errors import FramescoreError
from ..plan import ENGINES

if TYPE_CHECKING:
    from ..piece import Piece
    from ..plan import MusicPlan

__all__ = ["ENGINE_NAMES", "EngineError", "compose", "get_engine"]

#: Every engine name a plan may ask for, in the order the CLI lists them.
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)


class EngineError(FramescoreError):
    """An engine name that is unknown, or an engine that this build does not ship."""


def get_engine(name: str) -> Callable[[MusicPlan], Piece]:
    """The ``compose`` function of engine ``name``, importing its module on first use."""
    if name not in ENGINE_NAMES:
        raise EngineError(f"unknown engine {name!r} (one of {', '.join(ENGINE_NAMES)})")
    qualified = f"{__name__}.{name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as e:
        if e.name != qualified:  # the engine exists but one of its own imports is missing: a real bug
            raise
        raise EngineError(f"engine {name!r} is not available in this build yet (the 'rule' engine always is)") from None
    compose_fn = getattr(module, "compose", None)
    if not callable(compose_fn):
        raise EngineError(f"engine {name!r} has no compose(plan) function")
    return compose_fn


def compose(plan: MusicPlan, engine: str | None = None) -> Piece:
    """Validate ``plan`` and realize it with ``engine`` (default: ``plan.engine``)."""
    plan.validate()
    return get_engine(engine or plan.engine)(plan)
