"""The rule engine: a deterministic arranger, the baseline the trained engines must beat and their fallback.

Four parts, each from a few explicit rules (no checkpoint, no training):

- melody: the plan's form (:mod:`framescore.symbolic.form`) sung bar by bar. A section's theme gives it a
  one-bar motif, repeated and varied over each of the plan's phrases (call, answer, call, close; a phrase of
  more than eight bars breathes every four), rhythm cells picked by the bar's density (every other theme
  takes their off-beat siblings, so a contrast has a rhythm of its own), chord tones on strong
  beats and at chord changes, stepwise passing and neighbour notes between them. A phrase ends on a long note
  on the cadence's tone (2, 5 or 7 at a half cadence, 1 or 3 at an authentic one) and breathes. A returning
  theme restates its first statement bar by bar: its rhythm and its steps, fitted to the new chords. No note
  in a bar whose ``melody`` is off; the tonic held to the end (a return that ends the piece restates its
  statement's last bar there, its last note moved to the tonic and held);
- harmony: voice-led voicings in the middle register, as pads, arpeggios or comping as density rises, the
  chord's bass under them in a pianist's left hand; where a phrase closes the arpeggio stops and the chord rings;
- bass: the chord's bass at every change, then fifths, octaves and approach notes as density rises;
- drums: a groove chosen by arousal, a fill at each section end (a short one at a cadence inside a section),
  a crash at each cut, one hit let ring at the end.

The key: chords such as C#m A B E say C# minor no more than E major; what decides is the tones the music dwells
on. While the music written so far (the bass, the harmony, then the melody) leaves the plan's key in doubt to
either of two key finders (:class:`~.rule_pitches.KeyGuide`), a melody note may give way to its neighbour of the
same kind (the next chord tone, or the next scale tone for a passing note) and a phrase may end on another of its
cadence's tones, where that tone says the key, the longer the note the more (:func:`_guided`); a broken triad
may double its middle tone instead of its lowest (:func:`_guided_doubling`). A return's restatement is left as it
is, and where the key is clear nothing changes.

Every chord change in the plan is honoured to the tick and every note ends by ``piece.end_tick``, where all
parts hold the final chord together. Bars are assumed to be of the plan's meter (the gate composes a plan with
bars of other lengths as a uniform proxy). Same plan, same piece: motifs come from
``default_rng([seed, crc32(theme)])`` (different themes, different material) and the velocity humanisation
from ``default_rng(seed)``.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from ..chords import QUALITIES, Chord
from ..form import melody_bars, phrases, restated_bars
from ..piece import Note, Piece, Track, piece_from_plan_grid
from ..plan import MusicPlan, velocity_of
from . import EngineInfo
from .assembly import REAL_BAR_QUARTERS, clip_to_end
from .rule_pitches import KeyGuide, chord_scale, fold, nearest, scale_step, steps_between, voicing, voicing_pcs

__all__ = ["ENGINE", "KEY_GUIDE", "KEY_MARGIN", "KEY_STRENGTH", "compose"]

#: The baseline and the fallback: no checkpoint, nothing beyond the core packages.
ENGINE = EngineInfo(name="rule", order=0)

# General MIDI percussion (channel 10).
KICK, RIM, SNARE, HAT, OPEN_HAT, CRASH, RIDE = 36, 37, 38, 42, 46, 49, 51
CLAP, PEDAL_HAT = 39, 44
TOMS = (50, 48, 47, 45)  # high to low, for fills

MELODY_RANGE = (60, 84)  # C4-C6: singable
MELODY_CENTER = 70  # B flat 4: above the accompaniment, room both ways
BASS_RANGE = (28, 48)  # E1-C3
BASS_HOME = (31, 45)  # where roots sit by preference
#: The harmony's left hand (:func:`_left_hand`): on, in C2-B2, under every voicing. False composes without it.
LEFT_HAND = True
LEFT_HAND_RANGE = (36, 47)
#: What taking another chord tone than the bass into the left hand costs, against the key's pull (as
#: :data:`KEY_STRENGTH`): an inversion says more than which tone a broken chord doubles (cost 1).
LEFT_HAND_CHANGE = 3.0
#: In a bar where a phrase closes, a broken chord settles into the chord struck on the strong beats.
CADENCE_SETTLES = True

#: The key guide (:class:`~.rule_pitches.KeyGuide`; :func:`_guided` in the melody, :func:`_guided_doubling` in
#: the harmony): on; False composes as the engine did before it had one (``tools/rule_key_report.py --no-guide``).
KEY_GUIDE = True
#: How far the plan's key must lead every other key (correlation, in both key finders) to count as clear.
KEY_MARGIN = 0.05
#: How much a beat of a tone's pull toward the key weighs against a step away from the rule's own choice (cost 1).
KEY_STRENGTH = 12.0
#: The guide never makes the melody sound one pitch more than this many times in a row (POP909's melodies: the
#: longest run of one pitch in 32 bars is 4 notes at the median); the rule's own repetitions are its own.
KEY_MAX_REPEATS = 4


# ----- the meter's grid ----------------------------------------------------------------------------------------
def _group_sizes(n: int) -> list[int]:
    """Split ``n`` pulses into groups of 2 and 3 (5 → 3+2, 7 → 2+2+3); each group opens on a strong beat."""
    if n <= 3:
        return [n]
    if n in (5, 6):
        return [3, n - 3]
    sizes = [2] * (n // 2)
    if n % 2:
        sizes[-1] = 3
    return sizes


@dataclass(frozen=True)
class _Grid:
    """Where a bar's pulses, subdivisions and strong beats fall, in ticks from the bar line."""

    tpb: int  # ticks per bar
    beat: int  # ticks per meter beat (a quarter in x/4, an eighth in x/8)
    sub: int  # ticks per subdivision: an eighth in simple x/4 time, the beat itself in x/8
    pulses: tuple[tuple[int, int], ...]  # (offset, length) of each felt beat: dotted quarters in 6/8
    strong: frozenset[int]
    kick: tuple[bool, ...]  # per pulse: kick (True) or backbeat snare (False)

    def ternary(self, pulse: int) -> bool:
        return self.pulses[pulse][1] == 3 * self.sub


