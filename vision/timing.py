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
4. **The end** is the last hit point, but a soft one: the final section either ends on the last frame (a beat
   count that fits the band) or fills whole bars at its tempo, the last cut short by the end (``END_COST``, a
   little more; more again when under a beat of that bar would be heard). Either way the closing chord is held
   to the last frame.
5. **A change of pace.** With ``pace`` (the target tempo of each stretch of picture), a cut where the target
   changes by ``PACE_CHANGE`` (1.3x) or more, holding for ``MIN_PACE_SEC`` on both sides, starts a region with
   a base tempo of its own; its first section reaches that tempo over its first bar (``ramp``: beat by beat,
   its tempo solved so the section still lasts exactly to its cut). The region before must end on that cut;
   if no fit does, the piece keeps one tempo. ``tempo_changes`` lists each change, for ``source.mapping``.

``--tempo`` fixes ``T`` and the band to one tempo: a cut then opens its section at the nearest beat (so it is
within half a beat, on a downbeat thanks to a shorter bar). ``--follow-audio`` with music found fixes ``T`` to the
soundtrack's tempo (the editor's temp track) and keeps the band, so cuts made on that track's beats stay on beats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..symbolic.plan import TEMPO_RANGE, parse_meter

__all__ = ["HIT_TOLERANCE_SEC", "NUDGE", "Timing", "TimedSection", "beat_unit", "fit_timing", "split_beats"]

NUDGE = math.sqrt(1.06)  # a section's tempo within T / NUDGE .. T * NUDGE: any two differ by at most 6%
HIT_TOLERANCE_SEC = 0.040
BASE_TEMPO_SEARCH = (0.8, 1.25)
BASE_TEMPO_STEPS = 61
TARGET_WEIGHT = 0.1  # the arousal target is a soft wish: steady sections matter more
PACE_CHANGE = 1.3  # a target tempo this many times the region's (or 1/that) is a strong change of pace
MIN_PACE_SEC = 4.0  # ... when it holds this long, and the region before it lasted this long too
MISS_COST = 1e3  # a cut not kept costs more than any tempo deviation
BEAM = 6
ERR_COST = 0.001  # a bar line off its cut by the whole tolerance costs about a 1.6% nudge of a bar: exact wins
END_COST = 0.001  # a last bar cut short by the end: a little more than an exact end (a beat less makes it odd)
ODD_BAR_COST = 0.002  # what a section ending in a bar of another length costs, against Σ bars · ln(T_s / T)²


@dataclass
class TimedSection:
    """A section: its start (the bar line, in seconds), the cut it catches, its beats, tempo and bar meters."""

    start_sec: float
    cut_sec: float | None
    n_beats: int
    tempo_bpm: float
    meters: list[str | None] = field(default_factory=list)  # per bar; None: the piece's meter
    ramp: bool = False  # its first bar moves the tempo beat by beat from the previous section's

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
    tempo_changes: list[dict] = field(default_factory=list)  # where the pace changed the tempo, and why
    end_error_sec: float = 0.0  # where the last bar line falls after the end


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
             per_bar: int, cut_short: bool = True) -> list[tuple[float, int, float, float]]:
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
    if last and cut_short:  # or whole bars at the base tempo, the last cut short by the end (its chord held to the last frame)
        tempo = min(hi, max(lo, base))
        n = per_bar * max(1, math.ceil(length * tempo / (60.0 * q * per_bar) - 1e-9))
        err = n * q * 60.0 / tempo - length
        heard = per_bar - err * tempo / (60.0 * q)  # beats of the last bar before the end
        cost = END_COST + (ODD_BAR_COST if heard < 1.0 else 0.0) + n / per_bar * math.log(tempo / base) ** 2
        out.append((cost, n, tempo, err))
    return out


def _walk(base: float, cuts: list[float], duration: float, q: float, band: float,
          per_bar: int, cut_short: bool = True) -> tuple[float, list, list]:
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
            for extra, n, tempo, err in _options(c - pos, base, lo, hi, q, last, per_bar, cut_short):
                grown.append((cost + extra, c + err, c, out + ((pos, cut_open, n, tempo, err),), missed))
            if not last:
                grown.append((cost + MISS_COST, pos, cut_open, out, missed + (c,)))
        grown.sort(key=lambda st: st[0])
        beam = grown[:BEAM]
    if not beam:  # the end had to be hit and could not be
        return math.inf, [], list(cuts)
    cost, _, _, out, missed = beam[0]
    return cost, list(out), list(missed)


def fit_timing(duration: float, cuts: list[float], target_bpm: float, meter: str, *,
               fixed_tempo: float | None = None, follow_tempo: float | None = None,
               pace: Callable[[float, float], float] | None = None) -> Timing:
    """Sections for ``cuts`` (sorted, already thinned) over ``duration`` seconds; see the module docstring.

    ``pace(t0, t1)``: the target tempo the picture asks for between two times. Where it changes strongly
    (``PACE_CHANGE``) at a cut and holds for ``MIN_PACE_SEC``, the piece changes its base tempo there, reached
    over the first bar of the new section (a ramp), and ``tempo_changes`` says so.
    """
    cuts = [c for c in sorted(cuts) if 0 < c < duration]
    if pace is None or fixed_tempo is not None or follow_tempo is not None:
        return _fit_region(duration, cuts, target_bpm, meter, fixed_tempo, follow_tempo)
    bounds = [0.0, *cuts, duration]
    local = [pace(a, b) for a, b in zip(bounds, bounds[1:])]
    starts, ref = [0], local[0]  # span indices where a pace region starts
    for i in range(1, len(local)):
        strong = max(local[i] / ref, ref / local[i]) >= PACE_CHANGE
        if strong and bounds[i + 1] - bounds[i] >= MIN_PACE_SEC and bounds[i] - bounds[starts[-1]] >= MIN_PACE_SEC:
            starts.append(i)
            ref = local[i]
    if len(starts) == 1:
        return _fit_region(duration, cuts, target_bpm, meter, None, None)
    parts: list[Timing] = []
    for k, i in enumerate(starts):
        j = starts[k + 1] if k + 1 < len(starts) else len(local)
        t0, t1 = bounds[i], bounds[j]
        spans = range(i, j)
        target = math.exp(sum((bounds[s + 1] - bounds[s]) * math.log(local[s]) for s in spans) / (t1 - t0))
        final = k + 1 == len(starts)
        part = _fit_region(t1 - t0, [c - t0 for c in cuts if t0 < c < t1], target, meter, None, None, final)
        if part is None:  # the cut where the pace changes cannot be hit: one steady tempo after all
            return _fit_region(duration, cuts, target_bpm, meter, None, None)
        parts.append(_shifted(part, t0, bounds[i] if k else None))
    return _joined(parts, meter)


