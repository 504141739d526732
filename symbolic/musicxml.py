"""MusicXML out of a :class:`Piece`, through music21, for a composer to open in a notation program.

What a written file holds: one part per track (instrument from its General MIDI program; drums as a percussion
part of unpitched notes on a five-line drum staff, MIDI channel 10), the meter, the key signature, tempo marks
at tempo changes, chord symbols from the chord markers and rehearsal marks for the sections.

Notes are quantized, each beat to the 16th grid or, where they clearly fit it better, the eighth-triplet grid
(our engines write 16ths, so their notes come out exact); notes struck together with one length become chords.
Measures are built here rather than by music21's ``makeNotation`` on a flat stream: notes are split at bar lines
and into plain note values with ties, and spread over at most :data:`MAX_VOICES` voices (a note held a little
into the next is cut short instead of opening a voice). Only accidentals, tuplet brackets and beams are left to
music21. That is cleaner notation and several times faster (about 0.3 s of CPU for 30 s of four-track music,
2-3 s for a three-minute song of 1,500 notes). Same piece, same bytes: part and instrument ids are fixed and
the encoding date is left out.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import FramescoreError
from .chords import ChordError, parse_chord, parse_key, pc_name
from .piece import Note, Piece, Track
from .plot import chord_label

__all__ = ["MusicXmlError", "MAX_VOICES", "chord_figure", "to_music21", "write_musicxml"]

MAX_VOICES = 4

#: General MIDI drum key → (display step and octave on a five-line drum staff, notehead).
_DRUM_DISPLAY: dict[int, tuple[str, str]] = {
    35: ("F4", "normal"), 36: ("F4", "normal"),                      # bass drums
    37: ("C5", "x"), 38: ("C5", "normal"), 39: ("C5", "x"), 40: ("C5", "normal"),  # snares, clap
    41: ("G4", "normal"), 43: ("A4", "normal"),                      # floor toms
    45: ("D5", "normal"), 47: ("D5", "normal"), 48: ("E5", "normal"), 50: ("E5", "normal"),  # toms
    42: ("G5", "x"), 44: ("D4", "x"), 46: ("G5", "circle-x"),       # hi-hats
    49: ("A5", "x"), 57: ("A5", "x"), 52: ("A5", "x"), 55: ("A5", "x"),  # crashes, china, splash
    51: ("F5", "x"), 59: ("F5", "x"), 53: ("F5", "diamond"),          # rides
}
_DRUM_DEFAULT = ("C5", "x")


class MusicXmlError(FramescoreError):
    """A piece that cannot be written as MusicXML, or a file that cannot be written."""


def chord_figure(symbol: str) -> str:
    """A chord in any accepted spelling (``Bb:min7/b3``) as a music21 chord-symbol figure (``B-m7/D-``);
    ``N`` → ``N.C.``."""
    try:
        parse_chord(symbol)
    except ChordError as e:
        raise MusicXmlError(str(e)) from None
    label = chord_label(symbol)  # lead-sheet text, with the root spelled as the symbol spells it
    if label == "N.C.":
        return label
    head, _, bass = label.partition("/")
    m = re.match(r"([A-G][#b]?)(.*)", head)
    root, suffix = m.group(1), m.group(2)
    suffix = _M21_SUFFIX.get(suffix, suffix)
    return _m21_name(root) + suffix + ("/" + _m21_name(bass) if bass else "")


#: Where music21 reads a suffix differently from our lead-sheet labels.
_M21_SUFFIX = {"maj9": "Maj9"}


def _m21_name(name: str) -> str:
    """``Bb`` → ``B-`` (music21 writes flats as ``-``)."""
    return name[0] + name[1:].replace("b", "-")


def _pc_m21(pc: int, flats: bool) -> str:
    return _m21_name(pc_name(pc, flats))


# ----- quantization and layout --------------------------------------------------------------------------------
@dataclass
class _Group:
    """Notes struck together and of one length: one music21 note or chord. Times in quarter lengths."""

    start: Fraction
    dur: Fraction
    pitches: list[int]
    velocity: int


def _snap(q: Fraction, div: int) -> Fraction:
    return Fraction(round(q * div), div)


def _beat_grids(points: list[Fraction]) -> dict[int, int]:
    """Per beat (quarter note), the grid its onsets and ends fit: 4 (16ths) unless eighth triplets (3) fit
    clearly better, so a played, unquantized part does not turn into a thicket of triplets."""
    err: dict[int, list[Fraction]] = {}
    for q in points:
        e = err.setdefault(int(q), [Fraction(0), Fraction(0)])
        e[0] += abs(q - _snap(q, 4))
        e[1] += abs(q - _snap(q, 3))
    return {beat: 3 if e[1] < e[0] / 2 else 4 for beat, e in err.items()}


def _groups(notes: list[Note], res: int) -> list[_Group]:
    """Quantize onsets and ends to each beat's grid and merge notes of equal onset and length into chords."""
    times = [(Fraction(n.start, res), Fraction(n.end, res)) for n in notes]
    grids = _beat_grids([t for pair in times for t in pair])
    merged: dict[tuple[Fraction, Fraction], _Group] = {}
    for n, (on, off) in zip(notes, times):
        start = _snap(on, grids.get(int(on), 4))
        end = _snap(off, grids.get(int(off), 4))
        if end <= start:
            end = start + Fraction(1, grids.get(int(on), 4))
        g = merged.setdefault((start, end - start), _Group(start, end - start, [], n.velocity))
        if n.pitch not in g.pitches:
            g.pitches.append(n.pitch)
        g.velocity = max(g.velocity, n.velocity)
    return sorted(merged.values(), key=lambda g: (g.start, -max(g.pitches), g.dur))


