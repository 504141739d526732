"""Scoring a piece: muspy's music metrics, adherence to the plan, and distance to a reference set of real music.

Three groups, gathered by :func:`score_piece` into one JSON-able report:

- ``music``: muspy's metrics (pitch-class entropy, scale consistency, groove consistency, empty-beat rate,
  polyphony, pitch range, pitch classes used), computed here in numpy with muspy's exact formulas, because
  importing muspy takes seconds and the whole pipeline has a 5-second budget. :func:`to_muspy` builds a
  ``muspy.Music`` for anyone who wants muspy's own functions (the tests check that the numbers agree).
- ``plan``: chord accuracy per half bar, key agreement, tempo and meter exactness, density correlation per bar,
  duration error, share of cuts on a beat and on a downbeat; the form: melody coverage, how alike a theme's
  returns are to its first statement (and different themes to each other), the ending's notes. Every per-bar
  figure cuts time at the bars' own lines (:meth:`MusicPlan.bar_start_ticks`, :meth:`Piece.bar_starts`), so a
  bar of another length is one bar.
- ``reference``: where the piece sits in a reference set's distribution of each music metric; for *sets* of
  pieces, :func:`overlap_with_reference` gives Yang & Lerch's overlapping area.

Every value is a plain float, int, bool, str or ``None`` (where a metric is undefined, e.g. a piece without
pitched notes): never NaN.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FramescoreError
from .chords import Key, parse_key, triad_of
from .key_profiles import KEY_PROFILES, key_matrix, unit_profile
from .piece import Note, Piece
from .plan import ChordSpan, MusicPlan

__all__ = [
    "MUSIC_METRICS",
    "MetricsError",
    "beat_ticks",
    "chord_accuracy",
    "contrast_similarity",
    "cuts_on_beat",
    "cuts_on_downbeat",
    "density_correlation",
    "ending",
    "empty_beat_rate",
    "estimate_key",
    "key_correlations",
    "first_bars",
    "format_report",
    "groove_consistency",
    "key_agreement",
    "load_reference",
    "matched_reference",
    "melody_coverage",
    "melody_motion",
    "meter_match",
    "music_metrics",
    "n_pitch_classes_used",
    "overlap_area",
    "overlap_with_reference",
    "pitch_class_entropy",
    "pitch_range",
    "plan_metrics",
    "polyphony",
    "reference_position",
    "reference_stats",
    "scale_consistency",
    "score_piece",
    "tempo_max_error_bpm",
    "theme_similarity",
    "to_muspy",
]

#: The music metrics, in report order; reference sets store one list of values per name.
MUSIC_METRICS = (
    "pitch_class_entropy",
    "scale_consistency",
    "groove_consistency",
    "empty_beat_rate",
    "polyphony",
    "pitch_range",
    "n_pitch_classes_used",
)
#: Bumped whenever a metric's definition changes, so cached reference values are recomputed (2: groove
#: consistency compares bars of their own lengths where a file's meter changes, 2 of POP909's 909 songs; 3: a
#: snapped reference keeps within its piece's length, see on_grid).
METRICS_VERSION = 3
#: How near a beat (or an onset of the mix) a cut must fall to count as hit: the issue-11 target, 40 ms.
CUT_TOLERANCE_SEC = 0.040


class MetricsError(FramescoreError):
    """A reference set or input that metrics cannot be computed on."""


# ----- muspy ---------------------------------------------------------------------------------------------------
def to_muspy(piece: Piece):
    """A ``muspy.Music`` with the piece's resolution, tempo map, meter, key and tracks (programs, drums)."""
    import muspy

    keys = []
    if piece.key:
        k = parse_key(piece.key)
        keys.append(muspy.KeySignature(time=0, root=k.tonic, mode=k.mode, fifths=k.fifths))
    return muspy.Music(
        resolution=piece.resolution,
        tempos=[muspy.Tempo(time=t.tick, qpm=float(t.bpm)) for t in piece.tempos],
        time_signatures=[muspy.TimeSignature(time=0, numerator=piece.meter[0], denominator=piece.meter[1])],
        key_signatures=keys,
        tracks=[
            muspy.Track(program=t.program, is_drum=t.is_drum, name=t.name,
                        notes=[muspy.Note(time=n.start, pitch=n.pitch, duration=n.duration, velocity=n.velocity)
                               for n in t.notes])
            for t in piece.tracks
        ],
    )


@dataclass(frozen=True)
class _Notes:
    """All notes of a piece as arrays, built once per piece for every metric."""

    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    drum: np.ndarray

    @classmethod
    def of(cls, piece: Piece) -> _Notes:
        rows = [(n.start, n.end, n.pitch, t.is_drum) for t in piece.tracks for n in t.notes]
        a = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3].astype(bool))

    @property
    def pitched(self) -> _Notes:
        k = ~self.drum
        return _Notes(self.start[k], self.end[k], self.pitch[k], self.drum[k])

    @property
    def length(self) -> int:
        """muspy's song length: the last note end over all tracks, drums included."""
        return int(self.end.max()) if len(self.end) else 0


def _pc_counts(n: _Notes) -> np.ndarray:
    return np.bincount(n.pitched.pitch % 12, minlength=12).astype(float)


def _pitch_class_entropy(n: _Notes) -> float | None:
    c = _pc_counts(n)
    if c.sum() < 1:
        return None
    p = c[c > 0] / c.sum()
    return float(-(p * np.log2(p)).sum())


_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
_SCALES = np.array([[(pc - r) % 12 in steps for pc in range(12)]
                    for steps in (_MAJOR_STEPS, _MINOR_STEPS) for r in range(12)], dtype=float)


def _scale_consistency(n: _Notes) -> float | None:
    c = _pc_counts(n)
    if c.sum() < 1:
        return None
    return float((_SCALES @ c).max() / c.sum())


