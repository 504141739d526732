"""MusicXML out of a :class:`Piece`, through music21, for a composer to open in a notation program.

What a written file holds: one part per track, named as a musician names it (the role and the General MIDI
instrument, "Melody — Alto Sax", or the instrument alone where the role says no more: "Electric Bass"; drums as
a "Drum Kit" part of unpitched notes on a five-line drum staff, MIDI channel 10), the meter, the key signature,
tempo marks at tempo changes (the number rounded to an integer, a dotted quarter's in 6/8, 9/8 and 12/8; the
playback tempo in ``<sound>`` stays exact; a tempo set beat by beat, a plan's ramp, is written "rit." or "accel."
and the tempo it reaches, each beat's tempo sounding unprinted), measures in each bar's own meter (a ``<time>``
where it changes),
chord symbols from the chord markers and rehearsal marks for the sections.

Staves: keyboard parts (General MIDI 0-23, and the harp) go on a grand staff, treble and bass staves in one part
joined by a brace (a single line that one staff holds stays on one), and so does any other pitched part that
spans more than two octaves across middle C. The notes are split between the hands as a pianist would: notes
struck together are cut at one point, chosen for few ledger lines, a hand's reach, closeness to where each hand
last played (so a line around middle C stays on its staff) and keeping together a chord one hand can take.
Other parts get the clef that needs the fewest ledger lines: treble or bass, the octave-down treble clef for
guitars and the octave-down bass clef for low basses (which sound an octave below where they are written).

Notes are quantized, each beat to the 16th grid or, where they clearly fit it better, the eighth-triplet grid
(our engines write 16ths, so their notes come out exact); notes struck together with one length become chords.
Measures are built here rather than by music21's ``makeNotation`` on a flat stream: notes are split at bar
lines and into plain or dotted note values with ties (a note off the eighth grid is tied at the next beat), and
spread over at most :data:`MAX_VOICES` voices per staff, the upper voice above (a note held a little into the
next is cut short instead of opening a voice; past two voices, the voice that frees soonest is cut short). A
short note followed by a short silence is written as one note marked staccato (a 16th and a 16th rest: a
staccato eighth). Rests follow the beat: one rest per empty beat, half bar or bar, as a reader counts them; a
second voice's rests are hidden. Accidentals are set here as engravers set them; only tuplet brackets and beams
are left to music21. That is cleaner notation, and as fast as before on twice the staves (about 0.25-0.4 s of
CPU for 30 s of four-track music with one grand staff, 1.3 s for a three-minute song of 1,500 notes). Same piece,
same bytes: part and instrument ids are fixed and the encoding date is left out.
"""

from __future__ import annotations

import bisect
import copy
import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import FramescoreError
from .chords import ChordError, chord_label, parse_chord, parse_key, pc_name
from .piece import Note, Piece, Track

__all__ = ["MusicXmlError", "MAX_VOICES", "chord_figure", "to_music21", "write_musicxml"]

MAX_VOICES = 2  # per staff: an upper and a lower voice, as a reader follows them

