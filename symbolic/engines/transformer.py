"""The transformer engine: a REMI GPT-2 trained on POP909 writes the melody and the piano part, bar by bar,
with the plan's tokens inserted and a grammar mask so it only chooses what the plan leaves free.

For every bar the generator feeds ``Bar TimeSig (ChordPos Chord)+ Density Dynamics`` from the plan (chords in the
key-normalised form the model was trained on, see :mod:`framescore.symbolic.remi`), then samples notes: a
``Position`` later than the last one and inside the bar (inside the music, in a last bar cut short), then
``Program Pitch Velocity Duration`` per note, until it samples ``Bar``. Every other token is masked out, so the
output is always valid REMI, in the plan's meter. When the 512-token context fills, it is re-encoded from the
global tokens and the newest bars that fit in half of it (with their plan tokens), so a plan of any length works.

Keeping to the chords (a learned model alone follows them only loosely):

- ``chord_tones`` limits pitches to the tones of the plan's chord sounding at that position: ``"strong"`` on the
  strong beats, ``"harmony"`` (the default) on the strong beats and for every accompaniment note, ``"all"``
  everywhere; ``strong_beats`` says which beats are strong: every second (the default: 1 and 3 in 4/4, so a
  melody may lean on beats 2 and 4 with a passing or neighbour tone) or every one;
- unless that is ``"none"``, a note outside the chord may last at most ``passing_max_positions`` grid steps (an
  eighth note): passing and neighbour tones pass, what is held is a chord tone;
- ``trim_at_chord_changes`` cuts a melody or piano note where it would ring on into a chord that lacks it;
- ``diatonic_passing`` keeps those non-chord tones in the plan's key (its major scale, or natural minor with the
  raised seventh), so a passing tone never blurs the key; a chromatic chord's own tones stay allowed.

Melodies that move like real ones: a melody pitch costs ``melody_leap_cost`` (0.3 nats) per semitone beyond a
whole step from the note before, and ``melody_repeat_cost`` (1 nat) if it repeats it. Left to itself the model
moves between chord tones: on 24 validation songs (17+, ``tools/transformer_rules.py --option ...``) its melodies
repeated 28% of their notes, stepped 29% and leapt 44%; with these costs 21 / 45 / 34, POP909's being 22 / 45 / 33,
with overlap 0.743 → 0.735, chord accuracy 0.895 → 0.898 and key agreement 1.000 → 0.958 (one song). (0.15, 1)
gave 18 / 41 / 42 and (0.2, 0.5) 25 / 39 / 36.

Dark music (a plan of valence < 0) has the key guide at :data:`DARK_KEY_GUIDE` (4 nats, margin 0.3): its mood rests
on the minor mode being heard. On the shared media planned tense (valence −0.8, arousal +0.8) the classifier heard
the transformer's music as tense in 2 of 6 plans at the default guide, in 6 of 6 with this one, and chord
accuracy rose (0.951 → 0.979; sad and calm: 0.868 → 0.917). On 40 POP909 validation songs (17+, their plans
carry valence 0, so they keep the default) the same guide had cost overlap (0.665 → 0.642) and chord accuracy
(0.909 → 0.896), which is why it is not the default everywhere.

Keeping to the key: a progression can fit two keys (C#m A B E is C# minor and E major alike). ``key_guidance``
(2 nats by default) adds a logit bonus to the pitches that make the plan's key the one heard, only while it is not
already clear to two key finders (:class:`_KeyGuide`). Chosen on the plans of 40 POP909 training songs, judged
also by three key finders the guide never sees (music21's Aarden–Essen, Temperley–Kostka–Payne, Bellman–Budge):
without it they agree with the plan's key on 0.85 / 0.80 / 0.675 of songs, with it 0.875 / 0.85 / 0.775 (guided by
Albrecht–Shanahan alone: 0.85 / 0.85 / 0.75); chord accuracy 0.891 → 0.899.

Sampling uses temperature and nucleus (top-p) sampling from a numpy ``Generator`` (PCG64) seeded with
``plan.seed``, so the same plan gives the same bytes. The network runs in numpy (:class:`..models.remi_gpt.Decoder`).
Bass and drums are not the model's: they are the rule engine's (:mod:`.rule`), composed from the same plan and kept
as they are, because POP909 has neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..chords import Key
from ..form import melody_bars, restated_bars
from ..key_profiles import GUIDE_PROFILES, key_push
from ..piece import TICKS_PER_QUARTER, Note, Piece, piece_from_plan_grid
from ..plan import MusicPlan
from . import EngineInfo

__all__ = ["CHORD_TONE_MODES", "DARK_KEY_GUIDE", "DEFAULTS", "ENGINE", "compose", "generate_tokens"]

ENGINE = EngineInfo(name="transformer", order=1, checkpoint="transformer", needs=("safetensors",))

CHORD_TONE_MODES = ("none", "strong", "harmony", "all")
#: Sampling settings used by ``compose(plan)``.
DEFAULTS = {"temperature": 1.0, "top_p": 0.95, "chord_tones": "harmony", "passing_max_positions": 2,
            "strong_beats": 2,
            "diatonic_passing": True, "key_guidance": 2.0, "key_margin": 0.1,
            "trim_at_chord_changes": True, "melody_tries": 3, "restate_themes": True, "melody_leap_cost": 0.3,
            "melody_repeat_cost": 1.0}
#: The key guide's strength and margin for dark plans (valence < 0), in place of DEFAULTS' (see the module's notes).
DARK_KEY_GUIDE = {"key_guidance": 4.0, "key_margin": 0.3}
MAX_BAR_TOKENS = 400  # a runaway bar is closed here (POP909: 94 tokens a bar on average, 99% under 185)
MAX_NOTES_PER_POSITION = 12
REFILL_RESERVE = 64  # tokens kept free after a re-encode, at least
# A re-encode keeps at most half the context of past bars, so the next one is a few bars away (each costs a pass
# over everything kept).


@lru_cache(maxsize=4)
def _load(directory: str):
    from ..models.remi_gpt import Decoder, load_tokenizer

    tok = load_tokenizer(directory)
    dec = Decoder.load(directory)
    if dec.wte.shape[0] != len(tok):
        from ..checkpoints import CheckpointError

        raise CheckpointError(f"{directory}: model vocabulary {dec.wte.shape[0]} != tokenizer's {len(tok)}")
    return tok, dec, _Grammar(tok, dec.lm_head)


def prepare() -> None:
    """Load the default checkpoint (:func:`framescore.symbolic.engines.prepare`)."""
    from ..checkpoints import checkpoint_dir

    _load(str(checkpoint_dir("transformer")))


class _Grammar:
    """The token sets each grammar state allows, as index arrays with their output-embedding rows, built once
    per tokenizer and cached per state (a bar has few distinct states), so a step scores only what may come."""

    def __init__(self, tok, lm_head: np.ndarray) -> None:
        n = len(tok)
        kind = tok.types.kind
        self.lm_head = lm_head
        kinds = np.array([kind[i] for i in range(n)])
        self.program, self.pitch = kinds == "Program", kinds == "Pitch"
        self.velocity, self.duration = kinds == "Velocity", kinds == "Duration"
        self.bar = np.zeros(n, dtype=bool)
        self.bar[tok.bar_id] = True
        self.pos_value = np.full(n, -1)
        self.pitch_pc = np.full(n, -1)
        self.pitch_value = np.full(n, -1)
        self.program_value = np.full(n, -1)
        self.pitch_id: dict[int, int] = {}
        for i, v in tok.types.value.items():
            if kind[i] == "Position":
                self.pos_value[i] = v
            elif kind[i] == "Pitch":
                self.pitch_pc[i] = v % 12
                self.pitch_value[i] = v
                self.pitch_id[v] = i
            elif kind[i] == "Program":
                self.program_value[i] = v
        self.kind = kind
        self.value = tok.types.value
        per_beat = tok.spec.positions_per_beat
        self.dur_positions = np.full(n, 10.0**6)  # duration in grid positions
        for i in range(n):
            if kind[i] == "Duration":
                beats, pos, res = (int(x) for x in tok.vocab[i].split("_")[1].split("."))
                self.dur_positions[i] = (beats + pos / res) * per_beat
        self._sets: dict[tuple, tuple] = {}

    def allowed(self, state: tuple) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, lm_head rows)`` for a state: ``("next", lo, hi, programs, bar_only, bar_ok)`` (a position in
        [lo, hi), Bar when ``bar_ok``, and one of ``programs``: only Bar when ``bar_only``),
        ``("program", programs)``, ``("pitch", pcs)`` (empty: any), ``("velocity",)``,
        ``("duration", max_positions)`` (None: any), ``("force", id)`` (that id alone)."""
        hit = self._sets.get(state)
        if hit is None:
            what = state[0]
            if what == "force":
                mask = np.zeros(len(self.kind), dtype=bool)
                mask[state[1]] = True
            elif what == "next":
                _, lo, hi, programs, bar_only, bar_ok = state
                mask = self.bar.copy() if bar_ok or bar_only else np.zeros(len(self.kind), dtype=bool)
                if not bar_only:
                    mask |= (self.pos_value >= lo) & (self.pos_value < hi)
                    mask |= self.program & np.isin(self.program_value, programs)
            elif what == "program":
                mask = self.program & np.isin(self.program_value, state[1])
            elif what == "pitch":
                pcs = state[1]
                mask = self.pitch & np.isin(self.pitch_pc, sorted(pcs)) if pcs else self.pitch
            elif what == "velocity":
                mask = self.velocity
            else:
                mask = self.duration if state[1] is None else self.duration & (self.dur_positions <= state[1])
            ids = np.flatnonzero(mask)
            hit = self._sets[state] = (ids, np.ascontiguousarray(self.lm_head[ids].T))
        return hit


