"""The contract every engine's piece keeps with its plan, checked by the engines' gate on every piece.

:func:`check_piece` raises :class:`~framescore.symbolic.engines.EngineError` naming the engine and the first
violation (its bar, track and note); :func:`violations` lists them all. What a piece must be:

- **its plan's grid**: the meter and its changes (bars of another length), resolution, tempo map, key, chord
  and section markers and end tick of :func:`~framescore.symbolic.piece.piece_from_plan_grid` (so its bars
  start where the plan's do, and it lasts the plan's duration);
- **the instrumentation's tracks**: one track per role of ``plan.instrumentation`` and one per layer
  (:func:`~framescore.symbolic.layers.layer_tracks`: ``harmony_2``...) and no other, each on its
  General MIDI program (no program change to another), the drum track (channel 10, ``is_drum``) exactly when
  the role is ``drums``;
- **notes inside the music**: each starts at tick 0 or later and ends no later than the piece's end (so inside
  the plan's bars), lasts at least a tick, with a MIDI pitch (0-127) and a velocity of 1-127 (0 would be a
  note-off); controller, pitch-bend and program-change events fall inside the music too;
- **the melody's silences**: no melody note starts in a bar whose ``BarPlan.melody`` is False.

What every engine also owes its plan, but the gate does not enforce (a user's own melody, kept as given, may rest
where it likes): :func:`tuneless_bars`, the bars that should carry the tune and hear none. The engines' contract
tests require it empty.

Bar numbers in the messages are the plan's bars (:meth:`~framescore.symbolic.piece.Piece.bar_of` on the
grid), whatever their lengths.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from .piece import Note, Piece, piece_from_plan_grid
from .plan import MusicPlan

__all__ = ["check_piece", "tuneless_bars", "violations"]


def tuneless_bars(piece: Piece, plan: MusicPlan) -> list[int]:
    """The bars whose plan gives the melody a part (``BarPlan.melody``) in which no melody note sounds (begins
    or rings on), within the music; empty when the instrumentation has no melody."""
    melody = piece.track("melody")
    if "melody" not in plan.instrumentation or melody is None:
        return []
    grid = piece_from_plan_grid(plan)
    lines = grid.bar_starts(grid.end_tick + 1)[:plan.n_bars] + [grid.end_tick]
    out = []
    for b, bp in enumerate(plan.bars):
        lo, hi = lines[b], min(lines[b + 1], grid.end_tick)
        if bp.melody and hi > lo and not any(n.start < hi and n.end > lo for n in melody.notes):
            out.append(b)
    return out


def violations(piece: Piece, plan: MusicPlan) -> Iterator[str]:
    """Every way ``piece`` breaks its ``plan``'s contract, in order (grid, tracks, then notes track by track)."""
    grid = piece_from_plan_grid(plan)
    if piece.resolution != grid.resolution:
        yield f"resolution {piece.resolution} ticks a quarter, not {grid.resolution}"
        return  # every tick below would be compared on a different scale
    if tuple(piece.meter) != grid.meter:
        yield f"time signature {piece.meter[0]}/{piece.meter[1]}, the plan's is {plan.meter}"
    if list(piece.meter_changes) != grid.meter_changes:
        yield f"meter changes {_meters(piece)}, the plan's are {_meters(grid)}"
    if piece.tempos != grid.tempos:
        yield f"tempo map {_tempos(piece)}, the plan's is {_tempos(grid)}"
    if piece.end_tick != grid.end_tick:
        yield f"ends at tick {piece.end_tick}, the plan's music ends at tick {grid.end_tick}"
    if piece.key != grid.key:
        yield f"key {piece.key!r}, the plan's is {grid.key!r}"
    if piece.markers != grid.markers:
        diff = next((i for i, (a, b) in enumerate(zip(piece.markers, grid.markers)) if a != b),
                    min(len(piece.markers), len(grid.markers)))
        got = piece.markers[diff] if diff < len(piece.markers) else "none"
        want = grid.markers[diff] if diff < len(grid.markers) else "none"
        yield f"marker {diff} is {got}, the plan's is {want}"

    from .layers import layer_tracks

    roles = {**plan.instrumentation, **{name: program for name, _, program in layer_tracks(plan)}}
    seen: set[str] = set()
    for t in piece.tracks:
        if t.name not in roles:
            yield f"track {t.name!r} is not in the instrumentation ({', '.join(roles)})"
        elif t.name in seen:
            yield f"track {t.name!r} appears twice"
        seen.add(t.name)
    for role in roles:
        if role not in seen:
            yield f"track {role!r} of the instrumentation is missing"

    end = grid.end_tick
    last = max([n.start for t in piece.tracks for n in t.notes]
               + [e.tick for t in piece.tracks for e in (*t.controls, *t.pitch_bends, *t.programs)], default=0)
    lines = grid.bar_starts(max(last, end) + 1)  # the plan's bar lines, then bars of the last meter past the end

    def bar(tick: int) -> int:
        return max(bisect.bisect_right(lines, tick) - 1, 0)

    silent = {b for b, bp in enumerate(plan.bars) if not bp.melody}
    for t in piece.tracks:
        where = f"track {t.name!r}"
        if t.name in roles and t.program != roles[t.name]:
            yield f"{where}: program {t.program}, the instrumentation's is {roles[t.name]}"
        if t.is_drum != (t.name == "drums"):
            yield f"{where}: " + ("on the drum channel (10)" if t.is_drum else "not on the drum channel (10)")
        for pc in t.programs:
            if t.name in roles and pc.program != roles[t.name]:
                yield f"bar {bar(pc.tick)}, {where}: program change to {pc.program} at tick {pc.tick}"
        for kind, events in (("control change", t.controls), ("pitch bend", t.pitch_bends),
                             ("program change", t.programs)):
            for e in events:
                if not 0 <= e.tick <= end:
                    yield f"bar {bar(e.tick)}, {where}: {kind} at tick {e.tick}, outside the music (0-{end})"
        for n in t.notes:
            problem = _note_problem(n, end)
            if problem is None and t.name == "melody" and bar(n.start) in silent:
                problem = "starts in a bar whose melody is off (the plan's melody flag)"
            if problem:
                yield f"bar {bar(n.start)}, {where}, note {_note(n)}: {problem}"