#: The General MIDI instruments (pretty_midi's names) as a score names them: numbers and sound variants dropped
#: where the written part is the same ("Electric Bass (finger)" → "Electric Bass"), a few spelled out.
_GM_NAMES = (
    "Piano", "Bright Piano", "Electric Grand Piano", "Honky-tonk Piano", "Electric Piano", "Electric Piano",
    "Harpsichord", "Clavinet", "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone",
    "Tubular Bells", "Dulcimer", "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ",
    "Accordion", "Harmonica", "Tango Accordion", "Classical Guitar", "Acoustic Guitar", "Jazz Guitar",
    "Electric Guitar", "Muted Guitar", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass", "Electric Bass", "Fretless Bass", "Slap Bass", "Slap Bass", "Synth Bass",
    "Synth Bass", "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Harp",
    "Timpani", "Strings", "Strings", "Synth Strings", "Synth Strings", "Choir Aahs", "Voice Oohs", "Synth Choir",
    "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section",
    "Synth Brass", "Synth Brass", "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn",
    "Bassoon", "Clarinet", "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle",
    "Ocarina", "Square Lead", "Sawtooth Lead", "Calliope Lead", "Chiff Lead", "Charang Lead", "Voice Lead",
    "Fifths Lead", "Bass and Lead", "New Age Pad", "Warm Pad", "Polysynth Pad", "Choir Pad", "Bowed Pad",
    "Metallic Pad", "Halo Pad", "Sweep Pad", "Rain FX", "Soundtrack FX", "Crystal FX", "Atmosphere FX",
    "Brightness FX", "Goblins FX", "Echoes FX", "Sci-fi FX", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum",
    "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet",
    "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)
#: Abbreviations for the later systems, by role (the track name) or, failing that, by instrument.
_ABBREVIATIONS = {"melody": "Mel.", "harmony": "Harm.", "bass": "Bass", "drums": "Dr.", "piano": "Pno.",
                  "bridge": "Br.", "chords": "Ch.", "lead": "Lead", "pad": "Pad", "strings": "Str.",
                  "drum kit": "Dr."}
#: Programs written on a grand staff when one staff does not hold them: pianos, chromatic percussion, organs and
#: accordions (General MIDI 0-23), and the harp.
_GRAND_PROGRAMS = frozenset(range(24)) | {46}

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
    staccato: bool = False


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


# ----- staves, clefs and hands --------------------------------------------------------------------------------
#: Clef → (MIDI keys of its staff's bottom and top lines). Octave clefs show notes an octave above where they sound.
_CLEF_LINES = {"treble": (64, 77), "bass": (43, 57), "treble8vb": (52, 65), "bass8vb": (31, 45)}
_LETTER = (0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6)  # pitch class → letter of its plain spelling (C C# D ... B)


def _step(midi: int) -> int:
    """Diatonic staff position of a MIDI key (sharps on the letter below)."""
    return midi // 12 * 7 + _LETTER[midi % 12]


def _ledger_count(midi: int, clef: str) -> int:
    lo, hi = (_step(m) for m in _CLEF_LINES[clef])
    d = _step(midi)
    return max(0, (lo - d) // 2, (d - hi) // 2)


_LEDGERS = {clef: [_ledger_count(m, clef) for m in range(128)] for clef in _CLEF_LINES}


def _ledgers(midi: int, clef: str) -> int:
    """How many ledger lines a note needs on a staff with this clef."""
    return _LEDGERS[clef][midi]


def _clefs_for(program: int) -> list[tuple[str, float]]:
    """The clefs a part may take, each with a cost per note against choosing it (the plain clefs cost nothing):
    guitars take the octave-down treble clef as they are written, basses the octave-down bass clef when their
    notes lie low."""
    if 24 <= program <= 31:
        return [("treble8vb", 0.0), ("treble", 0.25), ("bass", 0.5)]
    if 32 <= program <= 39 or program == 43:
        return [("bass", 0.0), ("bass8vb", 0.5), ("treble", 0.5)]
    return [("treble", 0.0), ("bass", 0.0)]


def _single_clef(pitches: list[int], program: int) -> str:
    """The clef that needs the fewest ledger lines for these notes (the first listed on a tie)."""
    choices = _clefs_for(program)
    costs = [sum(_ledgers(p, c) for p in pitches) + w * len(pitches) for c, w in choices]
    return choices[costs.index(min(costs))][0]


def _is_line(groups: list[_Group]) -> bool:
    """Whether a part is a single line (a melody played on a piano, say): one note at a time, but for one
    group in ten at most (a double note, or a note held past half its length into the next)."""
    odd = sum(len(g.pitches) > 1 or nxt.start < g.start + g.dur / 2 for g, nxt in zip(groups, groups[1:]))
    return odd + (len(groups[-1].pitches) > 1) <= len(groups) / 10


def _needs_grand_staff(groups: list[_Group], program: int) -> bool:
    """A keyboard (or harp) part, unless it is a single line that one staff holds within two ledger lines; any
    other pitched part that spans more than two octaves across middle C with more than one note in twenty beyond
    two ledger lines on its best staff."""
    pitches = [p for g in groups for p in g.pitches]
    if program in _GRAND_PROGRAMS:
        fits = min(sum(_ledgers(p, c) > 2 for p in pitches) for c in ("treble", "bass")) == 0
        return not (fits and _is_line(groups))
    lo, hi = min(pitches), max(pitches)
    if not (hi - lo > 24 and lo < 60 < hi):
        return False
    clef = _single_clef(pitches, program)
    return sum(_ledgers(p, clef) > 2 for p in pitches) > len(pitches) / 20


@dataclass
class _Staff:
    clef: str  # a key of _CLEF_LINES, or "percussion"
    groups: list[_Group]


def _staves(track: Track, groups: list[_Group]) -> list[_Staff]:
    """One staff, or a grand staff's treble and bass staves with the notes split between the hands."""
    if track.is_drum:
        return [_Staff("percussion", groups)]
    if not _needs_grand_staff(groups, track.program):
        return [_Staff(_single_clef([p for g in groups for p in g.pitches], track.program), groups)]
    right, left = _split_hands(groups)
    return [_Staff("treble", right), _Staff("bass", left)]


#: Where each hand's notes are expected when it has not played for a while (MIDI keys: G4, D3), and how fast
#: (in quarter notes) its memory of its last notes fades towards that.
_HAND_HOME = (67.0, 50.0)
_HAND_MEMORY = 4.0


def _split_hands(groups: list[_Group]) -> tuple[list[_Group], list[_Group]]:
    """Split a part between the right hand (treble staff) and the left (bass staff), as a pianist would.

    Notes struck together are cut at one point, chosen to need the fewest ledger lines, to keep each hand within
    a reach (an octave for the right, a tenth for the left), to keep near where each hand last played (so a line
    stays on its staff around middle C rather than hopping) and not to split a chord that one hand can take.
    """
    right: list[_Group] = []
    left: list[_Group] = []
    last = [(_HAND_HOME[0], Fraction(-100)), (_HAND_HOME[1], Fraction(-100))]  # per hand: (mean pitch, time)
    i = 0
    while i < len(groups):
        j = i
        while j < len(groups) and groups[j].start == groups[i].start:
            j += 1
        cluster, now = groups[i:j], groups[i].start
        pitches = sorted({p for g in cluster for p in g.pitches})
        refs = [home + (ref - home) * 0.5 ** float((now - t) / _HAND_MEMORY)
                for home, (ref, t) in zip(_HAND_HOME, last)]
        costs = [_cut_cost(pitches[:k], pitches[k:], refs) for k in range(len(pitches) + 1)]
        k = costs.index(min(costs))
        split = pitches[k] if k < len(pitches) else 128  # the right hand takes the keys from here up
        for g in cluster:
            up = [p for p in g.pitches if p >= split]
            down = [p for p in g.pitches if p < split]
            if up:
                right.append(_Group(g.start, g.dur, up, g.velocity))
            if down:
                left.append(_Group(g.start, g.dur, down, g.velocity))
        if k < len(pitches):
            last[0] = (sum(pitches[k:]) / (len(pitches) - k), now)
        if k > 0:
            last[1] = (sum(pitches[:k]) / k, now)
        i = j
    return right, left


def _cut_cost(low: list[int], high: list[int], refs: list[float]) -> float:
    cost = float(sum(_ledgers(p, "treble") for p in high) + sum(_ledgers(p, "bass") for p in low))
    for notes, reach, ref in ((high, 12, refs[0]), (low, 16, refs[1])):
        if notes:
            cost += 0.5 * max(0, notes[-1] - notes[0] - reach) + abs(sum(notes) / len(notes) - ref) / 6
    if low and high and high[-1] - low[0] <= 12:  # one hand could take it all: keep the chord together
        cost += 2.0
    return cost


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
    """Greedy voice assignment over :data:`MAX_VOICES` voices, the first the upper: each group goes to a voice
    free at its onset, the first one unless it is held under higher notes struck while it sounds (then the
    second, which a notation program writes with stems down). Groups at one onset come highest first.

    A note held a little into the next (a beat at most, half its length at most) is cut short rather than
    opening a voice. When no voice is free, the voice that frees soonest has its last group cut short to make
    room (or, when that group starts at the same moment, the pitches join it). The list may hold empty voices.
    """
    voices: list[list[_Group]] = [[] for _ in range(MAX_VOICES)]

    def end(v: list[_Group]) -> Fraction:
        return v[-1].start + v[-1].dur

    for i, g in enumerate(groups):
        busy = [v for v in voices if v and end(v) > g.start]
        free = [k for k, v in enumerate(voices) if not v or end(v) <= g.start]
        if busy and not any(voices[k] for k in free):  # no voice in use is free: cut one short, or open one
            soonest = min(busy, key=end)
            last = soonest[-1]
            legato = last.start < g.start and end(soonest) - g.start <= min(Fraction(1), last.dur / 2)
            if legato or not free:
                if last.start < g.start:
                    last.dur = g.start - last.start
                    soonest.append(g)
                else:
                    last.pitches += [p for p in g.pitches if p not in last.pitches]
                    last.dur = max(last.dur, g.dur)
                continue
        k = free[0]
        if k == 0 and len(free) > 1 and _held_under(g, groups, i):
            k = free[1]
        voices[k].append(g)
    return voices


def _held_under(g: _Group, groups: list[_Group], i: int) -> bool:
    """Whether higher notes are struck while group ``i`` (``g``) still sounds: it is then the lower voice."""
    end, top = g.start + g.dur, max(g.pitches)
    for h in groups[i + 1:]:
        if h.start >= end:
            return False
        if h.start > g.start and min(h.pitches) > top:
            return True
    return False


@dataclass(frozen=True)
class _Bars:
    """The measures' grid in quarter lengths: ``lines`` (every bar line, the last past every note) and each
    bar's meter, from :meth:`Piece.bar_starts`, so a 2/4 bar inside 4/4 is a measure of two beats."""

    lines: tuple[Fraction, ...]
    meters: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, piece: Piece, until: Fraction) -> _Bars:
        """The bars of ``piece`` through the end tick and at least to ``until`` (quarter lengths)."""
        res = piece.resolution
        ticks = piece.bar_starts(max(piece.end_tick, math.ceil(until * res), 1))
        return cls(tuple(Fraction(t, res) for t in ticks), tuple(piece.meter_at(t) for t in ticks[:-1]))

    def index(self, q: Fraction) -> int:
        """The bar that quarter length ``q`` falls in."""
        return max(bisect.bisect_right(self.lines, q) - 1, 0)

    def length(self, bar: int) -> Fraction:
        return self.lines[bar + 1] - self.lines[bar]

    def beat(self, bar: int) -> Fraction:
        return _beat_length(self.meters[bar])


def _close_gaps(voice: list[_Group], bars: _Bars) -> None:
    """Write a short note followed by a short silence as one longer note marked staccato, as a player reads it:
    a 16th and a 16th rest become a staccato eighth, a dotted eighth and a 16th rest a quarter. Only where the
    silence is a 16th at most, no longer than the note, and the longer note is one plain value that neither
    leaves its beat (unless it starts on one) nor its bar. The MIDI keeps the notes as played."""
    for g, nxt in zip(voice, voice[1:]):
        gap, length = nxt.start - (g.start + g.dur), nxt.start - g.start
        if not (0 < gap <= Fraction(1, 4) and gap <= g.dur and length in _PLAIN_SET):
            continue
        bar, last = bars.index(g.start), nxt.start - Fraction(1, 64)
        if bar != bars.index(last):
            continue
        origin, beat = bars.lines[bar], bars.beat(bar)
        if (g.start - origin) % beat and (g.start - origin) // beat != (last - origin) // beat:
            continue
        g.staccato = 2 * g.dur <= length
        g.dur = length


#: Lengths one note head can show: plain and dotted values, longest first; and triplet values.
_PLAIN = sorted({Fraction(4, 2**j) * m for j in range(7) for m in (1, Fraction(3, 2))}, reverse=True)
_PLAIN_SET = frozenset(_PLAIN)
_WITH_TRIPLETS = sorted(set(_PLAIN) | {Fraction(2, 3) / 2**j for j in range(5)}, reverse=True)


def _note_values(start: Fraction, end: Fraction, beat: Fraction = Fraction(1),
                 origin: Fraction = Fraction(0)) -> list[tuple[Fraction, Fraction]]:
    """Split a span (in quarter notes from the start of the piece) into (start, length) pieces that one note
    head each can show: 5/4 → 1 + 1/4. A piece that starts off the beat stops at the next beat, unless it starts
    half-way through a plain beat and lasts a beat and a half at most (the eighth-quarter-eighth syncopation).
    Beats count from ``origin``, the start of the span's bar. A span that starts or ends off the 16th grid is
    first cut at its first and last quarter, so that triplets stay in complete groups within their beat (music21
    need not regroup them)."""
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
            limit = b - a
            into = a - origin  # from the bar line
            if values is _PLAIN and into % beat:
                if beat.numerator == 1 and (2 * into / beat).denominator == 1:
                    limit = min(limit, beat * 3 / 2)
                else:
                    limit = min(limit, (into // beat + 1) * beat - into)
            v = next((v for v in values if v <= limit), None)
            if v is None:  # finer than any grid we quantize to: drop the sliver
                break
            out.append((a, v))
            a += v
    return out


def _split_at_bars(groups: list[_Group], bars: _Bars) -> dict[int, list[tuple[_Group, str | None]]]:
    """Cut groups at bar lines (each bar its own length) and into note values: bar index → [(piece of a group,
    tie type or None)], the pieces' starts counted from their bar."""
    out: dict[int, list[tuple[_Group, str | None]]] = {}
    for g in groups:
        start, end = g.start, g.start + g.dur
        pieces: list[tuple[int, Fraction, Fraction]] = []
        while start < end:
            bar = bars.index(start)
            origin = bars.lines[bar]
            stop = min(end, bars.lines[bar + 1])
            pieces += [(bar, a - origin, v) for a, v in _note_values(start, stop, bars.beat(bar), origin)]
            start = stop
        for i, (bar, pos, v) in enumerate(pieces):
            tied_in, tied_out = i > 0, i < len(pieces) - 1
            tie = ("continue" if tied_out else "stop") if tied_in else ("start" if tied_out else None)
            piece = _Group(pos, v, g.pitches, g.velocity, g.staccato and len(pieces) == 1)
            out.setdefault(bar, []).append((piece, tie))
    return out


def _beat_length(meter: tuple[int, int]) -> Fraction:
    """The beat in quarter notes: a dotted quarter in 6/8, 9/8, 12/8; the meter's unit otherwise."""
    num, den = meter
    unit = Fraction(4, den)
    return 3 * unit if den >= 8 and num % 3 == 0 and num > 3 else unit


@functools.lru_cache(maxsize=4096)
def _rest_spans(a: Fraction, b: Fraction, bar_start: Fraction, bar_ql: Fraction,
                beat: Fraction) -> tuple[tuple[Fraction, Fraction], ...]:
    """Rests for the silence from ``a`` to ``b`` (in the bar), as a reader counts them: (start, length) pieces
    that follow the bar's halves (an even number of beats), its beats and their halves, each piece the largest
    one that fills a whole part of the bar (a quarter, half or whole-bar rest rather than a run of 16th rests;
    a 16th and an eighth rest, not a dotted eighth, after a 16th note on the beat). Silences that start or end
    on a triplet are split as notes are."""
    if a == 0 and b == bar_ql:
        return ((a, b),)
    out: list[tuple[Fraction, Fraction]] = []

    def node(start: Fraction, length: Fraction) -> None:
        stop = start + length
        if stop <= a or start >= b:
            return
        if a <= start and stop <= b and length in _PLAIN_SET:
            out.append((start, length))
            return
        beats = length / beat
        triplet_edge = any(start < e < stop and e.denominator & (e.denominator - 1) for e in (a, b))
        if length > beat and beats.denominator == 1:
            n = int(beats)
            parts = 2 if n % 2 == 0 and n >= 4 else n
            step = length / parts
        elif triplet_edge:
            step = None
        elif length <= beat and length.numerator == 3:
            step = length / 3  # a dotted beat: its three eighths, the last two as one rest where both are silent
            if a <= start + step and stop <= b:
                node(start, step)
                out.append((start + step, 2 * step))
                return
        elif length <= beat and length.numerator == 1 and length > Fraction(1, 8):
            step = length / 2
        else:
            step = None
        if step is None:  # a triplet edge within a beat, or an odd length: as note values
            lo, hi = max(a, start), min(b, stop)
            out.extend((s - bar_start, v)
                       for s, v in _note_values(bar_start + lo, bar_start + hi, beat, bar_start))
            return
        for k in range(int(length / step)):
            node(start + k * step, step)

    node(Fraction(0), bar_ql)
    return tuple(out)


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
    from music21 import articulations, chord, note, percussion, tie as m21tie

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
    if group.staccato:
        obj.articulations.append(articulations.Staccato())
    if tie is not None:
        obj.tie = m21tie.Tie(tie)
    return obj


def _fill(container, items: list, bar_start: Fraction, bar_ql: Fraction, beat: Fraction,
          hide_rests: bool = False) -> None:
    """Insert items (sorted, non-overlapping, offsets in the bar) and rests in the gaps (hidden ones for a second
    voice, whose silences the first voice's notes and rests already show)."""
    from music21 import note

    def rests(start: Fraction, stop: Fraction) -> None:
        for a, v in _rest_spans(start, stop, bar_start % 1, bar_ql, beat):  # (the same in every bar)
            r = note.Rest(quarterLength=v)
            r.fullMeasure = v == bar_ql  # saves music21 a context search per rest
            if hide_rests:
                r.style.hideObjectOnPrint = True
            container.insert(a, r)

    pos = Fraction(0)
    for offset, obj in items:
        if offset > pos:
            rests(pos, offset)
        container.insert(offset, obj)
        pos = offset + Fraction(obj.quarterLength)
    if pos < bar_ql:
        rests(pos, bar_ql)


def _part_name(track: Track) -> tuple[str, str]:
    """(name, abbreviation) of a track's part, as a musician writes them: the role and the instrument
    ("Melody — Alto Sax", "Mel."), or the instrument alone where the role names it ("bass" on an Electric
    Bass, "drums" on the Drum Kit, "PIANO" on a Piano) or there is no role."""
    instrument = "Drum Kit" if track.is_drum else _GM_NAMES[track.program % 128]
    role = " ".join(track.name.replace("_", " ").split())  # a layer's "melody_2" reads "Melody 2"
    if not role:
        return instrument, _abbreviation(instrument)
    if role.lower().rstrip("s") in instrument.lower() or instrument.lower() in role.lower():
        return instrument, _abbreviation(role)
    label = role.title() if role.islower() or role.isupper() else role
    return f"{label} — {instrument}", _abbreviation(role)


def _abbreviation(name: str) -> str:
    key = name.lower()
    if key in _ABBREVIATIONS:
        return _ABBREVIATIONS[key]
    return name if len(name) <= 4 else name[:3].capitalize() + "."


def _instrument(track: Track, index: int):
    from music21 import instrument

    if track.is_drum:
        inst = instrument.UnpitchedPercussion()  # written with MIDI channel 10, as General MIDI drums are
    else:
        try:
            inst = instrument.instrumentFromMidiProgram(track.program)
        except Exception:  # not expected for 0-127; a plain instrument still plays the program
            inst = instrument.Instrument()
        inst.midiProgram = track.program  # music21's class may stand for a neighbouring program
    name, abbreviation = _part_name(track)
    inst.partName, inst.partAbbreviation = name, abbreviation
    inst.instrumentName = "Drum Kit" if track.is_drum else _GM_NAMES[track.program % 128]
    inst.instrumentAbbreviation = abbreviation
    inst.partId = f"P{index + 1}"
    inst.instrumentId = f"P{index + 1}-I1"
    return inst


def _clef(name: str):
    from music21 import clef

    return {"treble": clef.TrebleClef, "bass": clef.BassClef, "treble8vb": clef.Treble8vbClef,
            "bass8vb": clef.Bass8vbClef, "percussion": clef.PercussionClef}[name]()


def _tied_across(pieces: list[tuple[_Group, str | None]]) -> bool:
    """Whether a voice's bar is tied to the bar before or after."""
    return pieces[0][1] in ("stop", "continue") or pieces[-1][1] in ("start", "continue")


def to_music21(piece: Piece, title: str | None = None):
    """Build a ``music21.stream.Score`` with measures, voices, rests, marks, accidentals and beams made: ready to
    export, or to show or analyse with music21. A grand-staff part is a pair of ``PartStaff`` streams joined by
    a ``StaffGroup`` with a brace (exported as one part of two staves)."""
    from music21 import bar as m21bar, expressions, harmony, key, layout, metadata, meter, stream, tempo

    res = piece.resolution
    tracks = [t for t in piece.tracks if t.notes]
    if not tracks:
        raise MusicXmlError("piece has no notes to write as MusicXML")
    spell = _spelling(piece.key)
    voiced = []  # per track, its staves: (clef, voices)
    for t in tracks:
        voiced.append([(st.clef, _voices(st.groups)) for st in _staves(t, _layout(t, res))])
    last_end = max((g.start + g.dur for staves in voiced for _, vs in staves for v in vs for g in v), default=0)
    bars = _Bars.of(piece, Fraction(last_end))  # measures follow the piece's bar lines, each in its own meter
    layouts = []  # per track, its staves: (clef, per voice: bar → pieces)
    for t, staves in zip(tracks, voiced):
        if not t.is_drum:
            for _, voices in staves:
                for v in voices:
                    _close_gaps(v, bars)
        layouts.append([(clef_name, [_split_at_bars(v, bars) for v in voices]) for clef_name, voices in staves])
    last_bar = max((max(v) for staves in layouts for _, vs in staves for v in vs if v), default=0)
    n_bars = max(last_bar + 1, sum(line < Fraction(piece.end_tick, res) for line in bars.lines[:-1]), 1)

    # tempo, section and chord marks, by bar, for the first pitched part
    marks: dict[int, list[tuple[Fraction, Any]]] = {}

    def mark(tick: int, obj) -> None:
        ql = _snap(Fraction(tick, res), 4)
        bar = bars.index(ql)
        if bar < n_bars:  # a marker at (or past) the very end has nothing to stand over
            marks.setdefault(bar, []).append((ql - bars.lines[bar], obj))

    shown = None
    gradual = _gradual_tempos(piece)
    for i, t in enumerate(piece.tempos):
        if i in gradual:  # a step of a ritardando or accelerando: its word at the first, the sound at each
            word, last = gradual[i]
            if word:
                text = expressions.TextExpression(word)
                text.style.fontStyle = "italic"
                text.placement = "above"
                mark(t.tick, text)
            if not last:
                mm = tempo.MetronomeMark()  # no number shown: the playback tempo alone
                mm.numberSounding = round(t.bpm, 2)
                mark(t.tick, mm)
                continue
        beat = bars.beat(min(bars.index(_snap(Fraction(t.tick, res), 4)), len(bars.meters) - 1))
        per_beat = beat if beat.numerator == 3 else Fraction(1)  # 6/8, 9/8, 12/8: dotted quarters a minute
        bpm = round(t.bpm / per_beat)
        if (bpm, per_beat) != shown or i in gradual:  # MIDI files often repeat the tempo they are already at
            mm = tempo.MetronomeMark(number=bpm, referent=float(per_beat))
            if t.bpm != bpm * per_beat:  # the written mark is an integer; playback stays exact
                mm.numberSounding = round(t.bpm / per_beat, 2)
            mm.placement = "above"
            mark(t.tick, mm)
            shown = (bpm, per_beat)
    for m in piece.section_markers():
        rm = expressions.RehearsalMark(m.text)
        rm.placement = "above"
        mark(m.tick, rm)
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
    for i, (track, staves) in enumerate(zip(tracks, layouts)):
        inst = _instrument(track, i)
        grand = len(staves) > 1
        staffs = []
        for s, (clef_name, voices) in enumerate(staves):
            staff = stream.PartStaff(id=f"P{i + 1}-Staff{s + 1}") if grand else stream.Part(id=f"P{i + 1}")
            staff.insert(0, inst if s == 0 else copy.deepcopy(inst))
            triplet_bars = []
            time_sigs = []  # per measure, its meter's TimeSignature (for the beams)
            for b in range(n_bars):
                m = stream.Measure(number=b + 1)
                if b == 0:
                    m.clef = _clef(clef_name)
                    if key_sig is not None and not track.is_drum:
                        m.keySignature = key.Key(key_sig.tonic, key_sig.mode)
                if b == 0 or bars.meters[b] != bars.meters[b - 1]:  # a <time> where the meter changes
                    m.timeSignature = meter.TimeSignature("{}/{}".format(*bars.meters[b]))
                time_sigs.append(m.timeSignature if m.timeSignature is not None else time_sigs[-1])
                if i == marks_part and s == 0:
                    for off, obj in marks.get(b, []):
                        m.insert(off, obj)
                filled = [(vi, v[b]) for vi, v in enumerate(voices) if b in v]
                _fill_measure(m, filled, bars.lines[b], bars.length(b), bars.beat(b), spell, track.is_drum,
                              (4 * s + 1, 4 * s + 2) if grand else None)
                staff.append(m)
                if any(g.start.denominator % 3 == 0 or g.dur.denominator % 3 == 0 for _, v in filled for g, _ in v):
                    triplet_bars.append(m)
            m.rightBarline = m21bar.Barline("final")
            _make_notation(staff, time_sigs, triplet_bars, None if track.is_drum else key_sig, track.is_drum)
            score.insert(0, staff)
            staffs.append(staff)
        if grand:
            group = layout.StaffGroup(staffs, name=inst.partName, abbreviation=inst.partAbbreviation,
                                      symbol="brace", barTogether=True)
            score.insert(0, group)
    return score


def _gradual_tempos(piece: Piece) -> dict[int, tuple[str | None, bool]]:
    """The tempo changes that make up a gradual change (a plan's ramp: the tempo set beat by beat): runs of two
    or more changes, each one beat (the meter's unit) after the last and all moving the same way. Index in
    ``piece.tempos`` → (``"rit."`` or ``"accel."`` at the run's first change, else None; whether it is the last,
    which gets the tempo mark). A score writes the word and the tempo reached, not a mark every beat."""
    ts, res = piece.tempos, piece.resolution
    out: dict[int, tuple[str | None, bool]] = {}

    def way(a: float, b: float) -> int:
        return (b > a) - (b < a)

    i = 1
    while i < len(ts):
        sign, j = way(ts[i - 1].bpm, ts[i].bpm), i
        while (sign and j + 1 < len(ts) and way(ts[j].bpm, ts[j + 1].bpm) == sign
               and ts[j + 1].tick - ts[j].tick == res * 4 // piece.meter_at(ts[j].tick)[1]):
            j += 1
        if j > i:
            out[i] = ("accel." if sign > 0 else "rit.", False)
            out.update({k: (None, k == j) for k in range(i + 1, j + 1)})
        i = j + 1
    return out


def _fill_measure(m, filled: list, bar_start: Fraction, bar_ql: Fraction, beat: Fraction,
                  spell: dict[int, str], drums: bool, voice_ids: tuple[int, ...] | None = None) -> None:
    """A staff's bar: its one voice written plainly, or its voices (the first always there, with its rests
    shown; a second voice's rests hidden). A lone second voice is written as the first unless tied across the
    bar line (ties stay within a voice).

    ``voice_ids``: the voice numbers to write, even for one voice (a grand staff's staves number theirs 1, 2
    and 5, 6, so that they stay apart and keep their numbers from bar to bar once joined in one part).
    """
    from music21 import stream

    def items(pieces):
        return [(g.start, _make_general_note(g, tie, spell, drums)) for g, tie in pieces]

    if len(filled) == 1 and (filled[0][0] == 0 or not _tied_across(filled[0][1])):
        filled = [(0, filled[0][1])]
    if len(filled) <= 1 and voice_ids is None:
        _fill(m, items(filled[0][1]) if filled else [], bar_start, bar_ql, beat)
        return
    by_voice = dict(filled)
    for vi in range(max(by_voice, default=0) + 1):  # a voice keeps its number from bar to bar: ties stay in it
        voice = stream.Voice(id=str(voice_ids[vi] if voice_ids else vi + 1))
        _fill(voice, items(by_voice.get(vi, [])), bar_start, bar_ql, beat,
              hide_rests=vi > 0 or (vi not in by_voice and bool(by_voice)))
        m.insert(0, voice)


def _make_accidentals(staff, key_sig) -> None:
    """Show the accidentals a reader needs, as engravers do: a note whose alteration differs from the key
    signature's, or from the last one shown on its line and octave in the bar, shows it (a natural where it
    cancels; a courtesy accidental where the bar before left the line altered); a note tied over shows none.
    Done here rather than by music21's ``makeAccidentalsInMeasureStream``, which took a fifth of the writing
    time."""
    from music21 import harmony, pitch

    in_key = {} if key_sig is None else {
        step: key_sig.accidentalByStep(step).alter for step in "CDEFGAB" if key_sig.accidentalByStep(step)}
    before: dict[tuple[str, int], float] = {}  # accidentals shown in the bar before
    for m in staff.getElementsByClass("Measure"):
        events = [n for v in (m.voices if m.hasVoices() else [m]) for n in v.notes
                  if not isinstance(n, harmony.Harmony)]
        events.sort(key=lambda n: n.offset)  # stable: voices in order at one moment
        shown: dict[tuple[str, int], float] = {}
        for n in events:
            tied_in = n.tie is not None and n.tie.type in ("stop", "continue")
            for p in n.pitches:
                alter = p.accidental.alter if p.accidental is not None else 0
                where = (p.step, p.octave)
                key_alter = in_key.get(p.step, 0)
                if where in shown:  # the line's alteration in force in this bar
                    needed = alter != shown[where]
                else:  # the key's, and a courtesy accidental where the bar before left the line altered
                    needed = alter != key_alter or before.get(where, key_alter) != alter
                if not tied_in and needed:
                    if p.accidental is None:
                        p.accidental = pitch.Accidental("natural")
                    p.accidental.displayStatus = True
                    shown[where] = alter
                elif p.accidental is not None:
                    p.accidental.displayStatus = False
                if not tied_in:
                    shown.setdefault(where, alter)
        before = {where: alter for where, alter in shown.items() if alter != in_key.get(where[0], 0)}


def _make_notation(part, time_sigs: list, triplet_bars: list, key_sig=None, drums: bool = False) -> None:
    """What ``makeNotation`` does for a part already in measures, tied and split into note values (triplets
    grouped by beat), less the steps that have nothing left to do: accidentals, beams, tuplet brackets (only
    where there are triplets).

    Beams are set here rather than by ``makeBeams``, which searches for the meter again in every measure (a
    context search that took most of the time on a three-minute song); we know each measure's meter
    (``time_sigs``, one a measure). Stem directions are left to the notation program, which sets them by voice
    and pitch anyway.
    """
    from music21 import beam
    from music21.stream import makeNotation as mn

    if not drums:
        _make_accidentals(part, key_sig)
    for m, time_sig in zip(part.getElementsByClass("Measure"), time_sigs):
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
    data = re.sub(rb'<sound tempo="(\d+\.\d{3,})"',  # music21 writes 99.3 as 99.30000000000001
                  lambda m: b'<sound tempo="%s"' % f"{float(m.group(1)):.2f}".rstrip("0").rstrip(".").encode(), data)
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise MusicXmlError(f"cannot write MusicXML to {path}: {e.strerror}") from None


def _export(score) -> bytes:
    from music21.musicxml.m21ToXml import ScoreExporter

    exporter = ScoreExporter(score, makeNotation=False)
    exporter.parse()
    return exporter.asBytes()
