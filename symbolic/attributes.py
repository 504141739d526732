"""Attributes of real music in the plan's own terms: per-bar density and dynamics, and whole-piece features.

The SAME functions label the training data (POP909 bars → ``BarPlan.density``/``dynamics``) and measure what an
engine generated, so a model conditioned on a plan's density learns to hit numbers it can be checked against.

- density of a bar: its pitched note onsets (every note counts, so a 3-note chord is 3) per beat, divided by
  :data:`DENSITY_ONSETS_PER_BEAT` = 12 and clipped to [0, 1]: quarter-note triads (3 a beat) are 0.25,
  sixteenth-note triads saturate. Over POP909's training songs the median bar is 0.42, 90% are below 0.65 and
  0.4% saturate;
- dynamics of a bar: :func:`~framescore.symbolic.plan.dynamics_of` the mean velocity of the notes that start in
  it (velocity 40 is 0, 110 is 1, clipped outside: the scale every engine plays); 0 for a bar with no onset.

A bar is always judged over its full length, also the last one when the music ends inside it, so a generator
that stops early is not rewarded with a higher density. Drums never count (pitched notes only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .key_profiles import KEY_PROFILES
from .piece import Note, Piece
from .plan import dynamics_of

__all__ = [
    "DENSITY_ONSETS_PER_BEAT",
    "bar_density",
    "bar_dynamics",
    "bar_densities",
    "bar_dynamics_list",
    "density_to_onsets",
    "piece_attributes",
    "ticks_to_seconds",
]

#: Onsets per beat that count as density 1.0 (see the module docstring).
DENSITY_ONSETS_PER_BEAT = 12.0


def _density(onsets: float, length: int, beat_ticks: int) -> float:
    beats = length / beat_ticks
    return float(min(1.0, onsets / (beats * DENSITY_ONSETS_PER_BEAT))) if beats > 0 else 0.0


def bar_density(notes: Sequence[Note], start: int, length: int, beat_ticks: int) -> float:
    """Density in [0, 1] of the bar ``[start, start + length)`` (ticks) with beats of ``beat_ticks``."""
    return _density(sum(start <= n.start < start + length for n in notes), length, beat_ticks)


def bar_dynamics(notes: Sequence[Note], start: int, length: int) -> float:
    """:func:`~framescore.symbolic.plan.dynamics_of` the mean velocity of the notes starting in
    ``[start, start + length)``; 0.0 when none does."""
    vel = [n.velocity for n in notes if start <= n.start < start + length]
    return dynamics_of(float(np.mean(vel))) if vel else 0.0


def density_to_onsets(density: float, beats: float) -> int:
    """How many onsets a bar of ``beats`` beats needs for ``density``: the inverse a generator aims with."""
    return round(min(max(density, 0.0), 1.0) * beats * DENSITY_ONSETS_PER_BEAT)


def _pitched(piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """start, end, pitch, velocity of every pitched note, as int arrays."""
    rows = [(n.start, n.end, n.pitch, n.velocity) for t in piece.tracks if not t.is_drum for n in t.notes]
    a = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return a[:, 0], a[:, 1], a[:, 2], a[:, 3]


def _n_bars(piece: Piece, n_bars: int | None) -> int:
    return piece.n_bars if n_bars is None else n_bars


def bar_densities(piece: Piece, n_bars: int | None = None) -> list[float]:
    """:func:`bar_density` of every bar of ``piece`` (bars of ``piece.ticks_per_bar`` from tick 0)."""
    start = _pitched(piece)[0]
    n = _n_bars(piece, n_bars)
    tpb = piece.ticks_per_bar
    counts = np.bincount(start // tpb, minlength=n)[:n] if len(start) else np.zeros(n)
    beat_ticks = piece.resolution * 4 // piece.meter[1]
    return [_density(float(c), tpb, beat_ticks) for c in counts]


def bar_dynamics_list(piece: Piece, n_bars: int | None = None) -> list[float]:
    """:func:`bar_dynamics` of every bar of ``piece``."""
    start, _, _, vel = _pitched(piece)
    n = _n_bars(piece, n_bars)
    if not len(start):
        return [0.0] * n
    bar = start // piece.ticks_per_bar
    counts = np.bincount(bar, minlength=n)[:n]
    sums = np.bincount(bar, weights=vel, minlength=n)[:n]
    return [dynamics_of(float(s / c)) if c else 0.0 for s, c in zip(sums, counts)]


def ticks_to_seconds(piece: Piece, ticks: np.ndarray) -> np.ndarray:
    """Seconds of many ticks at once through the piece's tempo map (the vector form of ``tick_to_sec``)."""
    knots_t = np.array([t.tick for t in piece.tempos], dtype=float)
    bpm = np.array([t.bpm for t in piece.tempos], dtype=float)
    sec_per_tick = 60.0 / (bpm * piece.resolution)
    knots_s = np.concatenate([[0.0], np.cumsum(np.diff(knots_t) * sec_per_tick[:-1])])
    ticks = np.asarray(ticks, dtype=float)
    i = np.clip(np.searchsorted(knots_t, ticks, side="right") - 1, 0, len(knots_t) - 1)
    return knots_s[i] + (ticks - knots_t[i]) * sec_per_tick[i]


