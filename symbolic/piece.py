"""Piece: a multi-track score in integer ticks, the one type every writer, renderer and metric reads.

Time is in ticks at a fixed resolution (``TICKS_PER_QUARTER``) inside the score; seconds only appear at the edges
(``tick_to_sec``/``sec_to_tick`` through the tempo map). A piece made by an engine carries its plan; one read from
an arbitrary MIDI file does not.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from .plan import TICKS_PER_QUARTER, MusicPlan

__all__ = ["TICKS_PER_QUARTER", "Note", "ControlChange", "PitchBend", "ProgramChange", "Track", "TempoChange", "Marker",
           "MeterChange", "Piece", "piece_from_plan_grid"]


@dataclass(frozen=True, order=True)
class Note:
    """One note: onset and length in ticks, MIDI pitch, velocity 1-127."""

    start: int
    duration: int
    pitch: int
    velocity: int = 80

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True)
class ControlChange:
    """A MIDI control change at a tick: controller ``number`` 0-127 (64 sustain pedal, 7 volume, 10 pan, ...)."""

    tick: int
    number: int
    value: int


@dataclass(frozen=True)
class PitchBend:
    """A pitch-wheel position at a tick: -8192..8191, 0 is the centre (as mido and symusic count)."""

    tick: int
    value: int


@dataclass(frozen=True)
class ProgramChange:
    """A General MIDI program (0-127) that takes over at a tick, after the track's starting ``program``."""

    tick: int
    program: int


@dataclass
class Track:
    """An instrument part on one MIDI channel. ``name`` is its role (melody, harmony, bass, drums) for our own pieces.

    ``program`` is the instrument the part starts with; ``programs`` the changes after that. ``controls`` and
    ``pitch_bends`` are the channel's performance data, in time order; events at one tick keep their order (an RPN
    sets 101, 100, then 6). Our engines write none of them; a MIDI file read from outside may hold them all.
    """

    name: str
    program: int = 0
    is_drum: bool = False
    notes: list[Note] = field(default_factory=list)
    controls: list[ControlChange] = field(default_factory=list)
    pitch_bends: list[PitchBend] = field(default_factory=list)
    programs: list[ProgramChange] = field(default_factory=list)

    def sort(self) -> Track:
        """Notes in order; controls, bends and program changes by tick, keeping the order within a tick."""
        self.notes.sort()
        for events in (self.controls, self.pitch_bends, self.programs):
            events.sort(key=lambda e: e.tick)
        return self

    @property
    def end(self) -> int:
        """The last tick anything in the track happens at: a note's end or a controller, bend or program change."""
        return max([n.end for n in self.notes] + [e.tick for e in (*self.controls, *self.pitch_bends,
                                                                   *self.programs)], default=0)


@dataclass(frozen=True)
class TempoChange:
    tick: int
    bpm: float  # quarter notes per minute


@dataclass(frozen=True)
class MeterChange:
    """A time signature taking effect at a tick after the start (a bar line): ``numerator/denominator``."""

    tick: int
    numerator: int
    denominator: int


@dataclass(frozen=True)
class Marker:
    """A text event at a tick: chord symbols (``kind="chord"``) and section labels (``kind="section"``)."""

    tick: int
    text: str
    kind: str = "marker"


