"""Scoring a piece: muspy's music metrics, adherence to the plan, and distance to a reference set of real music.

Three groups, gathered by :func:`score_piece` into one JSON-able report:

- ``music``: muspy's metrics (pitch-class entropy, scale consistency, groove consistency, empty-beat rate,
  polyphony, pitch range, pitch classes used), computed here in numpy with muspy's exact formulas, because
  importing muspy takes seconds and the whole pipeline has a 5-second budget. :func:`to_muspy` builds a
  ``muspy.Music`` for anyone who wants muspy's own functions (the tests check that the numbers agree).
- ``plan``: chord accuracy per half bar, key agreement, tempo and meter exactness, density correlation per bar,
  duration error, share of cuts on a downbeat.
- ``reference``: where the piece sits in a reference set's distribution of each music metric; for *sets* of
  pieces, :func:`overlap_with_reference` gives Yang & Lerch's overlapping area.

Every value is a plain float, int, bool, str or ``None`` (where a metric is undefined, e.g. a piece without
pitched notes): never NaN.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FramescoreError
from .chords import Key, parse_key, triad_of
from .key_profiles import KEY_PROFILES, key_matrix, unit_profile
from .piece import Piece
from .plan import ChordSpan, MusicPlan

__all__ = [
    "MUSIC_METRICS",
    "MetricsError",
    "chord_accuracy",
    "cuts_on_downbeat",
    "density_correlation",
    "empty_beat_rate",
    "estimate_key",
    "key_correlations",
    "format_report",
    "groove_consistency",
    "key_agreement",
    "load_reference",
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
#: Bumped whenever a metric's definition changes, so cached reference values are recomputed.
METRICS_VERSION = 1
CUT_TOLERANCE_SEC = 0.05


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


def _groove_consistency(n: _Notes, measure_resolution: int) -> float | None:
    length = n.length
    n_measures = length // measure_resolution + 1
    if n_measures < 2:
        return None
    grid = np.zeros((n_measures, measure_resolution), bool)
    grid[n.start // measure_resolution, n.start % measure_resolution] = True
    hamming = np.count_nonzero(grid[:-1] != grid[1:])
    return float(1 - hamming / (measure_resolution * (n_measures - 1)))


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

    muspy's definition with ``measure_resolution`` = ticks per bar; None under two bars.
    """
    return _groove_consistency(_Notes.of(piece), piece.ticks_per_bar)


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
        "groove_consistency": _groove_consistency(n, piece.ticks_per_bar),
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

    For each half bar that starts before the piece ends, the pitched notes sounding in it give a pitch-class
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
    tpb = piece.ticks_per_bar
    half_beats = plan.beats_per_bar / 2
    spans = plan.chord_spans(piece.resolution)
    correct = judged = 0
    for h in range(2 * plan.n_bars):
        lo, hi = h * tpb / 2, (h + 1) * tpb / 2
        if lo >= piece.end_tick:
            break
        chord = _chord_at(spans, h // 2, (h % 2) * half_beats)
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
    """Largest |MIDI tempo − plan tempo| over every tempo in force during each of the plan's bars."""
    plan = plan or piece.plan
    if plan is None:
        return None
    tpb = piece.ticks_per_bar
    ticks = [t.tick for t in piece.tempos]
    err = 0.0
    for b in range(plan.n_bars):
        lo, hi = b * tpb, (b + 1) * tpb
        i0 = max(int(np.searchsorted(ticks, lo, side="right")) - 1, 0)
        i1 = int(np.searchsorted(ticks, hi, side="left"))
        want = plan.bar_tempo(b)
        err = max([err] + [abs(t.bpm - want) for t in piece.tempos[i0:max(i1, i0 + 1)]])
    return float(err)


def density_correlation(piece: Piece, plan: MusicPlan | None = None) -> float | None:
    """Pearson correlation between the plan's per-bar density and the piece's pitched onsets per bar.

    A last bar cut short by the end counts onsets per full-bar equivalent; one less than half present is left
    out. None when fewer than two bars or either series is constant (the correlation is undefined).
    """
    plan = plan or piece.plan
    if plan is None:
        return None
    tpb = piece.ticks_per_bar
    starts = _Notes.of(piece).pitched.start
    counts = np.bincount(starts // tpb, minlength=plan.n_bars)[:plan.n_bars].astype(float)
    present = np.clip((piece.end_tick - np.arange(plan.n_bars) * tpb) / tpb, 0, 1)
    keep = present >= 0.5
    rate = counts[keep] / present[keep]
    dens = np.array([bar.density for bar in plan.bars])[keep]
    if len(rate) < 2 or np.ptp(rate) == 0 or np.ptp(dens) == 0:
        return None
    return float(np.corrcoef(dens, rate)[0, 1])


def cuts_on_downbeat(piece: Piece, plan: MusicPlan | None = None,
                     tolerance_sec: float = CUT_TOLERANCE_SEC) -> tuple[float | None, int]:
    """Share of the plan's cuts (sections with ``cut_sec``) within ``tolerance_sec`` of a bar line of the piece
    (in the piece's own seconds, through its tempo map), and the number of cuts. None when there are none."""
    plan = plan or piece.plan
    cuts = [s.cut_sec for s in plan.sections if s.cut_sec is not None] if plan else []
    if not cuts:
        return None, 0
    n_lines = max(plan.n_bars, piece.n_bars) + 1
    lines = np.array([piece.tick_to_sec(b * piece.ticks_per_bar) for b in range(n_lines)])
    hits = sum(bool(np.min(np.abs(lines - c)) <= tolerance_sec + 1e-9) for c in cuts)
    return hits / len(cuts), len(cuts)


def plan_metrics(piece: Piece, plan: MusicPlan | None = None) -> dict[str, Any]:
    """Adherence to the plan (see each function); empty when there is no plan."""
    plan = plan or piece.plan
    if plan is None:
        return {}
    acc, n_half = chord_accuracy(piece, plan)
    cuts, n_cuts = cuts_on_downbeat(piece, plan)
    return {
        "chord_accuracy": acc,
        "chord_half_bars": n_half,
        **key_agreement(piece, plan),
        "tempo_max_error_bpm": tempo_max_error_bpm(piece, plan),
        "meter_match": tuple(piece.meter) == plan.meter_tuple,
        "density_correlation": density_correlation(piece, plan),
        "duration_error_sec": abs(piece.duration_sec - plan.duration_sec),
        "cuts_on_downbeat": cuts,
        "n_cuts": n_cuts,
    }


# ----- reference sets ----------------------------------------------------------------------------------------------
def reference_stats(sources: Iterable[str | Path | Piece]) -> dict[str, list[float]]:
    """Each music metric's values over MIDI files and/or pieces (undefined values left out).

    Raises :class:`~framescore.symbolic.midi_io.MidiError` for a file that cannot be read.
    """
    from .midi_io import read_midi

    out: dict[str, list[float]] = {m: [] for m in MUSIC_METRICS}
    for src in sources:
        piece = src if isinstance(src, Piece) else read_midi(src)
        for name, v in music_metrics(piece).items():
            if v is not None:
                out[name].append(float(v))
    return out


def _cache_dir() -> Path:
    root = os.environ.get("FRAMESCORE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "framescore") / "reference"


def load_reference(directory: str | Path, cache_dir: str | Path | None = None) -> dict[str, list[float]]:
    """Music metrics of every ``*.mid``/``*.midi`` under ``directory`` (recursive), cached as JSON.

    The cache file, ``<cache>/reference/<hash>.json`` (``$FRAMESCORE_CACHE`` or ``~/.cache/framescore``), is
    named by a hash of the files' paths, sizes and modification times and :data:`METRICS_VERSION`, so any
    change recomputes it. Unreadable files are skipped and listed in the cache file under ``skipped``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise MetricsError(f"reference folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    if not files:
        raise MetricsError(f"no MIDI files (*.mid, *.midi) under {root}")
    return reference_for_files(files, root, cache_dir)


def reference_for_files(files: Sequence[Path], root: Path,
                        cache_dir: str | Path | None = None) -> dict[str, list[float]]:
    """Music metrics of the given MIDI files (named relative to ``root`` in the cache), cached as in
    :func:`load_reference`: a list of files rather than a folder, e.g. one split of a dataset."""
    from .midi_io import MidiError

    files = [Path(p) for p in files]
    sig = hashlib.sha256(json.dumps(
        [METRICS_VERSION] + [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
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
            one = reference_stats([p])
        except MidiError:
            skipped.append(str(p.relative_to(root)))
            continue
        for m in MUSIC_METRICS:
            metrics[m] += one[m]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"folder": str(root.resolve()), "n_files": len(files) - len(skipped),
                               "skipped": skipped, "metrics_version": METRICS_VERSION, "metrics": metrics}),
                   encoding="utf-8")
    os.replace(tmp, cache)
    return metrics


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