# Krumhansl & Kessler's (1982) key profiles: the VA classifier's mode features were computed with these, so they
# stay even though symbolic.metrics.estimate_key now defaults to Albrecht & Shanahan's.
_KK_MAJOR, _KK_MINOR = KEY_PROFILES["krumhansl-kessler"]


def _key_correlations(profile: np.ndarray) -> tuple[float, float]:
    """Best correlation of the pitch-class profile with any major and with any minor key profile."""
    if profile.sum() <= 0 or np.ptp(profile) == 0:
        return 0.0, 0.0
    best = []
    for base in (_KK_MAJOR, _KK_MINOR):
        best.append(max(float(np.corrcoef(profile, np.roll(base, t))[0, 1]) for t in range(12)))
    return best[0], best[1]


def piece_attributes(piece: Piece) -> dict[str, Any]:
    """Whole-piece features, in seconds where tempo would otherwise hide them (transcribed MIDI has a dummy tempo).

    Keys: ``key`` (Krumhansl–Schmuckler estimate, None for no notes) and numbers: ``duration_sec``,
    ``tempo_bpm`` (quarter notes per minute averaged over the piece), ``onsets_per_sec`` (notes),
    ``attacks_per_sec`` (distinct onset times), ``pitch_mean``, ``pitch_std``, ``pitch_range``,
    ``velocity_mean``, ``velocity_std``, ``note_sec_mean`` (log-mean note length), ``legato`` (note length over
    the gap to the next attack, clipped to 2, mean), ``polyphony`` (mean notes sounding while any sounds),
    ``major_corr``/``minor_corr`` (best Krumhansl–Kessler correlations), ``mode_major`` (their difference),
    ``pc_entropy`` (bits, duration-weighted), ``density``/``dynamics`` (means over bars), and
    ``density_std``. Every number is finite (0.0 where undefined).
    """
    from .metrics import estimate_key

    start, end, pitch, vel = _pitched(piece)
    end_tick = max(piece.end_tick, int(end.max()) if len(end) else 0)
    dur = float(ticks_to_seconds(piece, np.array([end_tick]))[0])
    quarters = end_tick / piece.resolution
    out: dict[str, Any] = {"key": None, "duration_sec": dur,
                           "tempo_bpm": quarters * 60.0 / dur if dur > 0 else piece.tempos[0].bpm}
    names = ("onsets_per_sec", "attacks_per_sec", "pitch_mean", "pitch_std", "pitch_range", "velocity_mean",
             "velocity_std", "note_sec_mean", "legato", "polyphony", "major_corr", "minor_corr", "mode_major",
             "pc_entropy", "density", "dynamics", "density_std")
    out.update(dict.fromkeys(names, 0.0))
    if not len(start):
        return out
    s0, s1 = ticks_to_seconds(piece, start), ticks_to_seconds(piece, end)
    length = np.maximum(s1 - s0, 1e-3)
    attacks = np.unique(s0)
    # gap from each note's onset to the next distinct attack (the last attack uses its own length)
    nxt = np.searchsorted(attacks, s0, side="right")
    gap = np.where(nxt < len(attacks), attacks[np.minimum(nxt, len(attacks) - 1)] - s0, length)
    profile = np.bincount(pitch % 12, weights=(end - start).astype(float), minlength=12)
    p = profile / profile.sum() if profile.sum() > 0 else profile
    major, minor = _key_correlations(profile)
    dens, dyn = bar_densities(piece), bar_dynamics_list(piece)
    key = estimate_key(piece)
    out.update(
        key=key.name if key else None,
        onsets_per_sec=len(start) / dur if dur > 0 else 0.0,
        attacks_per_sec=len(attacks) / dur if dur > 0 else 0.0,
        pitch_mean=float(pitch.mean()), pitch_std=float(pitch.std()), pitch_range=float(np.ptp(pitch)),
        velocity_mean=float(vel.mean()), velocity_std=float(vel.std()),
        note_sec_mean=float(np.exp(np.log(length).mean())),
        legato=float(np.clip(length / np.maximum(gap, 1e-3), 0, 2).mean()),
        polyphony=_polyphony(start, end),
        major_corr=major, minor_corr=minor, mode_major=major - minor,
        pc_entropy=float(-sum(x * math.log2(x) for x in p if x > 0)),
        density=float(np.mean(dens)) if dens else 0.0, dynamics=float(np.mean(dyn)) if dyn else 0.0,
        density_std=float(np.std(dens)) if dens else 0.0,
    )
    return out


def _polyphony(start: np.ndarray, end: np.ndarray) -> float:
    """Mean number of notes sounding over the time when at least one does (ticks)."""
    ev = np.concatenate([np.stack([start, np.ones_like(start)], 1), np.stack([end, -np.ones_like(end)], 1)])
    ev = ev[np.lexsort((ev[:, 1], ev[:, 0]))]  # ends before starts at the same tick
    count = np.cumsum(ev[:, 1])
    span = np.diff(ev[:, 0])
    sounding = count[:-1] > 0
    total = span[sounding].sum()
    return float((span * count[:-1])[sounding].sum() / total) if total > 0 else 0.0
