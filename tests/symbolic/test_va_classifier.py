"""The valence–arousal classifier at run time: features, the shipped checkpoint, hand-set weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framescore.symbolic.checkpoints import CheckpointError
from framescore.symbolic.models.va_classifier import FEATURES, QUADRANT_VA, VAClassifier, features
from framescore.symbolic.piece import Note, Piece, TempoChange, Track

# Each quadrant's music: (notes a beat, velocity, scale steps: major or minor triad arpeggios, register); the same
# styles as the fake EMOPIA of tests/datasets/test_emopia.py.
STYLE = {1: (4, 110, (0, 4, 7), 72), 2: (4, 105, (0, 3, 6), 60), 3: (1, 40, (0, 3, 7), 52), 4: (1, 50, (0, 4, 7), 64)}


def clip(quadrant: int, variant: int) -> Piece:
    per_beat, vel, chord, low = STYLE[quadrant]
    step = 480 // per_beat
    notes = [Note(i * step, step, low + variant + chord[i % 3] + 12 * (i // 3 % 2), vel - variant)
             for i in range(16 * per_beat)]
    return Piece(tracks=[Track("piano", notes=notes)], tempos=[TempoChange(0, 120.0)])


def test_features_shape_and_finite() -> None:
    x = features(clip(1, 0))
    assert x.shape == (len(FEATURES),) and np.all(np.isfinite(x))
    assert features(Piece(tracks=[], end_tick=480)).shape == (len(FEATURES),)


def test_shipped_checkpoint_predicts_probabilities() -> None:
    model = VAClassifier.load()
    p = model.predict_proba(clip(2, 0))
    assert p.shape == (4,) and p.sum() == pytest.approx(1.0) and np.all(p >= 0)
    v, a = model.valence_arousal(clip(2, 0))
    assert -1 <= v <= 1 and -1 <= a <= 1
    assert model.quadrant(clip(2, 0)) in (1, 2, 3, 4)
    # a fast loud clip reads as more aroused than a slow soft one
    assert model.valence_arousal(clip(1, 0))[1] > model.valence_arousal(clip(3, 0))[1]


def test_valence_arousal_is_expected_value_by_hand() -> None:
    n = len(FEATURES)
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    model = VAClassifier(np.zeros(n), np.ones(n), np.zeros((4, n)), np.log(probs))
    piece = clip(4, 0)
    assert model.predict_proba(piece) == pytest.approx(probs)
    v, a = model.valence_arousal(piece)
    assert v == pytest.approx(0.4 - 0.3 - 0.2 + 0.1) and a == pytest.approx(0.4 + 0.3 - 0.2 - 0.1)
    assert model.quadrant(piece) == 1
    assert QUADRANT_VA.tolist() == [[1, 1], [-1, 1], [-1, -1], [1, -1]]


def test_a_missing_checkpoint_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        VAClassifier.load(tmp_path)
