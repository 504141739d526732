"""The rule engine's pitch helpers: scale steps, the nearest chord tone, octave folding and close-position
voicings led from the last. Pure functions of pitches, keys and chords (no plan, no time), kept apart from
:mod:`.rule` so that the arranger reads as rules about time and parts; and :class:`KeyGuide`, which hears the key
of what has been written so far and says which pitches would make the plan's key the one heard."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..chords import QUALITIES, Chord, Key
from ..key_profiles import GUIDE_PROFILES, key_matrix, key_push, unit_profile

__all__ = ["HARMONY_CENTER", "HARMONY_LOWEST", "KeyGuide", "chord_scale", "fold", "nearest", "scale_step",
           "steps_between", "voicing", "voicing_pcs"]

HARMONY_LOWEST = (48, 57)  # the voicing's lowest note lies in C3-A3: chords sit in C3-A4, under the melody
HARMONY_CENTER = 58  # where a voicing's mean pitch is pulled, so voice leading does not drift


@lru_cache(maxsize=512)
def chord_scale(key: Key, chord: Chord) -> frozenset[int]:
    """The key's scale bent to the chord: a chord tone outside the key (G# over E in A minor) replaces its
    neighbours, so passing notes never rub a semitone against the harmony's own altered note."""
    scale = set(key.scale)
    for pc in chord.pitch_classes:
        if pc not in scale:
            scale -= {(pc - 1) % 12, (pc + 1) % 12}
            scale.add(pc)
    return frozenset(scale)


def scale_step(pitch: int, steps: int, scale: frozenset[int]) -> int:
    """Move ``steps`` scale steps from ``pitch`` (which need not be in the scale)."""
    d = 1 if steps > 0 else -1
    for _ in range(abs(steps)):
        pitch += d
        while pitch % 12 not in scale:
            pitch += d
    return pitch


def steps_between(a: int, b: int, scale: frozenset[int]) -> int:
    """The signed number of ``scale`` tones a line passes from ``a`` to ``b`` (``b`` counted, ``a`` not): the size
    of a melodic step in scale steps, so that ``scale_step(a, steps_between(a, b, s), s) == b`` for ``b`` in ``s``."""
    if b >= a:
        return sum(1 for p in range(a + 1, b + 1) if p % 12 in scale)
    return -sum(1 for p in range(b, a) if p % 12 in scale)


def nearest(target: int, pcs, direction: int = 0) -> int:
    """A pitch whose class is in ``pcs``: the first within a minor third of ``target`` in ``direction`` (so
    a line keeps moving the way it was going), else the nearest one either side."""
    if direction:
        d = 1 if direction > 0 else -1
        for k in range(4):
            if (target + d * k) % 12 in pcs:
                return target + d * k
    for k in range(12):
        for p in (target + k, target - k):
            if p % 12 in pcs:
                return p
    return target


def fold(pitch: int, lo: int, hi: int) -> int:
    """``pitch`` moved by octaves into [lo, hi] (when the range spans an octave)."""
    while pitch > hi:
        pitch -= 12
    while pitch < lo:
        pitch += 12
    return pitch


def voicing_pcs(chord: Chord) -> tuple[int, ...]:
    """Chord tones to voice, root upward; five-note chords drop their fifth."""
    ivs = QUALITIES[chord.quality]
    if len(ivs) > 4:
        ivs = tuple(i for i in ivs if i != 7)[:4]
    return tuple((chord.root + i) % 12 for i in sorted(i % 12 for i in ivs))  # 9ths fold into close position


@lru_cache(maxsize=256)
def _candidates(pcs: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Close-position voicings of every inversion with the lowest note in :data:`HARMONY_LOWEST`."""
    out = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        low = HARMONY_LOWEST[0] + (order[0] - HARMONY_LOWEST[0]) % 12
        while low <= HARMONY_LOWEST[1]:
            v = [low]
            for pc in order[1:]:
                v.append(v[-1] + ((pc - v[-1]) % 12 or 12))
            out.append(tuple(v))
            low += 12
    return tuple(out)


def voicing(pcs: tuple[int, ...], prev: tuple[int, ...] | None) -> tuple[int, ...]:
    """The voicing that moves least from ``prev`` (each voice to its nearest), pulled gently to the middle."""

    def cost(v: tuple[int, ...]) -> float:
        centre = 0.5 * abs(sum(v) / len(v) - HARMONY_CENTER)
        if prev is None:
            return centre
        return (sum(min(abs(a - p) for p in prev) for a in v) + sum(min(abs(a - p) for a in v) for p in prev)
                + centre)

    return min(_candidates(pcs), key=cost)


class KeyGuide:
    """Which pitch classes would make ``key`` the key heard, while what is heard leaves it in doubt.

    A progression such as C#m A B E is as much E major as C# minor; what decides is which tones the music dwells
    on. The guide keeps a duration-weighted pitch-class profile (``profile``: what has been written, and the
    accompaniment the melody will sound over) and, for each set of key profiles in ``profiles``
    (:mod:`~framescore.symbolic.key_profiles`) where ``key`` does not lead every other key's correlation by
    ``margin``, takes the target's profile minus the closest rival's: the first-order direction in which a note
    widens the gap (profiles centred, unit length). :meth:`push` averages them over the sets; it is None when the
    key is clear to every set, and then the guide changes nothing. Two sets (Albrecht-Shanahan, Krumhansl-Kessler,
    as the transformer's guide), so the music is made clear in its key, not fitted to one key finder's template.
    """

    def __init__(self, key: Key, profile: np.ndarray, margin: float,
                 profiles: tuple[str, ...] = GUIDE_PROFILES) -> None:
        self.profiles = profiles
        self.keys = [key_matrix(p) for p in profiles]
        self.target = 12 * (key.mode == "minor") + key.tonic
        self.margin = margin
        self.profile = np.asarray(profile, dtype=float).copy()

    def add(self, pc: int, weight: float) -> None:
        self.profile[pc % 12] += weight

    def lead(self) -> float:
        """The smallest lead of the target's correlation over the best rival's, across the sets (-1: no notes)."""
        p = unit_profile(self.profile)
        if np.isnan(p[0]):
            return -1.0
        out = np.inf
        for keys in self.keys:
            r = keys @ p
            out = min(out, r[self.target] - np.delete(r, self.target).max())
        return float(out)

    def push(self) -> np.ndarray | None:
        """Per pitch class, how much a note of it pulls toward the target key (mean over the sets where the key is
        not clear, :func:`~framescore.symbolic.key_profiles.key_push`); None when it is clear to every set, or
        nothing has been heard."""
        return key_push(self.profile, self.target, self.margin, self.profiles)