def _sample(hidden: np.ndarray, allowed: tuple[np.ndarray, np.ndarray], temperature: float, top_p: float,
            rng: np.random.Generator, bias: np.ndarray | None = None) -> int:
    """Sample among the allowed ids only: their logits (plus ``bias``, one per allowed id), temperature, then the
    nucleus (top-p) of that set (the smallest set of most likely ids whose probability reaches ``top_p``)."""
    ids, rows = allowed
    logits = hidden @ rows
    if bias is not None:
        logits = logits + bias
    if temperature <= 0 or len(ids) == 1:
        return int(ids[np.argmax(logits)])
    z = np.exp((logits - logits.max()) / np.float32(temperature))
    order = np.argsort(-z, kind="stable")
    cum = np.cumsum(z[order])
    keep = len(cum)
    if top_p < 1.0:  # keep the head up to and including the first id at which the mass reaches top_p
        keep = min(keep, int(np.searchsorted(cum, top_p * cum[-1], side="left")) + 1)
    pick = int(np.searchsorted(cum[:keep], rng.random() * cum[keep - 1], side="right"))
    return int(ids[order[min(pick, keep - 1)]])


class _KeyGuide:
    """Keeps the plan's key the one a listener (and a key finder) hears, where the chords leave it open.

    A progression such as C#m A B E is as much E major as C# minor; what decides is which tones the melody and
    the voicing dwell on. The guide keeps the duration-weighted pitch-class profile of everything written so far
    (and of the bass it will sound over). For each set of key profiles in ``profiles`` where the plan's key does
    not lead every other key's correlation by ``margin``, it adds ``strength`` × (target's profile − the closest
    rival's) to each candidate pitch's logit, the first-order direction that widens the gap (profiles centred,
    unit length), averaged over the sets. When the key is clear to every set it does nothing. More than one set,
    so the music is made clear in its key, not fitted to one key finder's template.
    """

    def __init__(self, target: int, strength: float, margin: float, profile: np.ndarray,
                 profiles: tuple[str, ...] = GUIDE_PROFILES) -> None:
        self.profiles = profiles
        self.target, self.strength, self.margin = target, strength, margin
        self.profile = np.asarray(profile, dtype=float).copy()

    def add(self, pc: int, weight: float) -> None:
        self.profile[pc] += weight

    def bias(self, pcs: np.ndarray) -> np.ndarray | None:
        """Logit bonus for candidate pitch classes ``pcs``; None when the key already leads."""
        push = key_push(self.profile, self.target, self.margin, self.profiles)
        if push is None or not push.any():
            return None
        return (self.strength * push)[pcs].astype(np.float32)


