"""REMI tokens with the plan inside: what the transformer engine reads, writes and is trained on.

The music is miditok's REMI+ (``Bar``, ``TimeSig``, ``Position``, ``Program``, ``Pitch``, ``Velocity``,
``Duration``) in ONE stream: the melody is program 0 and the accompaniment (POP909's BRIDGE + PIANO, our
``harmony`` track) program 1, mapped back to tracks on decoding. Grid: 4 positions a beat (16ths in x/4),
8 velocity bins, durations up to 8 beats (2 bars of 4/4). Tempo tokens are off (the plan carries the tempo);
the ``TimeSig`` token after each ``Bar`` is kept, because miditok needs it to know how long a bar is, and it is
written from the plan like the plan tokens below, never sampled.

Plan tokens added to miditok's vocabulary:

- at the start: ``Mode_major|minor``, ``TempoBin_k``, ``Valence_k``, ``Arousal_k``;
- after each ``Bar TimeSig``: ``ChordPos_p Chord_<root>:<quality>`` for every chord of the bar (``p`` on the
  position grid), then ``Density_k`` and ``Dynamics_k`` (each on the scale of the labels the model learnt from,
  recorded in its :class:`TokenizerSpec`: a plan's number asks for the same onsets a beat and the same mean velocity).

Key: every song is transposed to C major or A minor (by at most 6 semitones, down or up) before it is tokenized,
so chord roots are key-relative (``Chord_G:7`` is the dominant of a major key) and the model learns one set of
degree relations from every song; generated notes are transposed back into the plan's key on decoding. Chord
bass notes (inversions) are dropped: the model sees root and quality.

A trained checkpoint's ``tokenizer.json`` lists the plan tokens its training data never held (POP909 has no 6/8
and, without an emotion classifier, one valence/arousal bin); for those the generator feeds the nearest seen
token (nearest bin, nearest bar length, the chord's triad), while the grammar and the decoding keep the plan's
own meter and chords.

Layout of one song: ``BOS Mode TempoBin Valence Arousal (Bar TimeSig (ChordPos Chord)+ Density Dynamics
<music>*)* EOS``. The grammar is in :class:`TokenTypes` so the generator can mask what may follow what.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FramescoreError
from .attributes import DENSITY_ONSETS_PER_BEAT
from .chords import QUALITIES, Chord, Key, parse_chord, triad_of
from .plan import VELOCITY_RANGE, velocity_of

if TYPE_CHECKING:
    from .piece import Piece, Track
    from .plan import ChordSpan, MusicPlan

__all__ = [
    "FORMAT",
    "PlanTokenizer",
    "TokenizerError",
    "TokenizerSpec",
    "key_shift",
]

FORMAT = "framescore-remi-plan"
FORMAT_VERSION = 1
#: Track name → REMI program in the token stream, and back.
PROGRAM_OF_TRACK = {"melody": 0, "harmony": 1}
TRACK_OF_PROGRAM = {v: k for k, v in PROGRAM_OF_TRACK.items()}
_PC_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: The density scale of tokenizer files written before the scale was recorded (attributes then used 8).
LEGACY_DENSITY_ONSETS_PER_BEAT = 8.0
#: The dynamics scale of tokenizer files written before the scale was recorded (dynamics = mean velocity / 127).
LEGACY_DYNAMICS_VELOCITY_RANGE = (0.0, 127.0)


class TokenizerError(FramescoreError):
    """A tokenizer file that does not match this code, or a plan the vocabulary cannot express."""


@dataclass(frozen=True)
class TokenizerSpec:
    """Everything that fixes the vocabulary; stored in ``tokenizer.json`` and checked on load."""

    pitch_range: tuple[int, int] = (21, 109)
    positions_per_beat: int = 4
    num_velocities: int = 8
    max_duration_beats: int = 8
    #: Supported meters: denominator → numerators (miditok's ``time_signature_range``).
    meters: dict[int, list[int]] = field(default_factory=lambda: {4: [1, 2, 3, 4, 5, 6, 7], 8: [3, 5, 6, 7, 9, 12],
                                                                  2: [2, 3, 4]})
    #: Upper edges of the tempo bins (bpm); one more bin above the last edge.
    tempo_edges: tuple[float, ...] = (60, 70, 80, 90, 100, 110, 120, 135, 150)
    #: Upper edges of the valence and arousal bins over [-1, 1].
    va_edges: tuple[float, ...] = (-0.6, -0.2, 0.2, 0.6)
    #: Number of equal bins over [0, 1] for per-bar density and dynamics.
    n_density_bins: int = 8
    n_dynamics_bins: int = 8
    #: Onsets a beat that made density 1.0 in the labels the model learnt from (``attributes`` at corpus-build
    #: time); plan densities, measured with today's ``attributes``, are rescaled to it. Files without it: 8.
    density_onsets_per_beat: float = DENSITY_ONSETS_PER_BEAT
    #: The mean velocities that were dynamics 0 and 1 in the labels the model learnt from; plan dynamics
    #: (:func:`~framescore.symbolic.plan.velocity_of`) are put on that scale. Files without it: (0, 127), the
    #: labels of mean velocity / 127 that the shipped checkpoints learnt.
    dynamics_velocity_range: tuple[float, float] = VELOCITY_RANGE

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["meters"] = {str(k): v for k, v in self.meters.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TokenizerSpec:
        d = dict(d)
        d["pitch_range"] = tuple(d["pitch_range"])
        d["tempo_edges"] = tuple(d["tempo_edges"])
        d["va_edges"] = tuple(d["va_edges"])
        d["meters"] = {int(k): list(v) for k, v in d["meters"].items()}
        d.setdefault("density_onsets_per_beat", LEGACY_DENSITY_ONSETS_PER_BEAT)
        d["dynamics_velocity_range"] = tuple(d.get("dynamics_velocity_range", LEGACY_DYNAMICS_VELOCITY_RANGE))
        return cls(**d)


def key_shift(key: Key) -> int:
    """Semitones that move ``key`` to C major (or A minor), in -6..5 so the register moves as little as it can."""
    target = 0 if key.mode == "major" else 9
    return (target - key.tonic + 6) % 12 - 6


def _bin(value: float, edges: tuple[float, ...] | list[float]) -> int:
    return int(np.searchsorted(np.asarray(edges, dtype=float), value, side="right"))


def _unit_bin(value: float, n: int) -> int:
    return min(n - 1, max(0, int(math.floor(value * n))))


class PlanTokenizer:
    """miditok REMI+ plus the plan's tokens: one vocabulary, ids = miditok's ids then the plan tokens.

    ``encode(piece, plan)`` makes a training sequence; ``prefix_ids``/``bar_header_ids`` make the tokens the
    generator inserts; ``decode(ids, plan)`` turns a sequence back into melody and harmony tracks in the plan's key.
    """

    def __init__(self, spec: TokenizerSpec | None = None, vocab: list[str] | None = None) -> None:
        """Built with miditok, or (``vocab``: a stored vocabulary, as :meth:`load` reads it) without it: generating
        and decoding need only the vocabulary; miditok is built on first use (:attr:`remi`, for encoding), and
        checked to give the same vocabulary then."""
        self.spec = spec or TokenizerSpec()
        self.plan_tokens = self._plan_vocab()
        self._remi = None
        if vocab is None:
            remi = self._build_remi()
            vocab = [remi[i] for i in range(len(remi))]
            self._remi = remi
        self.vocab: list[str] = list(vocab)
        self.n_remi = len(self.vocab) - len(self.plan_tokens)
        if self.vocab[self.n_remi:] != self.plan_tokens:
            raise TokenizerError("the stored vocabulary does not end with this version's plan tokens")
        self.ids: dict[str, int] = {t: i for i, t in enumerate(self.vocab)}
        self.types = TokenTypes(self)
        #: Plan tokens the model never saw in training (set by the trainer, stored in tokenizer.json): the
        #: generator feeds the nearest seen one instead, so an unusual plan does not put the model off its data.
        self.unseen: frozenset[str] = frozenset()

    def _build_remi(self):
        """miditok's REMI+ with this spec, the plan tokens added to its vocabulary."""
        import miditok

        spec = self.spec
        beats = spec.max_duration_beats
        half = max(4, beats // 2)
        beat_res = {(0, half): spec.positions_per_beat}
        if beats > half:
            beat_res[(half, beats)] = max(1, spec.positions_per_beat // 2)
        cfg = miditok.TokenizerConfig(
            pitch_range=tuple(spec.pitch_range), beat_res=beat_res, num_velocities=spec.num_velocities,
            special_tokens=["PAD", "BOS", "EOS"], use_programs=True, one_token_stream_for_programs=True,
            programs=sorted(TRACK_OF_PROGRAM), use_time_signatures=True,
            time_signature_range={k: list(v) for k, v in spec.meters.items()}, use_tempos=False, use_chords=False,
            use_rests=False, use_sustain_pedals=False, use_pitch_bends=False, use_pitchdrum_tokens=False,
            remove_duplicated_notes=True,
        )
        remi = miditok.REMI(cfg)
        for tok in self.plan_tokens:
            remi.add_to_vocab(tok)
        return remi

    @property
    def remi(self):
        """miditok's tokenizer (training, encoding, the round-trip tests), built on first use; a
        :class:`TokenizerError` if this miditok gives another vocabulary than the stored one."""
        if self._remi is None:
            remi = self._build_remi()
            if [remi[i] for i in range(len(remi))] != self.vocab:
                raise TokenizerError("the vocabulary rebuilt with this miditok differs from the stored one")
            self._remi = remi
        return self._remi

    # ----- vocabulary -------------------------------------------------------------------------------------------
    def _plan_vocab(self) -> list[str]:
        s = self.spec
        max_pos = max(n for ns in s.meters.values() for n in ns) * s.positions_per_beat
        toks = ["Mode_major", "Mode_minor"]
        toks += [f"TempoBin_{i}" for i in range(len(s.tempo_edges) + 1)]
        toks += [f"Valence_{i}" for i in range(len(s.va_edges) + 1)]
        toks += [f"Arousal_{i}" for i in range(len(s.va_edges) + 1)]
        toks += [f"ChordPos_{p}" for p in range(max_pos)]
        toks += ["Chord_N"] + [f"Chord_{pc}:{q}" for pc in _PC_NAMES for q in QUALITIES]
        toks += [f"Density_{i}" for i in range(s.n_density_bins)]
        toks += [f"Dynamics_{i}" for i in range(s.n_dynamics_bins)]
        return toks

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        return self.ids["PAD_None"]

    @property
    def bos_id(self) -> int:
        return self.ids["BOS_None"]

    @property
    def eos_id(self) -> int:
        return self.ids["EOS_None"]

    @property
    def bar_id(self) -> int:
        return self.ids["Bar_None"]

    def is_plan_token(self, token_id: int) -> bool:
        return token_id >= self.n_remi or self.vocab[token_id].startswith("TimeSig_")

    def positions_per_bar(self, meter: tuple[int, int]) -> int:
        """REMI positions in one bar of ``meter`` (miditok counts them per beat of the denominator)."""
        return meter[0] * self.spec.positions_per_beat

    def check_meter(self, meter: tuple[int, int]) -> None:
        num, den = meter
        if num not in self.spec.meters.get(den, []):
            known = ", ".join(f"{n}/{d}" for d, ns in sorted(self.spec.meters.items()) for n in ns)
            raise TokenizerError(f"meter {num}/{den} is not in the transformer's vocabulary ({known})")

    # ----- plan tokens ------------------------------------------------------------------------------------------
    def mark_unseen(self, train_tokens: np.ndarray) -> None:
        """Record which plan tokens never occur in ``train_tokens`` (the corpus the model learned from)."""
        counts = np.bincount(np.asarray(train_tokens, dtype=np.int64), minlength=len(self))
        self.unseen = frozenset(self.vocab[i] for i in range(len(self)) if counts[i] == 0 and self.is_plan_token(i))

    def _seen(self, kind: str, value: int) -> str:
        """``kind_value``, or the seen ``kind_v`` with the nearest numeric ``v`` when the model never saw it."""
        token = f"{kind}_{value}"
        if token not in self.unseen:
            return token
        options = [int(t.split("_")[1]) for t in self.vocab if t.startswith(kind + "_") and t not in self.unseen]
        return f"{kind}_{min(options, key=lambda v: (abs(v - value), -v))}" if options else token

    def _seen_time_signature(self, num: int, den: int) -> str:
        token = f"TimeSig_{num}/{den}"
        if token not in self.unseen:
            return token
        n_pos = num * self.spec.positions_per_beat
        options = [(int(t[8:].split("/")[0]), t) for t in self.vocab
                   if t.startswith("TimeSig_") and t not in self.unseen]
        if not options:
            return token
        return min(options, key=lambda o: (abs(o[0] * self.spec.positions_per_beat - n_pos), -o[0]))[1]

    def prefix_ids(self, plan: MusicPlan) -> list[int]:
        """``BOS Mode TempoBin Valence Arousal``: the global conditioning at the head of every sequence."""
        s = self.spec
        toks = ["BOS_None", f"Mode_{plan.key_obj.mode}", self._seen("TempoBin", _bin(plan.tempo_bpm, s.tempo_edges)),
                self._seen("Valence", _bin(plan.valence, s.va_edges)),
                self._seen("Arousal", _bin(plan.arousal, s.va_edges))]
        return [self.ids[t] for t in toks]

    def chord_token(self, chord: Chord | str, shift: int) -> str:
        """The key-normalised chord token; an unseen one falls back to its triad (``C:minmaj7`` → ``C:min``)."""
        chord = parse_chord(chord) if isinstance(chord, str) else chord
        if chord.is_none:
            return "Chord_N"
        root = _PC_NAMES[(chord.root + shift) % 12]
        token = f"Chord_{root}:{chord.quality}"
        if token in self.unseen:
            triad = f"Chord_{root}:{_triad(chord.quality)}"
            return triad if triad not in self.unseen else token
        return token

    def _label_dynamics(self, dynamics: float) -> float:
        """A plan's dynamics on the scale of the labels the model learnt (``spec.dynamics_velocity_range``): the
        same mean velocity."""
        lo, hi = self.spec.dynamics_velocity_range
        if (lo, hi) == VELOCITY_RANGE:
            return dynamics
        return min(1.0, max(0.0, (velocity_of(dynamics) - lo) / (hi - lo)))

    def chord_positions(self, plan: MusicPlan, bar: int | None = None) -> list[ChordSpan]:
        """The plan's chord timeline (:meth:`MusicPlan.chord_spans`) on this grid: ticks are positions, bars
        :meth:`positions_per_bar` long (``bar``: that bar's chords only)."""
        num, den = plan.meter_tuple
        per_beat = self.spec.positions_per_beat
        if per_beat * den % 4:
            raise TokenizerError(f"{per_beat} positions a beat do not make whole positions a quarter in {num}/{den}")
        return plan.chord_spans(per_beat * den // 4, bar)  # positions a quarter note

    def bar_header_ids(self, plan: MusicPlan, bar: int) -> list[int]:
        """``Bar TimeSig (ChordPos Chord)+ Density Dynamics`` for one bar of the plan, chords key-normalised."""
        num, den = plan.meter_tuple
        self.check_meter((num, den))
        shift = key_shift(plan.key_obj)
        bp = plan.bars[bar]
        bar0, n_pos = bar * self.positions_per_bar((num, den)), self.positions_per_bar((num, den))
        chords: dict[str, str] = {}
        for span in self.chord_positions(plan, bar):  # two slots on one grid position: the later one wins
            pos = self._seen("ChordPos", min(n_pos - 1, span.start_tick - bar0))
            chords[pos] = self.chord_token(span.chord, shift)
        toks = ["Bar_None", self._seen_time_signature(num, den)]
        for pos, tok in sorted(chords.items(), key=lambda kv: int(kv[0].split("_")[1])):
            toks += [pos, tok]
        density = min(1.0, bp.density * DENSITY_ONSETS_PER_BEAT / self.spec.density_onsets_per_beat)
        toks += [self._seen("Density", _unit_bin(density, self.spec.n_density_bins)),
                 self._seen("Dynamics", _unit_bin(self._label_dynamics(bp.dynamics), self.spec.n_dynamics_bins))]
        return [self.ids[t] for t in toks]

    # ----- music ------------------------------------------------------------------------------------------------
    def _score(self, tracks: list[Track], meter: tuple[int, int], resolution: int, shift: int):
        import symusic

        score = symusic.Score(resolution)
        score.time_signatures.append(symusic.TimeSignature(0, meter[0], meter[1]))
        lo, hi = self.spec.pitch_range
        for tr in tracks:
            program = PROGRAM_OF_TRACK.get(tr.name)
            if program is None or tr.is_drum:
                continue
            st = symusic.Track(tr.name, program, False)
            for n in tr.notes:
                p = n.pitch + shift
                while p < lo:
                    p += 12
                while p >= hi:
                    p -= 12
                st.notes.append(symusic.Note(n.start, max(1, n.duration), p, n.velocity))
            score.tracks.append(st)
        return score

    def music_bars(self, piece: Piece, plan: MusicPlan) -> list[list[int]]:
        """The REMI music tokens of each bar (no ``Bar``/``TimeSig``), key-normalised; empty bars are ``[]``."""
        meter = plan.meter_tuple
        self.check_meter(meter)
        if tuple(piece.meter) != meter:
            raise TokenizerError(f"piece meter {piece.meter} differs from the plan's {plan.meter}")
        score = self._score(piece.tracks, meter, piece.resolution, key_shift(plan.key_obj))
        bars: list[list[int]] = []
        if not any(len(t.notes) for t in score.tracks):
            return [[] for _ in range(plan.n_bars)]
        for tok in self.remi.encode(score).tokens:
            if tok == "Bar_None":
                bars.append([])
            elif tok.startswith("TimeSig_"):
                continue
            else:
                bars[-1].append(self.ids[tok])
        return (bars + [[] for _ in range(plan.n_bars)])[:plan.n_bars]

    def encode(self, piece: Piece, plan: MusicPlan) -> np.ndarray:
        """One training sequence (uint16 ids): prefix, then every bar of the plan with its header and music."""
        ids = self.prefix_ids(plan)
        for b, music in enumerate(self.music_bars(piece, plan)):
            ids += self.bar_header_ids(plan, b) + music
        ids.append(self.eos_id)
        return np.asarray(ids, dtype=np.uint16)

    def decode(self, ids: list[int] | np.ndarray, plan: MusicPlan, resolution: int = 480) -> list[Track]:
        """Melody and harmony tracks (our resolution, the plan's key) from a token sequence; plan tokens skipped.

        Tracks get the plan's General MIDI programs for their roles (0 when a role has none).
        """
        from .piece import Note, Track

        num, den = plan.meter_tuple
        shift = key_shift(plan.key_obj)
        keep = [int(i) for i in ids if int(i) < self.n_remi and int(i) not in (self.pad_id, self.bos_id, self.eos_id)
                and not self.vocab[int(i)].startswith("TimeSig_")]
        ts = self.ids[f"TimeSig_{num}/{den}"]
        stream: list[int] = []
        for i in keep:  # miditok reads the bar length from the TimeSig token after the first Bar
            stream.append(i)
            if i == self.bar_id and len(stream) == 1:
                stream.append(ts)
        if not stream or stream[0] != self.bar_id:
            stream = [self.bar_id, ts] + stream
        out = {name: Track(name, plan.instrumentation.get(name, 0), False, []) for name in PROGRAM_OF_TRACK}
        for (program, start, duration, pitch, velocity) in self._notes(stream, resolution):
            name = TRACK_OF_PROGRAM.get(program)
            if name is not None and 0 <= pitch - shift <= 127:
                out[name].notes.append(Note(start, max(1, duration), pitch - shift, velocity))
        for track in out.values():
            track.notes.sort()
        return list(out.values())

    def _notes(self, stream: list[int], resolution: int) -> list[tuple[int, int, int, int, int]]:
        """``(program, start, duration, pitch, velocity)`` of a REMI stream's notes, in ticks of ``resolution``.

        miditok's REMI decoding (``REMI._tokens_to_score``, 3.x) for the tokens this tokenizer has, without
        miditok: ``Bar`` moves on by the bar length of the stream's first ``TimeSig``, ``Position`` counts
        :attr:`TokenizerSpec.positions_per_beat` a beat of the meter's denominator, and a ``Pitch`` is a note when
        ``Velocity`` and ``Duration`` (``beats.positions.resolution``) follow it. The tests check it against
        miditok's ``decode``."""
        vocab = self.vocab
        num, den = 4, 4
        for i in stream:
            kind, _, val = vocab[i].partition("_")
            if kind == "TimeSig":
                num, den = (int(x) for x in val.split("/"))
                break
            if kind in ("Pitch", "Velocity", "Duration"):
                break
        beat = Fraction(resolution * 4, den)
        bar_ticks, pos_ticks = num * beat, beat / self.spec.positions_per_beat
        notes = []
        tick = bar_tick = Fraction(0)
        bar, program = -1, 0
        for at, i in enumerate(stream):
            kind, _, val = vocab[i].partition("_")
            if kind == "Bar":
                bar += 1
                if bar > 0:
                    tick = bar_tick + bar_ticks
                bar_tick = tick
            elif kind == "Position":
                bar = max(bar, 0)
                tick = bar_tick + int(val) * pos_ticks
            elif kind == "Program":
                program = int(val)
            elif kind == "Pitch" and at + 2 < len(stream):
                vel_kind, _, vel = vocab[stream[at + 1]].partition("_")
                dur_kind, _, dur = vocab[stream[at + 2]].partition("_")
                if vel_kind == "Velocity" and dur_kind == "Duration":
                    beats, pos, res = (int(x) for x in dur.split("."))
                    notes.append((program, int(tick), int(beats * beat + pos * beat / res), int(val), int(vel)))
        return notes

    # ----- files ------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {"format": FORMAT, "format_version": FORMAT_VERSION, "miditok_version": version("miditok"),
                "spec": self.spec.to_dict(), "programs": PROGRAM_OF_TRACK, "unseen": sorted(self.unseen),
                "vocab": self.vocab}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> PlanTokenizer:
        """Read ``tokenizer.json`` without miditok; :attr:`remi` checks, when it is first built, that miditok's
        vocabulary is the stored one, id for id."""
        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise TokenizerError(f"cannot read tokenizer {p}: {e}") from None
        if d.get("format") != FORMAT or d.get("format_version") != FORMAT_VERSION:
            raise TokenizerError(f"{p} is not a {FORMAT} v{FORMAT_VERSION} tokenizer")
        try:
            tok = cls(TokenizerSpec.from_dict(d["spec"]), vocab=d["vocab"])
        except TokenizerError as e:
            raise TokenizerError(f"{p}: {e}") from None
        tok.unseen = frozenset(d.get("unseen", ()))
        return tok


def _triad(quality: str) -> str:
    """The triad a chord quality is built on (sevenths, sixths and ninths dropped)."""
    return triad_of(quality)


class TokenTypes:
    """Token ids grouped by type, and the values the grammar needs (positions, programs)."""

    def __init__(self, tok: PlanTokenizer) -> None:
        groups: dict[str, list[int]] = {}
        self.value: dict[int, int] = {}
        for i, t in enumerate(tok.vocab):
            kind, _, val = t.partition("_")
            groups.setdefault(kind, []).append(i)
            if kind in ("Position", "Program", "Pitch"):
                self.value[i] = int(val)
        self.groups = groups
        self.kind = {i: t.partition("_")[0] for i, t in enumerate(tok.vocab)}
        self.position_ids = sorted(groups["Position"], key=lambda i: self.value[i])
