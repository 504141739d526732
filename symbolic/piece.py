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
           "Piece", "piece_from_plan_grid"]


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
class Marker:
    """A text event at a tick: chord symbols (``kind="chord"``) and section labels (``kind="section"``)."""

    tick: int
    text: str
    kind: str = "marker"


@dataclass
class Piece:
    """A score: tracks, tempo map, one meter, key, chord and section markers, and the plan it realizes."""

    tracks: list[Track]
    tempos: list[TempoChange] = field(default_factory=lambda: [TempoChange(0, 120.0)])
    meter: tuple[int, int] = (4, 4)
    key: str | None = None
    markers: list[Marker] = field(default_factory=list)
    end_tick: int = 0
    resolution: int = TICKS_PER_QUARTER
    plan: MusicPlan | None = None

    def __post_init__(self) -> None:
        if not self.end_tick:
            self.end_tick = max((t.end for t in self.tracks), default=0)
        self.tempos.sort(key=lambda t: t.tick)
        if not self.tempos or self.tempos[0].tick != 0:
            self.tempos.insert(0, TempoChange(0, self.tempos[0].bpm if self.tempos else 120.0))

    # ----- time ----------------------------------------------------------------------------------------------
    @property
    def ticks_per_bar(self) -> int:
        num, den = self.meter
        return self.resolution * 4 * num // den

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
        return -(-self.end_tick // self.ticks_per_bar) if self.end_tick else 0

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

    Every engine starts from this, so all of them agree on where bars, chords and the end fall. Bars are equal
    in ticks; tempo changes at section starts make the cuts land on bar lines in seconds.
    """
    num, den = plan.meter_tuple
    tpb = resolution * 4 * num // den
    tempos: list[TempoChange] = []
    markers: list[Marker] = []
    for s in plan.sections:
        bpm = plan.tempo_bpm if s.tempo_bpm is None else s.tempo_bpm
        if not tempos or abs(tempos[-1].bpm - bpm) > 1e-9:
            tempos.append(TempoChange(s.start_bar * tpb, bpm))
        markers.append(Marker(s.start_bar * tpb, s.label, "section"))
    flats = plan.key_obj.uses_flats
    prev = None
    for span in plan.chord_spans(resolution):
        sym = span.chord.symbol(flats)
        if sym != prev:
            markers.append(Marker(span.start_tick, sym, "chord"))
            prev = sym
    piece = Piece(tracks=[], tempos=tempos, meter=(num, den), key=plan.key, markers=markers, end_tick=1,
                  resolution=resolution, plan=plan)
    piece.end_tick = min(piece.sec_to_tick(plan.duration_sec), plan.n_bars * tpb)
    piece.markers.sort(key=lambda m: (m.tick, m.kind))
    return piece