def _layout(track: Track, res: int) -> list[_Group]:
    groups = _groups(track.notes, res)
    return _drum_groups(groups) if track.is_drum else groups


def _drum_groups(groups: list[_Group]) -> list[_Group]:
    """Drum hits read best as one voice of chords, each lasting until the next hit (a beat at most): a drum's
    written length means nothing, and 16th-note hits between 16th rests are hard to read."""
    by_onset: dict[Fraction, _Group] = {}
    for g in groups:
        h = by_onset.setdefault(g.start, _Group(g.start, g.dur, [], g.velocity))
        h.pitches += [p for p in g.pitches if p not in h.pitches]
        h.velocity = max(h.velocity, g.velocity)
    hits = sorted(by_onset.values(), key=lambda g: g.start)
    for h, nxt in zip(hits, hits[1:] + [None]):
        h.dur = min(Fraction(1), nxt.start - h.start) if nxt is not None else min(Fraction(1), h.dur)
    return hits


def _voices(groups: list[_Group]) -> list[list[_Group]]:
    """Greedy voice assignment: each group goes to the first voice free at its onset.

    Past :data:`MAX_VOICES`, the voice that frees soonest has its last group cut short to make room (or, when
    that group starts at the same moment, the pitches join it).
    """
    voices: list[list[_Group]] = []
    for g in groups:
        free = next((v for v in voices if v[-1].start + v[-1].dur <= g.start), None)
        if free is not None:
            free.append(g)
            continue
        soonest = min(voices, key=lambda v: v[-1].start + v[-1].dur) if voices else None
        if soonest is not None:
            last = soonest[-1]
            overlap = last.start + last.dur - g.start
            legato = last.start < g.start and overlap <= min(Fraction(1), last.dur / 2)
            if legato or len(voices) == MAX_VOICES:  # a slightly held note, or no room: cut it short
                if last.start < g.start:
                    last.dur = g.start - last.start
                    soonest.append(g)
                else:
                    last.pitches += [p for p in g.pitches if p not in last.pitches]
                    last.dur = max(last.dur, g.dur)
                continue
        voices.append([g])
    return voices


#: Lengths one note head can show: plain, dotted and double-dotted values, longest first; and triplet values.
_PLAIN = sorted({Fraction(4, 2**j) * m for j in range(7) for m in (1, Fraction(3, 2), Fraction(7, 4))}, reverse=True)
_WITH_TRIPLETS = sorted(set(_PLAIN) | {Fraction(2, 3) / 2**j for j in range(5)}, reverse=True)


