"""Chord progressions from a key-relative Markov model learned from POP909's chord annotations.

The model (``checkpoints/chord_model/model.json``, trained by ``python -m framescore.datasets.chord_stats``)
holds counts, one chord a bar, with each chord written relative to its key as a *state* ``"degree:family"``:
the root in semitones above the tonic and a quality family (``"7:maj"`` is V in any major key, ``"9:min"`` vi).
Separately for major and minor keys it counts bar-to-bar transitions, the chords that open and close phrases
(a phrase: a run of chords in one key between silences, key changes and the song's ends), the chord that leads
into a closing tonic (the cadence), and the 4-bar patterns that occur.

Sampling follows what pop music does rather than a free random walk: per call (per section) it draws a 4-bar
loop from the Markov chain (several candidates, weighted by how well the loop closes on itself and how often the
exact pattern occurs in the corpus), repeats it, and when asked rewrites the last bars into a cadence: a
dominant or subdominant approach chord drawn from the cadence counts, then the tonic. Valence tilts the choice
towards minor-quality chords (valence < 0) or away from them; a temperature below 1 keeps to common moves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FramescoreError
from .checkpoints import checkpoint_dir
from .chords import Chord, Key

__all__ = [
    "FAMILIES",
    "FAMILY_OF",
    "ChordModel",
    "ModelError",
    "chord_state",
    "default_model_dir",
    "roman",
    "state_chord",
]

#: Quality families, the model's chord vocabulary per degree (12 x 9 = 108 states per mode).
FAMILIES = ("maj", "min", "7", "maj7", "min7", "dim", "aug", "sus2", "sus4")
#: Every quality of :data:`framescore.symbolic.chords.QUALITIES` → its family.
FAMILY_OF = {
    "maj": "maj", "maj6": "maj", "add9": "maj",
    "min": "min", "min6": "min", "minmaj7": "min",
    "7": "7", "9": "7",
    "maj7": "maj7", "maj9": "maj7",
    "min7": "min7", "min9": "min7",
    "dim": "dim", "dim7": "dim", "hdim7": "dim",
    "aug": "aug",
    "sus2": "sus2",
    "sus4": "sus4", "sus4(b7)": "sus4",
}
MINOR_FAMILIES = frozenset({"min", "min7", "dim"})
STATES = tuple(f"{d}:{f}" for d in range(12) for f in FAMILIES)
_STATE_INDEX = {s: i for i, s in enumerate(STATES)}
#: Roots (semitones above the tonic) that can lead into a closing tonic: IV, V, ii, bVII, bVI, vii, iii.
APPROACH_DEGREES = frozenset({5, 7, 2, 10, 8, 11, 4})

VALENCE_WEIGHT = 0.8  # log-odds shift of minor-family chords per unit of (negative) valence
N_CANDIDATES = 12  # loops drawn per call; one is kept


class ModelError(FramescoreError):
    """A chord model file that is missing or malformed, or an impossible request."""


def default_model_dir() -> Path:
    """The shipped checkpoint: ``checkpoints/chord_model`` (:func:`~framescore.symbolic.checkpoints.checkpoint_dir`)."""
    return checkpoint_dir("chord_model")


def chord_state(chord: Chord, key: Key) -> str | None:
    """``Chord`` → ``"degree:family"`` relative to ``key``; ``None`` for no chord (``N``)."""
    if chord.root is None:
        return None
    return f"{(chord.root - key.tonic) % 12}:{FAMILY_OF[chord.quality]}"


def state_chord(state: str, key: Key) -> Chord:
    """``"7:maj"`` in C major → G:maj. Families are their own representative quality."""
    degree, family = state.split(":")
    return Chord((key.tonic + int(degree)) % 12, family)


_NUMERALS = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")


def roman(state: str) -> str:
    """A readable Roman numeral, chromatic relative to the tonic: ``"9:min"`` → ``vi``, ``"10:maj"`` → ``bVII``."""
    degree, family = state.split(":")
    num = _NUMERALS[int(degree)]
    if family in MINOR_FAMILIES:
        num = num.lower()
    return num + {"maj": "", "min": "", "7": "7", "maj7": "maj7", "min7": "7", "dim": "°", "aug": "+",
                  "sus2": "sus2", "sus4": "sus4"}[family]


def _vector(counts: dict[str, float]) -> np.ndarray:
    v = np.zeros(len(STATES))
    for s, c in counts.items():
        v[_STATE_INDEX[s]] = c
    return v


@dataclass
class ModeModel:
    """Probabilities for one mode, rebuilt from the stored counts."""

    unigram: np.ndarray  # (S,) smoothed P(state)
    trans: np.ndarray  # (S, S) smoothed P(next | previous)
    start: np.ndarray  # (S,) P(first chord of a phrase)
    approach: np.ndarray  # (S,) P(chord leading into the closing tonic), zero outside APPROACH_DEGREES
    tonic: int  # index of the closing tonic state
    loops: dict[tuple[int, ...], float]  # 4-bar patterns (state indices) → corpus count

    @classmethod
    def from_counts(cls, d: dict[str, Any], alpha: float, k: float, mode: str) -> ModeModel:
        n = len(STATES)
        uni = _vector(d["unigram"])
        unigram = (uni + k) / (uni.sum() + k * n)
        # Add-alpha smoothing with the unigram as the prior (a Dirichlet prior): unseen moves fall back to how
        # common the target chord is, not to a uniform guess.
        counts = np.zeros((n, n))
        for a, row in d["transitions"].items():
            for b, c in row.items():
                counts[_STATE_INDEX[a], _STATE_INDEX[b]] = c
        trans = (counts + alpha * unigram) / (counts.sum(axis=1, keepdims=True) + alpha)
        start = _vector(d["start"]) + 0.5 * unigram
        start /= start.sum()
        approach = _vector(d["cadence"])
        mask = np.array([int(s.split(":")[0]) in APPROACH_DEGREES for s in STATES])
        approach = approach * mask
        if approach.sum() == 0:  # no cadence counts: fall back to V
            approach[_STATE_INDEX["7:maj"]] = 1.0
        approach /= approach.sum()
        ends = {s: c for s, c in d["end"].items() if s.startswith("0:")}
        tonic_state = max(sorted(ends), key=ends.get) if ends else ("0:maj" if mode == "major" else "0:min")
        loops = {tuple(_STATE_INDEX[s] for s in pat.split(" ")): float(c) for pat, c in d.get("loops", {}).items()}
        return cls(unigram, trans, start, approach, _STATE_INDEX[tonic_state], loops)


class ChordModel:
    """Key-relative chord Markov model, per mode. Load the shipped one with :meth:`load`."""

    def __init__(self, doc: dict[str, Any]):
        try:
            sm = doc["smoothing"]
            self.alpha, self.k = float(sm["alpha"]), float(sm["k"])
            self.modes = {m: ModeModel.from_counts(doc["modes"][m], self.alpha, self.k, m) for m in ("major", "minor")}
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"malformed chord model: {e!r}") from None
        self.doc = doc
        self._minor = np.array([s.split(":")[1] in MINOR_FAMILIES for s in STATES])

    @classmethod
    def load(cls, path: str | Path | None = None) -> ChordModel:
        """Read ``model.json`` from a checkpoint folder (default: the shipped ``checkpoints/chord_model``) or file."""
        p = Path(path) if path is not None else default_model_dir()
        if p.is_dir():
            p = p / "model.json"
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            hint = "train it: python -m framescore.datasets.chord_stats"
            raise ModelError(f"chord model not found: {p} ({hint})") from None
        except (OSError, json.JSONDecodeError) as e:
            raise ModelError(f"cannot read chord model {p}: {e}") from None
        return cls(doc)

    # ----- probabilities -------------------------------------------------------------------------------------
    def log_prob(self, mode: str, prev: str, nxt: str) -> float:
        """Natural log of P(next | previous) in ``mode`` (states as ``"degree:family"``)."""
        return math.log(self.modes[mode].trans[_STATE_INDEX[prev], _STATE_INDEX[nxt]])

    def unigram_log_prob(self, mode: str, state: str) -> float:
        return math.log(self.modes[mode].unigram[_STATE_INDEX[state]])

    def _tilt(self, p: np.ndarray, valence: float, temperature: float) -> np.ndarray:
        """Reweight a distribution: minor chords up when valence < 0, down when > 0; then temperature."""
        w = np.log(np.maximum(p, 1e-300)) - VALENCE_WEIGHT * valence * self._minor
        w = w / temperature
        w = np.exp(w - w.max())
        return w / w.sum()

    # ----- sampling ------------------------------------------------------------------------------------------
    def sample_progression(
        self,
        key: Key,
        n_bars: int,
        rng: np.random.Generator,
        valence: float = 0.0,
        end_with_cadence: bool = True,
        start: Chord | None = None,
        temperature: float = 0.8,
        loop_bars: int = 4,
    ) -> list[Chord]:
        """One chord per bar for ``n_bars`` bars in ``key``: a repeated loop, closing on a cadence if asked.

        ``start`` fixes the first chord (e.g. to continue from the previous section). With a cadence, the last
        bar is the tonic and the one before it an approach chord (IV, V, ii, bVII, ...) from the cadence counts.
        """
        if n_bars < 1:
            raise ModelError(f"a progression needs at least one bar, not {n_bars}")
        if not 0 < temperature <= 10:
            raise ModelError(f"temperature {temperature} out of range (0, 10]")
        m = self.modes[key.mode]
        trans = np.array([self._tilt(row, valence, temperature) for row in m.trans])
        start_idx = None
        if start is not None and start.root is not None:
            start_idx = _STATE_INDEX[chord_state(start, key)]
        if end_with_cadence and n_bars <= 2:
            seq = [m.tonic]
            if n_bars == 2:
                if start_idx is None:
                    start_idx = self._approach(m, trans, None, valence, temperature, rng)
                seq.insert(0, start_idx)
        else:
            loop = self._loop(m, trans, min(loop_bars, n_bars), start_idx, valence, temperature, rng)
            seq = [loop[i % len(loop)] for i in range(n_bars)]
            if end_with_cadence:
                seq[-2] = self._approach(m, trans, seq[-3], valence, temperature, rng)
                seq[-1] = m.tonic
        chords = [state_chord(STATES[i], key) for i in seq]
        if start is not None and start.root is not None and not (end_with_cadence and n_bars == 1):
            chords[0] = start
        return chords

    def _loop(self, m: ModeModel, trans: np.ndarray, length: int, first: int | None, valence: float,
              temperature: float, rng: np.random.Generator) -> list[int]:
        """Draw candidate loops from the chain; keep one, favouring loops that close well and occur in pop."""
        start = self._tilt(m.start, valence, temperature)
        n = len(STATES)
        cands, weights = [], []
        for _ in range(N_CANDIDATES):
            seq = [int(rng.choice(n, p=start)) if first is None else first]
            for _ in range(length - 1):
                seq.append(int(rng.choice(n, p=trans[seq[-1]])))
            w = trans[seq[-1], seq[0]] if length > 1 else 1.0  # the loop must flow back into its start
            w *= 1.0 + m.loops.get(tuple(seq), 0.0) if length == 4 else 1.0
            if length >= 3:  # a loop holding one chord, or rocking between two, is rarer in pop than 3-4 chords
                w *= {1: 0.05, 2: 0.5}.get(len(set(seq)), 1.0)
            cands.append(seq)
            weights.append(w)
        p = np.asarray(weights) / np.sum(weights)
        return cands[int(rng.choice(len(cands), p=p))]

    def _approach(self, m: ModeModel, trans: np.ndarray, prev: int | None, valence: float, temperature: float,
                  rng: np.random.Generator) -> int:
        """The cadence's approach chord: cadence counts, times how well it follows the bar before."""
        p = self._tilt(m.approach, valence, temperature)
        if prev is not None:
            p = p * np.sqrt(trans[prev])
            p /= p.sum()
        return int(rng.choice(len(STATES), p=p))
