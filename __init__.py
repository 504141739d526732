"""framescore: score pictures with music.

video / image / text → MusicPlan (editable JSON) → Piece (multi-track score) → MIDI, MusicXML, audio stems, report.
"""

__version__ = "0.1.0"