def _chord_pcs(plan: MusicPlan, tok, shift: int) -> list[list[tuple[int, frozenset[int]]]]:
    """Per bar, ``(position, pitch classes in token space)`` of each chord, the chord before carried in."""
    n_pos = tok.positions_per_bar(plan.meter_tuple)
    out: list[list[tuple[int, frozenset[int]]]] = [[] for _ in range(plan.n_bars)]
    current: frozenset[int] = frozenset()
    for bar in range(plan.n_bars):
        out[bar].append((0, current))
        for span in tok.chord_positions(plan, bar):
            current = frozenset((pc + shift) % 12 for pc in span.chord.pitch_classes)
            out[bar].append((span.start_tick - bar * n_pos, current))
    return out


_MELODY_PROGRAM = 0  # the melody's Program token value (remi.PROGRAM_OF_TRACK["melody"])
_HARMONY_PROGRAM = 1  # the piano part's Program token value (remi.PROGRAM_OF_TRACK["harmony"])


@dataclass(frozen=True)
class _NoteRules:
    """The pitches and durations a note may take, from the ``chord_tones`` settings (see :func:`generate_tokens`)."""

    chord_tones: str
    passing_max_positions: int
    scale: frozenset[int]  # the key's scale in token space, for passing tones; empty: a passing tone may be any
    per_beat: int  # grid positions a beat
    strong_beats: int = 1  # a position on every strong_beats-th beat is strong (1: every beat)

    def pitches(self, pos: int, program: int, chord: frozenset[int]) -> frozenset[int]:
        """The pitch classes a note at ``pos`` of ``program`` may take under ``chord`` (empty: any): the chord's
        tones where the mode constrains the note, else the chord's and the scale's."""
        strong = pos % (self.per_beat * self.strong_beats) == 0
        constrain = (self.chord_tones == "all" or (self.chord_tones in ("strong", "harmony") and strong)
                     or (self.chord_tones == "harmony" and program == _HARMONY_PROGRAM))
        if constrain:
            return chord
        return (self.scale | chord) if self.scale else frozenset()

    def is_chord_tone(self, pc: int, chord: frozenset[int]) -> bool:
        """Whether a note of pitch class ``pc`` may be held: always without a rule or a chord."""
        return self.chord_tones == "none" or not chord or pc in chord

    def max_positions(self, chord_tone: bool) -> int | None:
        """The longest a note may last, in grid positions (None: any): a passing tone only passes."""
        return None if chord_tone else self.passing_max_positions