@dataclass
class Piece:
    """A score: tracks, tempo map, meter (and its changes), key, chord and section markers, and the plan it
    realizes.

    ``meter`` is the time signature at tick 0; ``meter_changes`` the later ones, each on a bar line of the meter
    before it. :meth:`bar_starts` is where the bars fall; ``ticks_per_bar`` is a bar of the first meter.
    """

    tracks: list[Track]
    tempos: list[TempoChange] = field(default_factory=lambda: [TempoChange(0, 120.0)])
    meter: tuple[int, int] = (4, 4)
    meter_changes: list[MeterChange] = field(default_factory=list)
    key: str | None = None
    markers: list[Marker] = field(default_factory=list)
    end_tick: int = 0
    resolution: int = TICKS_PER_QUARTER
    plan: MusicPlan | None = None

    def __post_init__(self) -> None:
        if not self.end_tick:
            self.end_tick = max((t.end for t in self.tracks), default=0)
        self.tempos.sort(key=lambda t: t.tick)
        self.meter_changes.sort(key=lambda m: m.tick)
        if not self.tempos or self.tempos[0].tick != 0:
            self.tempos.insert(0, TempoChange(0, self.tempos[0].bpm if self.tempos else 120.0))

    # ----- time ----------------------------------------------------------------------------------------------
    @property
    def ticks_per_bar(self) -> int:
        """Ticks in a bar of the first meter (:meth:`bar_starts` where the meter changes)."""
        num, den = self.meter
        return self.resolution * 4 * num // den

    def meter_at(self, tick: int) -> tuple[int, int]:
        """The time signature in force at ``tick``."""
        m = self.meter
        for c in self.meter_changes:
            if c.tick > tick:
                break
            m = (c.numerator, c.denominator)
        return m

    def bar_starts(self, until: int | None = None) -> list[int]:
        """Tick of every bar line from 0 through the first at or after ``until`` (default: the end tick), each
        bar the length of the meter in force at its start; a bar cut short by a meter change ends there."""
        until = self.end_tick if until is None else until
        changes = [(c.tick, (c.numerator, c.denominator)) for c in self.meter_changes]
        out, tick, meter, i = [0], 0, self.meter, 0
        while tick < until:
            while i < len(changes) and changes[i][0] <= tick:
                meter = changes[i][1]
                i += 1
            nxt = tick + self.resolution * 4 * meter[0] // meter[1]
            if i < len(changes) and changes[i][0] < nxt:
                nxt = changes[i][0]
            out.append(nxt)
            tick = nxt
        return out

    def bar_of(self, ticks: Iterable[int]) -> list[int]:
        """The bar (0-based, :meth:`bar_starts`) each tick falls in."""
        ticks = list(ticks)
        starts = self.bar_starts(max(ticks, default=0) + 1)
        return [max(bisect.bisect_right(starts, t) - 1, 0) for t in ticks]

    def _tempo_seconds(self) -> list[float]:
        """Seconds at each tempo change."""
        secs = [0.0]
        for a, b in zip(self.tempos, self.tempos[1:]):
            secs.append(secs[-1] + (b.tick - a.tick) * 60.0 / (a.bpm * self.resolution))
        return secs

    def tick_to_sec(self, tick: float) -> float:
        return self.ticks_to_secs([tick])[0]

    def ticks_to_secs(self, ticks: Iterable[float]) -> list[float]:
        """:meth:`tick_to_sec` for many ticks, walking the tempo map once rather than once a tick."""
        secs = self._tempo_seconds()
        starts = [t.tick for t in self.tempos]
        out = []
        for tick in ticks:
            i = max(bisect.bisect_right(starts, tick) - 1, 0)
            t = self.tempos[i]
            out.append(secs[i] + (tick - t.tick) * 60.0 / (t.bpm * self.resolution))
        return out

    def sec_to_tick(self, sec: float) -> int:
        """The tick at ``sec`` seconds, rounded to the nearest tick."""
        secs = self._tempo_seconds()
        i = max(bisect.bisect_right(secs, sec) - 1, 0)
        t = self.tempos[i]
        return round(t.tick + (sec - secs[i]) * t.bpm * self.resolution / 60.0)

    @property
    def duration_sec(self) -> float:
        return self.tick_to_sec(self.end_tick)

    @property
    def n_bars(self) -> int:
        return len(self.bar_starts()) - 1 if self.end_tick else 0

    # ----- access --------------------------------------------------------------------------------------------
    def track(self, name: str) -> Track | None:
        return next((t for t in self.tracks if t.name == name), None)

    def notes(self, include_drums: bool = False) -> list[Note]:
        """All pitched notes (and drum hits if asked), sorted."""
        return sorted(n for t in self.tracks if include_drums or not t.is_drum for n in t.notes)

    def chord_markers(self) -> list[Marker]:
        return [m for m in self.markers if m.kind == "chord"]

    def section_markers(self) -> list[Marker]:
        return [m for m in self.markers if m.kind == "section"]


def piece_from_plan_grid(plan: MusicPlan, resolution: int = TICKS_PER_QUARTER) -> Piece:
    """An empty piece with the plan's tempo map, meter, key, chord and section markers and exact end tick.

    Every engine starts from this, so all of them agree on where bars, chords and the end fall. Each bar is its
    meter's length in ticks (a meter change where a bar of another length starts and where it ends); the
    plan's tempo map (:meth:`MusicPlan.tempo_changes`) makes the cuts land on bar lines in seconds.
    """
    lines = plan.bar_start_ticks(resolution)
    tempos = [TempoChange(tick, bpm) for tick, bpm in plan.tempo_changes(resolution)]
    meter_changes: list[MeterChange] = []
    current = plan.bar_meter(0)
    for b in range(1, plan.n_bars):
        m = plan.bar_meter(b)
        if m != current:
            meter_changes.append(MeterChange(lines[b], *m))
            current = m
    markers = [Marker(lines[s.start_bar], s.label, "section") for s in plan.sections]
    flats = plan.key_obj.uses_flats
    prev = None
    for span in plan.chord_spans(resolution):
        sym = span.chord.symbol(flats)
        if sym != prev:
            markers.append(Marker(span.start_tick, sym, "chord"))
            prev = sym
    piece = Piece(tracks=[], tempos=tempos, meter=plan.bar_meter(0), meter_changes=meter_changes, key=plan.key,
                  markers=markers, end_tick=1, resolution=resolution, plan=plan)
    piece.end_tick = min(piece.sec_to_tick(plan.duration_sec), lines[-1])
    piece.markers.sort(key=lambda m: (m.tick, m.kind))
    return piece