def _note_problem(n: Note, end: int) -> str | None:
    if n.duration < 1:
        return f"duration {n.duration} (a note lasts at least a tick)"
    if n.start < 0:
        return "starts before the music"
    if n.end > end:
        return f"ends at tick {n.end}, after the music's end (tick {end})"
    if not 0 <= n.pitch <= 127:
        return f"pitch {n.pitch} outside MIDI's 0-127"
    if not 1 <= n.velocity <= 127:
        return f"velocity {n.velocity} outside 1-127"
    return None


def _note(n: Note) -> str:
    return f"(start {n.start}, duration {n.duration}, pitch {n.pitch}, velocity {n.velocity})"


def _meters(piece: Piece) -> str:
    return ", ".join(f"{m.numerator}/{m.denominator} at tick {m.tick}" for m in piece.meter_changes) or "none"


def _tempos(piece: Piece) -> str:
    return ", ".join(f"{t.bpm:g} bpm at tick {t.tick}" for t in piece.tempos)


def check_piece(piece: Piece, plan: MusicPlan, engine: str | None = None) -> Piece:
    """Raise :class:`~framescore.symbolic.engines.EngineError` naming ``engine`` (default ``plan.engine``) and the
    first way ``piece`` breaks ``plan``'s contract; return the piece when it keeps it."""
    first = next(violations(piece, plan), None)
    if first is not None:
        from .engines import EngineError

        raise EngineError(f"the {engine or plan.engine} engine broke its plan: {first}")
    return piece