@dataclass
class _BarWriter:
    """One bar's decoding state, so each step reads what the grammar allows next and records what was sampled.

    A bar is ``Position (Program Pitch Velocity Duration)+`` repeated, positions rising, until ``Bar``. The state
    is what the next choice depends on: the last token's kind, the position and the notes begun there, the note
    being written (its program, its pitch class, whether it is a chord tone), the chord in force at the position,
    and the budget after which only ``Bar`` may come.
    """

    rules: _NoteRules
    chords: list[tuple[int, frozenset[int]]]  # (position, pitch classes) of each chord in force, in order
    end: int  # onsets at positions < end: the bar's length, less in a last bar cut short
    budget: int  # from this many tokens on, only Bar may come (a runaway bar is closed)
    tokens: list[int]  # the bar's header, then what was sampled
    guide: _KeyGuide | None = None
    programs: tuple[int, ...] = (_MELODY_PROGRAM, _HARMONY_PROGRAM)  # the parts that may play in this bar
    script: list[tuple[int, list[int]]] = field(default_factory=list)  # melody notes given: (position, 4 ids)
    require_melody: bool = False  # hold Bar until a melody note, and offer only the melody from mid-bar on
    forced: list[int] = field(default_factory=list)  # the given note tokens still to write at this position
    has_melody: bool = False
    last: str = "header"  # the last token's kind
    pos: int = -1
    notes_here: int = 0  # notes begun at pos
    chord: frozenset[int] = frozenset()  # the chord sounding at pos
    program: int = 0
    pitch_pc: int = 0
    chord_tone: bool = True
    leap_cost: float = 0.0  # nats per semitone a melody note lies beyond a whole step from the one before
    repeat_cost: float = 0.0  # nats against a melody note that repeats the one before
    last_melody: int | None = None  # the melody's last pitch, this bar's or the bars' before

    def state(self) -> tuple:
        """What may come next, as a :meth:`_Grammar.allowed` state."""
        if self.forced:
            return ("force", self.forced[0])
        if self.last in ("header", "Duration"):  # a later position, Bar, or (after a note) another note here
            notes_ok = self.last == "Duration" and self.notes_here < MAX_NOTES_PER_POSITION
            over = len(self.tokens) >= self.budget
            if self.script:  # positions up to the next given note's, notes of the other parts; no Bar
                given = self.script[0][0]
                if over:
                    return ("next", given, given + 1, (), False, False)
                return ("next", self.pos + 1, given + 1, self.programs if notes_ok else (), False, False)
            wanting = self.require_melody and not self.has_melody
            programs = self.programs if notes_ok else ()
            if wanting and self.pos + 1 >= self.end // 2:  # the second half of a bar still without its tune
                programs = (_MELODY_PROGRAM,) if notes_ok else ()
            bar_ok = not wanting or (self.pos >= self.end - 1 and not notes_ok)
            return ("next", self.pos + 1, self.end, programs, over and not wanting, bar_ok)
        if self.last == "Position":
            if self.require_melody and not self.has_melody and self.pos >= self.end // 2:
                return ("program", (_MELODY_PROGRAM,))
            return ("program", self.programs)
        if self.last == "Program":
            return ("pitch", self.rules.pitches(self.pos, self.program, self.chord))
        if self.last == "Pitch":
            return ("velocity",)
        return ("duration", self.rules.max_positions(self.chord_tone))  # after Velocity

    def bias(self, state: tuple, allowed: tuple[np.ndarray, np.ndarray], g: _Grammar) -> np.ndarray | None:
        """The key guide's logit bonus, and for a melody note the leap cost, for a pitch only."""
        if state[0] != "pitch":
            return None
        out = self.guide.bias(g.pitch_pc[allowed[0]]) if self.guide is not None else None
        if (self.leap_cost or self.repeat_cost) and self.program == _MELODY_PROGRAM and self.last_melody is not None:
            d = np.abs(g.pitch_value[allowed[0]] - self.last_melody)
            cost = -self.leap_cost * np.maximum(d - 2, 0) - self.repeat_cost * (d == 0)
            out = cost if out is None else out + cost
        return out

    def take(self, choice: int, g: _Grammar) -> None:
        """Record a sampled token other than Bar."""
        kind = g.kind[choice]
        if self.forced:
            self.forced.pop(0)
        if kind == "Position":
            self.pos, self.notes_here = g.value[choice], 0
            self.chord = next(pcs for q, pcs in reversed(self.chords) if q <= self.pos)
            while self.script and self.script[0][0] == self.pos:  # the given notes come first, as in training
                self.forced += self.script.pop(0)[1]
        elif kind == "Program":
            self.program = g.value[choice]
            self.notes_here += 1
            self.has_melody |= self.program == _MELODY_PROGRAM
        elif kind == "Pitch":
            self.pitch_pc = int(g.pitch_pc[choice])
            self.chord_tone = self.rules.is_chord_tone(self.pitch_pc, self.chord)
            if self.program == _MELODY_PROGRAM:
                self.last_melody = int(g.value[choice])
        elif kind == "Duration" and self.guide is not None:  # the guide hears a note once its length is known
            self.guide.add(self.pitch_pc, float(g.dur_positions[choice]))
        self.tokens.append(choice)
        self.last = kind


