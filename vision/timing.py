"""Cuts → one steady tempo, sections of whole beats, and bars of another length that put each cut on a downbeat.

A film composer keeps one tempo, lands the hits on beats and absorbs what is left over with a bar of another
length. This module does that for the plan:

1. **Beats.** The counting beat is the meter's denominator, or a dotted quarter in compound meters (6/8, 9/8,
   12/8: three eighths). A section between two kept cuts holds a whole number of beats.
2. **One base tempo, nudged.** The base tempo ``T`` is searched in 0.8-1.25x the target (61 steps, log scale).
   Each section may play at most ``NUDGE`` (√1.06 ≈ 2.96%) off ``T``, so any two sections, adjacent or not,
   differ by at most 6%. For each cut in turn the section takes the beat count whose tempo lands its end exactly
   on the cut inside that band, or, at the band's edge, within ``HIT_TOLERANCE_SEC`` (40 ms) of it; the next
   section is measured from where this one really ended, so errors never add up; a beam search (the ``BEAM``
   best partial fits at each cut, trying for each beat count the exact tempo and the ones landing 40 ms early or
   late) finds fits a greedy pass would miss. A cut no beat count can reach is not kept
   (``mapping.unhit_cuts``): its shot joins the previous section rather than bend the tempo. The base tempo kept
   is the one that keeps the most cuts, then the one whose sections deviate least (``Σ bars · ln(T_s / T)²``,
   plus ``ODD_BAR_COST`` a section that needs a bar of another length), then the one nearest the target
   (``TARGET_WEIGHT · bars · ln(T / target)²``).
3. **Bars of another length.** A section of ``n`` beats is ``n // B`` bars of the meter (``B`` beats each) and,
   if beats are left over, one shorter bar at its end, just before the cut: 2/4 or 3/4 in 4/4, 2/4 in 3/4, 3/8 in
   6/8. One beat left over after a full bar in a meter of 3+ beats becomes two bars instead (4/4 + 1 → 3/4 +
   2/4; 3/4 + 1 → 2/4 + 2/4), so no bar is ever longer than the meter's (the engines compose bars of the meter
   and cut them, :mod:`framescore.symbolic.engines.assembly`). So every kept cut is on a downbeat.
4. **The end** is the last hit point: the final section ends on the video's last frame when a beat count fits the
   band, so the closing chord is held to it; otherwise its last bar is cut short by the end.

``--tempo`` fixes ``T`` and the band to one tempo: a cut then opens its section at the nearest beat (so it is
within half a beat, on a downbeat thanks to a shorter bar). ``--follow-audio`` with music found fixes ``T`` to the
soundtrack's tempo (the editor's temp track) and keeps the band, so cuts made on that track's beats stay on beats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..symbolic.plan import TEMPO_RANGE, parse_meter

__all__ = ["HIT_TOLERANCE_SEC", "NUDGE", "Timing", "TimedSection", "beat_unit", "fit_timing", "split_beats"]

NUDGE = math.sqrt(1.06)  # a section's tempo within T / NUDGE .. T * NUDGE: any two differ by at most 6%
HIT_TOLERANCE_SEC = 0.040
BASE_TEMPO_SEARCH = (0.8, 1.25)
BASE_TEMPO_STEPS = 61
TARGET_WEIGHT = 0.1  # the arousal target is a soft wish: steady sections matter more
MISS_COST = 1e3  # a cut not kept costs more than any tempo deviation
BEAM = 6
ERR_COST = 0.001  # a bar line off its cut by the whole tolerance costs about a 1.6% nudge of a bar: exact wins
END_COST = 1.0  # a last bar cut short by the end (the end missed) costs more than any nudge, less than a cut
ODD_BAR_COST = 0.002  # what a section ending in a bar of another length costs, against Σ bars · ln(T_s / T)²


@dataclass
class TimedSection:
    """A section: its start (the bar line, in seconds), the cut it catches, its beats, tempo and bar meters."""

    start_sec: float
    cut_sec: float | None
    n_beats: int
    tempo_bpm: float
    meters: list[str | None] = field(default_factory=list)  # per bar; None: the piece's meter

    @property
    def n_bars(self) -> int:
        return len(self.meters)


@dataclass
class Timing:
    base_tempo_bpm: float
    sections: list[TimedSection]
    kept_cuts: list[float]
    unhit_cuts: list[float]
    hit_errors_sec: list[float]  # bar line − cut, per kept cut


def beat_unit(meter: str) -> tuple[int, int]:
    """``(beats per bar, denominator units per beat)``: 4/4 → (4, 1), 6/8 → (2, 3), 7/8 → (7, 1)."""
    num, den = parse_meter(meter)
    if den >= 8 and num % 3 == 0 and num > 3:
        return num // 3, 3
    return num, 1


def split_beats(n: int, meter: str) -> list[str | None]:
    """``n`` beats as bars: full bars of ``meter`` (None), then a shorter bar or two for what is left over."""
    num, den = parse_meter(meter)
    per_bar, unit = beat_unit(meter)
    full, rest = divmod(n, per_bar)
    if rest == 0:
        return [None] * full
    if rest == 1 and full >= 1 and per_bar >= 3:
        a = (per_bar + 2) // 2  # 4 + 1 → 3 + 2; 3 + 1 → 2 + 2; 7 + 1 → 4 + 4
        return [None] * (full - 1) + [f"{a * unit}/{den}", f"{(per_bar + 1 - a) * unit}/{den}"]
    return [None] * full + [f"{rest * unit}/{den}"]


def _beat_quarters(meter: str) -> float:
    num, den = parse_meter(meter)
    return beat_unit(meter)[1] * 4 / den


def _options(length: float, base: float, lo: float, hi: float, q: float, last: bool,
             per_bar: int) -> list[tuple[float, int, float, float]]:
    """Ways to fill ``length`` seconds with whole beats at a tempo in [lo, hi]: ``(cost, beats, tempo, error)``,
    the bar line within the tolerance of the span's end (never before it for the last span). For each beat
    count: the exact tempo if the band allows it, and the tempos that land just early or late, so the next span
    has room to choose."""
    out = []
    x = length * base / (60.0 * q)  # beats at the base tempo
    for n in sorted({max(1, math.floor(x)), max(1, math.ceil(x)), max(1, round(x) - 1), round(x) + 1}):
        near = HIT_TOLERANCE_SEC - 0.001  # just inside the tolerance, so rounding never leaves it
        tempos = {min(hi, max(lo, n * q * 60.0 / (length + e))) for e in (0.0, -near, near)}
        for tempo in sorted(tempos):
            err = n * q * 60.0 / tempo - length
            if abs(err) > HIT_TOLERANCE_SEC + 1e-9 or (last and err < -1e-9):  # the music may not stop early
                continue
            cost = n / per_bar * math.log(tempo / base) ** 2 + (ODD_BAR_COST if n % per_bar else 0.0)
            out.append((cost + ERR_COST * (err / HIT_TOLERANCE_SEC) ** 2, n, tempo, err))
    if not out and last:  # the end cannot be hit: steady tempo, the last bar cut short by the end
        tempo = min(hi, max(lo, base))
        n = max(1, math.ceil(length * tempo / (60.0 * q) - 1e-9))
        out.append((END_COST + n / per_bar * math.log(tempo / base) ** 2, n, tempo, n * q * 60.0 / tempo - length))
    return out


def _walk(base: float, cuts: list[float], duration: float, q: float, band: float,
          per_bar: int) -> tuple[float, list, list]:
    """Beam search at one base tempo (``BEAM`` best partial fits kept at each cut): the cost, the sections as
    ``[(start, cut, beats, tempo, err)]``, and the cuts not kept."""
    lo, hi = max(TEMPO_RANGE[0], base / band), min(TEMPO_RANGE[1], base * band)
    # a state: (cost, bar-line time, the cut that opened the current section, sections so far, cuts missed)
    beam: list[tuple[float, float, float | None, tuple, tuple]] = [(0.0, 0.0, None, (), ())]
    points = [*cuts, duration]
    for i, c in enumerate(points):
        last = i == len(points) - 1
        grown = []
        for cost, pos, cut_open, out, missed in beam:
            for extra, n, tempo, err in _options(c - pos, base, lo, hi, q, last, per_bar):
                grown.append((cost + extra, c + err, c, out + ((pos, cut_open, n, tempo, err),), missed))
            if not last:
                grown.append((cost + MISS_COST, pos, cut_open, out, missed + (c,)))
        grown.sort(key=lambda st: st[0])
        beam = grown[:BEAM]
    cost, _, _, out, missed = beam[0]
    return cost, list(out), list(missed)


def fit_timing(duration: float, cuts: list[float], target_bpm: float, meter: str, *,
               fixed_tempo: float | None = None, follow_tempo: float | None = None) -> Timing:
    """Sections for ``cuts`` (sorted, already thinned) over ``duration`` seconds; see the module docstring."""
    q = _beat_quarters(meter)
    per_bar = beat_unit(meter)[0]
    cuts = [c for c in sorted(cuts) if 0 < c < duration]
    if fixed_tempo is not None:
        return _fixed(float(fixed_tempo), cuts, duration, q, meter)
    if follow_tempo is not None:
        candidates, band = [float(follow_tempo)], NUDGE
    else:
        lo, hi = (math.log(target_bpm * r) for r in BASE_TEMPO_SEARCH)
        candidates = [float(math.exp(x)) for x in np.linspace(lo, hi, BASE_TEMPO_STEPS)]
        candidates = [t for t in candidates if TEMPO_RANGE[0] <= t <= TEMPO_RANGE[1]] or [target_bpm]
        band = NUDGE
    best = None
    for base in candidates:
        cost, lay, missed = _walk(base, cuts, duration, q, band, per_bar)
        beats = sum(n for _, _, n, _, _ in lay)
        cost += TARGET_WEIGHT * beats / per_bar * math.log(base / target_bpm) ** 2
        if best is None or cost < best[0] - 1e-12:
            best = (cost, base, lay, missed)
    assert best is not None
    _, base, lay, missed = best
    # the base the plan names is the one the music mostly plays at: the beat-weighted mean of the sections'
    # tempos (all of them within the band of the searched base, so still within 6% of each other)
    beats = sum(n for _, _, n, _, _ in lay)
    base = math.exp(sum(n * math.log(t) for _, _, n, t, _ in lay) / beats)
    sections = [TimedSection(start, cut, n, tempo, split_beats(n, meter)) for start, cut, n, tempo, _ in lay]
    errors = [err for _, _, _, _, err in lay[:-1]]
    return Timing(base, sections, [s.cut_sec for s in sections if s.cut_sec is not None], missed, errors)


def _fixed(tempo: float, cuts: list[float], duration: float, q: float, meter: str) -> Timing:
    """``--tempo``: one tempo; each cut opens its section at the nearest beat (a shorter bar before it)."""
    beat = q * 60.0 / tempo
    total = max(1, math.ceil(duration / beat - 1e-9))
    marks, kept, dropped, errors = [0], [], [], []
    for c in cuts:
        b = round(c / beat)
        if b <= marks[-1] or b >= total:
            dropped.append(c)
            continue
        marks.append(b)
        kept.append(c)
        errors.append(b * beat - c)
    marks.append(total)
    sections = [TimedSection(a * beat, None if i == 0 else kept[i - 1], b - a, tempo, split_beats(b - a, meter))
                for i, (a, b) in enumerate(zip(marks, marks[1:]))]
    return Timing(tempo, sections, kept, dropped, errors)
