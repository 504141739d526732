"""More than one instrument per role (``MusicPlan.layers``): each its own track, playing its role's part in the way
its instrument is played, so a caption naming five instruments gets five tracks.

An arranger's three standard ways, chosen by the role and the instrument's family:

- a **melody** layer doubles the tune (colla parte), an octave lower for an instrument that sits low (cello,
  trombone, bassoon, baritone sax...; :data:`LOW`), a little softer than the lead;
- a **harmony** layer plays the plan's chords: held through each chord for a sustaining instrument (strings,
  organ, brass, winds, choir, pads: :data:`SUSTAINING`), struck on every beat for the others (guitars, keys,
  mallets), in close position around middle C, at the bar's dynamics less a little;
- a **bass** layer doubles the bass line.

They are written after the engine, from the engine's own tracks and the plan's chord timeline, so every engine
gets them alike and the contract checks them as it checks the roles (:func:`layer_tracks`).
"""

from __future__ import annotations

import bisect

from .piece import Note, Piece, Track
from .plan import MusicPlan, velocity_of

__all__ = ["LEADS", "LOW", "SUSTAINING", "add_layers", "layer_tracks", "layer_role"]

#: Programs that sustain a note as long as it is held (organs, strings but pizzicato, ensembles, choirs, brass,
#: reeds, pipes, pads).
SUSTAINING = frozenset([*range(16, 24), 40, 41, 42, 43, 44, 48, 49, 50, 51, 52, 53, 54, *range(56, 80),
                        *range(88, 96)])
#: Programs whose range sits an octave or so below the tune's: they double it an octave down.
LOW = frozenset([42, 43, 57, 58, 67, 70, 32, 33, 34, 35, 36, 37, 38, 39])
#: Programs that carry a tune (solo strings, solo brass, reeds, pipes, synth leads, fiddles and the like): a named
#: instrument of these with no role left doubles the melody; any other joins the harmony.
LEADS = frozenset([40, 41, 42, *range(56, 61), *range(64, 88), *range(104, 112)])
#: How much softer a layer plays than the part it joins (velocity factor).
SOFTER = 0.85


def layer_role(program: int, is_bass: bool = False) -> str:
    """The role an extra instrument joins: a bass the bass, a lead (:data:`LEADS`) the melody, others the harmony."""
    return "bass" if is_bass else "melody" if program in LEADS else "harmony"


def layer_tracks(plan: MusicPlan) -> list[tuple[str, str, int]]:
    """``(track name, role, program)`` of every layer, in role order: ``harmony_2``, ``harmony_3``, ..."""
    out = []
    for role in plan.instrumentation:
        for k, program in enumerate(plan.layers.get(role, [])):
            out.append((f"{role}_{k + 2}", role, program))
    return out


def _soft(v: float) -> int:
    return int(min(127, max(1, round(v * SOFTER))))


def _double(part: Track, program: int, octave_down: bool) -> list[Note]:
    shift = -12 if octave_down else 0
    return [Note(n.start, n.duration, n.pitch + shift if n.pitch + shift >= 24 else n.pitch, _soft(n.velocity))
            for n in part.notes]


def _voicing(pcs: tuple[int, ...]) -> list[int]:
    """Close position from the root at or above G3 (55): at most four tones, each above the last."""
    out: list[int] = []
    for pc in pcs[:4]:
        p = 55 + (pc - 55) % 12
        while out and p <= out[-1]:
            p += 12
        out.append(p)
    return out


def _chords(plan: MusicPlan, piece: Piece, program: int) -> list[Note]:
    """The plan's chords, held (sustaining) or struck on each beat, at each bar's dynamics."""
    res = piece.resolution
    lines = plan.bar_start_ticks(res)
    notes: list[Note] = []
    for span in plan.chord_spans(res):
        if span.chord.is_none or span.end_tick <= span.start_tick:
            continue
        end = min(span.end_tick, piece.end_tick)
        if end <= span.start_tick:
            continue
        vel = _soft(velocity_of(plan.bars[span.bar].dynamics))
        pitches = _voicing(span.chord.pitch_classes)
        if program in SUSTAINING:
            notes += [Note(span.start_tick, end - span.start_tick, p, vel) for p in pitches]
            continue
        beat = res * 4 // plan.bar_meter(span.bar)[1]
        t = span.start_tick
        while t < end:
            bar = bisect.bisect_right(lines, t) - 1
            length = min(beat, end - t)
            accent = vel if (t - lines[bar]) % (2 * beat) == 0 else _soft(vel)
            notes += [Note(t, max(1, length * 9 // 10), p, accent) for p in pitches]
            t += beat
    return notes


def add_layers(piece: Piece, plan: MusicPlan) -> Piece:
    """The piece with a track per layer of the plan (:func:`layer_tracks`), after the role tracks."""
    for name, role, program in layer_tracks(plan):
        part = piece.track(role)
        if role == "harmony":
            notes = _chords(plan, piece, program)
        elif part is None:
            notes = []
        else:
            notes = _double(part, program, octave_down=role == "melody" and program in LOW)
        piece.tracks.append(Track(name, program, False, sorted(notes)))
    return piece