class _Context:
    """The decoder fed the prefix and the bars written, with its hidden state after the last token fed.

    When the 512-token context would overflow it is re-encoded from the prefix, the newest whole bars that fit in
    half of it, and the bar being written, leaving at least ``REFILL_RESERVE`` tokens free.
    """

    def __init__(self, dec, prefix: list[int]) -> None:
        self.dec, self.prefix = dec, prefix
        self.bars: list[list[int]] = []
        self.refills = 0
        dec.reset()
        self.hidden = dec.feed_hidden(prefix)

    def feed_header(self, header: list[int]) -> None:
        """Feed a bar's plan tokens, re-encoding first unless they leave the reserve free."""
        if self.dec.length + len(header) + REFILL_RESERVE > self.dec.n_ctx:
            self.hidden = self._refill(header)
        else:
            self.hidden = self.dec.feed_hidden(header)

    def feed(self, choice: int, current: list[int]) -> None:
        """Feed a sampled token (already the last of ``current``, the bar being written)."""
        if self.dec.length + 1 > self.dec.n_ctx:
            self.hidden = self._refill(current)
        else:
            self.hidden = self.dec.feed_hidden([choice])

    def mark(self, header: list[int]) -> tuple:
        """Where a bar begins (its header fed), for :meth:`rewind`."""
        return (self.dec.length, self.hidden, self.refills, header)

    def rewind(self, mark: tuple) -> None:
        """Back to ``mark``, forgetting the tokens fed since: the cache keeps what lies before, unless a re-encode
        happened in between, which is then redone."""
        length, hidden, refills, header = mark
        if refills == self.refills:
            self.dec.length, self.hidden = length, hidden
        else:
            self.hidden = self._refill(header)

    def _refill(self, current: list[int]) -> np.ndarray:
        self.refills += 1
        room = min(self.dec.n_ctx // 2, self.dec.n_ctx - len(self.prefix) - len(current) - REFILL_RESERVE)
        keep: list[list[int]] = []
        for b in reversed(self.bars):
            if len(b) > room:
                break
            keep.insert(0, b)
            room -= len(b)
        self.dec.reset()
        return self.dec.feed_hidden(self.prefix + [i for b in keep for i in b] + current)

    def tokens(self) -> list[int]:
        return self.prefix + [i for b in self.bars for i in b]


def _onset_ends(plan: MusicPlan, grid: Piece, n_pos: int) -> list[int]:
    """Per bar, the first grid position with no onset: the bar's length, or where the music ends in a last bar
    cut short, or where the real bar ends when ``plan`` stands in for one with bars of other lengths
    (:data:`~.assembly.REAL_BAR_QUARTERS`: what lies beyond is cut off when the piece is laid on the real bars)."""
    from .assembly import REAL_BAR_QUARTERS

    ticks_per_pos = grid.ticks_per_bar // n_pos
    real = plan.source.get(REAL_BAR_QUARTERS)
    per_quarter = n_pos / plan.bar_quarters(0)
    ends = [n_pos if real is None else min(n_pos, max(1, int(round(q * per_quarter)))) for q in
            (real or [None] * plan.n_bars)]
    b = plan.n_bars - 1
    ends[b] = min(ends[b], -(-(grid.end_tick - b * grid.ticks_per_bar) // ticks_per_pos))
    return ends


def generate_tokens(plan: MusicPlan, checkpoint: str | Path | None = None, temperature: float = DEFAULTS["temperature"],
                    top_p: float = DEFAULTS["top_p"], chord_tones: str = DEFAULTS["chord_tones"],
                    passing_max_positions: int = DEFAULTS["passing_max_positions"],
                    strong_beats: int = DEFAULTS["strong_beats"],
                    diatonic_passing: bool = DEFAULTS["diatonic_passing"],
                    key_guidance: float = DEFAULTS["key_guidance"], key_margin: float = DEFAULTS["key_margin"],
                    melody_tries: int = DEFAULTS["melody_tries"], restate_themes: bool = DEFAULTS["restate_themes"],
                    melody_leap_cost: float = DEFAULTS["melody_leap_cost"],
                    melody_repeat_cost: float = DEFAULTS["melody_repeat_cost"],
                    backing_profile: np.ndarray | None = None) -> list[int]:
    """The whole token sequence (prefix, then each bar's header and music) the model writes for ``plan``.

    ``chord_tones`` limits pitches to the sounding chord's tones (see the module docstring); unless it is
    ``"none"``, a note outside the chord (a passing or neighbour tone) may last at most ``passing_max_positions``
    grid steps (2: an eighth note in x/4), so what is held is a chord tone; with ``diatonic_passing`` it is a
    tone of the key's scale or of the chord. ``key_guidance`` > 0 turns on :class:`_KeyGuide` with that strength
    (nats) and ``key_margin``; ``backing_profile`` is the ticks each pitch class sounds in the parts the model
    does not write (the rule engine's bass), which the guide counts in.

    The form (:mod:`framescore.symbolic.form`): a bar whose plan gives the melody no part is offered no melody
    note. With ``restate_themes``, a bar of a returning theme is given its statement's melody (moved to the
    nearest tone the rules allow where the chord there differs) and the model writes the piano around it. Any
    other bar that has the tune is sampled up to ``melody_tries`` times until it holds a melody note (the bar's
    tokens are taken back and drawn again); the last try holds the bar open until one comes, offering only the
    melody from mid-bar on. 0 tries leaves the melody to the model alone.
    """
    from ...errors import FramescoreError
    from ..checkpoints import checkpoint_dir
    from ..remi import key_shift

    if chord_tones not in CHORD_TONE_MODES:
        raise FramescoreError(f"chord_tones must be one of {', '.join(CHORD_TONE_MODES)}, not {chord_tones!r}")
    directory = str(Path(checkpoint) if checkpoint is not None else checkpoint_dir("transformer"))
    tok, dec, g = _load(directory)
    tok.check_meter(plan.meter_tuple)
    n_pos = tok.positions_per_bar(plan.meter_tuple)
    grid = piece_from_plan_grid(plan)
    shift = key_shift(plan.key_obj)
    token_key = Key((plan.key_obj.tonic + shift) % 12, plan.key_obj.mode)  # keys are normalised: C major, A minor
    # the key's scale in token space; a minor key adds its raised 7th (A minor: G#)
    scale = frozenset()
    if diatonic_passing and chord_tones != "none":
        scale = frozenset(token_key.scale) | ({(token_key.tonic - 1) % 12} if token_key.mode == "minor" else set())
    rules = _NoteRules(chord_tones, passing_max_positions, scale, tok.spec.positions_per_beat, strong_beats)
    guide = None
    if key_guidance > 0:
        ticks_per_pos = grid.ticks_per_bar // n_pos
        base = np.zeros(12) if backing_profile is None else np.roll(np.asarray(backing_profile, float), shift)
        guide = _KeyGuide(12 * (token_key.mode == "minor") + token_key.tonic, key_guidance, key_margin,
                          base / ticks_per_pos)
    chords = _chord_pcs(plan, tok, shift)
    ends = _onset_ends(plan, grid, n_pos)
    prefix = tok.prefix_ids(plan)
    budget = min(MAX_BAR_TOKENS, dec.n_ctx - len(prefix) - REFILL_RESERVE)  # a bar always fits the context
    gen = np.random.default_rng(int(plan.seed))

    # One BLAS thread: a token's matrix products are too small to share, and a second thread spinning beside
    # another busy process made generation 2.5x slower here
    sounding = melody_bars(plan)
    restated = restated_bars(plan) if restate_themes else {}
    melody_of: dict[int, list[tuple[int, list[int]]]] = {}  # per bar written, its melody notes' tokens
    with threadpool_limits(limits=1, user_api="blas"):
        ctx = _Context(dec, prefix)
        last_melody: int | None = None
        for b in range(plan.n_bars):
            header = tok.bar_header_ids(plan, b)
            ctx.feed_header(header)
            given = []
            if sounding[b] and b in restated:
                given = _fit_script(melody_of.get(restated[b], []), rules, chords[b], ends[b], g)
            programs = (_HARMONY_PROGRAM,) if given or not sounding[b] else (_MELODY_PROGRAM, _HARMONY_PROGRAM)
            need = sounding[b] and not given and melody_tries > 0
            tries = melody_tries if need else 1
            start = ctx.mark(header)
            heard = guide.profile.copy() if guide is not None else None
            for attempt in range(tries):
                bar = _BarWriter(rules, chords[b], ends[b], budget, list(header), guide, programs, list(given),
                                 require_melody=need and attempt == tries - 1, leap_cost=melody_leap_cost,
                                 repeat_cost=melody_repeat_cost, last_melody=last_melody)
                while True:
                    state = bar.state()
                    allowed = g.allowed(state)
                    choice = _sample(ctx.hidden, allowed, temperature, top_p, gen, bar.bias(state, allowed, g))
                    if g.kind[choice] == "Bar":
                        break
                    bar.take(choice, g)
                    ctx.feed(choice, bar.tokens)
                if bar.has_melody or attempt == tries - 1:
                    break
                ctx.rewind(start)  # a bar without its tune: drawn again
                if guide is not None:
                    guide.profile[:] = heard
            ctx.bars.append(bar.tokens)
            last_melody = bar.last_melody
            melody_of[b] = _melody_script(bar.tokens[len(header):], g)
        return ctx.tokens()


def _melody_script(tokens: list[int], g: _Grammar) -> list[tuple[int, list[int]]]:
    """The melody notes of a bar's sampled tokens: ``(position, [Program, Pitch, Velocity, Duration])`` each."""
    out, pos = [], -1
    for i, t in enumerate(tokens):
        if g.kind[t] == "Position":
            pos = g.value[t]
        elif g.kind[t] == "Program" and g.value[t] == _MELODY_PROGRAM:
            out.append((pos, tokens[i:i + 4]))
    return out


def _fit_script(script: list[tuple[int, list[int]]], rules: _NoteRules, chords: list[tuple[int, frozenset[int]]],
                end: int, g: _Grammar) -> list[tuple[int, list[int]]]:
    """A statement's melody notes for the bar that restates it: those that begin inside the bar (``end``), each
    pitch kept where the bar's own chord allows it, else moved to the nearest pitch that is allowed (down on a
    tie), so the tune stays recognisable over a changed harmony."""
    out = []
    for pos, ids in script:
        if pos >= end:
            continue
        program, pitch_id, velocity, duration = ids
        chord = next(pcs for q, pcs in reversed(chords) if q <= pos)
        allowed = rules.pitches(pos, _MELODY_PROGRAM, chord)
        if allowed and int(g.pitch_pc[pitch_id]) not in allowed:
            pitch = g.value[pitch_id]
            for d in sorted(range(-6, 7), key=lambda d: (abs(d), d)):
                if (pitch + d) % 12 in allowed and pitch + d in g.pitch_id:
                    pitch_id = g.pitch_id[pitch + d]
                    break
        out.append((pos, [program, pitch_id, velocity, duration]))
    return out


def _trim(notes: list[Note], changes: list[tuple[int, frozenset[int]]]) -> list[Note]:
    """Cut each note at the first chord change it would ring into whose chord lacks its pitch class."""
    import bisect

    ticks = [t for t, _ in changes]
    out = []
    for n in notes:
        i = bisect.bisect_right(ticks, n.start)
        while i < len(changes) and changes[i][0] < n.end:
            if changes[i][1] and n.pitch % 12 not in changes[i][1]:
                n = Note(n.start, changes[i][0] - n.start, n.pitch, n.velocity)
                break
            i += 1
        out.append(n)
    return out


def _chord_changes(plan: MusicPlan, resolution: int) -> list[tuple[int, frozenset[int]]]:
    """``(tick, pitch classes)`` of every chord of the plan ('N' has none), in order."""
    return [(span.start_tick, frozenset(span.chord.pitch_classes)) for span in plan.chord_spans(resolution)]


def compose(plan: MusicPlan, checkpoint: str | Path | None = None, **sampling) -> Piece:
    """Realize ``plan``: the model's melody and harmony (piano), the rule engine's bass and drums.

    ``checkpoint`` defaults to ``checkpoints/transformer`` (``$FRAMESCORE_TRANSFORMER_CHECKPOINT`` overrides it);
    ``sampling`` takes ``temperature``, ``top_p``, ``chord_tones``, ``passing_max_positions``, ``strong_beats``,
    ``diatonic_passing``, ``melody_leap_cost``, ``melody_repeat_cost``,
    ``key_guidance``, ``key_margin`` and ``trim_at_chord_changes`` (see :data:`DEFAULTS`): the last cuts a melody
    or piano note where it would ring on into a chord that lacks it. The bass is composed first, so the key
    guide hears it. Velocities are set to the plan's bar dynamics, the model's accents kept (:func:`.at_dynamics`),
    and the melody's last note comes home to the tonic (:func:`.close_on_tonic`).
    """
    from .assembly import at_dynamics, bass_profile, close_on_tonic, rule_backing, with_backing

    plan.validate()
    opts = {**DEFAULTS, **sampling}
    if plan.valence < 0:  # the mood rests on the mode: the key is held harder, unless the caller set the guide
        opts.update({k: sampling.get(k, v) for k, v in DARK_KEY_GUIDE.items()})
    trim = opts.pop("trim_at_chord_changes")
    directory = str(Path(checkpoint) if checkpoint is not None else _default_dir())
    backing = rule_backing(plan)
    ids = generate_tokens(plan, directory, backing_profile=np.array(bass_profile(backing)), **opts)
    tok = _load(directory)[0]
    parts = {t.name: t.notes for t in tok.decode(ids, plan, TICKS_PER_QUARTER)}
    if trim:
        changes = _chord_changes(plan, TICKS_PER_QUARTER)
        parts = {role: _trim(notes, changes) for role, notes in parts.items()}
    parts = {role: at_dynamics(notes, plan, role) for role, notes in parts.items()}
    if "melody" in parts:
        parts["melody"] = close_on_tonic(parts["melody"], plan, piece_from_plan_grid(plan).end_tick)
    return with_backing(plan, parts, backing)


def _default_dir() -> Path:
    from ..checkpoints import checkpoint_dir

    return checkpoint_dir("transformer")
