"""How an engine's parts become its piece: every note cut at the end of the music, the trained engines'
melody and harmony laid over the rule engine's bass and drums (POP909, which they learnt from, has neither),
and the two passes the gate (:func:`framescore.symbolic.engines.compose`) makes for every engine:

- **bars of another length**: the engines were written for bars of one length, so a plan that is not
  ``uniform`` is composed as :func:`uniform_proxy` (every bar in one meter) and mapped onto the real bars
  (:func:`onto_real_bars`, a monotone tick map, :class:`BarMap`): each real bar is its proxy bar cut at its
  own length. The proxy's ``source`` lists the real lengths (:data:`REAL_BAR_QUARTERS`) for an engine that can
  end a bar where it really ends (the rule engine does);
- **bars without melody** (``BarPlan.melody`` False): :func:`silence_melody` drops the melody notes that start
  there and cuts the ones that would ring on into them;
- **calm music played legato** (:func:`articulate`): in sections of low arousal the melody is joined up and the
  harmony rings, pedal-like, to the next chord, as a player would, whatever wrote the notes.

A helper module, not an engine: it declares no ``ENGINE``.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Mapping

from ..piece import Note, Piece, Track, piece_from_plan_grid
from ..plan import ROLES, TICKS_PER_QUARTER, ChordSlot, MusicPlan, velocity_of

__all__ = [
    "BACKING_ROLES", "LEGATO_AROUSAL", "REAL_BAR_QUARTERS", "ROLE_VELOCITY", "BarMap", "articulate", "at_dynamics",
    "bass_profile", "clip_to_end", "close_on_tonic", "legato_amount", "onto_proxy_bars",
    "onto_real_bars", "proxy_meter", "rule_backing", "silence_melody", "uniform_proxy", "with_backing",
]

#: The roles a trained engine leaves to the rule engine.
BACKING_ROLES = ("bass", "drums")


def clip_to_end(notes: Iterable[Note], end: int) -> list[Note]:
    """The notes that start before ``end`` (the piece's end tick), each cut to end there at the latest."""
    return [n if n.end <= end else Note(n.start, end - n.start, n.pitch, n.velocity) for n in notes if n.start < end]


def rule_backing(plan: MusicPlan) -> dict[str, Track]:
    """The rule engine's tracks for the :data:`BACKING_ROLES` of ``plan``'s instrumentation, by role.

    The rule engine draws each part from its own random stream, so its bass and drums are the same notes whether
    or not it also writes a melody and harmony: composing only these two is the same music, for less.
    """
    from .rule import compose

    backing = {r: p for r, p in plan.instrumentation.items() if r in BACKING_ROLES}
    return {t.name: t for t in compose(dataclasses.replace(plan, instrumentation=backing)).tracks}


def bass_profile(backing: Mapping[str, Track]) -> list[float]:
    """Ticks each pitch class sounds in the backing's bass (all 0 without one): what a trained engine's key guide
    hears under the parts it writes."""
    profile = [0.0] * 12
    for n in backing["bass"].notes if "bass" in backing else ():
        profile[n.pitch % 12] += n.duration
    return profile


def _bar_of(lines: list[int], tick: int) -> int:
    """The bar a tick lies in, by the plan's bar lines (``bar_start_ticks``: one more than the bars), clamped to
    the plan's bars."""
    return min(max(bisect.bisect_right(lines, tick) - 1, 0), len(lines) - 2)


#: Each trained part's velocity against its bar's planned one (:func:`~framescore.symbolic.plan.velocity_of`): the
#: tune over the accompaniment.
ROLE_VELOCITY = {"melody": 6, "harmony": -8}


def at_dynamics(notes: Iterable[Note], plan: MusicPlan, role: str, resolution: int = TICKS_PER_QUARTER,
                spread: float = 0.5) -> list[Note]:
    """A trained part's notes at the plan's dynamics: in each bar its velocities are moved so that their mean is
    the bar's planned velocity (plus :data:`ROLE_VELOCITY`), the model's accents kept at ``spread`` of their size
    (a model learnt from performances plays as loud as the song it recalls, not as the plan asks)."""
    notes = list(notes)
    lines = plan.bar_start_ticks(resolution)
    by_bar: dict[int, list[int]] = {}
    for i, n in enumerate(notes):
        by_bar.setdefault(_bar_of(lines, n.start), []).append(i)
    out = list(notes)
    for b, idx in by_bar.items():
        target = velocity_of(plan.bars[b].dynamics) + ROLE_VELOCITY.get(role, 0)
        mean = sum(notes[i].velocity for i in idx) / len(idx)
        for i in idx:
            n = notes[i]
            v = int(round(target + spread * (n.velocity - mean)))
            out[i] = Note(n.start, n.duration, n.pitch, min(127, max(1, v)))
    return out


def close_on_tonic(notes: Iterable[Note], plan: MusicPlan, end_tick: int,
                   resolution: int = TICKS_PER_QUARTER) -> list[Note]:
    """A trained melody brought home: when its last note starts in the last bar and the last chord holds the
    key's tonic, that note becomes the nearest tonic (down on a tie, at most a tritone away) and is held to the
    end of the music (``end_tick``), as a cadence ends. Any other melody is left as it is."""
    notes = sorted(notes)
    if not notes or plan.n_bars == 0:
        return notes
    last_start = max(n.start for n in notes)
    i = max((j for j, n in enumerate(notes) if n.start == last_start), key=lambda j: notes[j].pitch)
    last = notes[i]
    tonic = plan.key_obj.tonic
    final = [sp for sp in plan.chord_spans(resolution) if sp.start_tick < end_tick]
    if (last.start < plan.bar_start_ticks(resolution)[plan.n_bars - 1] or not final or final[-1].chord.is_none
            or tonic not in final[-1].chord.pitch_classes):
        return notes
    pitch = last.pitch - min((d for d in range(-6, 7) if (last.pitch - d) % 12 == tonic), key=lambda d: (abs(d), -d))
    notes[i] = Note(last.start, max(last.duration, end_tick - last.start), pitch, last.velocity)
    return [n for j, n in enumerate(notes) if j == i or n.start < last.start or n.pitch != pitch]


def with_backing(plan: MusicPlan, parts: Mapping[str, Iterable[Note]],
                 backing: Mapping[str, Track] | None = None) -> Piece:
    """The piece of ``plan``'s grid with a trained engine's ``parts`` (role → notes, e.g. melody and harmony) over
    the rule engine's bass and drums (``backing``, from :func:`rule_backing`; made here when not given).

    One track per role of the instrumentation, in :data:`~framescore.symbolic.plan.ROLES` order: a role in
    ``parts`` gets its notes cut at the end of the music (:func:`clip_to_end`) and sorted, on the role's program;
    any other role takes the backing's track as it is.
    """
    piece = piece_from_plan_grid(plan)
    backing = rule_backing(plan) if backing is None else backing
    for role in ROLES:
        if role not in plan.instrumentation:
            continue
        if role in parts:
            notes = sorted(clip_to_end(parts[role], piece.end_tick))
            piece.tracks.append(Track(role, plan.instrumentation[role], False, notes))
        elif role in backing:
            piece.tracks.append(backing[role])
    return piece


# ----- bars of another length: compose on a uniform proxy, then map onto the real bars ---------------------------
def proxy_meter(plan: MusicPlan) -> tuple[int, int]:
    """The meter every bar of the proxy plan has: the plan's own, unless some bar is longer than a bar of it.

    The design only ever shortens a bar (4/4 gets 2/4, 3/4 or 1/4 bars; 3/4 gets 2/4), so the proxy is the plan's
    meter and each real bar is a cut of a proxy bar. A plan a user edited to hold a longer bar (a 5/4 bar in
    4/4) gets the longest bar's meter as the proxy's (the first such bar's, on a tie), so no bar ever needs
    material the proxy has not written; the plan's base-meter bars are then cuts of those longer proxy bars.
    """
    base = plan.meter_tuple
    best, longest = base, plan.quarters_per_bar
    for b in range(plan.n_bars):
        q = plan.bar_quarters(b)
        if q > longest + 1e-9:
            best, longest = plan.bar_meter(b), q
    return best


#: The key of a proxy's ``source`` that lists the real plan's bar lengths in quarters, so an engine that can use
#: them (the rule engine: a phrase in a short bar breathes and cadences inside it) ends each bar where it sounds.
REAL_BAR_QUARTERS = "real_bar_quarters"


def uniform_proxy(plan: MusicPlan, resolution: int = TICKS_PER_QUARTER) -> MusicPlan:
    """The plan an engine written for bars of one length composes instead of a plan that is not ``uniform``.

    The same bars (chords, densities, dynamics, melody flags, cadences), sections (themes, roles, tempos,
    ramps), key, seed and instrumentation, but every bar in :func:`proxy_meter`. A chord slot keeps its place
    in the bar (its beat, counted in the proxy's beats when the proxy's beat unit differs). The duration is
    chosen so the proxy's end falls at the same offset into the last bar as the plan's end does, so the last
    bar's material is cut where the real one is.
    """
    num, den = proxy_meter(plan)
    meter = f"{num}/{den}"
    bars = []
    for b, bar in enumerate(plan.bars):
        scale = den / plan.bar_meter(b)[1]  # a beat of the bar's own meter, in the proxy's beats
        chords = [ChordSlot(slot.beat * scale if scale != 1 else slot.beat, slot.chord) for slot in bar.chords]
        bars.append(dataclasses.replace(bar, meter=None, chords=chords))
    sections = [dataclasses.replace(s) for s in plan.sections]
    source = dict(plan.source) | {REAL_BAR_QUARTERS: [plan.bar_quarters(b) for b in range(plan.n_bars)]}
    proxy = dataclasses.replace(plan, meter=meter, bars=bars, sections=sections, source=source)
    real_lines = plan.bar_start_ticks(resolution)
    end = piece_from_plan_grid(plan, resolution).end_tick
    target = proxy.bar_start_ticks(resolution)[-2] + end - real_lines[-2]
    proxy.duration_sec = _duration_ending_at(proxy, target, resolution)
    return proxy.validate()


def _duration_ending_at(plan: MusicPlan, target: int, resolution: int) -> float:
    """A ``duration_sec`` for ``plan`` whose grid ends exactly at tick ``target`` (inside its last bar, or at its
    end): the time of that tick on the plan's tempo map, which the grid rounds back to it."""
    lines = plan.bar_start_ticks(resolution)
    if target >= lines[-1]:
        return plan.bar_start_sec(plan.n_bars)
    grid = piece_from_plan_grid(plan, resolution)  # its tempo map; its end is not used
    return grid.tick_to_sec(target if target > lines[-2] else target + 0.25)  # the last bar must start before it


class BarMap:
    """The monotone tick map between a proxy plan's bars and the real plan's: a tick ``o`` ticks into proxy bar
    ``b`` is ``min(o, len_b)`` ticks into real bar ``b`` (``len_b`` its real length), so a real bar is its proxy
    bar cut at its own length; :meth:`to_proxy` is the inverse on the real bars (a real tick ``o`` into bar
    ``b`` is ``o`` into proxy bar ``b``). Ticks past the last bar line move with it."""

    def __init__(self, plan: MusicPlan, proxy: MusicPlan, resolution: int = TICKS_PER_QUARTER):
        self.real = plan.bar_start_ticks(resolution)
        self.proxy = proxy.bar_start_ticks(resolution)

    def to_real(self, tick: int) -> int:
        b = min(bisect.bisect_right(self.proxy, tick) - 1, len(self.proxy) - 2)
        if b < 0:
            return tick
        off = tick - self.proxy[b]
        if b == len(self.proxy) - 2 and off > self.proxy[b + 1] - self.proxy[b]:
            return self.real[-1] + tick - self.proxy[-1]  # past the last bar line
        return self.real[b] + min(off, self.real[b + 1] - self.real[b])

    def in_cut(self, tick: int) -> bool:
        """Does proxy ``tick`` fall in the part of its bar that the real bar cuts off?"""
        b = bisect.bisect_right(self.proxy, tick) - 1
        return 0 <= b < len(self.real) - 1 and tick - self.proxy[b] >= self.real[b + 1] - self.real[b]

    def to_proxy(self, tick: int) -> int:
        b = min(bisect.bisect_right(self.real, tick) - 1, len(self.real) - 2)
        return tick if b < 0 else self.proxy[b] + tick - self.real[b]


def onto_real_bars(piece: Piece, plan: MusicPlan, proxy: MusicPlan) -> Piece:
    """The piece an engine composed on ``proxy`` (:func:`uniform_proxy`), mapped onto ``plan``'s own bars.

    Rebuilt on ``plan``'s grid (:func:`~framescore.symbolic.piece.piece_from_plan_grid`: its meter changes,
    tempo map, markers and end), each track in its order with its program. A note starting in the cut-off
    part of a bar is dropped; any other keeps its start's offset into its bar, and its end goes through the
    same map (:class:`BarMap`), so a note crossing a bar line keeps sounding into the next bar and one held
    into the cut-off part ends at the bar line; a note the map leaves without length is dropped, and all are
    cut at the end of the music. Controllers, bends and program changes move by the same map.
    """
    grid = piece_from_plan_grid(plan, piece.resolution)
    m = BarMap(plan, proxy, piece.resolution)
    for t in piece.tracks:
        notes = []
        for n in t.notes:
            if m.in_cut(n.start):
                continue
            start, end = m.to_real(n.start), m.to_real(n.end)
            if end > start:
                notes.append(Note(start, end - start, n.pitch, n.velocity))
        moved = dataclasses.replace(
            t, notes=sorted(clip_to_end(notes, grid.end_tick)),
            controls=[dataclasses.replace(e, tick=min(m.to_real(e.tick), grid.end_tick)) for e in t.controls],
            pitch_bends=[dataclasses.replace(e, tick=min(m.to_real(e.tick), grid.end_tick)) for e in t.pitch_bends],
            programs=[dataclasses.replace(e, tick=min(m.to_real(e.tick), grid.end_tick)) for e in t.programs])
        grid.tracks.append(moved)
    return grid


def onto_proxy_bars(melody: Piece, plan: MusicPlan, proxy: MusicPlan) -> Piece:
    """A user's melody (bar 0 on ``plan``'s bar 0, in ``plan``'s bars) moved onto ``proxy``'s bars, so an engine
    composing the proxy hears it where it belongs; :func:`onto_real_bars` brings its notes back unchanged (a note
    ringing across a bar line is as long as the map makes it there, and back)."""
    m = BarMap(plan, proxy, melody.resolution)
    tracks = []
    for t in melody.tracks:
        notes = []
        for n in t.notes:
            start, end = m.to_proxy(n.start), m.to_proxy(n.end)
            notes.append(Note(start, max(1, end - start), n.pitch, n.velocity))
        tracks.append(dataclasses.replace(t, notes=sorted(notes), controls=[], pitch_bends=[], programs=[]))
    return dataclasses.replace(melody, tracks=tracks, meter=proxy.meter_tuple, meter_changes=[], markers=[],
                               end_tick=m.to_proxy(melody.end_tick), plan=None)


# ----- bars without melody -----------------------------------------------------------------------------------------
def silence_melody(piece: Piece, plan: MusicPlan) -> Piece:
    """``piece`` with no melody note in a bar whose ``BarPlan.melody`` is False: a note starting there is dropped,
    and one from an earlier bar is cut at the silent bar's line (it may not ring on into it). Changes the
    melody track in place; a plan whose bars all play the melody leaves it as it is."""
    silent = [b for b, bar in enumerate(plan.bars) if not bar.melody]
    track = piece.track("melody")
    if not silent or track is None:
        return piece
    lines = plan.bar_start_ticks(piece.resolution)
    quiet = [(lines[b], lines[b + 1]) for b in silent]
    starts = [lo for lo, _ in quiet]
    notes = []
    for n in track.notes:
        i = bisect.bisect_right(starts, n.start) - 1
        if i >= 0 and n.start < quiet[i][1]:
            continue  # starts in a silent bar
        nxt = quiet[i + 1][0] if i + 1 < len(quiet) else None
        if nxt is not None and n.end > nxt:
            n = Note(n.start, nxt - n.start, n.pitch, n.velocity)
        notes.append(n)
    track.notes = notes
    return piece


# ----- calm music played legato ---------------------------------------------------------------------------------
#: Section arousal at and below which a bar is played fully legato; from 0 down to it, the more the calmer (a
#: section of arousal 0 or above is played as written).
LEGATO_AROUSAL = -0.5


def legato_amount(plan: MusicPlan, bar: int) -> float:
    """How far (0-1) the notes starting in ``bar`` are held toward their legato ends: 0 at section arousal 0 and
    above, 1 at :data:`LEGATO_AROUSAL` and below, linear between."""
    a = plan.section_of_bar(bar).arousal
    a = plan.arousal if a is None else a
    return min(1.0, max(0.0, a / LEGATO_AROUSAL))


def articulate(piece: Piece, plan: MusicPlan, keep_melody: bool = False) -> Piece:
    """Calm music played legato, as a player reads a calm cue: in bars of low arousal (:func:`legato_amount`)
    each melody note is held toward the next melody note when that comes within a beat of its end (a longer
    gap is a breath, and is kept), and each harmony note rings toward the next chord change or the next attack
    of its own pitch, as under a sustain pedal changed with the harmony. A note is only ever lengthened, and
    by the amount of the bar it starts in; ``keep_melody`` leaves a user's given melody as it is. Changes the
    tracks in place; a piece whose sections are all of arousal 0 or above is left as it is."""
    amounts = [legato_amount(plan, b) for b in range(plan.n_bars)]
    if not any(amounts):
        return piece
    lines = plan.bar_start_ticks(piece.resolution)
    beat = [piece.resolution * 4 // plan.bar_meter(b)[1] for b in range(plan.n_bars)]

    def held(n: Note, target: int) -> Note:
        amount = amounts[_bar_of(lines, n.start)]
        end = n.end + round(amount * (min(target, piece.end_tick) - n.end))
        return Note(n.start, end - n.start, n.pitch, n.velocity) if end > n.end else n

    melody = piece.track("melody")
    if melody is not None and not keep_melody:
        onsets = sorted({n.start for n in melody.notes})
        notes = []
        for n in melody.notes:
            i = bisect.bisect_right(onsets, n.start)
            nxt = onsets[i] if i < len(onsets) else None
            join = nxt is not None and n.end < nxt and nxt - n.end <= beat[_bar_of(lines, n.end)]
            notes.append(held(n, nxt) if join else n)
        melody.notes = notes
    harmony = piece.track("harmony")
    if harmony is not None:
        changes = [s.start_tick for s in plan.chord_spans(piece.resolution)] + [lines[-1]]
        by_pitch: dict[int, list[int]] = {}
        for n in harmony.notes:
            by_pitch.setdefault(n.pitch, []).append(n.start)
        for starts in by_pitch.values():
            starts.sort()
        notes = []
        for n in harmony.notes:
            change = changes[min(bisect.bisect_right(changes, n.start), len(changes) - 1)]
            same = by_pitch[n.pitch]
            j = bisect.bisect_right(same, n.start)
            again = same[j] if j < len(same) else change
            notes.append(held(n, min(change, again)))
        harmony.notes = notes
    return piece


# ----- re-composing a bar range, the rest kept ----------------------------------------------------------------------
def splice(new: Piece, kept: Piece, plan: MusicPlan, bars: range) -> Piece:
    """``new`` (the whole plan composed again) inside ``bars`` and ``kept`` (an earlier piece of this plan's bar
    grid) everywhere else, track by track (by name): a kept note that rings into the range is cut at its first bar
    line, a new note that rings out of it at its last, so only the range's notes change. A track the plan no longer
    has is dropped; one it newly has plays in the range only. The tempo map, markers and programs are the new
    piece's (the plan's). Raises :class:`EngineError` when ``kept`` is not on the plan's bar grid."""
    from . import EngineError

    lines = plan.bar_start_ticks(new.resolution)
    if kept.resolution != new.resolution:
        raise EngineError(f"the kept piece has {kept.resolution} ticks a quarter, the plan's grid "
                          f"{new.resolution}: keep a score.mid framescore wrote")
    if not (0 <= bars.start < bars.stop <= plan.n_bars):
        raise EngineError(f"bars {bars.start + 1}-{bars.stop} are outside the plan's 1-{plan.n_bars}")
    theirs = kept.bar_starts(lines[-1])
    if theirs[:len(lines)] != lines[:len(theirs)] or len(theirs) < bars.stop + 1:
        raise EngineError("the kept piece's bars do not line up with the plan's (another meter or bar count): "
                          "re-compose the whole plan")
    lo, hi = lines[bars.start], lines[bars.stop]
    old = {t.name: t for t in kept.tracks}
    for track in new.tracks:
        inside = [Note(n.start, min(n.end, hi) - n.start, n.pitch, n.velocity) for n in track.notes
                  if lo <= n.start < hi]
        before, after = [], []
        if track.name in old:
            for n in old[track.name].notes:
                if n.start < lo:
                    before.append(n if n.end <= lo else Note(n.start, lo - n.start, n.pitch, n.velocity))
                elif n.start >= hi and n.start < new.end_tick:
                    after.append(Note(n.start, min(n.end, new.end_tick) - n.start, n.pitch, n.velocity))
        track.notes = sorted(before + inside + after)
    return new
