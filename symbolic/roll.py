"""The diffusion engine's piano roll: the roll layout, roll ↔ notes, and the plan's chords and density as rolls.

Layout (one :class:`RollSpec`, stored with every checkpoint so a model always reads rolls the way it learnt them):

- time on a sixteenth-note grid (4 steps a quarter, 120 ticks at 480 a quarter); a window is ``window_bars``
  bars, 4 bars of 4/4 = 64 steps;
- pitch MIDI 36-99 (64 pitches); notes outside are folded by octaves into it;
- 4 roll channels: melody onset, melody sustain, harmony onset, harmony sustain (sustain is on at every step a
  note sounds, its onset step included). Both parts are generated, so the same model can keep a user's melody
  (inpainting) and write the accompaniment;
- 3 condition channels: chord tones (1 where the pitch's pitch class is in the chord sounding at that step),
  chord root (1 on the root's pitch class) and the bar's density (the plan's number, tiled). Laying the chord
  across the pitch axis lets a convolution see, at every cell, whether that note would fit.

Key: every song is transposed to C major or A minor (its key_audio.txt main key, by the smallest shift, -6..+5
semitones). The plan's key is always known at generation, so transposing back is exact, and a small model
trained for an hour on one CPU core learns scale-degree patterns 12 times more densely than from 12 keys. The cost
is a fold by octave for the few notes pushed out of range.

The segment cache the model is trained on is built from POP909 by :mod:`framescore.datasets.rolls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import FramescoreError
from .chords import Key
from .piece import TICKS_PER_QUARTER, Note, Piece
from .plan import MusicPlan
from .remi import key_shift  # the transformer's normalisation: both models see keys laid out alike

__all__ = [
    "COND_CHANNELS",
    "PARTS",
    "ROLL_CHANNELS",
    "RollError",
    "RollSpec",
    "chord_key",
    "chord_shift",
    "condition",
    "key_shift",
    "notes_to_roll",
    "piece_to_roll",
    "plan_chords",
    "plan_density",
    "roll_to_notes",
]

ROLL_CHANNELS = ("melody_onset", "melody_sustain", "harmony_onset", "harmony_sustain")
COND_CHANNELS = ("chord_tones", "chord_root", "density")
PARTS = ("melody", "harmony")  # roll channels 2*i, 2*i+1 belong to PARTS[i]


class RollError(FramescoreError):
    """A meter or layout the piano roll cannot hold."""


@dataclass(frozen=True)
class RollSpec:
    """How music is laid on the roll: grid, pitch range, window length."""

    steps_per_quarter: int = 4
    pitch_lo: int = 36
    n_pitches: int = 64
    window_bars: int = 4

    @property
    def pitch_hi(self) -> int:
        """Highest MIDI pitch on the roll (inclusive)."""
        return self.pitch_lo + self.n_pitches - 1

    def steps_per_bar(self, meter: tuple[int, int]) -> int:
        num, den = meter
        if (num * 4 * self.steps_per_quarter) % den:
            raise RollError(f"meter {num}/{den} does not fit a grid of {self.steps_per_quarter} steps a quarter")
        return num * 4 * self.steps_per_quarter // den

    def ticks_per_step(self, resolution: int = TICKS_PER_QUARTER) -> int:
        return resolution // self.steps_per_quarter

    def to_dict(self) -> dict:
        return asdict(self)


_C_MAJOR = frozenset(Key(0, "major").scale)
#: Another shift must put this much more of the chord-tone weight in C major than the key's own shift does: minor
#: keys' major V chords and borrowed chords stay where the key puts them.
CHORD_SHIFT_MARGIN = 0.1


def chord_shift(plan: MusicPlan) -> int:
    """The shift (-6..+5) that puts the plan's chords most inside C major / A minor, weighting each chord tone by
    how many beats its chord lasts; the key's own shift (:func:`key_shift`) unless another one is clearly better
    (:data:`CHORD_SHIFT_MARGIN`).

    It is the key's shift whenever the chords are diatonic to the key; it differs when they are not, e.g. a
    POP909 song whose key_audio.txt says D minor over chords in F# minor, or a user's plan whose chords wander.
    The model only knows music laid out in C major / A minor, so the chords are what must land there.
    """
    weight = np.zeros(12)
    beats = plan.beats_per_bar
    for b in range(plan.n_bars):
        slots = plan.chords_at(b)
        for i, (beat, chord) in enumerate(slots):
            length = (slots[i + 1][0] if i + 1 < len(slots) else beats) - beat
            for pc in chord.pitch_classes:
                weight[pc] += length
    own = key_shift(plan.key_obj)
    scores = {s: sum(weight[pc] for pc in range(12) if (pc + s) % 12 in _C_MAJOR) for s in range(-6, 6)}
    best = max(scores, key=lambda s: (scores[s], -abs(s - own)))
    return best if scores[best] > scores[own] + CHORD_SHIFT_MARGIN * weight.sum() else own


def chord_key(plan: MusicPlan) -> Key:
    """The key the plan's chords sit in: the plan's own, unless :func:`chord_shift` finds the chords clearly in
    another scale; then that scale's key in the plan's mode (D minor over F# minor chords → F# minor)."""
    key, shift = plan.key_obj, chord_shift(plan)
    if shift == key_shift(key):
        return key
    return Key((0 if key.mode == "major" else 9) - shift, key.mode)


def _fold(pitch: int, spec: RollSpec) -> int:
    while pitch < spec.pitch_lo:
        pitch += 12
    while pitch > spec.pitch_hi:
        pitch -= 12
    return pitch


def notes_to_roll(notes: Sequence[Note], n_steps: int, spec: RollSpec, shift: int = 0,
                  resolution: int = TICKS_PER_QUARTER) -> np.ndarray:
    """One part as a ``(2, n_steps, n_pitches)`` uint8 roll: onset, sustain. Notes are transposed by ``shift``."""
    roll = np.zeros((2, n_steps, spec.n_pitches), dtype=np.uint8)
    tps = spec.ticks_per_step(resolution)
    for n in notes:
        s = int(round(n.start / tps))
        if s >= n_steps or s < 0:
            continue
        e = min(n_steps, max(s + 1, int(round(n.end / tps))))
        p = _fold(n.pitch + shift, spec) - spec.pitch_lo
        roll[0, s, p] = 1
        roll[1, s:e, p] = 1
    return roll


def piece_to_roll(piece: Piece, n_steps: int, spec: RollSpec, shift: int = 0) -> np.ndarray:
    """Tracks ``melody`` and ``harmony`` as a ``(4, n_steps, n_pitches)`` uint8 roll (a missing track is empty)."""
    parts = []
    for name in PARTS:
        track = piece.track(name)
        parts.append(notes_to_roll(track.notes if track else [], n_steps, spec, shift, piece.resolution))
    return np.concatenate(parts)


def roll_to_notes(part: np.ndarray, spec: RollSpec, shift: int = 0, threshold: float | tuple[float, float] = 0.5,
                  velocity: int | Sequence[int] = 80, resolution: int = TICKS_PER_QUARTER,
                  end_tick: int | None = None, monophonic: bool = False,
                  reattack: float | None = None, bar_steps: int | None = None) -> list[Note]:
    """Notes of one part's ``(2, T, P)`` roll (onset, sustain): a note starts where the onset is above its
    threshold and lasts while the sustain stays above its own (until the next onset of the same pitch).

    ``threshold`` is one value or ``(onset, sustain)``; ``shift`` is the transposition the roll was made with (it
    is undone); ``velocity`` is one value or one per step; notes are cut at ``end_tick``. ``monophonic`` (a
    melody) keeps the strongest onset of each step and ends every note where the next one starts. ``reattack``
    (monophonic only): an onset of the pitch that is sounding, while its sustain is still on, starts a new note
    only above this higher threshold; below it the note goes on (a hysteresis against a held note read as
    repeated ones), unless it is the first onset of its bar (bars of ``bar_steps`` steps), so that no bar loses
    the onsets its tune was given.
    """
    t_on, t_sus = (threshold, threshold) if np.isscalar(threshold) else threshold
    onset, sustain = part[0] > t_on, part[1] > t_sus
    n_steps = onset.shape[0]
    if monophonic:
        onset = _one_voice(onset, sustain, part[0], reattack, bar_steps)
        next_onset = np.full(n_steps + 1, n_steps)
        for s in range(n_steps - 1, -1, -1):
            next_onset[s] = s if onset[s].any() else next_onset[s + 1]
    tps = spec.ticks_per_step(resolution)
    vel = np.broadcast_to(np.asarray(velocity, dtype=np.int64), (n_steps,))
    notes = []
    for s, p in zip(*np.nonzero(onset)):
        stop = next_onset[s + 1] if monophonic else n_steps
        e = s + 1
        while e < stop and sustain[e, p] and not onset[e, p]:
            e += 1
        start, end = int(s) * tps, int(e) * tps
        if end_tick is not None:
            if start >= end_tick:
                continue
            end = min(end, end_tick)
        notes.append(Note(start, end - start, int(p) + spec.pitch_lo - shift, int(vel[s])))
    return sorted(notes)


def _one_voice(onset: np.ndarray, sustain: np.ndarray, strength: np.ndarray, reattack: float | None,
               bar_steps: int | None = None) -> np.ndarray:
    """The onsets of one voice, at most one a step: the strongest of each step's; an onset of the pitch still
    sounding (its sustain on there) that is not above ``reattack`` is dropped, so that note goes on, unless it
    would be the first onset of its bar (bars of ``bar_steps`` steps; None: no bar lines)."""
    out = np.zeros_like(onset)
    current = -1
    bar_has_onset = False
    for s in range(onset.shape[0]):
        if bar_steps and s % bar_steps == 0:
            bar_has_onset = False
        hit = np.flatnonzero(onset[s])
        if not hit.size:
            if current >= 0 and not sustain[s, current]:
                current = -1
            continue
        p = int(hit[int(np.argmax(strength[s, hit]))])
        if (reattack is not None and bar_has_onset and p == current and sustain[s, p]
                and strength[s, p] <= reattack):
            continue  # the sounding note goes on
        out[s, p] = True
        current, bar_has_onset = p, True
    return out


def plan_chords(plan: MusicPlan, n_steps: int, spec: RollSpec, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per step: the sounding chord's pitch classes as a 12-bit mask (uint16) and its root (int8, -1 for 'N'),
    transposed by ``shift``. Steps past the plan's bars hold no chord."""
    spb = spec.steps_per_bar(plan.meter_tuple)
    mask = np.zeros(n_steps, dtype=np.uint16)
    root = np.full(n_steps, -1, dtype=np.int8)
    for span in plan.chord_spans(spec.steps_per_quarter):  # steps are the ticks of this resolution
        lo, hi = min(span.start_tick, n_steps), min(span.end_tick, (span.bar + 1) * spb, n_steps)  # ends with its bar
        if span.chord.is_none or lo >= hi:
            continue
        mask[lo:hi] = sum(1 << ((pc + shift) % 12) for pc in span.chord.pitch_classes)
        root[lo:hi] = (span.chord.root + shift) % 12
    return mask, root


def plan_density(plan: MusicPlan, n_steps: int, spec: RollSpec) -> np.ndarray:
    """Per step: the plan's density of its bar (float32; the last bar's past the end)."""
    spb = spec.steps_per_bar(plan.meter_tuple)
    dens = np.array([b.density for b in plan.bars], dtype=np.float32)
    return dens[np.minimum(np.arange(n_steps) // spb, len(dens) - 1)]


def condition(mask: np.ndarray, root: np.ndarray, density: np.ndarray, spec: RollSpec) -> np.ndarray:
    """The ``(3, T, P)`` float32 condition: chord tones, chord root, density (see the module docstring).

    Leading axes are kept: ``mask`` of shape ``(..., T)`` gives ``(..., 3, T, P)``.
    """
    pcs = (spec.pitch_lo + np.arange(spec.n_pitches)) % 12
    tones = (mask[..., :, None].astype(np.int64) >> pcs) & 1
    is_root = root[..., :, None].astype(np.int64) == pcs
    dens = np.broadcast_to(density[..., :, None], tones.shape)
    return np.stack([tones, is_root, dens], axis=-3).astype(np.float32)
