"""MIDI in and out of a :class:`Piece`, through symusic (fast, deterministic, tick-exact).

What a written file holds: one named track per role (General MIDI program, drums on channel 10), the tempo map,
the meter, the key signature, and markers for chord changes (``C:maj``) and sections (``Section: A``), so a DAW
shows the plan on its timeline.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FramescoreError
from .chords import ChordError, Key, parse_chord, parse_key
from .piece import TICKS_PER_QUARTER, Marker, Note, Piece, TempoChange, Track

__all__ = ["MidiError", "read_midi", "write_midi", "to_symusic", "from_symusic"]

SECTION_PREFIX = "Section: "


class MidiError(FramescoreError):
    """A MIDI file that cannot be read."""


def to_symusic(piece: Piece, tracks: list[Track] | None = None):
    """Build a ``symusic.Score`` (ticks) from a piece; ``tracks`` picks a subset (for per-track stems)."""
    import symusic

    score = symusic.Score(piece.resolution)
    for t in piece.tempos:
        score.tempos.append(symusic.Tempo(t.tick, qpm=float(t.bpm)))
    score.time_signatures.append(symusic.TimeSignature(0, piece.meter[0], piece.meter[1]))
    if piece.key:
        k = parse_key(piece.key)
        score.key_signatures.append(symusic.KeySignature(0, k.fifths, 1 if k.mode == "minor" else 0))
    for m in piece.markers:
        text = SECTION_PREFIX + m.text if m.kind == "section" else m.text
        score.markers.append(symusic.TextMeta(m.tick, text))
    for tr in piece.tracks if tracks is None else tracks:
        st = symusic.Track(tr.name, tr.program, tr.is_drum)
        for n in sorted(tr.notes):
            st.notes.append(symusic.Note(n.start, max(1, n.duration), n.pitch, n.velocity))
        score.tracks.append(st)
    return score


def write_midi(piece: Piece, path: str | Path, tracks: list[Track] | None = None) -> None:
    """Write a Standard MIDI File (type 1). Same piece, same bytes."""
    to_symusic(piece, tracks).dump_midi(str(path))


def from_symusic(score) -> Piece:
    """Convert a ``symusic.Score`` in ticks to a piece at our resolution."""
    if score.tpq != TICKS_PER_QUARTER:
        score = score.resample(TICKS_PER_QUARTER, min_dur=1)
    tempos = [TempoChange(int(t.time), float(t.qpm)) for t in score.tempos] or [TempoChange(0, 120.0)]
    # keep one tempo per tick (files sometimes repeat them)
    dedup: dict[int, TempoChange] = {t.tick: t for t in tempos}
    meter = (4, 4)
    if len(score.time_signatures):
        ts = score.time_signatures[0]
        meter = (int(ts.numerator), int(ts.denominator))
    key = None
    if len(score.key_signatures):
        ks = score.key_signatures[0]
        key = _key_from_signature(int(ks.key), int(ks.tonality))
    markers: list[Marker] = []
    for m in score.markers:
        text = str(m.text)
        if text.startswith(SECTION_PREFIX):
            markers.append(Marker(int(m.time), text[len(SECTION_PREFIX):], "section"))
        else:
            try:
                parse_chord(text)
                markers.append(Marker(int(m.time), text, "chord"))
            except (ChordError, ValueError):
                markers.append(Marker(int(m.time), text, "marker"))
    tracks: list[Track] = []
    for i, st in enumerate(score.tracks):
        notes = [Note(int(n.time), max(1, int(n.duration)), int(n.pitch), max(1, int(n.velocity))) for n in st.notes]
        if not notes:
            continue
        name = str(st.name).strip() or f"track{i + 1}"
        tracks.append(Track(name, int(st.program), bool(st.is_drum), sorted(notes)))
    end = max([n.end for t in tracks for n in t.notes] + [int(score.end())], default=0)
    return Piece(tracks=tracks, tempos=sorted(dedup.values(), key=lambda t: t.tick), meter=meter, key=key,
                 markers=markers, end_tick=end)


def read_midi(path: str | Path) -> Piece:
    """Read any Standard MIDI File into a piece. Raises :class:`MidiError` with a one-line reason."""
    import symusic

    p = Path(path)
    if not p.is_file():
        raise MidiError(f"MIDI file not found: {p}")
    try:
        score = symusic.Score.from_file(str(p))
    except Exception as e:  # symusic raises plain RuntimeErrors with long texts
        raise MidiError(f"cannot read {p} as MIDI: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    piece = from_symusic(score)
    if not piece.tracks:
        raise MidiError(f"MIDI file {p} has no notes")
    return piece


def _key_from_signature(fifths: int, minor: int) -> str:
    major_tonic = (fifths * 7) % 12
    return Key((major_tonic - 3) % 12 if minor else major_tonic, "minor" if minor else "major").name