def _grid(num: int, den: int, resolution: int) -> _Grid:
    beat = resolution * 4 // den
    eighths = den >= 8  # compound (6/8, 9/8, 12/8) or irregular (5/8 = 2+3, 7/8 = 2+2+3) time
    sizes = ([3] * (num // 3) if num % 3 == 0 else _group_sizes(num)) if eighths else [1] * num
    pulses, t = [], 0
    for size in sizes:
        pulses.append((t, size * beat))
        t += size * beat
    n = len(pulses)
    if eighths:  # the felt beats alternate kick and snare; every other one is strong (in 6/8 both are)
        kick = [j % 2 == 0 for j in range(n)]
        strong = {pulses[j][0] for j in range(0, n, 2 if n > 2 else 1)}
    else:  # beats in groups of 2 and 3 (4/4 = 2+2, 5/4 = 3+2): a kick and a strong beat open each group
        kick, strong = [], set()
        for size in _group_sizes(n):
            strong.add(pulses[len(kick)][0])
            kick += [True] + [False] * (size - 1)
        if n <= 2:
            strong = {p[0] for p in pulses}
    return _Grid(beat * num, beat, beat if eighths else beat // 2, tuple(pulses), frozenset(strong), tuple(kick))


# ----- chords in time ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Span:
    """One chord from ``start`` to ``end`` (ticks), inside bar ``bar``."""

    start: int
    end: int
    chord: Chord
    bar: int


# ----- the shared context --------------------------------------------------------------------------------------
def _material_keys(plan: MusicPlan) -> list[str]:
    """Per section, the name its motif is seeded by: its ``theme``; a section without one has material of its
    own, named by its label (so a plan of one unnamed section sounds as before) unless that name is taken, then
    by label and index."""
    taken = {s.theme for s in plan.sections if s.theme is not None}
    out = []
    for i, s in enumerate(plan.sections):
        if s.theme is not None:
            out.append(s.theme)
        else:
            key = s.label if s.label not in taken else f"{s.label}#{i}"
            taken.add(key)
            out.append(key)
    return out


class _Ctx:
    """What every part needs to know: the plan, the grid, the chords in ticks, sections and where the end is."""

    def __init__(self, plan: MusicPlan, piece: Piece) -> None:
        self.plan, self.key, self.end = plan, plan.key_obj, piece.end_tick
        num, den = plan.meter_tuple
        self.grid = g = _grid(num, den, piece.resolution)
        real = plan.source.get(REAL_BAR_QUARTERS)  # a proxy's bars, as long as the real plan's (assembly.py)
        self.bar_len = [min(g.tpb, round(q * piece.resolution)) for q in real] if real else [g.tpb] * plan.n_bars
        self.spans: list[_Span] = []
        for sp in plan.chord_spans(piece.resolution):  # a chord ends with its (real) bar, or with the music
            end = min(sp.end_tick, sp.bar * g.tpb + self.bar_len[min(sp.bar, len(self.bar_len) - 1)], self.end)
            if sp.start_tick < end:  # slots that round to the same tick: the later one wins
                self.spans.append(_Span(sp.start_tick, end, sp.chord, sp.bar))
        self.starts = [s.start for s in self.spans]
        self.start_set = set(self.starts)
        self.final = self.spans[-1].start  # where every part starts holding the last chord
        self.n_bars = min(plan.n_bars, -(-self.end // g.tpb))
        self.section: list[int] = []  # section index per bar
        self.material = _material_keys(plan)  # per section: the name its material is drawn from
        keys: dict[str, int] = {}
        self.variant: list[int] = []  # per section: order of first appearance of its material (A B A → 0 1 0)
        for i, s in enumerate(plan.sections):
            self.section += [i] * s.n_bars
            self.variant.append(keys.setdefault(self.material[i], len(keys)))
        self.tonic_triad = frozenset(self.key.scale[i] for i in (0, 2, 4))
        self.melody_key = frozenset(self.key.scale) | ({(self.key.tonic + 11) % 12} if self.key.mode == "minor"
                                                       else set())
        self.backing = np.zeros(12)  # the accompaniment written so far, per pitch class in pulses: what guides hear

    def bar_length(self, bar: int) -> int:
        """Ticks of ``bar`` that sound: the grid's bar, or less where the real plan's bar is shorter."""
        return self.bar_len[bar] if bar < len(self.bar_len) else self.grid.tpb

    def span_at(self, tick: int) -> _Span:
        return self.spans[max(bisect.bisect_right(self.starts, tick) - 1, 0)]

    def chord_tones(self, tick: int) -> frozenset[int]:
        """Chord tones at ``tick``; under ``N`` (no chord) the tonic triad keeps the melody anchored."""
        c = self.span_at(tick).chord
        return frozenset(c.pitch_classes) if not c.is_none else self.tonic_triad

    def melody_tones(self, tick: int) -> frozenset[int]:
        """The chord tones the tune lands on at ``tick``: those in the key (a minor key's leading tone counted in)
        when the chord has two or more there. Why: over a chord from outside the key (D major in C, E major in
        G) a pop melody sings the tones it shares with the key and leaves the altered one to the accompaniment; on
        POP909 validation songs 17-40 the real melodies sang such a tone 8 times, this engine 59 times when it took
        any chord tone. The leading tone stays: V's G# in A minor is what makes a minor tune sound minor and tense
        (without it the tense corner of ``tools/va_corners.py`` was heard as tense in 4 plans of 6, not 6)."""
        tones = self.chord_tones(tick)
        inside = tones & self.melody_key
        return inside if len(inside) >= 2 else tones

    def scale_at(self, tick: int) -> frozenset[int]:
        c = self.span_at(tick).chord
        return frozenset(self.key.scale) if c.is_none else chord_scale(self.key, c)

    def density(self, bar: int) -> float:
        return self.plan.bars[min(bar, self.plan.n_bars - 1)].density

    def velocity(self, bar: int, offset: float = 0.0) -> int:
        """Velocity 40-110 from the bar's dynamics (:func:`velocity_of`), nudged by the section's arousal."""
        v = velocity_of(self.plan.bars[min(bar, self.plan.n_bars - 1)].dynamics) + 6 * self.arousal(bar) + offset
        return int(round(v))

    def _section_value(self, bar: int, name: str) -> float:
        v = getattr(self.plan.sections[self.section[min(bar, len(self.section) - 1)]], name)
        return getattr(self.plan, name) if v is None else v

    def arousal(self, bar: int) -> float:
        return self._section_value(bar, "arousal")

    def valence(self, bar: int) -> float:
        return self._section_value(bar, "valence")


# ----- melody --------------------------------------------------------------------------------------------------
# Rhythm cells: onsets of one pulse in quarter-pulse units (binary) or sixth-pulse units (ternary, 6/8), ordered
# from sparse to busy so that one uniform draw per pulse keeps a motif's shape at every density.
_BINARY = ((), (0,), (2,), (0, 3), (0, 2), (0, 2, 3), (0, 1, 2), (0, 1, 2, 3))
_TERNARY = ((), (0,), (0, 4), (0, 2), (0, 2, 4), (0, 2, 3, 4), (0, 1, 2, 4), (0, 1, 2, 3, 4, 5))
# Weights of each cell at density levels 0-4 (density × 5).
_BINARY_W = ((3, 1, 0, 0, 0, 0, 0, 0), (2, 3, 0, 0, 1, 0, 0, 0), (1, 3, 1, 1, 3, 0, 0, 0),
             (0, 2, 1, 0, 4, 1, 1, 0), (0, 1, 0, 0, 3, 2, 2, 1))
_TERNARY_W = ((3, 1, 0, 0, 0, 0, 0, 0), (1, 2, 2, 0, 0, 0, 0, 0), (0, 1, 3, 1, 2, 0, 0, 0),
              (0, 0, 1, 0, 4, 1, 1, 0), (0, 0, 0, 0, 2, 2, 2, 1))
_STEPS = np.array([-3, -2, -1, 0, 1, 2, 3])
#: How often a motif's note repeats the one before (weight of step 0), and how many of its first eight may.
MOTIF_REPEAT = 0.25
MOTIF_MAX_REPEATS = 3
# Each cell's sibling with as many onsets off the beat ((0,) <-> (2,), (0, 3) <-> (0, 2), ...; binary, then
# ternary), which every other theme takes, so that a contrasting theme has a rhythm of its own at the same density.
_OFFBEAT = ((0, 2, 1, 4, 3, 6, 5, 7), (0, 1, 3, 2, 4, 6, 5, 7))


@dataclass(frozen=True)
class _Motif:
    rhythm: tuple[float, ...]  # one draw per pulse: which cell the pulse takes, at the bar's density
    answer: tuple[float, ...]  # fresh draws for the answering half of a phrase
    steps: tuple[int, ...]  # melodic motion in scale steps, one per note
    answer_steps: tuple[int, ...]


def _contour(rng: np.random.Generator, p: np.ndarray) -> tuple[int, ...]:
    """Steps for a melodic line with some shape: its first eight notes span at least a fourth and it does not
    stand still (a few draws at most; the last one is kept whatever it is)."""
    for _ in range(8):
        steps = rng.choice(_STEPS, 32, p=p)
        walk = np.cumsum(steps[:8])
        if walk.max() - min(walk.min(), 0) >= 3 and (steps[:8] == 0).sum() <= MOTIF_MAX_REPEATS:
            break
    return tuple(int(s) for s in steps)


def _motif(rng: np.random.Generator, n_pulses: int, valence: float) -> _Motif:
    leap = 0.04 + 0.05 * max(valence, 0.0)  # brighter music leaps more
    p = np.array([leap, 0.14, 0.3 - leap, MOTIF_REPEAT, 0.3 - leap, 0.14, leap])
    p /= p.sum()
    return _Motif(tuple(rng.random(n_pulses)), tuple(rng.random(n_pulses)), _contour(rng, p), _contour(rng, p))


def _phrase_roles(n_bars: int, k: int) -> list[str]:
    """The roles of a phrase's bars (``k``: the phrase's number in its section). 4 bars go call/answer/call2/close,
    3 call/answer/close, 2 call/close (answer/close in every other phrase: call and response); a longer phrase
    opens with call/answer pairs (call, answer, call2, answer: no breath inside it) before its last four."""
    if n_bars <= 4:
        return {1: ["close"], 2: [("call", "answer")[k % 2], "close"], 3: ["call", "answer", "close"],
                4: ["call", "answer", "call2", "close"]}[n_bars]
    head = [("call", "answer", "call2", "answer")[i % 4] for i in range(n_bars - 4)]
    return head + ["call", "answer", "call2", "close"]


def _bar_onsets(g: _Grid, draws: tuple[float, ...], level: int, n_pulses: int, offbeat: bool = False) -> list[int]:
    """Onset offsets of the first ``n_pulses`` pulses of a bar; the downbeat always sounds. An ``offbeat`` theme
    takes each cell's sibling (:data:`_OFFBEAT`): as many onsets, placed off the beat."""
    out: list[int] = []
    for i in range(n_pulses):
        off, length = g.pulses[i]
        tern = g.ternary(i)
        cells, cum = (_TERNARY, _TERNARY_CUM) if tern else (_BINARY, _BINARY_CUM)
        j = bisect.bisect_right(cum[level], draws[i] * cum[level][-1])
        cell = cells[_OFFBEAT[tern][j] if offbeat else j]
        if i == 0 and cell[:1] != (0,):
            cell = (0,) + cell
        unit = length // (6 if tern else 4)
        out += [off + k * unit for k in cell]
    return out


_BINARY_CUM = tuple(tuple(np.cumsum(w)) for w in _BINARY_W)
_TERNARY_CUM = tuple(tuple(np.cumsum(w)) for w in _TERNARY_W)
_REGISTER = (0, 3, -2, 2, 4, -3)  # the melody's centre shifts by this much per new theme


@dataclass(frozen=True)
class _Phrasing:
    """The plan's phrases (:func:`~framescore.symbolic.form.phrases`) as the melody sings them: per bar its role
    and its phrase's number in the section; the bars that open a phrase; and the bars that close one (the last
    bar of the phrase the melody sings in), each with the phrase's cadence (None: a section ends without one)."""

    roles: list[str]
    number: list[int]
    starts: frozenset[int]
    closes: dict[int, str | None]


#: A phrase longer than this (a plan that marks no cadences in a long section) breathes every four bars.
_LONGEST_PHRASE = 8


def _breaths(n_bars: int) -> list[int]:
    """The lengths a phrase of ``n_bars`` is sung in: itself up to :data:`_LONGEST_PHRASE` bars, else runs of
    four, never leaving a lone bar (9 → 4 + 3 + 2)."""
    if n_bars <= _LONGEST_PHRASE:
        return [n_bars]
    out = []
    while n_bars > 0:
        take = min(4, n_bars)
        if n_bars - take == 1:
            take -= 1
        out.append(take)
        n_bars -= take
    return out


def _phrasing(plan: MusicPlan) -> _Phrasing:
    sings = melody_bars(plan)
    roles, number = ["call"] * plan.n_bars, [0] * plan.n_bars
    starts: set[int] = set()
    closes: dict[int, str | None] = {}
    k, section = 0, -1
    for ph in phrases(plan):
        if ph.section != section:
            k, section = 0, ph.section
        start, runs = ph.start_bar, _breaths(ph.n_bars)
        for j, n in enumerate(runs):  # only the last run carries the phrase's cadence
            starts.add(start)
            number[start:start + n] = [k] * n
            sung = [b for b in range(start, start + n) if sings[b]]
            if sung:  # a phrase whose last bars are silent closes in the last bar it sings
                roles[start:sung[-1] + 1] = _phrase_roles(sung[-1] - start + 1, k)
                closes[sung[-1]] = ph.cadence if j == len(runs) - 1 else None
            start += n
            k += 1
    return _Phrasing(roles, number, frozenset(starts), closes)


def _pitch(prev: int, s: int, strong: bool, tones: frozenset[int], scale: frozenset[int]) -> int:
    """The next melody note, ``s`` steps from ``prev``: on a strong beat (or for a leap) the steps count chord
    tones; on a weak beat they count scale tones, which makes passing and neighbour notes."""
    lo, hi = MELODY_RANGE
    if s == 0:
        pitch = prev if prev % 12 in tones else nearest(prev, tones)
    else:
        pcs = tones if strong or abs(s) > 1 else scale
        if not strong and abs(s) > 1:  # a leap on a weak beat arpeggiates the chord
            s -= 1 if s > 0 else -1
        pitch = scale_step(prev, s, pcs)
        if not lo <= pitch <= hi:
            pitch = scale_step(prev, -s, pcs)
    pitch = fold(pitch, lo, hi)
    if abs(pitch - prev) == 6 or abs(pitch - prev) > 9:  # unsingable leap: take the nearer chord tone
        pitch = fold(nearest(prev + (1 if pitch > prev else -1), tones, pitch - prev), lo, hi)
    return pitch


@dataclass
class _Line:
    """The melody as it is written: its notes ([start, end, pitch, velocity]; an end is cut when the next note
    starts), its last pitch, whether that was a passing or neighbour note (the next one moves on by step), and the
    key guide that hears it with its accompaniment (None: the guide is off)."""

    notes: list[list[int]] = field(default_factory=list)
    prev: int = MELODY_CENTER
    nct: bool = False
    guide: KeyGuide | None = None


def _guided(line: _Line, choices: list[tuple[int, float]], beats: float) -> int:
    """The key guide's choice among ``choices`` (pitch, cost; the rule's own pitch first, at cost 0): when the
    key heard so far leaves the plan's key in doubt, a note of ``beats`` beats takes the choice whose pull toward
    the key (:meth:`~.rule_pitches.KeyGuide.push`, × :data:`KEY_STRENGTH` × its length) most exceeds its cost: the
    melody dwells on the tones that say the key, the longer the note the more, but the guide never makes it sound
    one pitch more than :data:`KEY_MAX_REPEATS` times in a row. Once the key is clear, the rule's own pitch. The
    note is heard (:meth:`~.rule_pitches.KeyGuide.add`) before the next is chosen."""
    pitch = choices[0][0]
    if line.guide is None:
        return pitch
    push = line.guide.push()
    if push is not None:
        run = 0  # how many times the line has just sounded its last pitch
        for n in reversed(line.notes):
            if n[2] != line.prev:
                break
            run += 1
        if run >= KEY_MAX_REPEATS:
            choices = [c for i, c in enumerate(choices) if i == 0 or c[0] != line.prev]
        pitch = max(choices, key=lambda c: KEY_STRENGTH * beats * push[c[0] % 12] - c[1])[0]
    line.guide.add(pitch % 12, beats)
    return pitch


def _singable(before: int, q: int) -> bool:
    leap = abs(q - before)
    return leap != 6 and leap <= 9


def _neighbour_choices(pitch: int, before: int, pcs: frozenset[int]) -> list[tuple[int, float]]:
    """``pitch`` and, at a cost of 1, its neighbours in ``pcs`` (the next one up and down) that are singable from
    ``before`` and in the melody's range: what the note may take instead, a tone of the same kind."""
    lo, hi = MELODY_RANGE
    out: list[tuple[int, float]] = [(pitch, 0.0)]
    for d in (1, -1):
        q = scale_step(pitch, d, pcs)
        if lo <= q <= hi and _singable(before, q):
            out.append((q, 1.0))
    return out


@dataclass(frozen=True)
class _MelodyBar:
    """What one bar of melody is made of: its role in the phrase, the motif's rhythm draws and steps for that
    role, the register it keeps to, where its notes stop, and whether its theme's rhythm is the off-beat one."""

    bar: int
    bar0: int  # the bar line's tick
    role: str
    draws: tuple[float, ...]
    steps: tuple[int, ...]
    center: int
    stop: int
    offbeat: bool = False


def _section_motif(ctx: _Ctx, b: int) -> _Motif:
    """The motif of bar ``b``'s section, from a stream seeded by the plan's seed and the section's material name
    (its theme), so different themes draw different material."""
    seed = [ctx.plan.seed, zlib.crc32(ctx.material[ctx.section[b]].encode())]
    return _motif(np.random.default_rng(seed), len(ctx.grid.pulses), ctx.valence(b))


def _register(ctx: _Ctx, b: int, var: int, phrase_no: int) -> int:
    """The pitch a bar's line keeps near: each new theme shifts it, brighter music sits higher, and every
    other phrase restates the material a fourth higher."""
    center = MELODY_CENTER + _REGISTER[var % len(_REGISTER)] + round(2 * ctx.valence(b))
    return center + 5 * (phrase_no % 2)


def _material(m: _Motif, role: str, phrase_no: int, half: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The motif's rhythm draws and steps for a bar's role: an answer keeps the opening rhythm, mirrors the
    opening contour and continues anew; a second call changes its last pulse (and, in an odd phrase, its
    continuation); a call and a close are the motif itself."""
    draws, steps = m.rhythm, m.steps
    if role == "answer":
        draws = m.rhythm[:half] + m.answer[half:]
        steps = tuple(-s for s in m.steps[:3]) + m.answer_steps[3:]
    elif role == "call2":
        draws = m.rhythm[:-1] + m.answer[-1:]
        if phrase_no % 2:
            steps = m.steps[:4] + m.answer_steps[4:]
    return draws, steps


def _stop(ctx: _Ctx, bar0: int, closing: bool) -> int:
    """Where a bar's notes end: a phrase's closing bar breathes (rests on its last pulse, the last half pulse in
    a bar of two pulses or fewer), and nothing rings into the last chord, which the cadence holds. A bar that the
    real plan makes shorter (a proxy's bar, :data:`~.assembly.REAL_BAR_QUARTERS`) ends and breathes where the
    real bar does, so its cadence is heard."""
    g = ctx.grid
    length = ctx.bar_length(bar0 // g.tpb)
    pulses = [p for p in g.pulses if p[0] < length]
    stop = bar0 + length
    if closing:
        last_len = min(pulses[-1][1], length - pulses[-1][0])
        n = len(pulses)
        stop -= last_len if n >= 3 else (g.sub if g.ternary(n - 1) and last_len == g.pulses[n - 1][1]
                                         else last_len // 2)
    return min(stop, ctx.final)


def _onsets(ctx: _Ctx, mb: _MelodyBar, half: int) -> tuple[set[int], set[int]]:
    """The bar's onsets (its rhythm draws at the bar's density; a closing bar sings only its first half), and
    the chord changes that fall between them: a change under a sounding note needs a new note unless that note
    belongs to the new chord."""
    g = ctx.grid
    level = min(4, int(ctx.density(mb.bar) * 5))
    n = half if mb.role == "close" else len(g.pulses)
    onsets = {mb.bar0 + o for o in _bar_onsets(g, mb.draws, level, n, mb.offbeat)}
    onsets = {t for t in onsets if t < mb.stop}
    changes = set(ctx.starts[bisect.bisect_right(ctx.starts, mb.bar0):bisect.bisect_left(ctx.starts, mb.stop)])
    return onsets, changes - onsets


def _sing(ctx: _Ctx, line: _Line, mb: _MelodyBar, onsets: set[int], changes: set[int]) -> None:
    """Write the bar's notes: each takes the motif's next step (turned back toward the register when the line
    strays; by step after a passing note), counted in chord tones where the beat is strong, at a chord change,
    or on a closing bar's last onset, else in scale tones; downbeats and strong beats are accented."""
    g, bar0 = ctx.grid, mb.bar0
    last_onset, k = max(onsets), 0
    times = sorted(onsets | changes)
    for i, t in enumerate(times):
        tones = ctx.melody_tones(t)
        if t in changes and line.notes[-1][2] % 12 in tones:
            continue
        s = mb.steps[k % len(mb.steps)]
        k += 1
        if line.prev > mb.center + 5 and s > 0 or line.prev < mb.center - 5 and s < 0:
            s = -s  # drift back toward the section's register
        if line.nct:  # a passing or neighbour note moves on by step
            s = 1 if s >= 0 else -1
        strong = (t - bar0) in g.strong or t in ctx.start_set or (mb.role == "close" and t == last_onset)
        pitch = _pitch(line.prev, s, strong, tones, ctx.scale_at(t))
        if line.guide is not None:  # the note may give way to its neighbour of the same kind that says the key
            beats = ((times[i + 1] if i + 1 < len(times) else mb.stop) - t) / g.pulses[0][1]
            pcs = tones if pitch % 12 in tones else ctx.scale_at(t)  # a chord tone, or a passing/neighbour note
            pitch = _guided(line, _neighbour_choices(pitch, line.prev, pcs), beats)
        line.nct = pitch % 12 not in tones
        if line.notes and line.notes[-1][1] > t:
            line.notes[-1][1] = t
        accent = 6 if t == bar0 else 3 if (t - bar0) in g.strong else 0
        line.notes.append([t, mb.stop, pitch, ctx.velocity(mb.bar, 6 + accent)])
        line.prev = pitch


def _restate(ctx: _Ctx, line: _Line, src: list[list[int]], src0: int, b: int, stop: int) -> None:
    """Bar ``b`` sings an earlier bar's notes (``src``, that bar's line at tick ``src0``) fitted to its own
    chords: the same onsets and lengths from the bar line, the same steps counted in scale steps. The first note
    keeps its pitch and each later one moves from the note before as the source moved; a note on a strong beat or
    at a chord change that is no chord tone here takes the nearest one, a leap the source did not make that is
    unsingable takes the nearer chord tone, and a chord change under a held note that is not in the new chord
    gets a note of its own. Over the same chords this is the source bar again."""
    g, bar0, (lo, hi) = ctx.grid, b * ctx.grid.tpb, MELODY_RANGE
    notes: list[list[int]] = []
    for s, e, p, _ in src:
        t = bar0 + s - src0
        if t >= stop:
            break
        tones, scale = ctx.melody_tones(t), ctx.scale_at(t)
        strong = (t - bar0) in g.strong or t in ctx.start_set
        if not notes:
            pitch = p
        else:
            prev_src, prev = src[len(notes) - 1][2], notes[-1][2]
            steps = steps_between(prev_src, p, ctx.scale_at(s))
            pitch = scale_step(prev, steps, scale) if steps else prev
        if pitch % 12 not in tones and (strong or pitch % 12 not in scale):
            pitch = nearest(pitch, tones)
        pitch = fold(pitch, lo, hi)
        if notes:
            leap = pitch - notes[-1][2]
            if leap != p - src[len(notes) - 1][2] and (abs(leap) == 6 or abs(leap) > 9):
                pitch = fold(nearest(notes[-1][2] + (1 if leap > 0 else -1), tones, leap), lo, hi)
        accent = 6 if t == bar0 else 3 if (t - bar0) in g.strong else 0
        notes.append([t, min(bar0 + e - src0, stop), pitch, ctx.velocity(b, 6 + accent)])
    onsets = {n[0] for n in notes}
    for c in ctx.starts[bisect.bisect_right(ctx.starts, bar0):bisect.bisect_left(ctx.starts, stop)]:
        held = next((i for i, n in enumerate(notes) if n[0] < c < n[1]), None)
        if c in onsets or held is None or notes[held][2] % 12 in ctx.melody_tones(c):
            continue
        n = notes[held]
        notes.insert(held + 1, [c, n[1], fold(nearest(n[2], ctx.melody_tones(c)), lo, hi), n[3] - 3])
        n[1] = c
    line.notes += notes
    line.prev, line.nct = notes[-1][2], False


def _cadence_pcs(ctx: _Ctx, tick: int, cadence: str | None) -> frozenset[int]:
    """The pitch classes a phrase may end on at ``tick``: a chord tone that is a tone of V (scale degree 2, 5 or
    7, the raised 7 in minor) at a half cadence, the tonic or the third at an authentic one; any chord tone
    after a phrase without a cadence, or when the chord there has none of those degrees."""
    tones, sc = ctx.melody_tones(tick), ctx.key.scale
    degrees = {"half": {sc[1], sc[4], sc[6], (ctx.key.tonic + 11) % 12}, "authentic": {sc[0], sc[2]}}.get(cadence or "")
    return tones & degrees if degrees and tones & degrees else tones


def _singable_costs(pitch: int, before: int | None, pcs: Collection[int]) -> list[tuple[int, int]]:
    """The melody pitches of a class in ``pcs``, each with its distance from ``pitch`` in semitones, an
    unsingable leap from ``before`` (a tritone, or more than a sixth) counting as an octave more; nearest first."""
    lo, hi = MELODY_RANGE

    def cost(q: int) -> int:
        return abs(q - pitch) + (12 if before is not None and not _singable(before, q) else 0)

    return sorted(((q, cost(q)) for q in range(lo, hi + 1) if q % 12 in pcs), key=lambda c: c[1])


def _nearest_singable(pitch: int, before: int | None, pcs: Collection[int]) -> int:
    """The melody pitch of a class in ``pcs`` nearest ``pitch``, an unsingable leap from ``before`` (a tritone,
    or more than a sixth) counting as an octave away."""
    return _singable_costs(pitch, before, pcs)[0][0]


def _close_phrase(ctx: _Ctx, line: _Line, first: int, stop: int, cadence: str | None) -> None:
    """A phrase ends on a long note (a beat at least: a later onset gives way to the one before, unless it marks
    a chord change) held to the breath, on the cadence's tone nearest the note it replaces."""
    notes, hold = line.notes, ctx.grid.pulses[0][1]
    if len(notes) <= first:
        return
    while len(notes) > first + 1 and notes[-1][0] > stop - hold and notes[-1][0] not in ctx.start_set:
        notes.pop()
    last = notes[-1]
    last[1] = stop
    target = _cadence_pcs(ctx, last[0], cadence)
    before = notes[-2][2] if len(notes) > first + 1 else None
    if line.guide is not None:  # of the cadence's tones, the one that says the key, where it is in doubt
        # a step (two semitones) counts as a strong beat's move to the next chord tone
        choices = [(q, c / 3) for q, c in _singable_costs(last[2], before, target) if c < 12]
        if last[2] % 12 in target:
            choices = [(last[2], 0.0)] + [c for c in choices if c[0] != last[2]]
        if choices:
            last[2] = _guided(line, choices, (stop - last[0]) / ctx.grid.pulses[0][1])
    if last[2] % 12 not in target:
        last[2] = _nearest_singable(last[2], before, target)
    line.prev, line.nct = last[2], False


def _melody(ctx: _Ctx) -> list[Note]:
    """Bar by bar until the last chord, in the bars the melody plays: a bar that restates an earlier one
    (:func:`~framescore.symbolic.form.restated_bars`: a returning theme) sings that bar fitted to its chords;
    any other sings its section's motif, varied for its role in its phrase, in the section's register (a phrase
    starts back there, and so does the line after a silent bar). The bar that closes a phrase ends on the
    cadence's tone and breathes. Then the final cadence, and repeated attacks detached a little."""
    g = ctx.grid
    ph = _phrasing(ctx.plan)
    restated, sings = restated_bars(ctx.plan), melody_bars(ctx.plan)
    motifs: dict[int, _Motif] = {}
    half = max(1, len(g.pulses) // 2)
    line = _Line(guide=KeyGuide(ctx.key, ctx.backing, KEY_MARGIN) if KEY_GUIDE else None)
    sung: dict[int, list[list[int]]] = {}  # bar -> its notes as written: what a return restates
    resume = True
    for b in range(ctx.n_bars):
        bar0 = b * g.tpb
        if bar0 >= ctx.final:
            break
        if not sings[b]:
            resume = True
            continue
        var, role = ctx.variant[ctx.section[b]], ph.roles[b]
        center = _register(ctx, b, var, ph.number[b])
        if b in ph.starts or resume:
            line.prev, line.nct = center, False
        resume = False
        closing = b in ph.closes
        stop, first = _stop(ctx, bar0, closing), len(line.notes)
        heard = line.guide.profile.copy() if line.guide is not None else None
        src = sung.get(restated.get(b, -1))
        if src:
            _restate(ctx, line, src, restated[b] * g.tpb, b, stop)
        else:
            if var not in motifs:
                motifs[var] = _section_motif(ctx, b)
            draws, steps = _material(motifs[var], role, ph.number[b], half)
            mb = _MelodyBar(b, bar0, role, draws, steps, center, stop, var % 2 == 1)
            _sing(ctx, line, mb, *_onsets(ctx, mb, half))
        if closing and bar0 + g.tpb <= ctx.final:  # in the last chord's bar the final cadence closes
            _close_phrase(ctx, line, first, stop, ph.closes[b])
        sung[b] = [list(n) for n in line.notes[first:]]
        if line.guide is not None:  # the guide hears the bar as it was written, each note as long as it is
            line.guide.profile[:] = heard
            for n in line.notes[first:]:
                line.guide.add(n[2] % 12, (n[1] - n[0]) / g.pulses[0][1])
    fb = ctx.final // g.tpb
    src = sung.get(restated.get(fb, -1))
    if src and ctx.final == fb * g.tpb and sings[min(fb, len(sings) - 1)]:
        _restated_close(ctx, line, src, restated[fb] * g.tpb, fb, restated[fb] in ph.closes)
    else:
        _cadence(ctx, line.notes, line.prev, sings)
    for a, z in zip(line.notes, line.notes[1:]):
        if a[1] == z[0]:
            a[1] -= min((a[1] - a[0]) // 10, 24)
    return [_note(s, e, p, v) for s, e, p, v in line.notes]


def _restated_close(ctx: _Ctx, line: _Line, src: list[list[int]], src0: int, fb: int, closes: bool) -> None:
    """The last bar when it restates an earlier bar (a return that ends the piece): that bar's notes fitted to
    the last chord (:func:`_restate`), then the last note left moved to the tonic and held to the end. A bar that
    closed a phrase (the ending the theme's first statement gave it) gives up only its onsets in the last beat;
    any other only its first half, so the piece still ends on a long note."""
    notes, first, g = line.notes, len(line.notes), ctx.grid
    _restate(ctx, line, src, src0, fb, ctx.end)
    latest = ctx.end - g.pulses[0][1] if closes else fb * g.tpb + g.tpb // 2 - 1
    while len(notes) > first + 1 and notes[-1][0] > latest:
        notes.pop()
    last = notes[-1]
    last[1] = ctx.end
    last[2] = _nearest_singable(last[2], notes[-2][2] if len(notes) > first + 1 else None, {ctx.key.tonic})


def _cadence(ctx: _Ctx, notes: list[list[int]], prev: int, sings: list[bool]) -> None:
    """End on the tonic (the last chord's root if it lacks the tonic), held from the last chord to the end (or to
    a bar the melody rests in), led into by step when the note before it is on a weak beat under the chord
    before. No final note when the melody rests in the last chord's bar."""
    g, (lo, hi) = ctx.grid, MELODY_RANGE
    fb = ctx.final // g.tpb
    if not sings[min(fb, len(sings) - 1)]:
        return
    end = next((b * g.tpb for b in range(fb + 1, len(sings)) if not sings[b] and b * g.tpb < ctx.end), ctx.end)
    fin = ctx.span_at(ctx.final).chord
    target = ctx.key.tonic if fin.is_none or ctx.key.tonic in fin.pitch_classes else fin.root
    # the nearest tonic, but not up at the top of the range: a high line falls to the tonic below
    last = min(range(lo + (target - lo) % 12, hi + 1, 12), key=lambda p: abs(p - prev) + 6 * (p > MELODY_CENTER + 7))
    if notes and notes[-1][1] == ctx.final:
        t0 = notes[-1][0]
        if (t0 % g.tpb) not in g.strong and t0 not in ctx.start_set and ctx.span_at(t0) is ctx.span_at(ctx.final - 1):
            before = notes[-2][2] if len(notes) > 1 and notes[-2][1] >= t0 - g.sub else notes[-1][2]
            lead = min((p for p in (scale_step(last, d, ctx.scale_at(t0)) for d in (1, -1)) if lo <= p <= hi),
                       key=lambda p: abs(p - before))
            if abs(lead - before) != 6 and abs(lead - before) <= 9:
                notes[-1][2] = lead
    notes.append([ctx.final, end, last, ctx.velocity(fb, 6)])


# ----- harmony -------------------------------------------------------------------------------------------------
def _positions(ctx: _Ctx, sp: _Span, kind: str) -> list[int]:
    """Onset ticks within a span on one level of the bar's grid; the span's start always counts."""
    g, bar0 = ctx.grid, sp.bar * ctx.grid.tpb
    if kind == "strong":
        offs = sorted(g.strong)
    elif kind == "pulse":
        offs = [p[0] for p in g.pulses]
    else:
        offs = range(0, g.tpb, g.sub if kind == "sub" else max(1, g.sub // 2))
    return sorted({sp.start} | {bar0 + o for o in offs if sp.start <= bar0 + o < sp.end})


def _broken_chord(ctx: _Ctx, sp: _Span, v: tuple[int, ...], vel: int, d: float,
                  top: int | None = None) -> list[Note]:
    """Middle density: the voicing broken, Alberti-like in simple time (on the pulses when sparser), up and down
    in compound time; each note rings, pedal-like, until its pitch comes again or the chord changes. A triad is
    broken in four, its lowest tone doubled an octave up (or ``top``: see :func:`_guided_doubling`). A chord
    with fewer onsets than notes (two beats of a sparse bar) sounds the rest with its last onset, the notes
    before it let go there, so every chord is heard whole and no more notes sound at once than before."""
    g, bar0 = ctx.grid, sp.bar * ctx.grid.tpb
    ext = v + (v[0] + 12 if top is None else top,) if len(v) == 3 else v
    tern = g.ternary(0)
    pos = _positions(ctx, sp, "pulse" if d < 0.5 and not tern else "sub")
    order = (0, 1, 2, 3, 2, 1) if tern else (0, 2, 1, 3)
    pitches = [ext[order[i % len(order)]] for i in range(len(pos))]
    out = []
    for i, (t, p) in enumerate(zip(pos, pitches)):
        end = next((u for u, q in zip(pos[i + 1:], pitches[i + 1:]) if q == p), sp.end)
        out.append(_note(t, end, p, vel + (4 if (t - bar0) in g.strong else 0)))
    if len(pos) < len(v):  # a chord too short to break whole: its last onset sounds the notes not yet played
        t, played = pos[-1], set(pitches)
        out = [_note(n.start, min(n.end, t), n.pitch, n.velocity) if n.start < t else n for n in out]
        out += [_note(t, sp.end, q, vel + (4 if (t - bar0) in g.strong else 0)) for q in v if q not in played]
    return out


def _comping(ctx: _Ctx, sp: _Span, v: tuple[int, ...], vel: int, ar: float) -> list[Note]:
    """High density: short block chords on the subdivisions, accented on the pulses; compound time plays
    "x . x" per pulse, and aroused music skips beats 2 and 4 to push the off-beats."""
    g, bar0 = ctx.grid, sp.bar * ctx.grid.tpb
    pos = []
    for t in _positions(ctx, sp, "sub"):
        i = next(j for j in range(len(g.pulses) - 1, -1, -1) if g.pulses[j][0] <= t - bar0)
        u = (t - bar0 - g.pulses[i][0]) // g.sub
        if g.ternary(i) and u == 1 and ar <= 0.3 and t != sp.start:
            continue
        if ar > 0.3 and not g.ternary(i) and u == 0 and i % 2 == 1 and t != sp.start:
            continue
        pos.append(t)
    out = []
    for t, nxt in zip(pos, pos[1:] + [sp.end]):
        dur = max(1, min(nxt - t, g.sub) * 4 // 5)
        accent = 6 if any(t - bar0 == p[0] for p in g.pulses) else 0
        out += [_note(t, t + dur, p, vel + accent) for p in v]
    return out


def _guided_doubling(ctx: _Ctx, guide: KeyGuide, own: list[Note], other: list[Note]) -> list[Note]:
    """A broken triad doubles its lowest tone (``own``); while the key heard so far (the bass, the harmony
    written) leaves the plan's key in doubt, it doubles its middle tone instead (``other``) when that tone's pull
    toward the key (× :data:`KEY_STRENGTH`, per beat it sounds) is worth more than the change (cost 1)."""
    push = guide.push()
    if push is None:
        return own

    def pull(notes: list[Note]) -> float:
        return KEY_STRENGTH * sum(push[n.pitch % 12] * n.duration for n in notes) / ctx.grid.pulses[0][1]

    return other if pull(other) - 1.0 > pull(own) else own


def _left_hand(ctx: _Ctx, sp: _Span, prev: int, vel: int, d: float,
               guide: KeyGuide | None = None) -> tuple[list[Note], int]:
    """The chord's bass an octave or two below its voicing, as a pianist's left hand plays it (POP909's
    accompaniment reaches a bar's lowest note around G2): a beat long, struck on each strong beat when the bar
    is busy, held to the end under the last chord. The octave nearest the last one in :data:`LEFT_HAND_RANGE`.
    While ``guide`` hears the key in doubt, another tone of the triad may take the bass's place, as in
    :func:`_guided_doubling` (the roots of i VI III VII are the relative major's I IV V and vi)."""
    lo, hi = LEFT_HAND_RANGE

    def play(pc: int) -> tuple[list[Note], int]:
        pitch = min(range(lo + (pc - lo) % 12, hi + 1, 12), key=lambda p: abs(p - prev))
        if sp.start >= ctx.final:
            return [_note(sp.start, sp.end, pitch, vel)], pitch
        pos = _positions(ctx, sp, "pulse")
        if d < 0.7:
            return [_note(sp.start, pos[1] if len(pos) > 1 else sp.end, pitch, vel)], pitch
        pos = _positions(ctx, sp, "strong")
        return [_note(t, e, pitch, vel) for t, e in zip(pos, pos[1:] + [sp.end])], pitch

    own = play(sp.chord.bass_pc)
    push = guide.push() if guide is not None and sp.start < ctx.final else None
    if push is None:
        return own

    def pull(notes: list[Note]) -> float:
        return KEY_STRENGTH * sum(push[n.pitch % 12] * n.duration for n in notes) / ctx.grid.pulses[0][1]

    triad = [(sp.chord.root + iv) % 12 for iv in sorted({i % 12 for i in QUALITIES[sp.chord.quality]})
             if iv in (0, 3, 4, 6, 7, 8)]  # a seventh or a ninth in the bass would be another chord
    best = max((play(pc) for pc in triad), key=lambda o: pull(o[0]))
    return best if pull(best[0]) - LEFT_HAND_CHANGE > pull(own[0]) else own


def _harmony(ctx: _Ctx) -> list[Note]:
    """Each chord voiced with the least motion from the last voicing, played as density asks: a held pad when
    sparse (and for the last chord), a broken chord in the middle, comping when busy; under it the chord's bass
    in the left hand (:func:`_left_hand`)."""
    out, prev, low = [], None, sum(LEFT_HAND_RANGE) // 2
    closes = _phrasing(ctx.plan).closes
    guide = KeyGuide(ctx.key, ctx.backing, KEY_MARGIN) if KEY_GUIDE else None  # it hears the bass, then the harmony
    for sp in ctx.spans:
        if sp.chord.is_none:
            continue
        v = prev = voicing(voicing_pcs(sp.chord), prev)
        d, vel = ctx.density(sp.bar), ctx.velocity(sp.bar, -12)
        if sp.start >= ctx.final or d < 0.35:
            notes = [_note(sp.start, sp.end, p, vel - 4) for p in v]
        elif d < 0.7 and CADENCE_SETTLES and sp.bar in closes:  # the figure stops where the phrase closes
            notes = [_note(sp.start, sp.end, p, vel - 2) for p in v]
        elif d < 0.7:
            notes = _broken_chord(ctx, sp, v, vel, d)
            if guide is not None and len(v) == 3:  # a triad broken in four: which tone the fourth note doubles
                notes = _guided_doubling(ctx, guide, notes, _broken_chord(ctx, sp, v, vel, d, v[1] + 12))
        else:
            notes = _comping(ctx, sp, v, vel, ctx.arousal(sp.bar))
        if guide is not None:
            _hear(ctx, guide, notes)
        if LEFT_HAND:  # after the chord above it is heard: the left hand is guided only if that leaves doubt
            lh, low = _left_hand(ctx, sp, low, vel - 2, d, guide)
            notes += lh
            if guide is not None:
                _hear(ctx, guide, lh)
        out += notes
    return out


def _hear(ctx: _Ctx, guide: KeyGuide, notes: list[Note]) -> None:
    for n in notes:
        guide.add(n.pitch, max(0, min(n.end, ctx.end) - n.start) / ctx.grid.pulses[0][1])


# ----- bass ----------------------------------------------------------------------------------------------------
def _bass_pitch(pc: int, prev: int) -> int:
    """The octave of ``pc`` nearest the previous bass note, preferring the bass's home register."""
    cands = range(BASS_RANGE[0] + (pc - BASS_RANGE[0]) % 12, BASS_RANGE[1] + 1, 12)
    return min(cands, key=lambda p: abs(p - prev) + (0 if BASS_HOME[0] <= p <= BASS_HOME[1] else 6))


def _approach(target: int, scale: frozenset[int]) -> int:
    """A note a step from ``target`` in the current chord's scale (below if it can), else a chromatic neighbour."""
    for p in (target - 1, target - 2, target + 2, target + 1):
        if p % 12 in scale and BASS_RANGE[0] <= p <= BASS_RANGE[1]:
            return p
    return target + 1 if target - 1 < BASS_RANGE[0] else target - 1


_BASS_CYCLES = {"strong": "R5", "pulse": "R585", "sub": "RR8RRR5R"}


def _bass(ctx: _Ctx) -> list[Note]:
    out, prev = [], 40
    for i, sp in enumerate(ctx.spans):
        c = sp.chord
        if c.is_none:
            continue
        root = _bass_pitch(c.bass_pc, prev)
        d, vel = ctx.density(sp.bar), ctx.velocity(sp.bar, -2)
        if sp.start >= ctx.final or d < 0.3:
            out.append(_note(sp.start, sp.end, root, vel))
            prev = root
            continue
        fifth_pc = next(((c.root + iv) % 12 for iv in (7, 6, 8) if iv in QUALITIES[c.quality]), c.root)
        if c.bass is not None:
            fifth_pc = c.root  # slash chord: the root itself is the other strong tone
        fifth = root + (fifth_pc - root) % 12
        fifth = fifth if fifth <= BASS_RANGE[1] else fifth - 12
        octave = root + 12 if root + 12 <= BASS_RANGE[1] else root - 12 if root - 12 >= BASS_RANGE[0] else root
        kind = "strong" if d < 0.55 else "pulse" if d < 0.8 else "sub"
        pos = _positions(ctx, sp, kind)
        cycle = _BASS_CYCLES[kind]
        pitches = [{"R": root, "5": fifth, "8": octave}[cycle[j % len(cycle)]] for j in range(len(pos))]
        nxt = ctx.spans[i + 1] if i + 1 < len(ctx.spans) else None
        if kind != "strong" and len(pos) > 1 and nxt and nxt.start == sp.end and not nxt.chord.is_none \
                and nxt.chord.bass_pc != c.bass_pc:
            pitches[-1] = _approach(_bass_pitch(nxt.chord.bass_pc, root), ctx.scale_at(sp.start))
        for t, e, p in zip(pos, pos[1:] + [sp.end], pitches):
            dur = e - t if kind == "strong" else max(1, (e - t) * 9 // 10)
            out.append(_note(t, t + dur, p, vel + (4 if t == sp.start else 0)))
        prev = root
    return out


# ----- drums ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _DrumBar:
    """What one bar's groove is chosen by: the section's arousal and the bar's density."""

    bar: int
    bar0: int  # the bar line's tick
    arousal: float
    density: float
    soft: bool  # calm (arousal < -0.3): keep time quietly, hat and rim only
    velocity: int
    keeper: int  # the time-keeping cymbal: the ride in every other theme (unless soft), else the hat


def _drum_bar(ctx: _Ctx, b: int) -> _DrumBar:
    ar, d = ctx.arousal(b), ctx.density(b)
    soft = ar < -0.3
    keeper = RIDE if ctx.variant[ctx.section[b]] % 2 and not soft else HAT
    return _DrumBar(b, b * ctx.grid.tpb, ar, d, soft, ctx.velocity(b, -15 if soft else 0), keeper)


def _keep_time(ctx: _Ctx, db: _DrumBar, hits: dict[tuple[int, int], int]) -> None:
    """The cymbal on a level of the grid that rises with density and arousal (the ride never goes to
    sixteenths), louder on the pulses; a lively bar opens the hat on its last subdivision, leading into the next."""
    g, d, ar, v = ctx.grid, db.density, db.arousal, db.velocity
    kind = "pulse" if d < 0.35 else "sub" if d < 0.75 or ar <= 0.3 or db.keeper == RIDE else "sixteenth"
    whole = _Span(db.bar0, db.bar0 + g.tpb, Chord(None), db.bar)
    pulse_offs = {p[0] for p in g.pulses}
    for t in _positions(ctx, whole, kind):
        hits[(t - db.bar0, db.keeper)] = v - (14 if t - db.bar0 in pulse_offs else 24)
    if db.keeper == HAT and not db.soft and d >= 0.5 and ar > 0:
        hits.pop((g.tpb - g.sub, HAT), None)
        hits[(g.tpb - g.sub, OPEN_HAT)] = v - 14


def _kick_and_snare(g: _Grid, db: _DrumBar, hits: dict[tuple[int, int], int]) -> None:
    """Kick on the pulses that open the meter's groups, snare on the backbeats (softly: a kick on the downbeat
    and a rim click, only when the bar is busy enough); a busy bar pushes a kick into its last backbeat."""
    d, v, soft = db.density, db.velocity, db.soft
    for i, (off, _) in enumerate(g.pulses):
        if g.kick[i] and (not soft or (i == 0 and d >= 0.5)):
            hits[(off, KICK)] = v + (4 if not soft else -8)
        elif not g.kick[i]:
            if not soft:
                hits[(off, SNARE)] = v
            elif d >= 0.4:
                hits[(off, RIM)] = v - 10
    backbeats = [p[0] for p, k in zip(g.pulses, g.kick) if not k]
    if not soft and d >= 0.6 and backbeats:
        hits[(backbeats[-1] - g.sub, KICK)] = v - 4


def _groove(ctx: _Ctx, db: _DrumBar, hits: dict[tuple[int, int], int]) -> bool:
    """The style's groove (:mod:`framescore.symbolic.styles`) in a bar of simple time with two or more beats; False
    (nothing written) for the backbeat, which :func:`_keep_time` and :func:`_kick_and_snare` play, and where the
    groove does not fit the meter (half time and bossa need four beats)."""
    from ..styles import groove_of

    groove, g, v = groove_of(ctx.plan), ctx.grid, db.velocity
    beats = [p[0] for p in g.pulses]
    if groove == "backbeat" or len(beats) < 2 or g.ternary(0) or (groove in ("half_time", "bossa")
                                                                   and len(beats) != 4):
        return False
    sub = g.sub
    if groove == "four_on_floor":  # a kick on every beat, claps on the backbeats, the hat open on the offbeats
        for off, kick in zip(beats, g.kick):
            hits[(off, KICK)] = v + 4
            if not kick:
                hits[(off, CLAP)] = v - 4
            hits[(off + sub, OPEN_HAT)] = v - 16
        if db.density >= 0.5:
            for off in range(0, g.tpb, max(1, sub // 2)):
                hits.setdefault((off, HAT), v - 28)
    elif groove == "half_time":  # the snare on three, a kick pushed onto the and of two, eighths on the hat
        hits[(0, KICK)] = v + 4
        hits[(beats[1] + sub, KICK)] = v - 6
        hits[(beats[2], SNARE)] = v + 2
        for off in range(0, g.tpb, sub):
            hits.setdefault((off, HAT), v - (14 if off % g.beat == 0 else 26))
    elif groove == "swing":  # ride: ding, ding-a, ding, ding-a (the "a" swung late); hat foot on the backbeats
        for i, (off, kick) in enumerate(zip(beats, g.kick)):
            hits[(off, RIDE)] = v - 12
            if i % 2 == 1:
                hits[(off + sub, RIDE)] = v - 22
            if not kick:
                hits[(off, PEDAL_HAT)] = v - 18
        hits[(0, KICK)] = v - 20  # feathered
    elif groove == "bossa":  # kick on one and the and of two (each half bar); a rim clave over two bars
        for off in (beats[0], beats[1] + sub, beats[2], beats[3] + sub):
            hits[(off, KICK)] = v - 8
        for e in ((0, 3, 6) if db.bar % 2 == 0 else (2, 5)):
            hits[(e * sub, RIM)] = v - 6
        for off in range(0, g.tpb, sub):
            hits.setdefault((off, HAT), v - 30)
    else:
        return False
    return True


def _crash(db: _DrumBar, hits: dict[tuple[int, int], int]) -> None:
    """A cut is heard: a crash (with a kick, unless soft) replaces the downbeat's cymbal."""
    hits.pop((0, db.keeper), None)
    hits[(0, CRASH)] = db.velocity + (6 if not db.soft else -6)
    if not db.soft:
        hits[(0, KICK)] = db.velocity + 6


def _fill(g: _Grid, db: _DrumBar, hits: dict[tuple[int, int], int], short: bool = False,
          length: int | None = None) -> dict[tuple[int, int], int]:
    """A section's last bar announces the next: from its last pulse (last two in a busy bar of four or more)
    the groove gives way to snare, then toms from high to low, growing louder, with a kick where it starts.
    A phrase's cadence inside a section gets the ``short`` fill: its last pulse only. In a bar the real plan
    cuts to ``length`` ticks, the fill takes the last pulses that sound."""
    d, v = db.density, db.velocity
    length = g.tpb if length is None else length
    pulses = [p for p in g.pulses if p[0] < length]
    start = pulses[-2 if d >= 0.6 and len(pulses) >= 4 and not short else -1][0]
    hits = {k: x for k, x in hits.items() if k[0] < start}
    step = max(1, g.sub // 2 if d >= 0.5 else g.sub)
    fill = list(range(start, length, step))
    h = len(fill) // 2
    for j, t in enumerate(fill):
        pitch = SNARE if j < h else TOMS[(j - h) * len(TOMS) // (len(fill) - h)]
        hits[(t, pitch)] = v - 10 + 18 * j // len(fill)
    hits[(start, KICK)] = v
    return hits


def _drum_ending(ctx: _Ctx, hit: int) -> list[Note]:
    """From the last chord to the end: a crash and a kick, or, in a calm ending, a ride let ring."""
    fb = min(ctx.final // ctx.grid.tpb, ctx.plan.n_bars - 1)
    if ctx.arousal(fb) < -0.3:
        return [_note(ctx.final, ctx.end, RIDE, ctx.velocity(fb, -20))]
    return [_note(ctx.final, ctx.end, CRASH, ctx.velocity(fb, 6)),
            _note(ctx.final, ctx.final + hit, KICK, ctx.velocity(fb, 6))]


def _drums(ctx: _Ctx) -> list[Note]:
    """A groove per bar until the last chord (each drum at most once per tick), a crash at each cut, a fill at
    each section end and a short one at each phrase's cadence inside a section (when a whole bar comes before the
    last chord), then the ending: one hit let ring."""
    g, plan, out = ctx.grid, ctx.plan, []
    hit = max(1, min(g.sub // 2, 120))  # drum notes are short: no hit overlaps the next on the same drum
    cuts = {s.start_bar for s in plan.sections[1:]}
    section_ends = {s.start_bar + s.n_bars - 1 for s in plan.sections[:-1]}
    cadences = {p.last_bar for p in phrases(plan) if p.cadence is not None} - section_ends
    for b in range(ctx.n_bars):
        if b * g.tpb >= ctx.final:
            break
        db = _drum_bar(ctx, b)
        hits: dict[tuple[int, int], int] = {}  # (offset, drum) -> velocity
        if not _groove(ctx, db, hits):
            _keep_time(ctx, db, hits)
            _kick_and_snare(g, db, hits)
        if b in cuts:
            _crash(db, hits)
        if (b in section_ends or b in cadences) and db.bar0 + g.tpb <= ctx.final and not db.soft \
                and len(g.pulses) >= 2:
            hits = _fill(g, db, hits, short=b not in section_ends, length=ctx.bar_length(b))
        for (off, pitch), vel in hits.items():
            t = db.bar0 + off
            if t < ctx.final:
                out.append(_note(t, t + (g.pulses[0][1] if pitch == CRASH else hit), pitch, vel, ctx.final))
    return out + _drum_ending(ctx, hit)


# ----- assembly ------------------------------------------------------------------------------------------------
def _note(start: int, end: int, pitch: int, velocity: int, limit: int | None = None) -> Note:
    """A note of at least a tick, cut at ``limit`` if given (where the last chord takes over, for the drums);
    :func:`compose` cuts every part at the end of the piece."""
    return Note(start, max(1, (end if limit is None else min(end, limit)) - start), pitch, max(1, min(127, velocity)))


_PARTS = {"melody": _melody, "harmony": _harmony, "bass": _bass, "drums": _drums}


def compose(plan: MusicPlan) -> Piece:
    """Realize a validated plan: one track per role in ``plan.instrumentation``, melody, harmony, bass, drums.
    The bass comes first and the melody last: the key guide of the harmony hears the bass, the melody's hears both
    (the bass and the drums depend on nothing else, so :func:`~.assembly.rule_backing` gets the same notes)."""
    piece = piece_from_plan_grid(plan)
    ctx = _Ctx(plan, piece)
    streams = np.random.default_rng(plan.seed).spawn(len(_PARTS))  # one per part: parts do not disturb each other
    written: dict[str, list[Note]] = {}
    for role in ("bass", "harmony", "drums", "melody"):
        if role in plan.instrumentation:
            written[role] = sorted(clip_to_end(_PARTS[role](ctx), piece.end_tick))
            if role in ("harmony", "bass"):
                for n in written[role]:
                    ctx.backing[n.pitch % 12] += n.duration / ctx.grid.pulses[0][1]
    for (role, _part), rng in zip(_PARTS.items(), streams):
        if role not in plan.instrumentation:
            continue
        notes = written[role]
        jitter = rng.integers(-4, 5, size=len(notes))  # humanise velocities, a little, reproducibly
        notes = [Note(n.start, n.duration, n.pitch, int(max(1, min(127, n.velocity + j))))
                 for n, j in zip(notes, jitter)]
        piece.tracks.append(Track(role, plan.instrumentation[role], role == "drums", notes))
    return piece