def _shifted(part: Timing, t0: float, cut: float | None) -> Timing:
    """A region's timing moved to start at ``t0``; its first section opened by ``cut`` (None for the piece's)."""
    for sec in part.sections:
        sec.start_sec += t0
        if sec.cut_sec is not None:
            sec.cut_sec += t0
    part.sections[0].cut_sec = cut
    part.kept_cuts = [c + t0 for c in part.kept_cuts] + ([cut] if cut is not None else [])
    part.unhit_cuts = [c + t0 for c in part.unhit_cuts]
    return part


def _joined(parts: list[Timing], meter: str) -> Timing:
    """Regions as one timing: each later region's first section ramps from the tempo before it, its tempo
    solved so the section keeps its length with the ramp in its first bar (so its cut stays on its beat)."""
    q = _beat_quarters(meter)
    sections: list[TimedSection] = []
    errors: list[float] = []
    changes = []
    for k, part in enumerate(parts):
        if k:
            errors.append(parts[k - 1].end_error_sec)
            first, prev = part.sections[0], sections[-1].tempo_bpm
            length = first.n_beats * q * 60.0 / first.tempo_bpm
            num, den = parse_meter(first.meters[0] or meter)  # the ramp steps by the first bar's meter units
            first.tempo_bpm = _ramped_tempo(length, first.n_beats * q, num, 4 / den, prev)
            first.ramp = True
            changes.append({"at_sec": round(first.cut_sec, 3), "from_bpm": round(prev, 2),
                            "to_bpm": round(first.tempo_bpm, 2),
                            "why": f"the picture's pace changes by {PACE_CHANGE:g}x or more here"})
        sections += part.sections
        errors += part.hit_errors_sec
    beats = sum(s.n_beats for s in sections)
    base = math.exp(sum(s.n_beats * math.log(s.tempo_bpm) for s in sections) / beats)
    return Timing(base, sections, sorted(c for p in parts for c in p.kept_cuts),
                  sorted(c for p in parts for c in p.unhit_cuts), errors, changes)


def ramp_seconds(quarters: float, steps: int, step_q: float, prev: float, tempo: float) -> float:
    """Seconds of ``quarters`` quarter notes whose first ``steps`` units of ``step_q`` quarters (the first bar's
    beats, as :meth:`MusicPlan.beat_tempos` plays them) step geometrically from ``prev`` to ``tempo``."""
    ramp = sum(step_q * 60.0 / (prev * (tempo / prev) ** ((i + 1) / steps)) for i in range(steps))
    return ramp + (quarters - steps * step_q) * 60.0 / tempo


def _ramped_tempo(length: float, quarters: float, steps: int, step_q: float, prev: float) -> float:
    """The tempo that makes ``quarters`` (a first bar of ``steps`` ramping from ``prev``) last ``length`` s."""
    lo, hi = TEMPO_RANGE
    for _ in range(100):  # seconds fall as the tempo rises: bisection
        mid = math.sqrt(lo * hi)
        if ramp_seconds(quarters, steps, step_q, prev, mid) > length:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def _fit_region(duration: float, cuts: list[float], target_bpm: float, meter: str, fixed_tempo: float | None,
                follow_tempo: float | None, cut_short: bool = True) -> Timing | None:
    """One steady tempo over ``duration`` seconds: see the module docstring."""
    q = _beat_quarters(meter)
    per_bar = beat_unit(meter)[0]
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
        cost, lay, missed = _walk(base, cuts, duration, q, band, per_bar, cut_short)
        if not lay:
            continue
        beats = sum(n for _, _, n, _, _ in lay)
        cost += TARGET_WEIGHT * beats / per_bar * math.log(base / target_bpm) ** 2
        if best is None or cost < best[0] - 1e-12:
            best = (cost, base, lay, missed)
    if best is None:
        return None  # only when the end must be hit (``cut_short`` False) and no base tempo hits it
    _, base, lay, missed = best
    # the base the plan names is the one the music mostly plays at: the beat-weighted mean of the sections'
    # tempos (all of them within the band of the searched base, so still within 6% of each other)
    beats = sum(n for _, _, n, _, _ in lay)
    base = math.exp(sum(n * math.log(t) for _, _, n, t, _ in lay) / beats)
    sections = [TimedSection(start, cut, n, tempo, split_beats(n, meter)) for start, cut, n, tempo, _ in lay]
    errors = [err for _, _, _, _, err in lay[:-1]]
    return Timing(base, sections, [s.cut_sec for s in sections if s.cut_sec is not None], missed, errors,
                  end_error_sec=lay[-1][4])


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