def _groove_consistency(n: _Notes, measure_resolution: int | Sequence[int]) -> float | None:
    """muspy's groove consistency. ``measure_resolution``: ticks a bar (muspy's), or the piece's bar lines
    (:meth:`Piece.bar_starts` through past the song's length) when its bars differ in length: two neighbouring
    bars are then compared over the longer one's ticks (the shorter has no onset past its end), and the Hamming
    distances are divided by the sum of those lengths. Bars of one length give muspy's number exactly."""
    length = n.length
    if isinstance(measure_resolution, int):
        n_measures = length // measure_resolution + 1
        if n_measures < 2:
            return None
        grid = np.zeros((n_measures, measure_resolution), bool)
        grid[n.start // measure_resolution, n.start % measure_resolution] = True
        hamming = np.count_nonzero(grid[:-1] != grid[1:])
        return float(1 - hamming / (measure_resolution * (n_measures - 1)))
    lines = np.asarray(measure_resolution, np.int64)
    n_measures = len(lines) - 1
    if n_measures < 2:
        return None
    bar = np.clip(np.searchsorted(lines, n.start, side="right") - 1, 0, n_measures - 1)
    cells: list[set[int]] = [set() for _ in range(n_measures)]
    for b, off in zip(bar.tolist(), (n.start - lines[bar]).tolist()):
        cells[b].add(off)
    sizes = np.diff(lines)
    hamming = sum(len(a ^ b) for a, b in zip(cells, cells[1:]))
    return float(1 - hamming / int(np.maximum(sizes[:-1], sizes[1:]).sum()))


def _measures(piece: Piece, n: _Notes) -> int | list[int]:
    """What :func:`_groove_consistency` cuts the piece into: ticks a bar when all its bars have one length (the
    number muspy takes), else the bar lines through the bar that holds the song's last tick (as muspy counts)."""
    if not piece.meter_changes:
        return piece.ticks_per_bar
    return piece.bar_starts(n.length + 1)


def _empty_beat_rate(n: _Notes, resolution: int) -> float | None:
    length = n.length
    if length < 1:
        return None
    n_beats = length // resolution + 1
    diff = np.zeros(n_beats + 1, np.int64)
    np.add.at(diff, n.start // resolution, 1)
    np.add.at(diff, n.end // resolution + 1, -1)  # muspy counts the beat a note ends in, inclusive
    return float(1 - np.count_nonzero(np.cumsum(diff)[:n_beats] > 0) / n_beats)


def _union_length(start: np.ndarray, end: np.ndarray) -> int:
    """Total length covered by half-open intervals [start, end)."""
    if not len(start):
        return 0
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    reach = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(e)[:-1]])
    return int(np.clip(e - np.maximum(s, reach), 0, None).sum())


def _polyphony(n: _Notes) -> float | None:
    """muspy's polyphony without a piano roll: pitch-ticks sounding / ticks where anything sounds."""
    p = n.pitched
    denominator = _union_length(p.start, p.end)
    if denominator < 1:
        return None
    numerator = sum(_union_length(p.start[p.pitch == k], p.end[p.pitch == k]) for k in np.unique(p.pitch))
    return float(numerator / denominator)


def _pitch_range(n: _Notes) -> int | None:
    p = n.pitched.pitch
    return int(p.max() - p.min()) if len(p) else None


def _n_pitch_classes_used(n: _Notes) -> int:
    return int(np.count_nonzero(_pc_counts(n)))


def pitch_class_entropy(piece: Piece) -> float | None:
    """Shannon entropy (bits) of the pitch-class histogram of note counts; drums ignored; None without notes."""
    return _pitch_class_entropy(_Notes.of(piece))


def scale_consistency(piece: Piece) -> float | None:
    """Largest share of notes inside one major or natural-minor scale; drums ignored; None without notes."""
    return _scale_consistency(_Notes.of(piece))


def groove_consistency(piece: Piece) -> float | None:
    """1 − mean Hamming distance between neighbouring bars' onset grids (one cell a tick, all tracks).

    muspy's definition with ``measure_resolution`` = ticks per bar; where the meter changes, each bar is its own
    length (:func:`_groove_consistency`). None under two bars.
    """
    n = _Notes.of(piece)
    return _groove_consistency(n, _measures(piece, n))


def empty_beat_rate(piece: Piece) -> float | None:
    """Share of quarter-note beats where no note (drums included) sounds; None for an empty piece."""
    return _empty_beat_rate(_Notes.of(piece), piece.resolution)


def polyphony(piece: Piece) -> float | None:
    """Mean number of pitches sounding, over the ticks where at least one does; drums ignored."""
    return _polyphony(_Notes.of(piece))


def pitch_range(piece: Piece) -> int | None:
    """Highest minus lowest pitched note, in semitones; None without pitched notes."""
    return _pitch_range(_Notes.of(piece))


def n_pitch_classes_used(piece: Piece) -> int:
    """How many of the 12 pitch classes the pitched notes use."""
    return _n_pitch_classes_used(_Notes.of(piece))


def music_metrics(piece: Piece) -> dict[str, float | int | None]:
    """All of :data:`MUSIC_METRICS` for one piece (muspy's definitions; drums out of the pitch metrics)."""
    n = _Notes.of(piece)
    return {
        "pitch_class_entropy": _pitch_class_entropy(n),
        "scale_consistency": _scale_consistency(n),
        "groove_consistency": _groove_consistency(n, _measures(piece, n)),
        "empty_beat_rate": _empty_beat_rate(n, piece.resolution),
        "polyphony": _polyphony(n),
        "pitch_range": _pitch_range(n),
        "n_pitch_classes_used": _n_pitch_classes_used(n),
    }


# ----- harmony: pitch-class profiles, chords, keys ----------------------------------------------------------------
def _pc_profile(n: _Notes, lo: float = -math.inf, hi: float = math.inf) -> np.ndarray:
    """Ticks each pitch class sounds within [lo, hi), pitched notes only."""
    p = n.pitched
    overlap = np.clip(np.minimum(p.end, hi) - np.maximum(p.start, lo), 0, None).astype(float)
    return np.bincount(p.pitch % 12, weights=overlap, minlength=12)


#: Triad families: the templates each family is matched with (sus has two shapes).
_FAMILY_TEMPLATES = {"maj": [(0, 4, 7)], "min": [(0, 3, 7)], "dim": [(0, 3, 6)], "aug": [(0, 4, 8)],
                     "sus": [(0, 2, 7), (0, 5, 7)]}


def _family(quality: str) -> str:
    """The triad family a quality belongs to, read off its intervals (7ths and 9ths don't change it)."""
    triad = triad_of(quality)
    family = "sus" if triad in ("sus2", "sus4") else triad
    if family not in _FAMILY_TEMPLATES:
        raise MetricsError(f"chord quality {quality!r} has no triad family")
    return family


def _family_scores(profile: np.ndarray) -> dict[tuple[int, str], float]:
    """For each root and family, the best share of the profile's weight on one of the family's triads."""
    return {(r, fam): max(sum(profile[(r + i) % 12] for i in t) for t in temps)
            for fam, temps in _FAMILY_TEMPLATES.items() for r in range(12)}


def _chord_at(spans: Sequence[ChordSpan], bar: int, beat: float):
    """The chord of the plan's timeline sounding at ``beat`` of ``bar``: the last slot at or before it (a chord
    holds until the next slot, across bars), compared in the plan's beats."""
    chord = None
    for span in spans:  # in bar order
        if span.bar > bar:
            break
        if span.bar < bar or span.beat <= beat + 1e-9:
            chord = span.chord
    return chord


def chord_accuracy(piece: Piece, plan: MusicPlan | None = None) -> tuple[float | None, int]:
    """Share of half bars whose notes agree with the plan's chord, and how many half bars were judged.

    Each bar is cut in two halves of its own length (a 2/4 bar inside 4/4 in two quarters); the chord judged in
    the second half is the one at the half bar's beat in that bar's meter. For each half bar that starts before
    the piece ends, the pitched notes sounding in it give a pitch-class
    profile weighted by how long each sounds there. Every root × triad family (maj, min, dim, aug, sus; a
    family's score is the profile weight on its triad's three pitch classes, sus taking the better of sus2 and
    sus4) is scored; the half bar is correct when the plan's chord at the half bar's start (its root and
    family, so C:7 counts as C:maj and A:min7 as A:min) scores the best, ties allowed. Half bars with no chord
    ('N') or no sounding notes are skipped. Accuracy is None when none is left.
    """
    plan = plan or piece.plan
    if plan is None:
        return None, 0
    n = _Notes.of(piece)
    lines = plan.bar_start_ticks(piece.resolution)
    spans = plan.chord_spans(piece.resolution)
    correct = judged = 0
    for h in range(2 * plan.n_bars):
        b, second = divmod(h, 2)
        half = (lines[b + 1] - lines[b]) / 2
        lo, hi = lines[b] + second * half, lines[b] + (second + 1) * half
        if lo >= piece.end_tick:
            break
        chord = _chord_at(spans, b, second * plan.bar_meter(b)[0] / 2)
        profile = _pc_profile(n, lo, min(hi, piece.end_tick))
        if chord is None or chord.is_none or profile.sum() <= 0:
            continue
        scores = _family_scores(profile)
        best = max(scores.values())
        judged += 1
        correct += bool(scores[(chord.root, _family(chord.quality))] >= best - 1e-9 * profile.sum())
    return (correct / judged if judged else None), judged


def key_correlations(profile: np.ndarray, profiles: str = "albrecht-shanahan") -> np.ndarray:
    """Correlation of a 12-bin pitch-class profile with each key's profile: 24 values, C major .. B major, then
    C minor .. B minor (index ``12 * (mode == "minor") + tonic``). NaN where the profile is flat."""
    if profiles not in KEY_PROFILES:
        raise MetricsError(f"unknown key profiles {profiles!r} (one of {', '.join(KEY_PROFILES)})")
    return key_matrix(profiles) @ unit_profile(np.asarray(profile, dtype=float))


def estimate_key(piece: Piece, profiles: str = "albrecht-shanahan") -> Key | None:
    """Krumhansl–Schmuckler key finding: the key whose profile (``KEY_PROFILES``) correlates best with the piece's
    duration-weighted pitch-class profile (pitched notes). None when the profile is flat or empty."""
    r = key_correlations(_pc_profile(_Notes.of(piece)), profiles)
    if np.isnan(r).any():
        return None
    best = int(np.argmax(r))  # the first of equals: majors before minors, lower tonics first
    return Key(best % 12, "minor" if best >= 12 else "major")


def _relative(key: Key) -> Key:
    return Key(key.tonic + 9, "minor") if key.mode == "major" else Key(key.tonic + 3, "major")


def key_agreement(piece: Piece, plan: MusicPlan | None = None) -> dict[str, Any]:
    """The estimated key against the plan's: ``key_agreement`` 1.0 only when equal, ``key_agreement_relative``
    1.0 when equal or the relative key (C major ↔ A minor), so relative-key confusions show separately."""
    plan = plan or piece.plan
    est = estimate_key(piece)
    out: dict[str, Any] = {"key_estimated": est.name if est else None, "key_plan": plan.key if plan else None}
    if plan is None or est is None:
        out.update(key_agreement=None, key_agreement_relative=None)
        return out
    want = plan.key_obj
    out["key_agreement"] = float(est == want)
    out["key_agreement_relative"] = float(est == want or est == _relative(want))
    return out


# ----- time: tempo, meter, density, duration, cuts -----------------------------------------------------------------
def tempo_max_error_bpm(piece: Piece, plan: MusicPlan | None = None) -> float | None:
    """Largest |MIDI tempo − plan tempo| over every tempo in force during each beat of the plan's bars, against
    that beat's tempo (:meth:`MusicPlan.beat_tempos`: a section's ramp moves beat by beat, and is no error)."""
    plan = plan or piece.plan
    if plan is None:
        return None
    lines = plan.bar_start_ticks(piece.resolution)
    ticks = [t.tick for t in piece.tempos]
    err = 0.0
    for b in range(plan.n_bars):
        beat = piece.resolution * 4 // plan.bar_meter(b)[1]
        for i, want in enumerate(plan.beat_tempos(b)):
            lo, hi = lines[b] + i * beat, min(lines[b] + (i + 1) * beat, lines[b + 1])
            i0 = max(int(np.searchsorted(ticks, lo, side="right")) - 1, 0)
            i1 = int(np.searchsorted(ticks, hi, side="left"))
            err = max([err] + [abs(t.bpm - want) for t in piece.tempos[i0:max(i1, i0 + 1)]])
    return float(err)


def density_correlation(piece: Piece, plan: MusicPlan | None = None) -> float | None:
    """Pearson correlation between the plan's per-bar density and the piece's pitched onsets per bar.

    Onsets are counted per bar of the plan (:meth:`MusicPlan.bar_start_ticks`) and divided by the bar's length
    in bars of the plan's meter (a 2/4 bar in 4/4 counts double), so a rate is onsets per full bar; the last
    bar cut short by the end counts what is present of it; a bar less than half present is left out. None when
    fewer than two bars or either series is constant (the correlation is undefined).
    """
    plan = plan or piece.plan
    if plan is None:
        return None
    lines = np.array(plan.bar_start_ticks(piece.resolution), dtype=np.int64)
    size = np.diff(lines).astype(float)
    starts = _Notes.of(piece).pitched.start
    starts = starts[starts < lines[-1]]
    counts = np.bincount(np.searchsorted(lines, starts, side="right") - 1, minlength=plan.n_bars)[:plan.n_bars]
    present = np.clip((piece.end_tick - lines[:-1]) / size, 0, 1)
    keep = present >= 0.5
    base = piece.resolution * plan.quarters_per_bar
    rate = counts[keep] / (present[keep] * size[keep] / base)
    dens = np.array([bar.density for bar in plan.bars])[keep]
    if len(rate) < 2 or np.ptp(rate) == 0 or np.ptp(dens) == 0:
        return None
    return float(np.corrcoef(dens, rate)[0, 1])


def _cuts(plan: MusicPlan | None) -> list[float]:
    return [s.cut_sec for s in plan.sections if s.cut_sec is not None] if plan else []


def _piece_bar_lines(piece: Piece, plan: MusicPlan) -> list[int]:
    """The piece's bar lines (its meter and meter changes) through its end and the plan's last bar line."""
    return piece.bar_starts(max(piece.end_tick, plan.bar_start_ticks(piece.resolution)[-1]))


def _near(times: Sequence[float], cuts: Sequence[float], tolerance_sec: float) -> int:
    t = np.asarray(times, float)
    return sum(bool(len(t) and np.min(np.abs(t - c)) <= tolerance_sec + 1e-9) for c in cuts)


def cuts_on_downbeat(piece: Piece, plan: MusicPlan | None = None,
                     tolerance_sec: float = CUT_TOLERANCE_SEC) -> tuple[float | None, int]:
    """Share of the plan's cuts (sections with ``cut_sec``) within ``tolerance_sec`` of a bar line of the piece
    (:meth:`Piece.bar_starts`, bars of another length included; in the piece's own seconds, through its tempo
    map), and the number of cuts. None when there are none."""
    plan = plan or piece.plan
    cuts = _cuts(plan)
    if not cuts:
        return None, 0
    lines = piece.ticks_to_secs(_piece_bar_lines(piece, plan))
    return _near(lines, cuts, tolerance_sec) / len(cuts), len(cuts)


def beat_ticks(piece: Piece, until: int | None = None) -> list[int]:
    """Every beat of the piece from tick 0 through the bar holding ``until`` (default: the end): each bar's beats
    in the meter in force there, a beat being the meter's note value, or a dotted one in a compound meter (6/8,
    9/8, 12/8: a numerator above 3 divisible by 3, eighths or shorter, beats every three of them)."""
    lines = piece.bar_starts(piece.end_tick if until is None else until)
    out = []
    for lo, hi in zip(lines, lines[1:]):
        num, den = piece.meter_at(lo)
        step = piece.resolution * 4 // den * (3 if num > 3 and num % 3 == 0 and den >= 8 else 1)
        out += range(lo, hi, step)
    return out + lines[-1:]


def cuts_on_beat(piece: Piece, plan: MusicPlan | None = None,
                 tolerance_sec: float = CUT_TOLERANCE_SEC) -> tuple[float | None, int]:
    """Share of the plan's cuts within ``tolerance_sec`` of any beat of the piece (:func:`beat_ticks`), and the
    number of cuts; None when there are none. At least :func:`cuts_on_downbeat`'s share: a bar line is a beat."""
    plan = plan or piece.plan
    cuts = _cuts(plan)
    if not cuts:
        return None, 0
    beats = piece.ticks_to_secs(beat_ticks(piece, _piece_bar_lines(piece, plan)[-1]))
    return _near(beats, cuts, tolerance_sec) / len(cuts), len(cuts)


def meter_match(piece: Piece, plan: MusicPlan | None = None) -> bool | None:
    """Whether the piece's meter and its meter changes are the plan's (:func:`piece_from_plan_grid`'s: a bar of
    another length is a change where it starts and one back where it ends). None without a plan."""
    from .piece import piece_from_plan_grid

    plan = plan or piece.plan
    if plan is None:
        return None
    grid = piece_from_plan_grid(plan, piece.resolution)
    return tuple(piece.meter) == tuple(grid.meter) and list(piece.meter_changes) == grid.meter_changes


# ----- form: melody coverage, themes that return, the ending -------------------------------------------------------
#: Onsets are compared on a grid of this many ticks a quarter note (sixteenths).
SIMILARITY_GRID_PER_QUARTER = 4


def melody_coverage(piece: Piece, plan: MusicPlan | None = None) -> float | None:
    """Share of the bars whose melody plays (``BarPlan.melody``) and that start before the piece ends holding at
    least one onset of the melody track. None without a melody track or without such a bar."""
    plan = plan or piece.plan
    track = piece.track("melody")
    if plan is None or track is None:
        return None
    lines = plan.bar_start_ticks(piece.resolution)
    bars = [b for b in range(plan.n_bars) if plan.bars[b].melody and lines[b] < piece.end_tick]
    if not bars:
        return None
    onsets = np.array([n.start for n in track.notes], dtype=np.int64)
    held = {int(b) for b in np.searchsorted(lines, onsets, side="right") - 1}
    return sum(b in held for b in bars) / len(bars)


def melody_motion(piece: Piece) -> dict[str, float] | None:
    """How the melody moves from note to note: the shares of its successive intervals that are ``repeated``
    (the same pitch), ``step`` (1-2 semitones) and ``leap`` (3 or more), and ``n`` (how many intervals), with
    the melody read as one voice (of notes starting together, the highest). The melody is the track named
    ``melody`` (any case: POP909 calls it MELODY). None without one, or with fewer than two notes."""
    track = next((t for t in piece.tracks if t.name.strip().lower() == "melody" and not t.is_drum), None)
    if track is None:
        return None
    top: dict[int, int] = {}
    for n in track.notes:
        top[n.start] = max(top.get(n.start, n.pitch), n.pitch)
    pitches = [top[t] for t in sorted(top)]
    if len(pitches) < 2:
        return None
    moves = np.abs(np.diff(pitches))
    n = len(moves)
    return {"repeated": float(np.sum(moves == 0) / n), "step": float(np.sum((moves >= 1) & (moves <= 2)) / n),
            "leap": float(np.sum(moves >= 3) / n), "n": n}


def _melody_bars(piece: Piece, plan: MusicPlan) -> list[list[Note]]:
    """The melody track's notes by the bar (of the plan) their onset falls in."""
    lines = plan.bar_start_ticks(piece.resolution)
    out: list[list[Note]] = [[] for _ in range(plan.n_bars)]
    track = piece.track("melody")
    for n in sorted(track.notes) if track is not None else ():
        b = bisect.bisect_right(lines, n.start) - 1
        if 0 <= b < plan.n_bars:
            out[b].append(n)
    return out


def _similarity(by_bar: list[list[Note]], lines: Sequence[int], first: range, second: range,
                resolution: int) -> dict[str, Any]:
    """The melody similarity of two runs of bars over their common length: the first ``k`` bars of each (``k``
    the shorter run's length), each bar pair over the shorter of the two bars (a 3/4 bar against a 4/4 one is
    compared over three beats; ``lines`` are the bar lines, the last cut at the end of the music).

    ``onsets``: the mean Jaccard index of each bar pair's onset sets (bar-relative, on a 16th grid; pairs where
    neither bar has an onset are left out). ``intervals``: the share of pitch intervals that match, bar pair by
    bar pair: each bar's successive intervals, led into from the last note of the run's bar before (when there
    is one), matched in order, out of the longer of the two; per bar, so a note added in one bar does not shift
    every later bar. ``similarity``: the mean of those that are defined (None if neither is)."""
    k = min(len(first), len(second))
    cell = resolution / SIMILARITY_GRID_PER_QUARTER
    jaccard = []
    matched = total = 0
    for x, (a, b) in enumerate(zip(first[:k], second[:k])):
        length = min(lines[a + 1] - lines[a], lines[b + 1] - lines[b])
        steps = []
        for run, y in ((first, a), (second, b)):
            notes = [n for n in by_bar[y] if n.start - lines[y] < length]
            lead = by_bar[run[x - 1]][-1:] if x else []
            steps.append((np.diff([n.pitch for n in lead + notes]).tolist(),
                          {round((n.start - lines[y]) / cell) for n in notes}))
        (sa, oa), (sb, ob) = steps
        if oa | ob:
            jaccard.append(len(oa & ob) / len(oa | ob))
        matched += sum(p == q for p, q in zip(sa, sb))
        total += max(len(sa), len(sb))
    onsets = float(np.mean(jaccard)) if jaccard else None
    intervals = matched / total if total else None
    parts = [v for v in (onsets, intervals) if v is not None]
    return {"bars": k, "onsets": onsets, "intervals": intervals,
            "similarity": float(np.mean(parts)) if parts else None}


def _pairs_similarity(piece: Piece, plan: MusicPlan, pairs: Sequence[tuple[int, int]], key: str) -> dict[str, Any]:
    by_bar = _melody_bars(piece, plan)
    lines = [min(t, piece.end_tick) for t in plan.bar_start_ticks(piece.resolution)]
    rows = []
    for i, j in pairs:
        si, sj = plan.sections[i], plan.sections[j]
        row = _similarity(by_bar, lines, range(si.start_bar, si.start_bar + si.n_bars),
                          range(sj.start_bar, sj.start_bar + sj.n_bars), piece.resolution)
        rows.append({"first": si.label, "second": sj.label, **row})
    defined = [r["similarity"] for r in rows if r["similarity"] is not None]
    return {key: rows, "mean": float(np.mean(defined)) if defined else None}


def theme_similarity(piece: Piece, plan: MusicPlan | None = None) -> dict[str, Any]:
    """For each return of a theme (:func:`~framescore.symbolic.form.first_statements`), the melody similarity
    between the first statement and the return over their common length in bars (:func:`_similarity`: onset
    positions and pitch intervals). ``{"returns": [{"first", "second" (section labels), "bars", "onsets",
    "intervals", "similarity"}, ...], "mean": mean similarity or None}``. A return should score high."""
    from .form import first_statements

    plan = plan or piece.plan
    if plan is None:
        return {"returns": [], "mean": None}
    pairs = sorted((j, i) for i, j in first_statements(plan).items())
    return _pairs_similarity(piece, plan, pairs, "returns")


def contrast_similarity(piece: Piece, plan: MusicPlan | None = None) -> dict[str, Any]:
    """:func:`theme_similarity`'s measure between the first statements of different themes (every pair of
    sections that return to nothing earlier: a theme's first statement, or a section without a theme), which
    should be low. ``{"pairs": [...], "mean": ...}``."""
    from .form import first_statements

    plan = plan or piece.plan
    if plan is None:
        return {"pairs": [], "mean": None}
    returns = first_statements(plan)
    firsts = [i for i in range(len(plan.sections)) if i not in returns]
    pairs = [(a, b) for x, a in enumerate(firsts) for b in firsts[x + 1:]]
    return _pairs_similarity(piece, plan, pairs, "pairs")


def _last(track, lowest: bool) -> Note | None:
    """The track's last note: the latest onset; of those, the lowest (bass) or highest (melody) pitch."""
    if track is None or not track.notes:
        return None
    latest = max(n.start for n in track.notes)
    at = [n for n in track.notes if n.start == latest]
    return min(at, key=lambda n: n.pitch) if lowest else max(at, key=lambda n: n.pitch)


def ending(piece: Piece, plan: MusicPlan | None = None) -> dict[str, Any]:
    """How the piece ends: ``chord``, the plan's chord sounding at the end (the last chord slot starting before
    the end tick); ``bass_last``/``melody_last``, the MIDI pitch of the bass's and the melody's last note
    (:func:`_last`), ``bass_pitch_class`` its name; ``bass_on_tonic``/``melody_on_tonic``, whether that note is
    the pitch class of the plan's tonic; ``bass_held``/``melody_held``, whether it sounds to the end tick;
    ``held_to_end``, both held. A value is None where its track or the plan is missing."""
    from .chords import pc_name

    plan = plan or piece.plan
    out: dict[str, Any] = dict.fromkeys(("chord", "tonic", "bass_last", "bass_pitch_class", "melody_last",
                                         "bass_on_tonic", "melody_on_tonic", "bass_held", "melody_held",
                                         "held_to_end"))
    if plan is None:
        return out
    key = plan.key_obj
    spans = [sp for sp in plan.chord_spans(piece.resolution) if sp.start_tick < piece.end_tick]
    out["chord"] = spans[-1].chord.symbol(key.uses_flats) if spans else None
    out["tonic"] = pc_name(key.tonic, key.uses_flats)
    for role, lowest in (("bass", True), ("melody", False)):
        n = _last(piece.track(role), lowest)
        if n is None:
            continue
        out[f"{role}_last"] = n.pitch
        out[f"{role}_on_tonic"] = n.pitch % 12 == key.tonic
        out[f"{role}_held"] = n.end >= piece.end_tick
        if role == "bass":
            out["bass_pitch_class"] = pc_name(n.pitch, key.uses_flats)
    if out["bass_held"] is not None and out["melody_held"] is not None:
        out["held_to_end"] = out["bass_held"] and out["melody_held"]
    return out


def plan_metrics(piece: Piece, plan: MusicPlan | None = None) -> dict[str, Any]:
    """Adherence to the plan (see each function); empty when there is no plan. The form figures:
    ``melody_coverage``; ``theme_similarity`` (mean over the returns, ``n_theme_returns`` of them) and
    ``contrast_similarity`` (mean over pairs of different themes); the ending's chord, bass and melody notes
    (``ending_*``, :func:`ending`)."""
    plan = plan or piece.plan
    if plan is None:
        return {}
    acc, n_half = chord_accuracy(piece, plan)
    on_beat, _ = cuts_on_beat(piece, plan)
    cuts, n_cuts = cuts_on_downbeat(piece, plan)
    themes = theme_similarity(piece, plan)
    end = ending(piece, plan)
    return {
        "chord_accuracy": acc,
        "chord_half_bars": n_half,
        **key_agreement(piece, plan),
        "tempo_max_error_bpm": tempo_max_error_bpm(piece, plan),
        "meter_match": meter_match(piece, plan),
        "density_correlation": density_correlation(piece, plan),
        "duration_error_sec": abs(piece.duration_sec - plan.duration_sec),
        "cuts_on_beat": on_beat,
        "cuts_on_downbeat": cuts,
        "n_cuts": n_cuts,
        "melody_coverage": melody_coverage(piece, plan),
        "theme_similarity": themes["mean"],
        "n_theme_returns": len(themes["returns"]),
        "contrast_similarity": contrast_similarity(piece, plan)["mean"],
        "ending_chord": end["chord"],
        "ending_bass": end["bass_pitch_class"],
        "ending_melody": end["melody_last"],
        "ending_on_tonic": (end["bass_on_tonic"] and end["melody_on_tonic"]
                            if None not in (end["bass_on_tonic"], end["melody_on_tonic"]) else None),
        "ending_held": end["held_to_end"],
    }


# ----- reference sets ----------------------------------------------------------------------------------------------
def first_bars(piece: Piece, n_bars: int) -> Piece:
    """The piece's first ``n_bars`` bars (:meth:`Piece.bar_starts`): notes that start before the line after them,
    cut there. A piece of fewer bars is returned whole. Why: a set of short pieces is compared with real music of
    the same lengths, not with whole songs, whose pitch range, entropy and empty beats grow with length."""
    lines = piece.bar_starts()
    if n_bars >= len(lines) - 1:
        return piece
    end = lines[n_bars]
    tracks = [replace(t, notes=[replace(n, duration=min(n.duration, end - n.start)) for n in t.notes
                                if n.start < end]) for t in piece.tracks]
    return replace(piece, tracks=tracks, end_tick=end,
                   meter_changes=[m for m in piece.meter_changes if m.tick < end],
                   markers=[m for m in piece.markers if m.tick < end])


#: The grid every engine writes on (sixteenths: REMI positions, the roll's steps, the rule engine's values), to
#: which evaluate snaps a reference of performed music (:func:`on_grid`).
SCORE_STEPS_PER_QUARTER = 4


def on_grid(piece: Piece, steps_per_quarter: int = SCORE_STEPS_PER_QUARTER) -> Piece:
    """The piece with every note's onset and end snapped to the nearest step of ``steps_per_quarter`` a quarter
    (a note at least one step long), within the piece's length: a note snapped onto its end is dropped and the
    last ones end there, so snapping then cutting (:func:`first_bars`) and cutting then snapping agree. Why:
    POP909's files are played, their onsets a few ticks either side of the beat, and groove consistency counts
    each such tick as a different rhythm; the engines write scores on the sixteenth grid and were trained on
    POP909 snapped to it. Snapping the reference compares a score with a score.
    """
    step = piece.resolution // steps_per_quarter
    if step < 1:
        return piece
    end = piece.end_tick

    def snap(tick: int) -> int:
        return (tick + step // 2) // step * step

    def snapped(n: Note) -> Note:
        start = snap(n.start)
        return replace(n, start=start, duration=min(max(step, snap(n.end) - start), end - start))

    tracks = [replace(t, notes=[snapped(n) for n in t.notes if snap(n.start) < end]) for t in piece.tracks]
    return replace(piece, tracks=tracks)


def reference_stats(sources: Iterable[str | Path | Piece], bars: int | None = None,
                    steps_per_quarter: int | None = None) -> dict[str, list[float]]:
    """Each music metric's values over MIDI files and/or pieces (undefined values left out), of each one's first
    ``bars`` bars when given (:func:`first_bars`), snapped first to ``steps_per_quarter`` when given (:func:`on_grid`).

    Raises :class:`~framescore.symbolic.midi_io.MidiError` for a file that cannot be read.
    """
    from .midi_io import read_midi

    out: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
    for src in sources:
        piece = src if isinstance(src, Piece) else read_midi(src)
        if steps_per_quarter:
            piece = on_grid(piece, steps_per_quarter)
        if bars is not None:
            piece = first_bars(piece, bars)
        for name, v in music_metrics(piece).items():
            if v is not None:
                out[name].append(float(v))
    return out


def _cache_dir() -> Path:
    root = os.environ.get("FRAMESCORE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "framescore") / "reference"


def reference_files(directory: str | Path) -> tuple[Path, list[Path]]:
    """The folder and its MIDI files (recursive, sorted); :class:`MetricsError` if it is missing or holds none."""
    root = Path(directory)
    if not root.is_dir():
        raise MetricsError(f"reference folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    if not files:
        raise MetricsError(f"no MIDI files (*.mid, *.midi) under {root}")
    return root, files


def load_reference(directory: str | Path, cache_dir: str | Path | None = None,
                   bars: int | None = None, steps_per_quarter: int | None = None) -> dict[str, list[float]]:
    """Music metrics of every ``*.mid``/``*.midi`` under ``directory`` (recursive), of each file's first ``bars``
    bars when given, snapped to ``steps_per_quarter`` when given (:func:`on_grid`), cached as JSON.

    The cache file, ``<cache>/reference/<hash>.json`` (``$FRAMESCORE_CACHE`` or ``~/.cache/framescore``), is
    named by a hash of the files' paths, sizes and modification times, ``bars``, the grid and :data:`METRICS_VERSION`, so
    any change recomputes it. Unreadable files are skipped and listed in the cache file under ``skipped``.
    """
    root, files = reference_files(directory)
    return reference_for_files(files, root, cache_dir, bars, steps_per_quarter=steps_per_quarter)


def reference_for_files(files: Sequence[Path], root: Path, cache_dir: str | Path | None = None,
                        bars: int | None = None, reader: Any = None, reader_name: str = "midi",
                        unreadable: tuple[type[Exception], ...] = (),
                        steps_per_quarter: int | None = None) -> dict[str, list[float]]:
    """Music metrics of the given MIDI files (named relative to ``root`` in the cache), of their first ``bars``
    bars when given, cached as in :func:`load_reference`: a list of files rather than a folder, e.g. one split of
    a dataset. ``reader`` (path → :class:`Piece`, default :func:`~framescore.symbolic.midi_io.read_midi`, named
    ``reader_name`` in the cache key) reads a file; it may raise any of ``unreadable`` (besides ``MidiError``)
    for a file to skip; ``steps_per_quarter`` snaps the notes first (:func:`on_grid`)."""
    from .midi_io import MidiError, read_midi

    read = reader or read_midi
    files = [Path(p) for p in files]
    grid = [steps_per_quarter] if steps_per_quarter else []  # absent for unsnapped files: older caches stay valid
    sig = hashlib.sha256(json.dumps(
        [METRICS_VERSION, reader_name, bars] + grid + [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns]
                                                       for p in files]
    ).encode()).hexdigest()[:20]
    cache = (Path(cache_dir) if cache_dir else _cache_dir()) / f"{sig}.json"
    if cache.is_file():
        try:
            return json.loads(cache.read_text(encoding="utf-8"))["metrics"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is recomputed
    metrics: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
    skipped = []
    for p in files:
        try:
            one = reference_stats([read(p)], bars, steps_per_quarter)
        except (MidiError, *unreadable):
            skipped.append(str(p.relative_to(root)))
            continue
        for m in MUSIC_METRICS:
            metrics[m] += one[m]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"folder": str(root.resolve()), "n_files": len(files) - len(skipped), "bars": bars,
                               "steps_per_quarter": steps_per_quarter, "reader": reader_name, "skipped": skipped, "metrics_version": METRICS_VERSION,
                               "metrics": metrics}),
                   encoding="utf-8")
    os.replace(tmp, cache)
    return metrics


def matched_reference(lengths: Sequence[int], stats_for: Any) -> dict[str, list[float]]:
    """A reference of the lengths of the pieces it is compared with: for each piece of ``n`` bars, the values of
    every reference file's first ``n`` bars (``stats_for(n)``, a :func:`reference_for_files` result), pooled. So
    a set of one 4-bar and one 32-bar piece is compared with the reference's 4-bar and 32-bar openings, equally
    weighted."""
    per_length = {n: stats_for(n) for n in sorted(set(lengths))}
    out: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
    for n in lengths:
        for m in MUSIC_METRICS:
            out[m] += per_length[n].get(m, [])
    return out


def _kde(sample: np.ndarray, grid: np.ndarray, floor: float) -> np.ndarray:
    """Gaussian KDE with Scott's bandwidth (scipy.stats.gaussian_kde's default), never below ``floor``.

    Written out because scipy's fails on a constant sample (singular covariance) and costs a second to import.
    """
    bw = max(float(np.std(sample, ddof=1)) * len(sample) ** (-1 / 5), floor)
    z = (grid[:, None] - sample[None, :]) / bw
    return np.exp(-0.5 * z * z).sum(1) / (len(sample) * bw * math.sqrt(2 * math.pi))


def overlap_area(a: Sequence[float], b: Sequence[float], n_grid: int = 1024) -> float | None:
    """Overlapping area ∫ min(p, q) of two samples' Gaussian KDEs (Yang & Lerch 2020), in [0, 1].

    1 for identical distributions, 0 for disjoint ones. Yang & Lerch apply it to distributions of pairwise
    distances; here, as in most later work, to the metric values themselves. The bandwidth has a floor of 1% of
    the pooled range (1e-3 × the value when that is 0), so constant samples give a narrow bump instead of an
    error. None when either sample has fewer than 2 values.
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) < 2 or len(y) < 2:
        return None
    both = np.concatenate([x, y])
    spread = float(np.ptp(both))
    floor = 0.01 * spread if spread > 0 else 1e-3 * max(1.0, float(np.abs(both).max()))
    widest = max(max(float(np.std(s, ddof=1)) * len(s) ** (-1 / 5), floor) for s in (x, y))
    grid = np.linspace(both.min() - 5 * widest, both.max() + 5 * widest, n_grid)
    oa = np.trapezoid(np.minimum(_kde(x, grid, floor), _kde(y, grid, floor)), grid)
    return float(min(max(oa, 0.0), 1.0))


def overlap_with_reference(values_per_metric: Mapping[str, Sequence[float]],
                           reference: Mapping[str, Sequence[float]]) -> dict[str, float | None]:
    """Overlapping area per metric between a generated set and the reference, and their ``mean`` (over the
    metrics where it is defined; None if none is)."""
    out = {m: overlap_area(values_per_metric[m], reference[m])
           for m in MUSIC_METRICS if m in values_per_metric and m in reference}
    defined = [v for v in out.values() if v is not None]
    out["mean"] = float(np.mean(defined)) if defined else None
    return out


def reference_position(values: Mapping[str, float | int | None],
                       reference: Mapping[str, Sequence[float]]) -> dict[str, dict[str, Any]]:
    """Where one piece's metric values sit in the reference: ``percentile`` (mid-rank, 0–100: the share of
    reference values below, ties counting half) and ``within_5_95`` (between the reference's 5th and 95th
    percentiles, inclusive). An overlap needs a set; this is the single-piece counterpart. Metrics undefined
    for the piece or with fewer than 2 reference values are left out."""
    out: dict[str, dict[str, Any]] = {}
    for m in MUSIC_METRICS:
        v, ref = values.get(m), np.asarray(reference.get(m, ()), float)
        if v is None or len(ref) < 2:
            continue
        pct = 100.0 * (np.count_nonzero(ref < v) + 0.5 * np.count_nonzero(ref == v)) / len(ref)
        lo, hi = np.percentile(ref, [5, 95])
        out[m] = {"percentile": float(pct), "within_5_95": bool(lo <= v <= hi)}
    return out


# ----- the report --------------------------------------------------------------------------------------------------
def score_piece(piece: Piece, plan: MusicPlan | None = None,
                reference: Mapping[str, Sequence[float]] | str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The report: ``{"music": ..., "plan": ..., "reference": ...}``, JSON-able and NaN-free.

    ``plan`` defaults to the piece's own; ``reference`` is metric values (from :func:`load_reference` or
    :func:`reference_stats`) or a folder of MIDI files. Groups that do not apply are empty.
    """
    if isinstance(reference, (str, Path)):
        reference = load_reference(reference)
    music = music_metrics(piece)
    return {
        "music": music,
        "plan": plan_metrics(piece, plan),
        "reference": reference_position(music, reference) if reference else {},
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def format_report(report: Mapping[str, Mapping[str, Any]]) -> str:
    """The report as aligned text for the terminal, one metric a line, grouped."""
    lines = []
    titles = {"music": "music", "plan": "adherence to the plan", "reference": "against the reference"}
    for group in ("music", "plan", "reference"):
        items = report.get(group) or {}
        lines.append(f"{titles[group]}:")
        if not items:
            lines.append("  (none)")
        for name, v in items.items():
            if isinstance(v, Mapping):
                v = f"{v['percentile']:.0f}th percentile, " + ("inside" if v["within_5_95"] else "outside") + \
                    " the 5-95% range"
            lines.append(f"  {name.replace('_', ' '):<26} {_fmt(v)}")
    return "\n".join(lines)

