"""The diffusion engine's training cache: POP909 songs as roll windows."""

from __future__ import annotations

import numpy as np
import pytest

from framescore.datasets.paths import DatasetError
from framescore.datasets.pop909 import SongExample
from framescore.datasets.rolls import RollCache, _song_arrays, load_cache
from framescore.symbolic.piece import Note, Piece, Track
from framescore.symbolic.plan import simple_plan
from framescore.symbolic.roll import RollSpec, key_shift, piece_to_roll

SPEC = RollSpec()


def _example(n_bars: int, padded: list[int]) -> SongExample:
    plan = simple_plan(n_bars * 2.4, tempo_bpm=100, key="G major", chords="I V vi IV")
    mel = [Note(b * 1920, 480, 67 + b % 5) for b in range(n_bars) if b not in padded]
    harm = [Note(b * 1920 + 480 * k, 480, 55 + k) for b in range(n_bars) if b not in padded for k in range(4)]
    piece = Piece([Track("melody", 0, False, mel), Track("harmony", 0, False, harm)], end_tick=n_bars * 1920)
    return SongExample("000", piece, plan, padded_bars=padded)


def test_cache_windows_avoid_padded_bars_and_batches_match_the_song():
    ex = _example(12, padded=[5])
    packed, mask, root, dens, starts = _song_arrays(ex, SPEC, SPEC.window_bars)
    assert list(starts // 16) == [0, 1, 6, 7, 8]
    cache = RollCache(SPEC, packed, mask, root, dens, starts, np.array(["000"]), np.array([0, len(packed)]))
    rolls, cond = cache.batch(np.array([0, 4]))
    assert rolls.shape == (2, 4, 64, 64) and cond.shape == (2, 3, 64, 64)
    full = piece_to_roll(ex.piece, 12 * 16, SPEC, key_shift(ex.plan.key_obj))
    assert np.array_equal(rolls[1], full[:, 8 * 16:12 * 16])
    assert set(np.unique(rolls)) <= {0.0, 1.0}


def test_missing_cache_says_how_to_build_it(tmp_path):
    with pytest.raises(DatasetError, match="python -m framescore.datasets.rolls"):
        load_cache("train", tmp_path)
