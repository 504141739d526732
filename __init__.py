"""framescore: score pictures with music.

video / image / text → MusicPlan (editable JSON) → Piece (multi-track score) → MIDI, MusicXML, audio stems, report.

    import framescore
    plan = framescore.plan("clip.mp4", tempo_bpm=96)
    piece = framescore.compose(plan, engine="transformer")
    framescore.write(piece, "out/")

Every name below is imported on first use, so ``import framescore`` costs nothing (no numpy, no torch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name → the module that defines it
_EXPORTS = {
    "plan": "api",
    "compose": "api",
    "write": "api",
    "score": "api",
    "describe": "api",
    "MusicPlan": "symbolic.plan",
    "load_plan": "symbolic.plan",
    "simple_plan": "symbolic.plan",
    "Piece": "symbolic.piece",
    "read_midi": "symbolic.midi_io",
    "write_midi": "symbolic.midi_io",
    "FramescoreError": "errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .api import compose, describe, plan, score, write
    from .errors import FramescoreError
    from .symbolic.midi_io import read_midi, write_midi
    from .symbolic.piece import Piece
    from .symbolic.plan import MusicPlan, load_plan, simple_plan


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'framescore' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
