"""Music at the core: the plan, the piece, chords, MIDI/MusicXML I/O, engines and metrics."""

from .chords import Chord, ChordError, Key, parse_chord, parse_key, parse_progression
from .piece import Marker, Note, Piece, TempoChange, Track
from .plan import BarPlan, ChordSlot, MusicPlan, PlanError, Section, load_plan

__all__ = [
    "BarPlan", "Chord", "ChordError", "ChordSlot", "Key", "Marker", "MusicPlan", "Note", "Piece", "PlanError",
    "Section", "TempoChange", "Track", "load_plan", "parse_chord", "parse_key", "parse_progression",
]
