"""MusicPlan: the explicit, editable bridge between what is seen and what is played.

A plan is a small versioned JSON document. Everything an engine is conditioned on is in it, so a user can read
it, edit it and feed it back (``framescore compose plan.json``). Chords are stored in the canonical POP909 form
(``C:maj``) after parsing; the parser accepts other spellings when a plan is built or loaded.

Time: bars are the unit. ``tempo_bpm`` is the piece's base tempo; a section may nudge it (``Section.tempo_bpm``)
and may reach its tempo gradually over its first bar (``Section.ramp``: an accelerando or ritardando beat by
beat). ``meter`` is the piece's meter; a bar may have another length (``BarPlan.meter``: a 2/4 or 3/4 bar inside
4/4 that lets a cut land on a downbeat). The bars must cover ``duration_sec``; the last bar may be cut short by
the end of the music. Every reader of time goes through :meth:`MusicPlan.bar_start_ticks`,
:meth:`MusicPlan.bar_meter` and :meth:`MusicPlan.tempo_changes`, so a bar of another length or a ramp is one
fact every engine, writer and metric sees alike.

Form (schema version 2): each section carries a ``theme`` (sections sharing one share material: a later one
returns to the first's) and a ``role`` (:data:`FORM_ROLES`); a bar says whether the melody plays (``melody``)
and whether it closes a phrase with a cadence (``cadence``: :data:`CADENCES`). :mod:`.form` reads these for
every engine. Version-1 plans load, migrated (:func:`migrate`).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FramescoreError
from .chords import Chord, ChordError, Key, KeyError_, parse_chord, parse_key

__all__ = [
    "BarPlan",
    "CADENCES",
    "ChordSlot",
    "ChordSpan",
    "FORM_ROLES",
    "GM_DEFAULTS",
    "MusicPlan",
    "PlanError",
    "ROLES",
    "SCHEMA_VERSION",
    "Section",
    "TICKS_PER_QUARTER",
    "VELOCITY_RANGE",
    "check_engine",
    "dynamics_of",
    "load_plan",
    "migrate",
    "parse_meter",
    "simple_plan",
    "velocity_of",
]

SCHEMA_VERSION = 2
#: What a section does in the form: an opening before the first theme, a theme's first statement, contrasting
#: material, a return of an earlier theme, the close.
FORM_ROLES = ("intro", "theme", "contrast", "return", "ending")
#: How a phrase closes: on the dominant (half) or dominant → tonic (authentic).
CADENCES = ("half", "authentic")
#: Ticks per quarter note inside every score (:mod:`.piece` keeps time in these).
TICKS_PER_QUARTER = 480
ROLES = ("melody", "harmony", "bass", "drums")
#: Default General MIDI programs per role (drums: program 0 on channel 10, standard kit).
GM_DEFAULTS = {"melody": 0, "harmony": 0, "bass": 33, "drums": 0}
TEMPO_RANGE = (30.0, 300.0)
DURATION_RANGE = (0.05, 3600.0)
MIN_CHORD_GAP_BEATS = 0.0625  # two chord slots closer than a 64th note would land on one tick
#: The mean MIDI velocities a bar's dynamics spans: dynamics 0 is the first, 1 the second, linear between.
VELOCITY_RANGE = (40.0, 110.0)


class PlanError(FramescoreError):
    """A plan that is malformed or out of range; the message names the field."""


def check_engine(name: str) -> None:
    """``name`` is a registered engine (:mod:`.engines`: one registry), else a :class:`PlanError`."""
    from .engines import engine_names, unknown_engine

    if name not in engine_names():
        raise PlanError(unknown_engine(name))


def __getattr__(name: str) -> Any:
    if name == "ENGINES":  # the engine names, from the registry (read on first use)
        from .engines import engine_names

        return engine_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_meter(text: str) -> tuple[int, int]:
    """``"4/4"`` → ``(4, 4)``. Numerator 1–16, denominator 2, 4, 8 or 16."""
    try:
        num_s, den_s = text.strip().split("/")
        num, den = int(num_s), int(den_s)
    except ValueError:
        raise PlanError(f"unreadable meter {text!r} (use e.g. 4/4 or 3/4)") from None
    if not (1 <= num <= 16) or den not in (2, 4, 8, 16):
        raise PlanError(f"meter {text!r} out of range (numerator 1-16, denominator 2, 4, 8 or 16)")
    return num, den


@dataclass
class ChordSlot:
    """A chord starting at ``beat`` (0-based, in the meter's beats) within its bar."""

    beat: float
    chord: str

    @property
    def parsed(self) -> Chord:
        return parse_chord(self.chord)


def velocity_of(dynamics: float) -> float:
    """The mean MIDI velocity a bar of ``dynamics`` (0-1) asks for: 40 at 0, 110 at 1 (:data:`VELOCITY_RANGE`).

    The one meaning of ``dynamics``: every engine plays it and the labels and metrics measure it
    (:func:`dynamics_of`, the inverse). Unrounded, so an engine adds its accents before it rounds.
    """
    lo, hi = VELOCITY_RANGE
    return lo + (hi - lo) * dynamics


def dynamics_of(mean_velocity: float) -> float:
    """The dynamics (0-1) of a bar whose notes' mean velocity is ``mean_velocity``: the inverse of
    :func:`velocity_of`, clipped to [0, 1] outside :data:`VELOCITY_RANGE`."""
    lo, hi = VELOCITY_RANGE
    return float(min(1.0, max(0.0, (mean_velocity - lo) / (hi - lo))))


@dataclass(frozen=True)
class ChordSpan:
    """One chord of the plan's timeline: slot ``beat`` of ``bar``, sounding from ``start_tick`` to ``end_tick``.

    ``start_tick`` is ``bar * ticks_per_bar + round(beat * beat_ticks)``; ``end_tick`` is the next chord's start
    (in this bar or a later one), or the end of the last bar. Two slots that round to one tick give the first an
    empty span (``start_tick == end_tick``): the later one sounds.
    """

    bar: int
    beat: float
    start_tick: int
    end_tick: int
    chord: Chord


@dataclass
class BarPlan:
    """What one bar must do: its chords, how busy (density) and how loud (dynamics) it is, both in [0, 1]
    (dynamics: the mean velocity :func:`velocity_of` gives, 40-110).

    ``meter``: this bar's length when it differs from the plan's (``"2/4"`` inside 4/4); ``melody``: whether the
    melody plays in it (an intro or a breath has none); ``cadence``: the phrase ends in this bar, on a half or an
    authentic cadence (:data:`CADENCES`).
    """

    chords: list[ChordSlot]
    density: float = 0.5
    dynamics: float = 0.5
    meter: str | None = None
    melody: bool = True
    cadence: str | None = None


@dataclass
class Section:
    """A span of bars opened by a scene cut (``cut_sec``) or by the start of the piece.

    ``label`` names the section (a marker in the MIDI); ``theme`` is its material: sections with the same theme
    play the same music, the later ones fitted to their own chords and length (None: material of its own).
    ``role`` is its place in the form (:data:`FORM_ROLES`). ``ramp``: the section reaches its tempo gradually,
    beat by beat over its first bar, from the previous section's.
    """

    label: str
    start_bar: int
    n_bars: int
    cut_sec: float | None = None
    tempo_bpm: float | None = None
    valence: float | None = None
    arousal: float | None = None
    theme: str | None = None
    role: str = "theme"
    ramp: bool = False


@dataclass
class MusicPlan:
    """The plan an engine realizes. See DESIGN.md, "MusicPlan: the explicit bridge"."""

    duration_sec: float
    tempo_bpm: float
    meter: str
    key: str
    bars: list[BarPlan]
    sections: list[Section]
    valence: float = 0.0
    arousal: float = 0.0
    instrumentation: dict[str, int] = field(default_factory=lambda: dict(GM_DEFAULTS))
    #: more instruments for a role, each its own track playing that role's part its own way (:mod:`.layers`):
    #: ``{"harmony": [48], "melody": [65]}``; a role here must be in ``instrumentation``; drums take none
    layers: dict[str, list[int]] = field(default_factory=dict)
    #: the genre or style the plan was made in (:data:`.styles.STYLES`): its groove and swing; None: no style
    style: str | None = None
    seed: int = 0
    engine: str = "rule"
    source: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # ----- derived views -------------------------------------------------------------------------------------
    @property
    def n_bars(self) -> int:
        return len(self.bars)

    @property
    def meter_tuple(self) -> tuple[int, int]:
        """The piece's meter; a bar may have another (:meth:`bar_meter`)."""
        return parse_meter(self.meter)

    @property
    def beats_per_bar(self) -> int:
        """Beats in a bar of the piece's meter (:meth:`bar_meter` for one bar)."""
        return self.meter_tuple[0]

    @property
    def quarters_per_bar(self) -> float:
        """Length in quarter notes of a bar in the piece's meter (3/8 → 1.5); tempo is in quarters per minute."""
        num, den = self.meter_tuple
        return num * 4 / den

    @property
    def uniform(self) -> bool:
        """Every bar in the piece's meter (no bar of another length)."""
        return all(b.meter is None or parse_meter(b.meter) == self.meter_tuple for b in self.bars)

    def bar_meter(self, bar: int) -> tuple[int, int]:
        """``(numerator, denominator)`` of ``bar``: its own meter, else the piece's."""
        m = self.bars[bar].meter
        return self.meter_tuple if m is None else parse_meter(m)

    def bar_quarters(self, bar: int) -> float:
        num, den = self.bar_meter(bar)
        return num * 4 / den

    def bar_start_ticks(self, resolution: int = TICKS_PER_QUARTER) -> list[int]:
        """Tick of each bar line at ``resolution`` ticks a quarter: ``n_bars + 1`` values, the last the end of
        the last bar. A bar is ``resolution * 4 * num // den`` ticks of its own meter."""
        out = [0]
        for b in range(self.n_bars):
            num, den = self.bar_meter(b)
            out.append(out[-1] + resolution * 4 * num // den)
        return out

    @property
    def key_obj(self) -> Key:
        return parse_key(self.key)

    def section_of_bar(self, bar: int) -> Section:
        for s in self.sections:
            if s.start_bar <= bar < s.start_bar + s.n_bars:
                return s
        raise PlanError(f"bar {bar} is in no section")

    def bar_tempo(self, bar: int) -> float:
        """The tempo (quarter notes per minute) ``bar`` reaches: its section's, else the base tempo."""
        t = self.section_of_bar(bar).tempo_bpm
        return self.tempo_bpm if t is None else t

    def beat_tempos(self, bar: int) -> list[float]:
        """The tempo of each beat of ``bar`` (its meter's numerator of them). Steady but in the first bar of a
        section with ``ramp``: there beat ``i`` of ``n`` plays at ``prev * (new / prev) ** ((i + 1) / n)``, so
        the tempo moves geometrically from the previous section's and reaches the new one on the last beat."""
        num, _ = self.bar_meter(bar)
        sec = self.section_of_bar(bar)
        new = self.tempo_bpm if sec.tempo_bpm is None else sec.tempo_bpm  # bar_tempo, without a second search
        if sec.ramp and bar == sec.start_bar and bar > 0:
            prev = self.bar_tempo(bar - 1)
            return [prev * (new / prev) ** ((i + 1) / num) for i in range(num)]
        return [new] * num

    def bar_seconds(self, bar: int) -> float:
        _, den = self.bar_meter(bar)
        return sum(4 / den * 60.0 / t for t in self.beat_tempos(bar))

    def bar_start_sec(self, bar: int) -> float:
        """Start time of ``bar`` (``bar == n_bars`` gives the end of the last full bar)."""
        return sum(self.bar_seconds(b) for b in range(bar))

    def bar_start_secs(self) -> list[float]:
        """:meth:`bar_start_sec` of every bar line, ``n_bars + 1`` values, in one pass."""
        out = [0.0]
        for b in range(self.n_bars):
            out.append(out[-1] + self.bar_seconds(b))
        return out

    def tempo_changes(self, resolution: int = TICKS_PER_QUARTER) -> list[tuple[int, float]]:
        """The tempo map, ``(tick, bpm)`` where the tempo changes, the first at tick 0: what MIDI writes."""
        starts = self.bar_start_ticks(resolution)
        out: list[tuple[int, float]] = []
        for b in range(self.n_bars):
            _, den = self.bar_meter(b)
            for i, bpm in enumerate(self.beat_tempos(b)):
                if not out or abs(out[-1][1] - bpm) > 1e-9:
                    out.append((starts[b] + i * resolution * 4 // den, bpm))
        return out

    def chords_at(self, bar: int) -> list[tuple[float, Chord]]:
        """Parsed ``(beat, chord)`` pairs of one bar, in order."""
        return [(slot.beat, parse_chord(slot.chord)) for slot in self.bars[bar].chords]

    def chord_spans(self, resolution: int = TICKS_PER_QUARTER, bar: int | None = None) -> list[ChordSpan]:
        """The plan's chord timeline in ticks of ``resolution`` a quarter note: one :class:`ChordSpan` per chord
        slot, in order (``bar``: only that bar's slots; its last still ends where the next chord starts).

        The one place a slot's beat becomes a tick: bars of ``resolution * 4 * num // den`` ticks, beats of
        ``resolution * 4 // den`` (each bar in its own meter, :meth:`bar_meter`). Any grid is a resolution: a
        roll of 4 steps a quarter is ``resolution=4``.
        """
        lines = self.bar_start_ticks(resolution)
        first, last = (0, self.n_bars) if bar is None else (bar, min(bar + 2, self.n_bars))
        slots = [(b, beat, chord) for b in range(first, last) for beat, chord in self.chords_at(b)]
        starts = [lines[b] + round(beat * (resolution * 4 // self.bar_meter(b)[1])) for b, beat, _ in slots]
        starts.append(lines[self.n_bars])
        spans = [ChordSpan(b, beat, start, end, chord)
                 for (b, beat, chord), start, end in zip(slots, starts, starts[1:])]
        return spans if bar is None else [s for s in spans if s.bar == bar]

    # ----- validation ----------------------------------------------------------------------------------------
    def _check_types(self) -> None:
        """Every field of a plan made or edited in code has its annotated type, as :meth:`from_dict` demands of
        a file (so a string density is a PlanError naming it, not a TypeError deep in an engine)."""
        fields_of = {k: v for k, v in vars(self).items() if k not in ("bars", "sections")}
        _typed_fields(fields_of, MusicPlan, "plan")
        for name in ("bars", "sections"):
            _typed_list(getattr(self, name), name)
        for i, bar in enumerate(self.bars):
            if not isinstance(bar, BarPlan):
                raise PlanError(f"bar {i} must be a BarPlan, not {type(bar).__name__}")
            _typed_fields({k: v for k, v in vars(bar).items() if k != "chords"}, BarPlan, f"bar {i}")
            for j, slot in enumerate(_typed_list(bar.chords, f"bar {i}: chords")):
                if not isinstance(slot, ChordSlot):
                    raise PlanError(f"bar {i}, chord {j} must be a ChordSlot, not {type(slot).__name__}")
                _typed_fields(vars(slot), ChordSlot, f"bar {i}, chord {j}")
        for i, sec in enumerate(self.sections):
            if not isinstance(sec, Section):
                raise PlanError(f"section {i} must be a Section, not {type(sec).__name__}")
            where = f"section {sec.label!r}" if isinstance(sec.label, str) else f"section {i}"
            _typed_fields(vars(sec), Section, where)

    def validate(self) -> MusicPlan:
        """Check every field; raise :class:`PlanError` naming the first problem. Returns self."""
        self._check_types()
        if self.schema_version != SCHEMA_VERSION:
            raise PlanError(f"plan schema_version {self.schema_version} is not supported (this is {SCHEMA_VERSION})")
        if not (DURATION_RANGE[0] <= self.duration_sec <= DURATION_RANGE[1]):
            raise PlanError(f"duration {self.duration_sec} s out of range ({DURATION_RANGE[0]}-{DURATION_RANGE[1]} s)")
        _check_tempo(self.tempo_bpm)
        parse_meter(self.meter)
        try:
            self.key = parse_key(self.key).name
        except KeyError_ as e:
            raise PlanError(str(e)) from None
        check_engine(self.engine)
        if not isinstance(self.seed, int) or self.seed < 0:
            raise PlanError(f"seed must be a non-negative integer, not {self.seed!r}")
        for name in ("valence", "arousal"):
            v = getattr(self, name)
            if not -1.0 <= v <= 1.0:
                raise PlanError(f"{name} {v} out of range [-1, 1]")
        if not self.bars:
            raise PlanError("plan has no bars")
        flats = self.key_obj.uses_flats
        for i, bar in enumerate(self.bars):
            for name in ("density", "dynamics"):
                v = getattr(bar, name)
                if not 0.0 <= v <= 1.0:
                    raise PlanError(f"bar {i}: {name} {v} out of range [0, 1]")
            if bar.meter is not None:
                try:
                    bar.meter = "{}/{}".format(*parse_meter(bar.meter))
                except PlanError as e:
                    raise PlanError(f"bar {i}: {e}") from None
            if bar.cadence is not None and bar.cadence not in CADENCES:
                raise PlanError(f"bar {i}: cadence {bar.cadence!r} is not one of {', '.join(CADENCES)} (or null)")
            num = self.bar_meter(i)[0]
            if not bar.chords:
                raise PlanError(f"bar {i} has no chord (use 'N' for none)")
            last = -1.0
            for slot in bar.chords:
                if not (0 <= slot.beat < num) or slot.beat < last + MIN_CHORD_GAP_BEATS:
                    raise PlanError(f"bar {i}: chord beat {slot.beat} must increase within 0..{num - 1}, "
                                    f"at least {MIN_CHORD_GAP_BEATS} beat after the previous chord")
                last = slot.beat
                try:
                    slot.chord = parse_chord(slot.chord, self.key_obj).symbol(flats)
                except ChordError as e:
                    raise PlanError(f"bar {i}: {e}") from None
        expect = 0
        if not self.sections:
            raise PlanError("plan has no sections")
        for s in self.sections:
            if s.start_bar != expect or s.n_bars < 1:
                raise PlanError(f"section {s.label!r} must start at bar {expect} and hold at least one bar")
            if s.tempo_bpm is not None:
                _check_tempo(s.tempo_bpm, f"section {s.label!r}: ")
            if s.role not in FORM_ROLES:
                raise PlanError(f"section {s.label!r}: role {s.role!r} is not one of {', '.join(FORM_ROLES)}")
            if s.theme is not None and not s.theme.strip():
                raise PlanError(f"section {s.label!r}: theme must be a name or null, not empty")
            if s.cut_sec is not None and not (math.isfinite(s.cut_sec) and s.cut_sec >= 0):
                raise PlanError(f"section {s.label!r}: cut_sec {s.cut_sec} must be a time in seconds, 0 or more")
            for name in ("valence", "arousal"):
                v = getattr(s, name)
                if v is not None and not -1.0 <= v <= 1.0:
                    raise PlanError(f"section {s.label!r}: {name} {v} out of range [-1, 1]")
            expect += s.n_bars
        if expect != self.n_bars:
            raise PlanError(f"sections cover {expect} bars but the plan has {self.n_bars}")
        for role, program in self.instrumentation.items():
            if role not in ROLES:
                raise PlanError(f"unknown instrument role {role!r} (one of {', '.join(ROLES)})")
            if not (isinstance(program, int) and 0 <= program <= 127):
                raise PlanError(f"instrument {role}: General MIDI program {program!r} out of range 0-127")
        if self.style is not None:
            from .styles import STYLES

            if self.style not in STYLES:
                raise PlanError(f"unknown style {self.style!r} (one of {', '.join(STYLES)}, or null)")
        pitched = sum(r != "drums" for r in self.instrumentation)
        for role, programs in self.layers.items():
            if role not in self.instrumentation or role == "drums":
                raise PlanError(f"layers: role {role!r} must be a pitched role of the instrumentation "
                                f"({', '.join(r for r in self.instrumentation if r != 'drums')})")
            if not isinstance(programs, list) or not all(isinstance(p, int) and not isinstance(p, bool)
                                                          and 0 <= p <= 127 for p in programs):
                raise PlanError(f"layers: {role} must be a list of General MIDI programs 0-127, not {programs!r}")
            pitched += len(programs)
        if pitched > 15:
            raise PlanError(f"{pitched} pitched tracks: MIDI has 15 channels besides the drums' (drop some layers)")
        lines = self.bar_start_secs()
        if lines[-1] < self.duration_sec - 1e-6:
            raise PlanError(f"bars last {lines[-1]:.3f} s, shorter than duration {self.duration_sec:.3f} s "
                            "(add bars, lower the tempo or shorten the duration)")
        if lines[-2] >= self.duration_sec - 1e-9:
            raise PlanError(f"the last bar starts at {lines[-2]:.3f} s, after the end ({self.duration_sec:.3f} s): "
                            "too many bars (remove bars, raise the tempo or lengthen the duration)")
        return self

    # ----- JSON ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in ("layers", "style"):
            if not d[name]:
                del d[name]  # a plan without layers or a style reads as it did before they existed
        # schema first, so a reader of the file sees it at the top
        return {"schema_version": d.pop("schema_version"), **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MusicPlan:
        """Build and validate a plan from parsed JSON (a version-1 plan migrated first); unknown or missing
        fields are errors."""
        d = dict(_typed_fields(migrate(d) if isinstance(d, dict) else d, cls, "plan"))
        try:
            bars = []
            for i, b in enumerate(_typed_list(d.pop("bars", None), "bars")):
                b = _typed_fields(b, BarPlan, f"bar {i}")
                chords = [ChordSlot(**_typed_fields(c, ChordSlot, f"bar {i}, chord {j}"))
                          for j, c in enumerate(_typed_list(b.pop("chords", None), f"bar {i}: chords"))]
                bars.append(BarPlan(chords=chords, **b))
            sections = [Section(**_typed_fields(s, Section, f"section {i}"))
                        for i, s in enumerate(_typed_list(d.pop("sections", None), "sections"))]
            plan = cls(bars=bars, sections=sections, **d)
            return plan.validate()
        except FramescoreError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:  # a field of the wrong type or shape
            raise PlanError(f"malformed plan: {type(e).__name__}: {e}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


def _type_ok(value: Any, hint: Any) -> bool:
    """Does a JSON value fit a field's annotation (numbers are never booleans; a float field takes an int)?"""
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is dict:
        key_t, val_t = typing.get_args(hint)
        return isinstance(value, dict) and all(_type_ok(k, key_t) and _type_ok(v, val_t) for k, v in value.items())
    if origin is list:
        return isinstance(value, list)
    return isinstance(value, hint)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved annotations (``get_type_hints`` is slow: a long plan has thousands of slots)."""
    import typing

    return typing.get_type_hints(cls)


def _typed_fields(obj: Any, cls: type, where: str) -> dict[str, Any]:
    """``obj`` as keyword arguments of dataclass ``cls``, each checked against its annotation (lists aside)."""
    import typing

    if not isinstance(obj, dict):
        raise PlanError(f"{where} must be a JSON object, not {type(obj).__name__}")
    hints = _hints(cls)
    for name, value in obj.items():
        if name not in hints:
            raise PlanError(f"{where}: unknown field {name!r}")
        hint = hints[name]
        if typing.get_origin(hint) is not list and not _type_ok(value, hint):
            want = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            raise PlanError(f"{where}: {name} must be {want}, not {_shown(value)}")
    return dict(obj)


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)[:40]
    except (TypeError, ValueError):
        return f"{type(value).__name__} {value!r}"[:40]


def _typed_list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise PlanError(f"{where} must be a JSON list" + ("" if value is not None else " (missing)"))
    return value


def migrate(d: dict[str, Any]) -> dict[str, Any]:
    """A version-1 plan dict as version 2 (a new dict; others are returned as they are).

    Version 1 had no form: every section was its own material, every bar played the melody, no bar held a
    cadence or another meter. So each section gets its label as its theme (labels were distinct: A, B, C...),
    role "theme", no ramp; the bar fields take their defaults. Nothing of the music changes.
    """
    v = d.get("schema_version")
    if type(v) is not int or v != 1:  # not True, which equals 1
        return d
    out = dict(d, schema_version=2)
    if isinstance(d.get("sections"), list):
        out["sections"] = [_migrated_section(s) for s in d["sections"]]
    return out


def _migrated_section(s: Any) -> Any:
    if not isinstance(s, dict) or "theme" in s:
        return s  # malformed (validation names it) or already carrying a theme
    label = s.get("label")
    return dict(s, theme=label if isinstance(label, str) and label.strip() else None)


def load_plan(path: str | Path) -> MusicPlan:
    """Read and validate ``plan.json``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"plan file not found: {p}") from None
    except OSError as e:
        raise PlanError(f"cannot read plan {p}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise PlanError(f"plan {p} is not a text file (expected UTF-8 JSON)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PlanError(f"plan {p} is not valid JSON: {e.msg} at line {e.lineno}") from None
    return MusicPlan.from_dict(data)


def _check_tempo(bpm: float, where: str = "") -> None:
    if not (isinstance(bpm, (int, float)) and math.isfinite(bpm) and TEMPO_RANGE[0] <= bpm <= TEMPO_RANGE[1]):
        raise PlanError(f"{where}tempo {bpm} bpm out of range ({TEMPO_RANGE[0]:g}-{TEMPO_RANGE[1]:g})")


def simple_plan(
    duration_sec: float,
    tempo_bpm: float = 100.0,
    key: str = "C major",
    meter: str = "4/4",
    chords: str = "I vi IV V",
    density: float = 0.5,
    dynamics: float = 0.5,
    valence: float = 0.0,
    arousal: float = 0.0,
    seed: int = 0,
    engine: str = "rule",
) -> MusicPlan:
    """A one-section plan at a fixed tempo, the progression repeated over enough bars to cover the duration.

    The building block for tests, for ``compose`` on a hand-made plan, and for the mappings that refine it.
    """
    from .chords import parse_progression

    _check_tempo(tempo_bpm)
    if not (DURATION_RANGE[0] <= duration_sec <= DURATION_RANGE[1]):
        raise PlanError(f"duration {duration_sec} s out of range ({DURATION_RANGE[0]}-{DURATION_RANGE[1]} s)")
    k = parse_key(key)
    num, den = parse_meter(meter)
    bar_sec = num * 4 / den * 60.0 / tempo_bpm
    n_bars = max(1, math.ceil(duration_sec / bar_sec - 1e-9))
    prog = parse_progression(chords, k)
    bars = []
    for b in range(n_bars):
        bar_chords = prog[b % len(prog)]
        step = num / len(bar_chords)
        bars.append(BarPlan([ChordSlot(round(i * step, 3), c.symbol(k.uses_flats)) for i, c in enumerate(bar_chords)],
                            density, dynamics))
    return MusicPlan(duration_sec=duration_sec, tempo_bpm=tempo_bpm, meter=f"{num}/{den}", key=k.name, bars=bars,
                     sections=[Section("A", 0, n_bars, theme="A")], valence=valence, arousal=arousal, seed=seed,
                     engine=engine).validate()
