"""Chord recognition over notes: the chord of every half bar of any piece, for reading a MIDI file into a plan.

The method, template matching smoothed by Viterbi (the textbook pipeline of chord recognition from a chromagram,
here on symbolic notes, where the chroma is exact):

1. **Chroma.** Each half bar (:func:`half_bars`: each bar cut in two halves of its own length) gets the ticks each
   pitch class sounds in it, pitched notes only, scaled to sum 1; and its *bass*: the pitch class of the lowest
   note sounding there, weighted by how long it sounds.
2. **Templates.** Every root × quality of :data:`QUALITIES_READ` scores the chroma weight on its tones, less
   ``extra_tone_cost`` for each tone past three (a seventh must earn its place), plus ``bass_bonus`` times the
   bass weight on its root (or, for a slash chord, on its bass). ``N`` (no chord) scores ``silence_score`` and
   wins only where nothing sounds; before the first note it is the answer (a rest later holds the chord).
3. **Key.** A chord whose tones all lie in the key's scale (natural or harmonic minor) gains ``diatonic_bonus``.
4. **Viterbi.** The best path over the half bars, where keeping the chord gains ``stay_bonus``: a passing note
   does not become a chord change.

The weights in :data:`DEFAULT` were chosen on POP909's training songs against their ``chord_midi.txt`` and are
measured on its validation songs by ``python -m framescore.tools.chord_reading`` (figures in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chords import QUALITIES, Chord, Key
from .piece import Piece

__all__ = ["DEFAULT", "QUALITIES_READ", "ReadingWeights", "half_bars", "chords_from_chroma", "half_bar_chroma", "read_chords"]

#: The qualities the reader chooses among: triads, sus chords and the common sevenths (POP909's most used).
QUALITIES_READ = ("maj", "min", "dim", "aug", "sus4", "sus2", "7", "maj7", "min7", "hdim7", "dim7")


@dataclass(frozen=True)
class ReadingWeights:
    """The scoring weights (module docstring); chosen on training songs only."""

    extra_tone_cost: float = 0.08
    bass_bonus: float = 0.15
    diatonic_bonus: float = 0.0
    stay_bonus: float = 0.08
    silence_score: float = 0.02
    #: qualities other than maj and min pay this: a plain triad explains the same notes more often than not
    rare_quality_cost: float = 0.1


DEFAULT = ReadingWeights()


def half_bars(piece: Piece) -> list[tuple[int, int, int, int]]:
    """``(bar, half, lo, hi)`` ticks of each half bar up to the piece's end, by the piece's own bar lines."""
    lines = piece.bar_starts()
    out = []
    for b, (a, z) in enumerate(zip(lines, lines[1:])):
        mid = a + (z - a) // 2
        for h, (lo, hi) in enumerate(((a, mid), (mid, z))):
            if lo < piece.end_tick:
                out.append((b, h, lo, hi))
    return out


def half_bar_chroma(piece: Piece, spans: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(chroma, bass)``, each ``(len(spans), 12)``: each row sums to 1, or is all zero where nothing sounds.

    The bass row is the pitch class of the lowest sounding note, over the span, weighted by how long it is the
    lowest (sampled on a 16th-note grid).
    """
    rows = [(n.start, n.end, n.pitch) for t in piece.tracks if not t.is_drum for n in t.notes]
    a = np.array(rows, dtype=np.int64).reshape(-1, 3)
    start, end, pitch = a[:, 0], a[:, 1], a[:, 2]
    chroma = np.zeros((len(spans), 12))
    bass = np.zeros((len(spans), 12))
    step = max(1, piece.resolution // 4)
    for i, (_, _, lo, hi) in enumerate(spans):
        sel = (start < hi) & (end > lo)
        if not sel.any():
            continue
        s, e, p = start[sel], end[sel], pitch[sel]
        overlap = (np.minimum(e, hi) - np.maximum(s, lo)).astype(float)
        chroma[i] = np.bincount(p % 12, weights=overlap, minlength=12)
        grid = np.arange(lo, hi, step)
        sounding = (s[None, :] <= grid[:, None]) & (e[None, :] > grid[:, None])
        low = np.where(sounding, p[None, :], 10_000).min(axis=1)
        low = low[low < 10_000]
        if len(low):
            bass[i] = np.bincount(low % 12, minlength=12)
    for m in (chroma, bass):
        tot = m.sum(axis=1, keepdims=True)
        np.divide(m, tot, out=m, where=tot > 0)
    return chroma, bass


def _candidates() -> list[Chord]:
    """Every root × :data:`QUALITIES_READ` chord, then ``N`` last."""
    return [Chord(r, q) for q in QUALITIES_READ for r in range(12)] + [Chord(None)]


def _diatonic(chords: list[Chord], key: Key | None) -> np.ndarray:
    """1 for a chord whose tones all lie in the key's scale (a minor key: natural or harmonic), else 0."""
    if key is None:
        return np.zeros(len(chords))
    scales = [set(key.scale)]
    if key.mode == "minor":
        scales.append(set(key.scale) | {(key.tonic + 11) % 12})
    return np.array([float(not c.is_none and any(set(c.pitch_classes) <= s for s in scales)) for c in chords])


def read_chords(piece: Piece, key: Key | None = None, weights: ReadingWeights = DEFAULT,
                spans: list[tuple[int, int, int, int]] | None = None) -> list[Chord]:
    """The chord of each half bar (:func:`half_bars`, or ``spans``), by the method of the module docstring.

    Root-position chords, plus a slash chord where the bass sits clearly on another chord tone (``C:maj/3``).
    """
    spans = half_bars(piece) if spans is None else spans
    if not spans:
        return []
    return chords_from_chroma(*half_bar_chroma(piece, spans), key, weights)


def chords_from_chroma(chroma: np.ndarray, bass: np.ndarray, key: Key | None,
                       weights: ReadingWeights = DEFAULT) -> list[Chord]:
    """:func:`read_chords` from the chroma and bass rows of :func:`half_bar_chroma` (steps 2-4)."""
    cands = _candidates()
    templates = np.zeros((len(cands), 12))
    for k, c in enumerate(cands):
        templates[k, list(c.pitch_classes)] = 1.0
    size = templates.sum(axis=1)
    roots = np.array([c.root if c.root is not None else 0 for c in cands])
    is_n = np.array([c.is_none for c in cands])
    rare = np.array([0.0 if c.is_none or c.quality in ("maj", "min") else 1.0 for c in cands])
    w = weights
    score = (chroma @ templates.T - w.extra_tone_cost * np.maximum(size - 3, 0) - w.rare_quality_cost * rare
             + w.bass_bonus * bass[:, roots] + w.diatonic_bonus * _diatonic(cands, key))
    silent = chroma.sum(axis=1) == 0
    score[:, is_n] = np.where(silent, w.silence_score, -1.0)[:, None]
    # Viterbi: keep the chord for stay_bonus, change to any other for nothing
    n, k = score.shape
    best = score[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        j = int(np.argmax(best))
        stay = best + w.stay_bonus
        move = best[j]
        back[i] = np.where(stay >= move, np.arange(k), j)
        best = np.maximum(stay, move) + score[i]
    path = [int(np.argmax(best))]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    path.reverse()
    lead = int(np.argmax(~silent)) if (~silent).any() else n  # before the music starts there is no chord
    return [Chord(None) if i < lead else _with_bass(cands[p], bass[i]) for i, p in enumerate(path)]


def _with_bass(chord: Chord, bass: np.ndarray) -> Chord:
    """The chord inverted onto its bass when most of the span's lowest notes sit on one other chord tone."""
    if chord.is_none or not bass.any():
        return chord
    pc = int(np.argmax(bass))
    if bass[pc] < 0.6 or pc == chord.root or pc not in chord.pitch_classes:
        return chord
    interval = (pc - chord.root) % 12
    return Chord(chord.root, chord.quality, interval) if interval in (3, 4, 7, 10, 11) else chord


assert set(QUALITIES_READ) <= set(QUALITIES)