def _note_values(start: Fraction, end: Fraction) -> list[tuple[Fraction, Fraction]]:
    """Split a span (in quarter notes from the start of the piece) into (start, length) pieces that one note
    head each can show: 5/4 → 1 + 1/4. A span that starts or ends off the 16th grid is first cut at its first and
    last beat, so that triplets stay in complete groups within their beat (music21 need not regroup them)."""
    def dyadic(q: Fraction) -> bool:
        return q.denominator & (q.denominator - 1) == 0

    if dyadic(start) and dyadic(end):
        spans, values = [(start, end)], _PLAIN
    else:
        first, last = Fraction(math.ceil(start)), Fraction(math.floor(end))
        cuts = [start, end] if first >= last else [start, first, last, end]
        spans, values = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a], _WITH_TRIPLETS
    out = []
    for a, b in spans:
        while a < b:
            v = next((v for v in values if v <= b - a), None)
            if v is None:  # finer than any grid we quantize to: drop the sliver
                break
            out.append((a, v))
            a += v
    return out


def _split_at_bars(groups: list[_Group], bar_ql: Fraction) -> dict[int, list[tuple[_Group, str | None]]]:
    """Cut groups at bar lines and into note values: bar index → [(piece of a group, tie type or None)], the
    pieces' starts counted from their bar."""
    out: dict[int, list[tuple[_Group, str | None]]] = {}
    for g in groups:
        start, end = g.start, g.start + g.dur
        pieces: list[tuple[int, Fraction, Fraction]] = []
        while start < end:
            bar = int(start // bar_ql)
            stop = min(end, (bar + 1) * bar_ql)
            pieces += [(bar, a - bar * bar_ql, v) for a, v in _note_values(start, stop)]
            start = stop
        for i, (bar, pos, v) in enumerate(pieces):
            tied_in, tied_out = i > 0, i < len(pieces) - 1
            tie = ("continue" if tied_out else "stop") if tied_in else ("start" if tied_out else None)
            out.setdefault(bar, []).append((_Group(pos, v, g.pitches, g.velocity), tie))
    return out


# ----- music21 ------------------------------------------------------------------------------------------------
def _spelling(key_name: str | None) -> dict[int, str]:
    """Pitch class → note name (music21 form) that suits the key: scale notes as the key spells them, the
    leading tone of a minor key raised, other chromatic notes with the key's accidental."""
    if key_name is None:
        return {pc: _pc_m21(pc, False) for pc in range(12)}
    k = parse_key(key_name)
    names = {pc: _pc_m21(pc, k.uses_flats) for pc in range(12)}
    letters = "CDEFGAB"
    tonic_letter = names[k.tonic][0]
    for i, pc in enumerate(k.scale):  # each scale degree gets its own letter
        letter = letters[(letters.index(tonic_letter) + i) % 7]
        natural = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[letter]
        diff = (pc - natural + 6) % 12 - 6
        names[pc] = letter + ("#" * diff if diff > 0 else "-" * -diff)
    if k.mode == "minor":
        seventh = k.scale[6]
        names[(seventh + 1) % 12] = names[seventh][0] + _raise(names[seventh][1:])
    return names


def _raise(acc: str) -> str:
    return acc[1:] if acc.startswith("-") else acc + "#"


def _pitch(midi: int, spell: dict[int, str]):
    """A music21 pitch for a MIDI key, spelled for the key (B#3 is MIDI 60: the octave follows the letter)."""
    from music21 import pitch

    p = pitch.Pitch(spell[midi % 12], octave=midi // 12 - 1)
    p.octave += (midi - p.midi) // 12
    return p


def _make_general_note(group: _Group, tie: str | None, spell: dict[int, str], drums: bool):
    from music21 import chord, note, percussion, tie as m21tie

    ql = group.dur
    if drums:
        hits = []
        for p in sorted(group.pitches):
            display, head = _DRUM_DISPLAY.get(p, _DRUM_DEFAULT)
            u = note.Unpitched(displayName=display, quarterLength=ql)
            u.notehead = head
            hits.append(u)
        obj = hits[0] if len(hits) == 1 else percussion.PercussionChord(hits, quarterLength=ql)
        obj.stemDirection = "up"
    else:
        pitches = [_pitch(p, spell) for p in sorted(group.pitches)]
        obj = note.Note(pitches[0], quarterLength=ql) if len(pitches) == 1 else chord.Chord(pitches, quarterLength=ql)
    obj.volume.velocity = group.velocity
    if tie is not None:
        obj.tie = m21tie.Tie(tie)
    return obj


def _fill(container, items: list, bar_start: Fraction, bar_ql: Fraction) -> None:
    """Insert items (sorted, non-overlapping, offsets in the bar) and rests in the gaps."""
    from music21 import note

    def rests(start: Fraction, stop: Fraction) -> None:
        for a, v in _note_values(bar_start + start, bar_start + stop):
            r = note.Rest(quarterLength=v)
            r.fullMeasure = v == bar_ql  # saves music21 a context search per rest
            container.insert(a - bar_start, r)

    pos = Fraction(0)
    for offset, obj in items:
        if offset > pos:
            rests(pos, offset)
        container.insert(offset, obj)
        pos = offset + Fraction(obj.quarterLength)
    if pos < bar_ql:
        rests(pos, bar_ql)


def _instrument(track: Track, index: int):
    from music21 import instrument

    if track.is_drum:
        inst = instrument.UnpitchedPercussion()  # written with MIDI channel 10, as General MIDI drums are
        inst.instrumentName, inst.instrumentAbbreviation = "Drum Set", "Dr."
    else:
        try:
            inst = instrument.instrumentFromMidiProgram(track.program)
        except Exception:  # not expected for 0-127; a plain instrument still plays the program
            inst = instrument.Instrument()
        inst.midiProgram = track.program  # music21's class may stand for a neighbouring program
    label = track.name.strip() or f"Track {index + 1}"
    name = inst.instrumentName or ""
    inst.partName = label[:1].upper() + label[1:] + (f" ({name})" if name and name.lower() != label.lower() else "")
    inst.partAbbreviation = label[:3].capitalize() + "."
    inst.partId = f"P{index + 1}"
    inst.instrumentId = f"P{index + 1}-I1"
    return inst


def to_music21(piece: Piece, title: str | None = None):
    """Build a ``music21.stream.Score`` with measures, voices, rests, marks, accidentals and beams made: ready to
    export, or to show or analyse with music21."""
    from music21 import bar as m21bar, clef, expressions, harmony, key, metadata, meter, stream, tempo

    num, den = piece.meter
    res = piece.resolution
    bar_ql = Fraction(4 * num, den)
    tracks = [t for t in piece.tracks if t.notes]
    if not tracks:
        raise MusicXmlError("piece has no notes to write as MusicXML")
    spell = _spelling(piece.key)
    per_voice = [[_split_at_bars(v, bar_ql) for v in _voices(_layout(t, res))] for t in tracks]
    last_bar = max((max(v) for pv in per_voice for v in pv if v), default=0)
    n_bars = max(last_bar + 1, -(-piece.end_tick // piece.ticks_per_bar), 1)

    # tempo, section and chord marks, by bar, for the first pitched part
    marks: dict[int, list[tuple[Fraction, Any]]] = {}

    def mark(tick: int, obj) -> None:
        ql = _snap(Fraction(tick, res), 4)
        bar = int(ql // bar_ql)
        if bar < n_bars:  # a marker at (or past) the very end has nothing to stand over
            marks.setdefault(bar, []).append((ql - bar * bar_ql, obj))

    shown = None
    for t in piece.tempos:
        bpm = round(t.bpm, 1) if abs(t.bpm - round(t.bpm)) > 0.05 else round(t.bpm)
        if bpm != shown:  # MIDI files often repeat the tempo they are already at
            mark(t.tick, tempo.MetronomeMark(number=bpm))
            shown = bpm
    for m in piece.section_markers():
        mark(m.tick, expressions.RehearsalMark(m.text))
    made: dict[str, Any] = {}  # building a chord symbol is slow (music21 realizes its pitches); copying is not
    for m in piece.chord_markers():
        fig = chord_figure(m.text)
        if fig not in made:
            made[fig] = harmony.NoChord() if fig == "N.C." else harmony.ChordSymbol(fig)
        mark(m.tick, copy.deepcopy(made[fig]))
    marks_part = next((i for i, t in enumerate(tracks) if not t.is_drum), 0)

    score = stream.Score()
    md = metadata.Metadata()
    md.title = title or "framescore"
    md.composer = "framescore"  # music21 would write "Music21"
    score.metadata = md
    key_sig = None
    if piece.key:
        k = parse_key(piece.key)
        key_sig = key.Key(_m21_name(spell[k.tonic]), k.mode)
    for i, (track, voices) in enumerate(zip(tracks, per_voice)):
        part = stream.Part(id=f"P{i + 1}")
        part.insert(0, _instrument(track, i))
        triplet_bars = []
        time_sig = meter.TimeSignature(f"{num}/{den}")
        for b in range(n_bars):
            m = stream.Measure(number=b + 1)
            if b == 0:
                if track.is_drum:
                    m.clef = clef.PercussionClef()
                else:
                    pitches = [n.pitch for n in track.notes]
                    m.clef = clef.BassClef() if sorted(pitches)[len(pitches) // 2] < 55 else clef.TrebleClef()
                if key_sig is not None and not track.is_drum:
                    m.keySignature = key.Key(key_sig.tonic, key_sig.mode)
                m.timeSignature = time_sig
            if i == marks_part:
                for off, obj in marks.get(b, []):
                    m.insert(off, obj)
            filled = [(vi, v[b]) for vi, v in enumerate(voices) if b in v]
            if len(filled) <= 1:
                pieces = filled[0][1] if filled else []
                _fill(m, [(g.start, _make_general_note(g, tie, spell, track.is_drum)) for g, tie in pieces],
                      b * bar_ql, bar_ql)
            else:
                for vi, pieces in filled:  # a voice keeps its number from bar to bar, so ties stay in it
                    voice = stream.Voice(id=str(vi + 1))
                    _fill(voice, [(g.start, _make_general_note(g, tie, spell, track.is_drum)) for g, tie in pieces],
                          b * bar_ql, bar_ql)
                    m.insert(0, voice)
            part.append(m)
            if any(g.start.denominator % 3 == 0 or g.dur.denominator % 3 == 0 for _, v in filled for g, _ in v):
                triplet_bars.append(m)
        m.rightBarline = m21bar.Barline("final")
        _make_notation(part, time_sig, triplet_bars)
        score.insert(0, part)
    return score


def _make_notation(part, time_sig, triplet_bars: list) -> None:
    """What ``makeNotation`` does for a part already in measures, tied and split into note values (triplets
    grouped by beat), less the steps that have nothing left to do: accidentals, beams, tuplet brackets (only
    where there are triplets).

    Beams are set here rather than by ``makeBeams``, which searches for the meter again in every measure (a
    context search that took most of the time on a three-minute song); we know the meter. Stem directions are
    left to the notation program, which sets them by voice and pitch anyway.
    """
    from music21 import beam
    from music21.stream import makeNotation as mn

    mn.makeAccidentalsInMeasureStream(part)
    for m in part.getElementsByClass("Measure"):
        for s in m.voices if m.hasVoices() else [m]:
            notes = s.notesAndRests.stream()
            if len(notes) > 1:
                try:
                    beams_list = time_sig.getBeams(notes, measureStartOffset=0.0)
                except Exception:  # music21 gives up on some tuplet mixes: leave that measure unbeamed
                    continue
                for n, beams in zip(notes, beams_list):
                    n.beams = beams if beams is not None else beam.Beams()
    for m in triplet_bars:
        for s in [m, *m.voices]:
            mn.makeTupletBrackets(s, inPlace=True)
    part.streamStatus.accidentals = part.streamStatus.beams = part.streamStatus.tuplets = True


def write_musicxml(piece: Piece, path: str | Path, title: str | None = None) -> None:
    """Write ``piece`` as an uncompressed MusicXML file (``.musicxml``). Same piece, same bytes.

    Raises :class:`MusicXmlError` for a piece without notes, a chord marker that is not a chord, or a path that
    cannot be written.
    """
    from music21.musicxml.xmlObjects import MusicXMLExportException

    score = to_music21(piece, title)
    try:
        data = _export(score)
    except MusicXMLExportException:  # a length music21 cannot write in one note (not seen; a safety net)
        score.splitAtDurations(recurse=True)
        data = _export(score)
    data = re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", data)
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise MusicXmlError(f"cannot write MusicXML to {path}: {e.strerror}") from None


def _export(score) -> bytes:
    from music21.musicxml.m21ToXml import ScoreExporter

    exporter = ScoreExporter(score, makeNotation=False)
    exporter.parse()
    return exporter.asBytes()
