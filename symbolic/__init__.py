"""Music at the core: the plan, the piece, chords, MIDI/MusicXML I/O, engines and metrics.

The names below are imported on first use, so that reaching a submodule (``framescore.symbolic.engines``, whose
registry ``framescore --help`` reads) costs nothing more than that submodule.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name → the submodule that defines it
_EXPORTS = {
    **dict.fromkeys(["Chord", "ChordError", "Key", "parse_chord", "parse_key", "parse_progression"], "chords"),
    **dict.fromkeys(["Marker", "Note", "Piece", "TempoChange", "Track"], "piece"),
    **dict.fromkeys(["BarPlan", "ChordSlot", "MusicPlan", "PlanError", "Section", "load_plan"], "plan"),
}

__all__ = [
    "BarPlan", "Chord", "ChordError", "ChordSlot", "Key", "Marker", "MusicPlan", "Note", "Piece", "PlanError",
    "Section", "TempoChange", "Track", "load_plan", "parse_chord", "parse_key", "parse_progression",
]

if TYPE_CHECKING:
    from .chords import Chord, ChordError, Key, parse_chord, parse_key, parse_progression
    from .piece import Marker, Note, Piece, TempoChange, Track
    from .plan import BarPlan, ChordSlot, MusicPlan, PlanError, Section, load_plan


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
